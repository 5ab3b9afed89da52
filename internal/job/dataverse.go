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
	"time"

	dv "junction/internal/dataverse"
	"junction/internal/job/format"
)

// dataverse returns the client of an org, shared by every run that names the
// same org so that its token and its throttling pause are shared too.
func (s *Service) dataverse(o *Org) (*dv.Client, error) {
	var org Org
	if o != nil {
		org = *o
	}
	for _, f := range []*string{&org.URL, &org.TenantID, &org.ClientID, &org.ClientSecret, &org.TokenURL, &org.Token} {
		v, err := s.expand(*f)
		if err != nil {
			return nil, fmt.Errorf("org: %w", err)
		}
		*f = v
	}
	cfg := dv.Config{URL: org.URL, TenantID: org.TenantID, ClientID: org.ClientID, ClientSecret: org.ClientSecret, TokenURL: org.TokenURL, Token: org.Token}
	if org.URL == "" {
		if s.Local == nil {
			return nil, errors.New("org: a url is required (this Junction's own Web API is not available here)")
		}
		cfg.URL, cfg.Token = s.Local()
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
	c, err := s.dataverse(src.Org)
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
			sel = append(sel, a.LogicalName)
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
		if err != nil && from != "" {
			return fmt.Errorf("continue change tracking from the last run: %w (reset the job's watermark to read the table in full)", err)
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
	f    *os.File
	size int64
	cr   *countingReader
	dec  *json.Decoder
	cols []format.Column
	pk   string
	link string
	line int64
}

func openSpool(path string) (itemReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	cr := &countingReader{r: f}
	r := &spoolReader{f: f, size: st.Size(), cr: cr, dec: json.NewDecoder(bufio.NewReaderSize(cr, 1<<16))}
	r.dec.UseNumber()
	var first spoolLine
	if err := r.dec.Decode(&first); err != nil {
		f.Close()
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
func (r *spoolReader) close() error             { return r.f.Close() }
func (r *spoolReader) progress() float64 {
	if r.size == 0 {
		return 1
	}
	return min(1, float64(r.cr.n.Load())/float64(r.size))
}

// dataverseSink writes rows to a table of an org: it reads the rows of each
// request's keys first, so that unchanged rows are not written and inserts
// are told from updates; it then upserts the rest by key with UpsertMultiple
// (or $batch) from several writers at once; every writer waits out a 429's
// Retry-After. Rows the org refuses become rejects when the policy accepts
// partial input.
type dataverseSink struct {
	c       *dv.Client
	e       *dv.Entity
	plan    sinkPlan
	sk      Sink
	perRow  bool              // find and reject the rows of a refused request
	binds   map[string]string // lookup column -> "navigation@odata.bind" and target set
	targets map[string]string // lookup column -> target entity set
	sel     []string
	byID    bool // the key is the primary id
}

func (s *Service) openDataverseSink(ctx context.Context, spec *Spec, p sinkPlan) (*dataverseSink, error) {
	c, err := s.dataverse(spec.Sink.Org)
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
		ds.sel = append(ds.sel, a.LogicalName)
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
		if _, ok := e.Attribute(spec.Sink.DeletedColumn); !ok {
			return nil, fmt.Errorf("sink.deletedColumn: the table %s has no column %s to flag deleted rows with", e.LogicalName, spec.Sink.DeletedColumn)
		}
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

// Resolve finds l.Return of the org's l.Table row whose l.Key is value.
func (d *dataverseSink) Resolve(ctx context.Context, l Lookup, value string) (any, bool, error) {
	e, err := d.c.Entity(ctx, l.Table)
	if err != nil {
		return nil, false, err
	}
	q := url.Values{"$select": {l.Return}, "$filter": {l.Key + " eq " + odataLiteral(value)}, "$top": {"2"}}
	var rows []dv.Record
	err = d.c.Query(ctx, e.EntitySetName, q, 0, func(p []dv.Record) error { rows = append(rows, p...); return nil })
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	return rows[0][l.Return], true, nil
}

// odataLiteral quotes a value as an OData string literal.
func odataLiteral(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// keyLiteral is a key value in an OData key segment or filter.
func keyLiteral(v any) string {
	switch x := v.(type) {
	case string:
		if guidPattern.MatchString(x) {
			return x
		}
		return odataLiteral(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case nil:
		return "null"
	}
	return format.Text(v)
}

// path names a row: accounts(<id>) or accounts(accountnumber='A1').
func (d *dataverseSink) path(values map[string]any) string {
	if d.byID {
		return d.e.EntitySetName + "(" + format.Text(values[d.plan.key[0]]) + ")"
	}
	parts := make([]string, len(d.plan.key))
	for i, k := range d.plan.key {
		parts[i] = k + "=" + keyLiteral(values[k])
	}
	return d.e.EntitySetName + "(" + strings.Join(parts, ",") + ")"
}

// body is a row as the Web API takes it: lookups bound, dates as text.
func (d *dataverseSink) body(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if bind, ok := d.binds[k]; ok {
			if v != nil {
				out[bind] = "/" + d.targets[k] + "(" + format.Text(v) + ")"
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
		q := url.Values{"$select": {strings.Join(sel, ",")}, "$filter": {keyFilter(d.plan.key, part)}}
		err := d.c.Query(ctx, d.e.EntitySetName, q, 0, func(page []dv.Record) error {
			for _, rec := range page {
				m := make(map[string]any, len(d.plan.cols))
				for _, c := range d.plan.cols {
					if _, ok := d.binds[c.Name]; ok {
						m[c.Name] = rec["_"+c.Name+"_value"]
						continue
					}
					m[c.Name] = rec[c.Name]
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
// column, which an index serves, else a disjunction of conjunctions.
func keyFilter(key []string, rows []Row) string {
	if len(key) == 1 {
		vals := make([]string, len(rows))
		for i, r := range rows {
			v := r.Values[key[0]]
			if s, ok := v.(string); ok {
				vals[i] = odataLiteral(s) // In takes quoted values, GUIDs too
			} else {
				vals[i] = keyLiteral(v)
			}
		}
		return "Microsoft.Dynamics.CRM.In(PropertyName=" + odataLiteral(key[0]) + ",PropertyValues=[" + strings.Join(vals, ",") + "])"
	}
	conds := make([]string, len(rows))
	for i, r := range rows {
		and := make([]string, len(key))
		for j, k := range key {
			and[j] = k + " eq " + keyLiteral(r.Values[k])
		}
		conds[i] = "(" + strings.Join(and, " and ") + ")"
	}
	return strings.Join(conds, " or ")
}

// write is one request's rows.
type write struct {
	rows   []Row
	delete bool
}

func (d *dataverseSink) Apply(ctx context.Context, rows []Row) (Counts, []Reject, error) {
	var c Counts
	rows = dedupe(d.plan.key, rows)
	var live, gone []Row
	for _, r := range rows {
		if r.Deleted {
			if d.sk.Deletes != "ignore" {
				gone = append(gone, r)
			}
			continue
		}
		live = append(live, r)
	}
	existing, err := d.read(ctx, append(append([]Row{}, live...), gone...))
	if err != nil {
		return c, nil, err
	}
	var upserts []Row
	for _, r := range live {
		before, ok := existing[keyOf(d.plan.key, r.Values)]
		switch {
		case !ok:
			c.Inserted++
		case rowHash(d.plan.cols, before) == rowHash(d.plan.cols, r.Values):
			c.Unchanged++
			continue
		default:
			c.Updated++
		}
		upserts = append(upserts, r)
	}
	var deletes []Row
	for _, r := range gone {
		if _, ok := existing[keyOf(d.plan.key, r.Values)]; !ok {
			continue // already gone
		}
		c.Deleted++
		if d.sk.Deletes == "flag" {
			flagged := Row{Line: r.Line, Values: map[string]any{d.sk.DeletedColumn: true}}
			for _, k := range d.plan.key {
				flagged.Values[k] = r.Values[k]
			}
			upserts = append(upserts, flagged)
			continue
		}
		deletes = append(deletes, r)
	}
	var jobs []write
	for start := 0; start < len(upserts); start += d.sk.BatchSize {
		jobs = append(jobs, write{rows: upserts[start:min(start+d.sk.BatchSize, len(upserts))]})
	}
	for start := 0; start < len(deletes); start += d.sk.BatchSize {
		jobs = append(jobs, write{rows: deletes[start:min(start+d.sk.BatchSize, len(deletes))], delete: true})
	}
	rejects, err := d.send(ctx, jobs)
	if err != nil {
		return c, nil, err
	}
	// Rows refused are neither inserted nor updated.
	for _, rj := range rejects {
		for _, r := range live {
			if r.Line != rj.Line {
				continue
			}
			if _, ok := existing[keyOf(d.plan.key, r.Values)]; ok {
				c.Updated--
			} else {
				c.Inserted--
			}
		}
	}
	return c, rejects, nil
}

// send carries out the writes with the sink's writers; the first error that
// is not about a row stops them.
func (d *dataverseSink) send(ctx context.Context, jobs []write) ([]Reject, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan write)
	type result struct {
		rejects []Reject
		err     error
	}
	results := make(chan result, len(jobs))
	for i := 0; i < min(d.sk.Writers, len(jobs)); i++ {
		go func() {
			for w := range next {
				rs, err := d.sendOne(ctx, w)
				results <- result{rs, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, w := range jobs {
			select {
			case next <- w:
			case <-ctx.Done():
				return
			}
		}
	}()
	var rejects []Reject
	var first error
	for range jobs {
		var r result
		select {
		case r = <-results:
		case <-ctx.Done():
			if first == nil {
				first = ctx.Err()
			}
			return rejects, first
		}
		rejects = append(rejects, r.rejects...)
		if r.err != nil && first == nil {
			first = r.err
			cancel()
			return rejects, first
		}
	}
	return rejects, first
}

func (d *dataverseSink) sendOne(ctx context.Context, w write) ([]Reject, error) {
	if !w.delete && d.sk.Write == "upsert-multiple" {
		targets := make([]dv.Record, len(w.rows))
		for i, r := range w.rows {
			b := d.body(r.Values)
			b["@odata.id"] = d.path(r.Values)
			targets[i] = b
		}
		err := d.c.UpsertMultiple(ctx, d.e.EntitySetName, d.e.LogicalName, targets)
		var de *dv.Error
		if err == nil || !errors.As(err, &de) || de.Status >= 500 || de.Status == http.StatusTooManyRequests {
			return nil, err
		}
		if !d.perRow {
			return nil, fmt.Errorf("the org refused a request of %d rows (source rows %d to %d): %s", len(w.rows), w.rows[0].Line, w.rows[len(w.rows)-1].Line, de.Message)
		}
		// The request is all-or-nothing: send its rows one by one to find
		// those the org refuses.
	}
	return d.batch(ctx, w)
}

// dvBatchRetries bounds the rounds of $batch parts throttled inside a batch.
const dvBatchRetries = 5

// batch sends the rows as one $batch of independent requests, retries the
// parts the org throttled, and returns a reject for each row refused.
func (d *dataverseSink) batch(ctx context.Context, w write) ([]Reject, error) {
	pending := w.rows
	var rejects []Reject
	for round := 0; len(pending) > 0; round++ {
		parts := make([]dv.Part, len(pending))
		for i, r := range pending {
			op := &dv.Op{Method: http.MethodPatch, Path: d.path(r.Values), Body: d.body(r.Values), ContentID: fmt.Sprint(i + 1)}
			if w.delete {
				op = &dv.Op{Method: http.MethodDelete, Path: d.path(r.Values), ContentID: fmt.Sprint(i + 1)}
			}
			parts[i] = dv.Part{Op: op}
		}
		results, err := d.c.Batch(ctx, parts, true)
		if err != nil {
			return rejects, err
		}
		var again []Row
		wait := time.Duration(0)
		for i, r := range pending {
			if i >= len(results) {
				again = append(again, r) // not answered: send again
				continue
			}
			res := results[i]
			switch {
			case res.Status < 400, w.delete && res.Status == http.StatusNotFound:
			case res.Status == http.StatusTooManyRequests || res.Status >= 500:
				again = append(again, r)
				var secs int
				if _, err := fmt.Sscan(res.Header.Get("Retry-After"), &secs); err == nil {
					wait = max(wait, time.Duration(secs)*time.Second)
				}
			default:
				msg := res.Err().Error()
				var de *dv.Error
				if errors.As(res.Err(), &de) {
					msg = de.Message
				}
				if !d.perRow {
					return rejects, fmt.Errorf("the org refused source row %d: %s", r.Line, msg)
				}
				col := refusedColumn(msg, d.plan.cols)
				rj := Reject{Line: r.Line, Column: col, Reason: "the org refused the row: " + msg}
				if col != "" {
					rj.Value = truncate(format.Text(r.Values[col]), 200)
				}
				rejects = append(rejects, rj)
			}
		}
		if len(again) > 0 && round >= dvBatchRetries {
			return rejects, fmt.Errorf("the org kept refusing %d rows with throttling or server errors", len(again))
		}
		if len(again) > 0 {
			if wait == 0 {
				wait = time.Second << round
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return rejects, ctx.Err()
			case <-t.C:
			}
		}
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
