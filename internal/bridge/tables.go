package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/job"
	"junction/internal/job/format"
	"junction/internal/records"
	"junction/internal/store"
)

// Tables gives batch jobs Junction's own tables as sources and sinks. Every
// write goes through the records service's Create and Update, so jobs get
// the same validation, auto-numbers and change-log entries as Web API
// clients; each Upsert or Delete call (one job chunk) is one transaction.
type Tables struct {
	Records *records.Service
	// Caller is who the change log names as the writer (default: the system
	// user). Writes of a job's run carry the correlation id job:NAME:RUN.
	Caller records.Caller
}

var _ job.Tables = (*Tables)(nil)

// NewTables returns the jobs' view of rs.
func NewTables(rs *records.Service) *Tables { return &Tables{Records: rs} }

// caller is who the change log names for a write made with ctx: Caller,
// with the correlation id job:NAME:RUN when ctx belongs to a job's run.
func (ts *Tables) caller(ctx context.Context) records.Caller {
	c := ts.Caller
	if name, id, ok := job.RunOf(ctx); ok {
		c.CorrelationID = "job:" + name + ":" + strconv.FormatInt(id, 10)
	}
	return c
}

// scanPage is how many rows a full read takes per read transaction.
const scanPage = 500

// inBatch caps the values of one IN list.
const inBatch = 400

// tableKey returns a table and the columns of key, which must be its primary
// id or one of its alternate keys.
func (ts *Tables) tableKey(table string, key []string) (*records.Table, []*records.Column, error) {
	t, err := ts.table(table)
	if err != nil {
		return nil, nil, err
	}
	cols, err := ts.keyColumns(t, key)
	return t, cols, err
}

func (ts *Tables) table(name string) (*records.Table, error) {
	t, ok := ts.Records.Table(name)
	if !ok {
		return nil, fmt.Errorf("there is no Junction table %q", name)
	}
	return t, nil
}

// Columns implements job.TableSource: every column with its job type.
// Lookups are strings: rows carry them as {"id", "logicalName"} objects, as
// the change log does (map one with from: column.id).
func (ts *Tables) Columns(_ context.Context, table string) ([]format.Column, error) {
	t, err := ts.table(table)
	if err != nil {
		return nil, err
	}
	out := make([]format.Column, 0, len(t.Columns))
	for i := range t.Columns {
		out = append(out, format.Column{Name: t.Columns[i].Name, Type: jobType(&t.Columns[i])})
	}
	return out, nil
}

func jobType(c *records.Column) string {
	switch c.Type {
	case records.Integer, records.BigInt, records.Picklist, records.State, records.Status:
		return format.TypeInt
	case records.Decimal, records.Money:
		return format.TypeDecimal
	case records.Double:
		return format.TypeFloat
	case records.Boolean:
		return format.TypeBool
	case records.DateTime:
		return format.TypeDateTime
	case records.UniqueIdentifier:
		return format.TypeGUID
	}
	return format.TypeString
}

// Scan implements job.TableSource. It reads the change log's last sequence
// number first, then the rows in pages by primary id, each page in its own
// read. Rows are therefore at least as new as the returned number, and a
// delta read after it replays whatever changed during the scan: a full read
// followed by deltas misses nothing. Rows have the change log's shape
// (records.JSONRow), so one mapping serves full and delta reads.
func (ts *Tables) Scan(ctx context.Context, table string, fn func(row map[string]any) error) (int64, error) {
	t, err := ts.table(table)
	if err != nil {
		return 0, err
	}
	st := ts.Records.Store()
	var seq int64
	err = st.Read(ctx, func(q store.Querier) error {
		var err error
		seq, err = changelog.Head(ctx, q)
		return err
	})
	if err != nil {
		return 0, err
	}
	pk := records.Quote(t.PrimaryID())
	after := ""
	for {
		var page []records.Row
		err := st.Read(ctx, func(q store.Querier) error {
			rows, err := q.Query(ctx, fmt.Sprintf("SELECT %s FROM %s t WHERE t.%s > ? ORDER BY t.%s LIMIT %d",
				records.SelectList(t, "t"), records.Quote(t.SQLName()), pk, pk, scanPage), after)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				r, err := records.ScanRow(t, rows)
				if err != nil {
					return err
				}
				page = append(page, r)
			}
			return rows.Err()
		})
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for _, r := range page {
			if err := fn(records.JSONRow(r)); err != nil {
				return 0, err
			}
		}
		if len(page) < scanPage {
			return seq, nil
		}
		after = page[len(page)-1][t.PrimaryID()].(string)
	}
}

// Resolve implements job.Resolver: the Return column of the Table row whose
// Key column (an alternate key or any column) equals value. Text is first
// matched exactly, then with ASCII case folded as $filter eq does. Two
// matching rows are an error: a lookup key must be unique.
func (ts *Tables) Resolve(ctx context.Context, l job.Lookup, value string) (any, bool, error) {
	t, err := ts.table(l.Table)
	if err != nil {
		return nil, false, err
	}
	kc, ok := t.Column(l.Key)
	if !ok {
		return nil, false, fmt.Errorf("table %s has no column %q to look rows up by", t.Name, l.Key)
	}
	if _, ok := t.Column(l.Return); !ok {
		return nil, false, fmt.Errorf("table %s has no column %q to return", t.Name, l.Return)
	}
	var found []records.Row
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		v, err := ts.rowValue(ctx, q, t, kc, value)
		if err != nil {
			return err
		}
		if v == nil {
			return nil
		}
		cond, arg := records.Quote(kc.Name)+" = ?", records.SQLValue(v)
		if found, err = selectRows(ctx, q, t, cond+" LIMIT 2", arg); err != nil || len(found) > 0 || !kc.Type.IsText() {
			return err
		}
		found, err = selectRows(ctx, q, t, fold(q.Dialect(), "t."+records.Quote(kc.Name))+" = "+foldParam(q.Dialect())+" LIMIT 2", arg)
		return err
	})
	if err != nil {
		var re *records.Error
		if errors.As(err, &re) && re.Status == http.StatusBadRequest {
			return nil, false, nil // a value the key column cannot hold matches no row
		}
		return nil, false, err
	}
	switch len(found) {
	case 0:
		return nil, false, nil
	case 1:
		return flat(found[0][l.Return]), true, nil
	}
	return nil, false, fmt.Errorf("more than one %s row has %s = %q; a lookup key must be unique", t.Name, l.Key, value)
}

func fold(d store.Dialect, x string) string {
	if d == store.Postgres {
		return "LOWER((" + x + ") COLLATE \"C\")"
	}
	return "LOWER(" + x + ")"
}

func foldParam(d store.Dialect) string {
	if d == store.Postgres {
		return "LOWER(CAST(? AS TEXT) COLLATE \"C\")"
	}
	return "LOWER(?)"
}

// selectRows reads the rows of t matching where (columns unqualified or
// qualified with t.).
func selectRows(ctx context.Context, q store.Querier, t *records.Table, where string, args ...any) ([]records.Row, error) {
	rows, err := q.Query(ctx, fmt.Sprintf("SELECT %s FROM %s t WHERE %s", records.SelectList(t, "t"), records.Quote(t.SQLName()), where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []records.Row
	for rows.Next() {
		r, err := records.ScanRow(t, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// asGiven renders a stored value in the notation the job gave it in, so
// that reconciliation compares like with like: a lookup as the change log's
// {"id", "logicalName"} object or its JSON text, a choice by the label the job
// gave; other values are flat.
func asGiven(c *records.Column, v, given any) any {
	if label, ok := given.(string); ok && c != nil && c.Type.IsChoice() {
		for _, o := range c.Options {
			if o.Value == v && strings.EqualFold(o.Label, label) {
				return label
			}
		}
	}
	r, ok := v.(records.Ref)
	if !ok {
		return v
	}
	obj := map[string]any{"id": r.ID, "logicalName": r.Table}
	switch g := given.(type) {
	case map[string]any:
		return obj
	case string:
		if strings.HasPrefix(g, "{\"") {
			b, _ := json.Marshal(obj)
			return string(b)
		}
	}
	return r.ID
}

// flat turns a row value into what jobs compare and write: a lookup becomes
// its id.
func flat(v any) any {
	if r, ok := v.(records.Ref); ok {
		return r.ID
	}
	return v
}

// keyed finds rows of t by the values of the key columns.
type keyed struct {
	t    *records.Table
	cols []*records.Column
	rows map[string]records.Row
}

func (ts *Tables) keyColumns(t *records.Table, key []string) ([]*records.Column, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("a %s sink needs key columns (an alternate key such as %s, or the primary id %s)", t.Name, keyNames(t), t.PrimaryID())
	}
	cols := make([]*records.Column, len(key))
	for i, k := range key {
		c, ok := t.Column(k)
		if !ok {
			return nil, fmt.Errorf("table %s has no key column %q", t.Name, k)
		}
		if c.Type == records.Customer {
			return nil, fmt.Errorf("the customer lookup %s cannot be part of a key", k)
		}
		cols[i] = c
	}
	return cols, nil
}

func keyNames(t *records.Table) string {
	if len(t.Keys) == 0 {
		return "(none defined)"
	}
	var out []string
	for _, k := range t.Keys {
		out = append(out, strings.Join(k.Columns, "+"))
	}
	return strings.Join(out, ", ")
}

// keyText is the identity of a row's key values, in their SQL form.
func keyText(vals []any) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(0)
		}
		fmt.Fprintf(&b, "%T:%v", v, v)
	}
	return b.String()
}

func rowKey(cols []*records.Column, r records.Row) string {
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = records.SQLValue(r[c.Name])
	}
	return keyText(vals)
}

// load reads the existing rows whose keys are among keys (SQL values).
func (k *keyed) load(ctx context.Context, q store.Querier, keys [][]any) error {
	k.rows = map[string]records.Row{}
	add := func(found []records.Row) error {
		for _, r := range found {
			kt := rowKey(k.cols, r)
			if _, dup := k.rows[kt]; dup {
				return fmt.Errorf("more than one %s row has the key %s; the key columns must be unique (an alternate key)", k.t.Name, describeKey(k.cols, r))
			}
			k.rows[kt] = r
		}
		return nil
	}
	if len(k.cols) == 1 {
		col := "t." + records.Quote(k.cols[0].Name)
		for start := 0; start < len(keys); start += inBatch {
			part := keys[start:min(start+inBatch, len(keys))]
			args := make([]any, len(part))
			for i, kv := range part {
				args[i] = kv[0]
			}
			found, err := selectRows(ctx, q, k.t, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")", args...)
			if err != nil {
				return err
			}
			if err := add(found); err != nil {
				return err
			}
		}
		return nil
	}
	seen := map[string]bool{}
	for _, kv := range keys {
		kt := keyText(kv)
		if seen[kt] {
			continue
		}
		seen[kt] = true
		conds := make([]string, len(k.cols))
		for i, c := range k.cols {
			conds[i] = "t." + records.Quote(c.Name) + " = ?"
		}
		found, err := selectRows(ctx, q, k.t, strings.Join(conds, " AND "), kv...)
		if err != nil {
			return err
		}
		if err := add(found); err != nil {
			return err
		}
	}
	return nil
}

func describeKey(cols []*records.Column, r records.Row) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + " = " + format.Text(flat(r[c.Name]))
	}
	return strings.Join(parts, ", ")
}

// prepared is one input row converted to row form.
type prepared struct {
	values records.Row
	key    []any // SQL values of the key columns
}

// refusal is a value a column refuses, or an empty key column.
type refusal struct {
	column string
	value  any
	err    *records.Error
}

// prepare converts a job row's values with rowValue, column by column in
// the table's order. The values the table refuses are returned as refusals
// (with any, the key is incomplete); other errors (a column the table lacks,
// the store) are returned as the error.
func (ts *Tables) prepare(ctx context.Context, q store.Querier, t *records.Table, cols []*records.Column, in map[string]any) (prepared, []refusal, error) {
	p := prepared{values: make(records.Row, len(in))}
	var refused []refusal
	seen := 0
	for i := range t.Columns {
		c := &t.Columns[i]
		v, ok := in[c.Name]
		if !ok {
			continue
		}
		seen++
		cv, err := ts.rowValue(ctx, q, t, c, v)
		if re := asRefusal(err); re != nil {
			refused = append(refused, refusal{c.Name, v, re})
			continue
		}
		if err != nil {
			return p, nil, err
		}
		p.values[c.Name] = cv
	}
	if seen < len(in) {
		for name := range in {
			if _, ok := t.Column(name); !ok {
				return p, nil, fmt.Errorf("table %s has no column %q", t.Name, name)
			}
		}
	}
	for _, c := range cols {
		if hasRefusal(refused, c.Name) {
			continue
		}
		v := p.values[c.Name]
		if v == nil {
			refused = append(refused, refusal{c.Name, nil, records.Invalid("the key column %s is empty", c.Name)})
			continue
		}
		p.key = append(p.key, records.SQLValue(v))
	}
	return p, refused, nil
}

// asRefusal returns err as a records error about the values written (a 4xx
// status), or nil when err is none or is not about them.
func asRefusal(err error) *records.Error {
	var re *records.Error
	if errors.As(err, &re) && re.Status < 500 {
		return re
	}
	return nil
}

func hasRefusal(rs []refusal, column string) bool {
	for _, r := range rs {
		if r.column == column {
			return true
		}
	}
	return false
}

// changes are the values that differ from the existing row before, leaving
// out the system columns Junction maintains: what Upsert updates.
func changes(t *records.Table, values, before records.Row) records.Row {
	diff := records.Row{}
	for name, v := range values {
		col, _ := t.Column(name)
		if col.System && name != "ownerid" {
			continue // maintained by Junction; Update ignores them
		}
		if !sameValue(v, before[name]) {
			diff[name] = v
		}
	}
	return diff
}

// Check implements job.TableSink: each row is converted as Upsert converts
// it and validated as records.Create or records.Update would validate it
// (whether a row has the same key decides which), without writing, all in
// one read. Each value the table refuses is a reject of its row (out[i] for
// rows[i]) naming its column, with the reason the Web API would give.
func (ts *Tables) Check(ctx context.Context, table string, key []string, rows []map[string]any) ([][]job.Reject, error) {
	t, cols, err := ts.tableKey(table, key)
	if err != nil {
		return nil, err
	}
	refused := make([][]refusal, len(rows))
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		prep := make([]prepared, len(rows))
		var keys [][]any
		for i, row := range rows {
			p, bad, err := ts.prepare(ctx, q, t, cols, row)
			if err != nil {
				return err
			}
			if refused[i] = bad; len(bad) == 0 {
				prep[i] = p
				keys = append(keys, p.key)
			}
		}
		k := &keyed{t: t, cols: cols}
		if err := k.load(ctx, q, keys); err != nil {
			return err
		}
		for i, p := range prep {
			if len(refused[i]) > 0 {
				continue
			}
			before := k.rows[keyText(p.key)] // nil: Upsert would create the row
			values := p.values
			if before != nil {
				if values = changes(t, p.values, before); len(values) == 0 {
					continue
				}
			}
			err := ts.Records.Check(ctx, q, t, before, values, ts.caller(ctx))
			if re := asRefusal(err); re != nil {
				refused[i] = append(refused[i], refusal{re.Column, rows[i][re.Column], re})
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]job.Reject, len(rows))
	for i, rs := range refused {
		for _, r := range rs {
			var v string
			if r.value != nil {
				v = format.Text(r.value)
			}
			out[i] = append(out[i], job.Reject{Column: r.column, Reason: r.err.Message, Value: v})
		}
	}
	return out, nil
}

// Upsert implements job.TableSink: rows are matched to existing rows by the
// key columns, created through records.Create when new, updated through
// records.Update with only the columns that differ, and counted unchanged
// when nothing differs. All rows commit in one transaction or none do.
func (ts *Tables) Upsert(ctx context.Context, table string, key []string, rows []map[string]any) (job.Counts, error) {
	var c job.Counts
	if len(rows) == 0 {
		return c, nil
	}
	t, cols, err := ts.tableKey(table, key)
	if err != nil {
		return c, err
	}
	who := ts.caller(ctx)
	err = ts.Records.Store().Tx(ctx, func(tx store.Tx) error {
		c = job.Counts{}
		in := make([]prepared, len(rows))
		keys := make([][]any, len(rows))
		for i, r := range rows {
			p, refused, err := ts.prepare(ctx, tx, t, cols, r)
			if err == nil && len(refused) > 0 {
				err = refused[0].err
			}
			if err != nil {
				return fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, r), err)
			}
			in[i], keys[i] = p, p.key
		}
		k := &keyed{t: t, cols: cols}
		if err := k.load(ctx, tx, keys); err != nil {
			return err
		}
		for i, p := range in {
			kt := keyText(p.key)
			before, exists := k.rows[kt]
			if !exists {
				created, err := ts.Records.Create(ctx, tx, t, p.values, who)
				if err != nil {
					return fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, rows[i]), err)
				}
				k.rows[kt] = created
				c.Inserted++
				continue
			}
			diff := changes(t, p.values, before)
			if len(diff) == 0 {
				c.Unchanged++
				continue
			}
			after, err := ts.Records.Update(ctx, tx, t, before[t.PrimaryID()].(string), diff, "", who)
			if err != nil {
				return fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, rows[i]), err)
			}
			k.rows[kt] = after
			c.Updated++
		}
		return nil
	})
	if err != nil {
		return job.Counts{}, err
	}
	return c, nil
}

func inputKey(key []string, r map[string]any) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = k + " = " + strconv.Quote(format.Text(r[k]))
	}
	return strings.Join(parts, ", ")
}

// sameValue compares row-form values as the store keeps them.
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMicro() == y.UnixMicro()
	case records.Ref:
		y, ok := b.(records.Ref)
		return ok && x.Table == y.Table && strings.EqualFold(x.ID, y.ID)
	}
	return a == b
}

// Delete implements job.TableSink: the rows with the given keys are deleted
// through records.Delete in one transaction; keys with no row are skipped.
func (ts *Tables) Delete(ctx context.Context, table string, key []string, keys []map[string]any) (int64, error) {
	who := ts.caller(ctx)
	return ts.eachByKey(ctx, "delete", table, key, keys, func(tx store.Tx, t *records.Table, id string, _ records.Row) (bool, error) {
		return true, ts.Records.Delete(ctx, tx, t, id, "", who)
	})
}

// Flag implements job.TableSink: the Boolean column is set to true through
// records.Update, in one transaction, on the rows with the given keys that
// are not flagged yet; keys with no row are skipped. It returns how many
// rows it flagged.
func (ts *Tables) Flag(ctx context.Context, table string, key []string, column string, keys []map[string]any) (int64, error) {
	who := ts.caller(ctx)
	return ts.eachByKey(ctx, "flag", table, key, keys, func(tx store.Tx, t *records.Table, id string, r records.Row) (bool, error) {
		c, ok := t.Column(column)
		if !ok || c.Type != records.Boolean {
			return false, fmt.Errorf("table %s has no Boolean column %q to flag deleted rows with", t.Name, column)
		}
		if r[column] == true {
			return false, nil
		}
		_, err := ts.Records.Update(ctx, tx, t, id, records.Row{column: true}, "", who)
		return true, err
	})
}

// eachByKey calls fn, in one transaction, once with each row of table whose
// key columns have the values of one of keys (keys with no row are
// skipped), and counts the rows fn acted on. verb names what fn does in its
// errors.
func (ts *Tables) eachByKey(ctx context.Context, verb, table string, key []string, keys []map[string]any,
	fn func(tx store.Tx, t *records.Table, id string, r records.Row) (bool, error)) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	t, cols, err := ts.tableKey(table, key)
	if err != nil {
		return 0, err
	}
	var n int64
	err = ts.Records.Store().Tx(ctx, func(tx store.Tx) error {
		n = 0
		kvs, err := ts.keyValues(ctx, tx, t, cols, keys)
		if err != nil {
			return err
		}
		k := &keyed{t: t, cols: cols}
		if err := k.load(ctx, tx, kvs); err != nil {
			return err
		}
		for _, kv := range kvs {
			kt := keyText(kv)
			r, ok := k.rows[kt]
			if !ok {
				continue
			}
			acted, err := fn(tx, t, r[t.PrimaryID()].(string), r)
			if err != nil {
				return fmt.Errorf("%s %s: %w", verb, describeKey(cols, r), err)
			}
			delete(k.rows, kt) // a key given twice is handled once
			if acted {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (ts *Tables) keyValues(ctx context.Context, q store.Querier, t *records.Table, cols []*records.Column, keys []map[string]any) ([][]any, error) {
	out := make([][]any, 0, len(keys))
	for _, in := range keys {
		kv := make([]any, len(cols))
		for i, c := range cols {
			v, err := ts.rowValue(ctx, q, t, c, in[c.Name])
			if err != nil {
				return nil, err
			}
			if v == nil {
				return nil, fmt.Errorf("the key column %s is empty", c.Name)
			}
			kv[i] = records.SQLValue(v)
		}
		out = append(out, kv)
	}
	return out, nil
}

// Get implements job.TableSink: the rows with the given keys, for
// reconciliation; lookups are ids, or objects when the job gave objects.
func (ts *Tables) Get(ctx context.Context, table string, key []string, keys []map[string]any) ([]map[string]any, error) {
	t, cols, err := ts.tableKey(table, key)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		kvs, err := ts.keyValues(ctx, q, t, cols, keys)
		if err != nil {
			return err
		}
		k := &keyed{t: t, cols: cols}
		if err := k.load(ctx, q, kvs); err != nil {
			return err
		}
		given := make(map[string]map[string]any, len(keys))
		for i, kv := range kvs {
			given[keyText(kv)] = keys[i]
		}
		for kt, r := range k.rows {
			m := make(map[string]any, len(r))
			for name, v := range r {
				c, _ := t.Column(name)
				m[name] = asGiven(c, v, given[kt][name])
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// rowValue turns a job value (string, int64, float64, bool, time.Time, a
// decimal's text, a GUID, or a lookup in the change log's {"id",
// "logicalName"} shape) into column c's row form, through records.Convert.
// Choice columns also take their labels; a lookup given as a bare id on a
// customer column is looked for in each target table.
func (ts *Tables) rowValue(ctx context.Context, q store.Querier, t *records.Table, c *records.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok && !c.Type.IsText() {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		v = s
	}
	switch {
	case c.Type.IsLookup():
		r, err := ts.ref(ctx, q, t, c, v)
		if err != nil {
			return nil, err
		}
		v = r
	case c.Type.IsText():
		switch x := v.(type) {
		case string:
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			v = string(b)
		default:
			v = format.Text(x)
		}
	case c.Type == records.UniqueIdentifier:
		if s, ok := v.(string); ok {
			v = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		}
	case c.Type == records.Boolean:
		if s, ok := v.(string); ok {
			switch strings.ToLower(s) {
			case "true", "1", "yes", "y", "t":
				v = true
			case "false", "0", "no", "n", "f":
				v = false
			}
		} else if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			v = n == 1
		}
	case c.Type == records.DateTime:
	default: // numbers and choices
		if s, ok := v.(string); ok {
			if c.Type.IsChoice() {
				for _, o := range c.Options {
					if strings.EqualFold(o.Label, s) {
						return o.Value, nil
					}
				}
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, records.Invalid("The value of %s on %s must be a number; got %q.", c.Name, t.Name, s)
			}
			v = json.Number(s)
			if !strings.ContainsAny(s, ".eE") {
				break
			}
			if c.Type == records.Integer || c.Type == records.BigInt || c.Type.IsChoice() {
				if f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
					return nil, records.Invalid("The value of %s on %s must be a whole number; got %q.", c.Name, t.Name, s)
				}
				v = int64(f)
			}
		}
	}
	return records.Convert(t, c, v)
}

// ref reads a lookup value: a records.Ref, a {"id", "logicalName"} object
// (or its JSON text), or a bare GUID.
func (ts *Tables) ref(ctx context.Context, q store.Querier, t *records.Table, c *records.Column, v any) (records.Ref, error) {
	switch x := v.(type) {
	case records.Ref:
		return x, nil
	case map[string]any:
		id, _ := x["id"].(string)
		table, _ := x["logicalName"].(string)
		if records.IsGUID(id) && table != "" {
			return records.Ref{Table: table, ID: strings.ToLower(id)}, nil
		}
	case string:
		if strings.HasPrefix(x, "{\"") {
			var m map[string]any
			if json.Unmarshal([]byte(x), &m) == nil {
				return ts.ref(ctx, q, t, c, m)
			}
		}
		id := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(x, "{"), "}"))
		if !records.IsGUID(id) {
			break
		}
		if len(c.Targets) == 1 {
			return records.Ref{Table: c.Targets[0], ID: id}, nil
		}
		for _, tg := range c.Targets {
			tt, ok := ts.Records.Table(tg)
			if !ok {
				continue
			}
			var n int
			err := q.QueryRow(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s = ?", records.Quote(tt.SQLName()), records.Quote(tt.PrimaryID())), id).Scan(&n)
			if err != nil {
				return records.Ref{}, err
			}
			if n > 0 {
				return records.Ref{Table: tg, ID: id}, nil
			}
		}
		return records.Ref{}, records.Invalid("No %s row has the id %s given for %s.", strings.Join(c.Targets, " or "), id, c.Name)
	}
	return records.Ref{}, records.Invalid("The value of the lookup %s on %s must be a row id (GUID); got %s.", c.Name, t.Name, strconv.Quote(format.Text(v)))
}
