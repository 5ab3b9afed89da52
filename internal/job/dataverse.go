package job

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dv "junction/internal/dataverse"
	"junction/internal/job/format"
)

// dataverse returns the client of an org, shared by every run that names the
// same org so that its token and its throttling pause are shared too.
func (s *Service) dataverse(where, conn string, o *Org) (*dv.Client, error) {
	var org Org
	if o != nil {
		org = *o
	}
	if conn != "" {
		c, err := s.connection(conn, "dataverse")
		if err != nil {
			return nil, fmt.Errorf("%s.connection: %w", where, err)
		}
		org = *c.org()
	}
	for _, f := range []*string{&org.URL, &org.TenantID, &org.ClientID, &org.ClientSecret, &org.TokenURL, &org.Token} {
		v, err := s.expand(*f)
		if err != nil {
			return nil, fmt.Errorf("%s.org: %w", where, err)
		}
		*f = v
	}
	cfg := dv.Config{URL: org.URL, TenantID: org.TenantID, ClientID: org.ClientID, ClientSecret: org.ClientSecret, TokenURL: org.TokenURL, Token: org.Token}
	if org.URL == "" {
		if s.Local == nil {
			return nil, errors.New("org: a url is required (this Junction's own Web API is not available here)")
		}
		cfg.URL, cfg.Token = s.Local()
		cfg.HTTPClient = s.LocalClient
	} else {
		cfg.Outbound = s.Outbound
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{cfg.URL, cfg.TenantID, cfg.ClientID, cfg.ClientSecret, cfg.TokenURL, cfg.Token}, "\x00")))
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.orgs[key]; ok {
		return c, nil
	}
	c, err := dv.New(cfg)
	if err != nil {
		return nil, err
	}
	s.orgs[key] = c
	return c, nil
}

// ColumnType is the job type (format.Type*) of a Dataverse AttributeType.
func ColumnType(attributeType string) string {
	switch strings.ToLower(attributeType) {
	case "integer", "bigint", "picklist", "state", "status":
		return format.TypeInt
	case "decimal", "money":
		return format.TypeDecimal
	case "double":
		return format.TypeFloat
	case "boolean":
		return format.TypeBool
	case "datetime":
		return format.TypeDateTime
	case "uniqueidentifier", "lookup", "customer", "owner":
		return format.TypeGUID
	}
	return format.TypeString
}

// dvFieldName is the name a column has in the Web API's rows: lookups are
// _name_value.
func dvFieldName(a dv.Attribute) string {
	if a.IsLookup() {
		return "_" + a.LogicalName + "_value"
	}
	return a.LogicalName
}

// dvPageSize is how many rows a source asks for a page.
const dvPageSize = 5000

// spoolPath is where a run keeps what it read from an org, so that its
// validation and apply passes, and a resumed attempt on the same node, read
// the same rows in the same order.
func (s *Service) spoolPath(runID int64) string {
	return filepath.Join(s.tmpDir(), fmt.Sprintf("run-%d-dataverse.jsonl", runID))
}

// spoolLine is one line of a spool: the columns (first line), a changed row,
// a deleted row's id, or the delta link reached (last line).
type spoolLine struct {
	Columns   []format.Column `json:"c,omitempty"`
	PrimaryID string          `json:"p,omitempty"`
	Row       map[string]any  `json:"r,omitempty"`
	Deleted   string          `json:"d,omitempty"`
	DeltaLink *string         `json:"w,omitempty"`
}

// openDataverseSource reads the org's table into the run's spool (unless an
// earlier pass did) and returns a reader of the spool.
func (s *Service) openDataverseSource(ctx context.Context, src Source, runID int64, from string) (itemReader, error) {
	spool := s.spoolPath(runID)
	if _, err := os.Stat(spool); err != nil {
		if err := s.fillSpool(ctx, src, spool, from); err != nil {
			return nil, err
		}
	}
	return openSpool(spool)
}

func (s *Service) fillSpool(ctx context.Context, src Source, spool, from string) error {
	c, err := s.dataverse("source", src.Connection, src.Org)
	if err != nil {
		return err
	}
	e, err := c.Entity(ctx, src.Table)
	if err != nil {
		return err
	}
	var cols []format.Column
	var sel []string
	if len(src.Select) > 0 {
		for _, name := range src.Select {
			a, ok := e.Attribute(name)
			if !ok {
				return fmt.Errorf("source.select: the table %s has no column %s", e.LogicalName, name)
			}
			sel = append(sel, dvFieldName(a))
			cols = append(cols, format.Column{Name: dvFieldName(a), Type: ColumnType(a.Type)})
		}
	} else {
		for _, a := range e.Attributes {
			cols = append(cols, format.Column{Name: dvFieldName(a), Type: ColumnType(a.Type)})
		}
	}
	f, err := os.Create(spool + ".part")
	if err != nil {
		return err
	}
	defer os.Remove(spool + ".part")
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	enc := json.NewEncoder(w)
	if err := enc.Encode(spoolLine{Columns: cols, PrimaryID: e.PrimaryIDAttribute}); err != nil {
		return err
	}
	writeRows := func(rows []dv.Record) error {
		for _, r := range rows {
			row := make(map[string]any, len(r))
			for k, v := range r {
				if !strings.Contains(k, "@") {
					row[k] = v
				}
			}
			if err := enc.Encode(spoolLine{Row: row}); err != nil {
				return err
			}
		}
		return nil
	}
	link := ""
	if src.Delta {
		link, err = c.TrackPages(ctx, e.EntitySetName, sel, from, dvPageSize, func(changed []dv.Record, deleted []string) error {
			if err := writeRows(changed); err != nil {
				return err
			}
			for _, id := range deleted {
				if err := enc.Encode(spoolLine{Deleted: id}); err != nil {
					return err
				}
			}
			return nil
		})
		var de *dv.Error
		if err != nil && from != "" && errors.As(err, &de) && (de.Status == http.StatusBadRequest || de.Status == http.StatusGone) {
			return fmt.Errorf("the org refused the delta link of the last run: %w (it keeps them for a limited time; DELETE /admin/v1/jobs/NAME/watermark makes the next run read the table in full)", err)
		}
	} else {
		q := url.Values{}
		if len(sel) > 0 {
			q.Set("$select", strings.Join(sel, ","))
		}
		if src.Filter != "" {
			q.Set("$filter", src.Filter)
		}
		err = c.Query(ctx, e.EntitySetName, q, dvPageSize, writeRows)
	}
	if err != nil {
		return err
	}
	if err := enc.Encode(spoolLine{DeltaLink: &link}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(spool+".part", spool)
}

// spoolReader reads a complete spool.
type spoolReader struct {
	*countedFile
	dec  *json.Decoder
	cols []format.Column
	pk   string
	link string
	line int64
}

func openSpool(path string) (itemReader, error) {
	cf, err := openCounted(path)
	if err != nil {
		return nil, err
	}
	r := &spoolReader{countedFile: cf, dec: json.NewDecoder(bufio.NewReaderSize(cf, 1<<16))}
	r.dec.UseNumber()
	var first spoolLine
	if err := r.dec.Decode(&first); err != nil {
		cf.close()
		return nil, fmt.Errorf("the spool %s is damaged: %w", path, err)
	}
	r.cols, r.pk = first.Columns, first.PrimaryID
	return r, nil
}

func (r *spoolReader) next(context.Context) (format.Record, bool, error) {
	var l spoolLine
	if err := r.dec.Decode(&l); err != nil {
		return format.Record{}, false, fmt.Errorf("read the spool: %w", err)
	}
	if l.DeltaLink != nil {
		r.link = *l.DeltaLink
		return format.Record{}, false, io.EOF
	}
	r.line++
	if l.Deleted != "" {
		return format.Record{Line: r.line, Fields: map[string]any{r.pk: l.Deleted}}, true, nil
	}
	return format.Record{Line: r.line, Fields: l.Row}, false, nil
}

func (r *spoolReader) columns() []format.Column { return r.cols }
func (r *spoolReader) watermark() string        { return r.link }

// dataverseSink writes rows to a table of an org: it reads the rows of each
// request's keys first, so that unchanged rows are not written and inserts
// are told from updates; it then upserts the rest by key with UpsertMultiple
// (or $batch) from several writers at once; every writer waits out a 429's
// Retry-After. Rows the org refuses become rejects when the policy accepts
// partial input.
type dataverseSink struct {
	mu       sync.Mutex
	entities map[string]*dv.Entity // lookups' tables
	c        *dv.Client
	e        *dv.Entity
	plan     sinkPlan
	sk       Sink
	perRow   bool              // find and reject the rows of a refused request
	binds    map[string]string // lookup column -> "navigation@odata.bind" and target set
	targets  map[string]string // lookup column -> target entity set
	sel      []string
	byID     bool // the key is the primary id
}

func (s *Service) openDataverseSink(ctx context.Context, spec *Spec, p sinkPlan) (*dataverseSink, error) {
	c, err := s.dataverse("sink", spec.Sink.Connection, spec.Sink.Org)
	if err != nil {
		return nil, err
	}
	e, err := c.Entity(ctx, spec.Sink.Table)
	if err != nil {
		return nil, err
	}
	ds := &dataverseSink{c: c, e: e, plan: p, sk: spec.Sink, perRow: spec.Policy.OnError == "accept",
		binds: map[string]string{}, targets: map[string]string{}}
	ds.byID = len(p.key) == 1 && strings.EqualFold(p.key[0], e.PrimaryIDAttribute)
	if !ds.byID && !hasKey(e.Keys, p.key) {
		var ks []string
		for _, k := range e.Keys {
			ks = append(ks, strings.Join(k, "+"))
		}
		return nil, fmt.Errorf("the key %s is neither the primary id %s of %s nor one of its alternate keys (%s)",
			strings.Join(p.key, "+"), e.PrimaryIDAttribute, e.LogicalName, strings.Join(ks, ", "))
	}
	lookups := map[string]*Lookup{}
	for i := range spec.Mapping {
		lookups[spec.Mapping[i].To] = spec.Mapping[i].Lookup
	}
	for _, col := range p.cols {
		a, ok := e.Attribute(col.Name)
		if !ok {
			return nil, fmt.Errorf("the table %s has no column %s", e.LogicalName, col.Name)
		}
		ds.sel = append(ds.sel, dvFieldName(a))
		if !a.IsLookup() {
			continue
		}
		target := ""
		if len(a.Targets) == 1 {
			target = a.Targets[0]
		} else if l := lookups[col.Name]; l != nil {
			target = l.Table
		}
		if target == "" {
			return nil, fmt.Errorf("the column %s is a lookup to %s: give its mapping a lookup that names the table", col.Name, strings.Join(a.Targets, " or "))
		}
		te, err := c.Entity(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("the lookup %s: %w", col.Name, err)
		}
		nav, err := navigationOf(ctx, c, e.LogicalName, a.LogicalName, te.LogicalName)
		if err != nil {
			return nil, err
		}
		ds.binds[col.Name] = nav + "@odata.bind"
		ds.targets[col.Name] = te.EntitySetName
	}
	if spec.Sink.Deletes == "flag" {
		a, ok := e.Attribute(spec.Sink.DeletedColumn)
		if !ok || !strings.EqualFold(a.Type, "Boolean") {
			return nil, fmt.Errorf("sink.deletedColumn: the table %s has no Boolean column %s to flag deleted rows with", e.LogicalName, spec.Sink.DeletedColumn)
		}
		ds.sel = append(ds.sel, a.LogicalName)
	}
	return ds, nil
}

func hasKey(keys [][]string, key []string) bool {
	for _, k := range keys {
		if len(k) != len(key) {
			continue
		}
		all := true
		for _, c := range k {
			all = all && containsFold(key, c)
		}
		if all {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// navigationOf finds the single-valued navigation property of a lookup
// column towards target, which @odata.bind needs.
func navigationOf(ctx context.Context, c *dv.Client, table, column, target string) (string, error) {
	q := url.Values{"$select": {"ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName"}}
	r, err := c.Do(ctx, http.MethodGet, "EntityDefinitions(LogicalName='"+table+"')/ManyToOneRelationships?"+q.Encode(), nil, nil)
	if err != nil {
		return "", err
	}
	var rels struct {
		Value []struct {
			ReferencingAttribute                    string
			ReferencedEntity                        string
			ReferencingEntityNavigationPropertyName string
		} `json:"value"`
	}
	if err := r.JSON(&rels); err != nil {
		return "", err
	}
	for _, rel := range rels.Value {
		if strings.EqualFold(rel.ReferencingAttribute, column) && strings.EqualFold(rel.ReferencedEntity, target) {
			return rel.ReferencingEntityNavigationPropertyName, nil
		}
	}
	return "", fmt.Errorf("the table %s has no relationship from %s to %s", table, column, target)
}

// entity returns a table's definition, read once per sink.
func (d *dataverseSink) entity(ctx context.Context, name string) (*dv.Entity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entities[name]; ok {
		return e, nil
	}
	e, err := d.c.Entity(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.entities == nil {
		d.entities = map[string]*dv.Entity{}
	}
	d.entities[name] = e
	return e, nil
}

// Resolve finds l.Return of the org's l.Table row whose l.Key is value. A
// value two rows share stops the run: a lookup key must be unique.
func (d *dataverseSink) Resolve(ctx context.Context, l Lookup, value string) (any, bool, error) {
	e, err := d.entity(ctx, l.Table)
	if err != nil {
		return nil, false, err
	}
	typ := format.TypeString
	if a, ok := e.Attribute(l.Key); ok {
		typ = ColumnType(a.Type)
	}
	v, err := convert(value, typ, "")
	if err != nil {
		return nil, false, nil // no row can have it
	}
	q := url.Values{"$select": {l.Return}, "$filter": {l.Key + " eq " + literal(typ, v)}, "$top": {"2"}}
	var rows []dv.Record
	err = d.c.Query(ctx, e.EntitySetName, q, 0, func(p []dv.Record) error { rows = append(rows, p...); return nil })
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	if len(rows) > 1 {
		return nil, false, fmt.Errorf("two %s rows have %s = %q: a lookup key must be unique", e.LogicalName, l.Key, value)
	}
	return rows[0][l.Return], true, nil
}

// odataLiteral quotes a value as an OData string literal.
func odataLiteral(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// literal writes v, of job type typ, as an OData literal: text quoted,
// GUIDs, numbers, booleans and dates bare.
func literal(typ string, v any) string {
	switch {
	case v == nil:
		return "null"
	case typ == format.TypeString:
		return odataLiteral(format.Text(v))
	}
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return format.Text(v)
}

// keyLiteral is the value of key column k of values as an OData literal.
func (d *dataverseSink) keyLiteral(k string, values map[string]any) string {
	typ, _ := d.colType(k)
	return literal(typ, values[k])
}

// path names a row: accounts(<id>) or accounts(accountnumber='A1'), as
// @odata.id of UpsertMultiple takes it.
func (d *dataverseSink) path(values map[string]any) string {
	return d.e.EntitySetName + "(" + d.keySegment(values) + ")"
}

// requestPath is path escaped for a request line.
func (d *dataverseSink) requestPath(values map[string]any) string {
	return d.e.EntitySetName + "(" + url.PathEscape(d.keySegment(values)) + ")"
}

func (d *dataverseSink) keySegment(values map[string]any) string {
	if d.byID {
		return format.Text(values[d.plan.key[0]])
	}
	parts := make([]string, len(d.plan.key))
	for i, k := range d.plan.key {
		parts[i] = k + "=" + d.keyLiteral(k, values)
	}
	return strings.Join(parts, ",")
}

// body is a row as the Web API takes it: lookups bound (an empty lookup of
// a row that exists is cleared), dates as text.
func (d *dataverseSink) body(values map[string]any, exists bool) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if bind, ok := d.binds[k]; ok {
			switch {
			case v != nil:
				out[bind] = "/" + d.targets[k] + "(" + format.Text(v) + ")"
			case exists:
				out[bind] = nil
			}
			continue
		}
		if d.byID && k == d.plan.key[0] {
			continue
		}
		switch x := v.(type) {
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		case string:
			if col, ok := d.colType(k); ok && col == format.TypeDecimal {
				v = json.Number(x)
			}
		}
		out[k] = v
	}
	return out
}

func (d *dataverseSink) colType(name string) (string, bool) {
	for _, c := range d.plan.cols {
		if c.Name == name {
			return c.Type, true
		}
	}
	return "", false
}

// dvKeysPerQuery bounds the keys of one read, for the URL's length.
const dvKeysPerQuery = 200

// read returns the org's rows with the keys of rows, by keyOf, with the
// values named as the job names them.
func (d *dataverseSink) read(ctx context.Context, rows []Row) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	sel := append([]string{d.e.PrimaryIDAttribute}, d.sel...)
	for start := 0; start < len(rows); start += dvKeysPerQuery {
		part := rows[start:min(start+dvKeysPerQuery, len(rows))]
		q := url.Values{"$select": {strings.Join(sel, ",")}, "$filter": {d.keyFilter(part)}}
		err := d.c.Query(ctx, d.e.EntitySetName, q, 0, func(page []dv.Record) error {
			for _, rec := range page {
				m := make(map[string]any, len(d.plan.cols)+1)
				for _, c := range d.plan.cols {
					if _, ok := d.binds[c.Name]; ok {
						m[c.Name] = rec["_"+c.Name+"_value"]
						continue
					}
					m[c.Name] = rec[c.Name]
				}
				if d.sk.Deletes == "flag" {
					m[d.sk.DeletedColumn] = rec[d.sk.DeletedColumn]
				}
				out[keyOf(d.plan.key, m)] = m
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyFilter selects the rows with the keys of rows: In on a single key
// column, which an index serves (its values are strings whatever the
// column's type), else a disjunction of conjunctions.
func (d *dataverseSink) keyFilter(rows []Row) string {
	key := d.plan.key
	if len(key) == 1 {
		vals := make([]string, len(rows))
		typ, _ := d.colType(key[0])
		for i, r := range rows {
			if vals[i] = literal(typ, r.Values[key[0]]); typ != format.TypeString {
				vals[i] = odataLiteral(vals[i])
			}
		}
		return "Microsoft.Dynamics.CRM.In(PropertyName=" + odataLiteral(key[0]) + ",PropertyValues=[" + strings.Join(vals, ",") + "])"
	}
	conds := make([]string, len(rows))
	for i, r := range rows {
		and := make([]string, len(key))
		for j, k := range key {
			and[j] = k + " eq " + d.keyLiteral(k, r.Values)
		}
		conds[i] = "(" + strings.Join(and, " and ") + ")"
	}
	return strings.Join(conds, " or ")
}

// write is one row to send: an upsert (exists: the org has the row) or a
// deletion, and the count it adds to.
type write struct {
	row    Row
	exists bool
	delete bool
	count  *int64
}

func (d *dataverseSink) Apply(ctx context.Context, rows []Row) (Counts, []Reject, error) {
	var c Counts
	rows = dedupe(d.plan.key, rows)
	flag := d.sk.Deletes == "flag"
	wanted := rows
	if d.sk.Deletes == "ignore" { // deletions need no read
		wanted = make([]Row, 0, len(rows))
		for _, r := range rows {
			if !r.Deleted {
				wanted = append(wanted, r)
			}
		}
	}
	existing, err := d.read(ctx, wanted)
	if err != nil {
		return c, nil, err
	}
	var upserts, deletes []write
	for _, r := range rows {
		before, ok := existing[keyOf(d.plan.key, r.Values)]
		flagged := ok && flag && before[d.sk.DeletedColumn] == true
		if r.Deleted {
			switch {
			case !ok || d.sk.Deletes == "ignore" || flagged:
				// gone already, or nothing to do
			case flag:
				values := map[string]any{d.sk.DeletedColumn: true}
				for _, k := range d.plan.key {
					values[k] = r.Values[k]
				}
				upserts = append(upserts, write{row: Row{Line: r.Line, Values: values}, exists: true, count: &c.Deleted})
			default:
				deletes = append(deletes, write{row: r, exists: true, delete: true, count: &c.Deleted})
			}
			continue
		}
		if flag { // a row the job writes is live, also when it comes back
			values := make(map[string]any, len(r.Values)+1)
			for k, v := range r.Values {
				values[k] = v
			}
			values[d.sk.DeletedColumn] = false
			r.Values = values
		}
		switch {
		case !ok:
			upserts = append(upserts, write{row: r, count: &c.Inserted})
		case !flagged && rowHash(d.plan.cols, before) == rowHash(d.plan.cols, r.Values):
			c.Unchanged++
		default:
			upserts = append(upserts, write{row: r, exists: true, count: &c.Updated})
		}
	}
	var batches [][]write
	for _, ws := range [][]write{upserts, deletes} {
		for start := 0; start < len(ws); start += d.sk.BatchSize {
			batches = append(batches, ws[start:min(start+d.sk.BatchSize, len(ws))])
		}
	}
	rejects, err := d.send(ctx, batches)
	refused := map[int64]bool{}
	for _, rj := range rejects {
		refused[rj.Line] = true
	}
	for _, ws := range [][]write{upserts, deletes} {
		for _, w := range ws {
			if !refused[w.row.Line] {
				*w.count++
			}
		}
	}
	return c, rejects, err
}

// send carries out the batches with the sink's writers; the first error that
// is not about a row stops them.
func (d *dataverseSink) send(ctx context.Context, batches [][]write) ([]Reject, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan []write)
	type result struct {
		rejects []Reject
		err     error
	}
	results := make(chan result, len(batches))
	for i := 0; i < min(d.sk.Writers, len(batches)); i++ {
		go func() {
			for ws := range next {
				rs, err := d.sendOne(ctx, ws)
				results <- result{rs, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, ws := range batches {
			select {
			case next <- ws:
			case <-ctx.Done():
				return
			}
		}
	}()
	var rejects []Reject
	for range batches {
		var r result
		select {
		case r = <-results:
		case <-ctx.Done():
			return rejects, ctx.Err()
		}
		rejects = append(rejects, r.rejects...)
		if r.err != nil {
			return rejects, r.err
		}
	}
	return rejects, nil
}

// refusesRows says whether an error answer is about the rows sent (rather
// than about the caller, the org or the network).
func refusesRows(err error) (*dv.Error, bool) {
	var de *dv.Error
	if !errors.As(err, &de) || de.Status >= 500 {
		return nil, false
	}
	switch de.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return nil, false
	}
	return de, de.Status >= 400
}

func (d *dataverseSink) sendOne(ctx context.Context, ws []write) ([]Reject, error) {
	if !ws[0].delete && d.sk.Write == "upsert-multiple" {
		targets := make([]dv.Record, len(ws))
		for i, w := range ws {
			b := d.body(w.row.Values, w.exists)
			b["@odata.id"] = d.path(w.row.Values)
			targets[i] = b
		}
		err := d.c.UpsertMultiple(ctx, d.e.EntitySetName, d.e.LogicalName, targets)
		de, rowsRefused := refusesRows(err)
		if err == nil || !rowsRefused {
			return nil, err
		}
		if !d.perRow {
			return nil, fmt.Errorf("the org refused a request of %d rows (source lines %d to %d): %s", len(ws), ws[0].row.Line, ws[len(ws)-1].row.Line, de.Message)
		}
		// The request is all-or-nothing: send its rows one by one to find
		// those the org refuses.
	}
	return d.batch(ctx, ws)
}

// dvBatchRetries bounds how often parts of a $batch throttled or failed by
// the org are sent again.
const dvBatchRetries = 5

// batch sends the rows as one $batch of independent requests, sends again
// the parts the org throttled, and returns a reject for each row refused.
func (d *dataverseSink) batch(ctx context.Context, ws []write) ([]Reject, error) {
	pending := ws
	var rejects []Reject
	for round := 0; len(pending) > 0; round++ {
		parts := make([]dv.Part, len(pending))
		for i, w := range pending {
			op := &dv.Op{Method: http.MethodPatch, Path: d.requestPath(w.row.Values), Body: d.body(w.row.Values, w.exists), ContentID: fmt.Sprint(i + 1)}
			if w.delete {
				op = &dv.Op{Method: http.MethodDelete, Path: d.requestPath(w.row.Values), ContentID: fmt.Sprint(i + 1)}
			}
			parts[i] = dv.Part{Op: op}
		}
		results, err := d.c.Batch(ctx, parts, true)
		if err != nil {
			return rejects, err
		}
		var again []write
		wait := time.Duration(0)
		for i, w := range pending {
			if i >= len(results) {
				again = append(again, w) // not answered: send again
				continue
			}
			res := results[i]
			switch {
			case res.Status < 400, w.delete && res.Status == http.StatusNotFound:
			case res.Status == http.StatusTooManyRequests || res.Status >= 500:
				again = append(again, w)
				var secs int
				if _, err := fmt.Sscan(res.Header.Get("Retry-After"), &secs); err == nil {
					wait = max(wait, time.Duration(secs)*time.Second)
				}
			case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
				return rejects, res.Err()
			default:
				msg := res.Err().Error()
				var de *dv.Error
				if errors.As(res.Err(), &de) {
					msg = de.Message
				}
				if !d.perRow {
					return rejects, fmt.Errorf("the org refused source line %d: %s", w.row.Line, msg)
				}
				col := refusedColumn(msg, d.plan.cols)
				rj := Reject{Line: w.row.Line, Column: col, Reason: "the org refused the row: " + msg}
				if col != "" {
					rj.Value = truncate(format.Text(w.row.Values[col]), 200)
				}
				rejects = append(rejects, rj)
			}
		}
		if len(again) == 0 {
			break
		}
		if round >= dvBatchRetries {
			return rejects, fmt.Errorf("the org kept refusing %d rows with throttling or server errors", len(again))
		}
		if wait == 0 {
			wait = time.Second << round
		}
		d.c.Pause(wait) // every writer waits, as for a 429 of a whole request
		pending = again
	}
	return rejects, nil
}

// refusedColumn guesses the column an org's message is about: the first
// column of the job it names in quotes or as a word.
func refusedColumn(msg string, cols []format.Column) string {
	for _, c := range cols {
		for _, form := range []string{"'" + c.Name + "'", "\"" + c.Name + "\"", " " + c.Name + " "} {
			if strings.Contains(msg, form) {
				return c.Name
			}
		}
	}
	return ""
}

func (d *dataverseSink) Verify(ctx context.Context, rows []Row) (map[string][32]byte, bool, error) {
	var live []Row
	for _, r := range rows {
		if !r.Deleted {
			live = append(live, r)
		}
	}
	got, err := d.read(ctx, live)
	if err != nil {
		return nil, true, err
	}
	out := make(map[string][32]byte, len(got))
	for k, v := range got {
		out[k] = rowHash(d.plan.cols, v)
	}
	return out, true, nil
}

func (d *dataverseSink) Finish(context.Context) (*tally, error) { return nil, nil }
func (d *dataverseSink) Abort()                                 {}
