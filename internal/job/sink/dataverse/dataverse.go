// Package dataverse is the sink of a job into a table of a Dataverse org
// (or of this Junction) through its Web API: upserts by the primary id or an
// alternate key with UpsertMultiple or $batch, deletions or a deleted flag,
// lookups bound to their rows.
package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	dv "junction/internal/dataverse"
	"junction/internal/job/format"
	"junction/internal/job/sink"
	source "junction/internal/job/source/dataverse"
)

// Target is the table a sink writes and how.
type Target struct {
	Table string // logical or entity set name
	// Deletes is ignore, flag (set DeletedColumn) or delete.
	Deletes       string
	DeletedColumn string
	// Write is upsert-multiple (all-or-nothing requests) or batch ($batch
	// requests answered row by row); BatchSize rows a request, Writers
	// requests at once.
	Write     string
	BatchSize int
	Writers   int
	// PerRow finds and rejects the rows of a refused request (the policy
	// accepts partial input) instead of failing the run.
	PerRow bool
	// Lookups names the table of each lookup column the mapping resolves,
	// for columns that may refer to several tables.
	Lookups map[string]string
}

// Sink writes rows to a table of an org: it reads the rows of each
// request's keys first, so that unchanged rows are not written and inserts
// are told from updates; it then upserts the rest by key with UpsertMultiple
// (or $batch) from several writers at once; every writer waits out a 429's
// Retry-After. Rows the org refuses become rejects when the policy accepts
// partial input.
type Sink struct {
	*Resolver
	e       *dv.Entity
	plan    sink.Plan
	sk      Target
	binds   map[string]string // lookup column -> "navigation@odata.bind" and target set
	targets map[string]string // lookup column -> target entity set
	sel     []string
	byID    bool // the key is the primary id
}

// Open opens a sink to the table of an org that c reaches, checking the key
// and the columns against the table's definition.
func Open(ctx context.Context, c *dv.Client, sk Target, p sink.Plan) (*Sink, error) {
	e, err := c.Entity(ctx, sk.Table)
	if err != nil {
		return nil, err
	}
	ds := &Sink{Resolver: NewResolver(c), e: e, plan: p, sk: sk, binds: map[string]string{}, targets: map[string]string{}}
	ds.byID = len(p.Key) == 1 && strings.EqualFold(p.Key[0], e.PrimaryIDAttribute)
	if !ds.byID && !hasKey(e.Keys, p.Key) {
		var ks []string
		for _, k := range e.Keys {
			ks = append(ks, strings.Join(k, "+"))
		}
		return nil, fmt.Errorf("the key %s is neither the primary id %s of %s nor one of its alternate keys (%s)",
			strings.Join(p.Key, "+"), e.PrimaryIDAttribute, e.LogicalName, strings.Join(ks, ", "))
	}
	for _, col := range p.Cols {
		a, ok := e.Attribute(col.Name)
		if !ok {
			return nil, fmt.Errorf("the table %s has no column %s", e.LogicalName, col.Name)
		}
		ds.sel = append(ds.sel, source.FieldName(a))
		if !a.IsLookup() {
			continue
		}
		target := ""
		if len(a.Targets) == 1 {
			target = a.Targets[0]
		} else {
			target = sk.Lookups[col.Name]
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
	if sk.Deletes == "flag" {
		a, ok := e.Attribute(sk.DeletedColumn)
		if !ok || !strings.EqualFold(a.Type, "Boolean") {
			return nil, fmt.Errorf("sink.deletedColumn: the table %s has no Boolean column %s to flag deleted rows with", e.LogicalName, sk.DeletedColumn)
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

// Resolver resolves lookups against the tables of an org.
type Resolver struct {
	c        *dv.Client
	mu       sync.Mutex
	entities map[string]*dv.Entity // lookups' tables
}

// NewResolver resolves lookups through c.
func NewResolver(c *dv.Client) *Resolver { return &Resolver{c: c} }

// entity returns a table's definition, read once per sink.
func (d *Resolver) entity(ctx context.Context, name string) (*dv.Entity, error) {
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
func (d *Resolver) Resolve(ctx context.Context, l sink.Lookup, value string) (any, bool, error) {
	e, err := d.entity(ctx, l.Table)
	if err != nil {
		return nil, false, err
	}
	typ := format.TypeString
	if a, ok := e.Attribute(l.Key); ok {
		typ = source.ColumnType(a.Type)
	}
	v, err := format.Convert(value, typ, "")
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
func (d *Sink) keyLiteral(k string, values map[string]any) string {
	typ, _ := d.colType(k)
	return literal(typ, values[k])
}

// path names a row: accounts(<id>) or accounts(accountnumber='A1'), as
// @odata.id of UpsertMultiple takes it.
func (d *Sink) path(values map[string]any) string {
	return d.e.EntitySetName + "(" + d.keySegment(values) + ")"
}

// requestPath is path escaped for a request line.
func (d *Sink) requestPath(values map[string]any) string {
	return d.e.EntitySetName + "(" + url.PathEscape(d.keySegment(values)) + ")"
}

func (d *Sink) keySegment(values map[string]any) string {
	if d.byID {
		return format.Text(values[d.plan.Key[0]])
	}
	parts := make([]string, len(d.plan.Key))
	for i, k := range d.plan.Key {
		parts[i] = k + "=" + d.keyLiteral(k, values)
	}
	return strings.Join(parts, ",")
}

// body is a row as the Web API takes it: lookups bound (an empty lookup of
// a row that exists is cleared), dates as text.
func (d *Sink) body(values map[string]any, exists bool) map[string]any {
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
		if d.byID && k == d.plan.Key[0] {
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

func (d *Sink) colType(name string) (string, bool) {
	for _, c := range d.plan.Cols {
		if c.Name == name {
			return c.Type, true
		}
	}
	return "", false
}

// keysPerQuery bounds the keys of one read, for the URL's length.
const keysPerQuery = 200

// read returns the org's rows with the keys of rows, by keyOf, with the
// values named as the job names them.
func (d *Sink) read(ctx context.Context, rows []sink.Row) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	sel := append([]string{d.e.PrimaryIDAttribute}, d.sel...)
	for start := 0; start < len(rows); start += keysPerQuery {
		part := rows[start:min(start+keysPerQuery, len(rows))]
		q := url.Values{"$select": {strings.Join(sel, ",")}, "$filter": {d.keyFilter(part)}}
		err := d.c.Query(ctx, d.e.EntitySetName, q, 0, func(page []dv.Record) error {
			for _, rec := range page {
				m := make(map[string]any, len(d.plan.Cols)+1)
				for _, c := range d.plan.Cols {
					if _, ok := d.binds[c.Name]; ok {
						m[c.Name] = rec["_"+c.Name+"_value"]
						continue
					}
					m[c.Name] = rec[c.Name]
				}
				if d.sk.Deletes == "flag" {
					m[d.sk.DeletedColumn] = rec[d.sk.DeletedColumn]
				}
				out[sink.KeyOf(d.plan.Key, m)] = m
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
func (d *Sink) keyFilter(rows []sink.Row) string {
	key := d.plan.Key
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
	row    sink.Row
	exists bool
	delete bool
	count  *int64
}

// Apply reads the org's rows of the chunk's keys, leaves the unchanged ones
// alone and sends the rest; the rows the org refuses come back as rejects
// when PerRow is set.
func (d *Sink) Apply(ctx context.Context, rows []sink.Row) (sink.Counts, []sink.Reject, error) {
	var c sink.Counts
	rows = sink.Dedupe(d.plan.Key, rows)
	flag := d.sk.Deletes == "flag"
	wanted := rows
	if d.sk.Deletes == "ignore" { // deletions need no read
		wanted = make([]sink.Row, 0, len(rows))
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
		before, ok := existing[sink.KeyOf(d.plan.Key, r.Values)]
		flagged := ok && flag && before[d.sk.DeletedColumn] == true
		if r.Deleted {
			switch {
			case !ok || d.sk.Deletes == "ignore" || flagged:
				// gone already, or nothing to do
			case flag:
				values := map[string]any{d.sk.DeletedColumn: true}
				for _, k := range d.plan.Key {
					values[k] = r.Values[k]
				}
				upserts = append(upserts, write{row: sink.Row{Line: r.Line, Values: values}, exists: true, count: &c.Deleted})
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
		case !flagged && sink.Hash(d.plan.Cols, before) == sink.Hash(d.plan.Cols, r.Values):
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
func (d *Sink) send(ctx context.Context, batches [][]write) ([]sink.Reject, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan []write)
	type result struct {
		rejects []sink.Reject
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
	var rejects []sink.Reject
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

func (d *Sink) sendOne(ctx context.Context, ws []write) ([]sink.Reject, error) {
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
		if !d.sk.PerRow {
			return nil, fmt.Errorf("the org refused a request of %d rows (source lines %d to %d): %s", len(ws), ws[0].row.Line, ws[len(ws)-1].row.Line, de.Message)
		}
		// The request is all-or-nothing: send its rows one by one to find
		// those the org refuses.
	}
	return d.batch(ctx, ws)
}

// batchRetries bounds how often parts of a $batch throttled or failed by
// the org are sent again.
const batchRetries = 5

// batch sends the rows as one $batch of independent requests, sends again
// the parts the org throttled, and returns a reject for each row refused.
func (d *Sink) batch(ctx context.Context, ws []write) ([]sink.Reject, error) {
	pending := ws
	var rejects []sink.Reject
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
				if !d.sk.PerRow {
					return rejects, fmt.Errorf("the org refused source line %d: %s", w.row.Line, msg)
				}
				col := refusedColumn(msg, d.plan.Cols)
				rj := sink.Reject{Line: w.row.Line, Column: col, Reason: "the org refused the row: " + msg}
				if col != "" {
					rj.Value = sink.Truncate(format.Text(w.row.Values[col]), 200)
				}
				rejects = append(rejects, rj)
			}
		}
		if len(again) == 0 {
			break
		}
		if round >= batchRetries {
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

// Verify reads the chunk's live rows back from the org by key.
func (d *Sink) Verify(ctx context.Context, rows []sink.Row) (map[string][32]byte, bool, error) {
	var live []sink.Row
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
		out[k] = sink.Hash(d.plan.Cols, v)
	}
	return out, true, nil
}

// Finish has nothing to complete: every chunk was written when applied.
func (d *Sink) Finish(context.Context) (*sink.Tally, error) { return nil, nil }

// Abort has nothing to discard.
func (d *Sink) Abort() {}
