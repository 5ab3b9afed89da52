package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"junction/internal/changelog"
	"junction/internal/store"
)

// Bulk operations by key: rows given as plain values (converted with
// LenientValue) are matched to the stored rows whose key columns (an
// alternate key or the primary id) have the same values, looked up in a few
// IN queries per call, and written through Create, Update and Delete, so they
// get the same validation, auto-numbers and change-log entries as one write.
// Batch jobs write Junction's tables with them.

// scanPage is how many rows ScanTable reads per read transaction.
const scanPage = 500

// inBatch caps the values of one IN list.
const inBatch = 400

// Refusal is a value a table refuses in a bulk write: its column, the value
// as given (nil for an empty key column), and the reason.
type Refusal struct {
	Column string
	Value  any
	Err    *Error
}

// UpsertCounts are what UpsertByKey did.
type UpsertCounts struct {
	Inserted, Updated, Unchanged int64
}

// KeyColumns returns the columns of key, which should be t's primary id or
// one of its alternate keys.
func KeyColumns(t *Table, key []string) ([]*Column, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("writing %s by key needs key columns (an alternate key such as %s, or the primary id %s)", t.Name, keyNames(t), t.PrimaryID())
	}
	cols := make([]*Column, len(key))
	for i, k := range key {
		c, ok := t.Column(k)
		if !ok {
			return nil, fmt.Errorf("table %s has no key column %q", t.Name, k)
		}
		if c.Type == Customer {
			return nil, fmt.Errorf("the customer lookup %s cannot be part of a key", k)
		}
		cols[i] = c
	}
	return cols, nil
}

func keyNames(t *Table) string {
	if len(t.Keys) == 0 {
		return "(none defined)"
	}
	var out []string
	for _, k := range t.Keys {
		out = append(out, strings.Join(k.Columns, "+"))
	}
	return strings.Join(out, ", ")
}

// ScanTable calls fn with every row of t, read in pages by primary id, each
// page in its own read. It reads the change log's head first and returns it:
// the rows are at least as new as that position, so a delta read after it
// replays whatever changed during the scan, and a full read followed by
// deltas misses nothing.
func (s *Service) ScanTable(ctx context.Context, t *Table, fn func(Row) error) (int64, error) {
	var seq int64
	err := changelog.Sequence(ctx, s.st)
	if err == nil {
		err = s.st.Read(ctx, func(q store.Querier) error {
			seq, err = changelog.Head(ctx, q)
			return err
		})
	}
	if err != nil {
		return 0, err
	}
	pk := Quote(t.PrimaryID())
	after := ""
	for {
		var page []Row
		err := s.st.Read(ctx, func(q store.Querier) error {
			var err error
			page, err = selectRows(ctx, q, t, fmt.Sprintf("t.%s > ? ORDER BY t.%s LIMIT %d", pk, pk, scanPage), after)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return 0, err
			}
		}
		if len(page) < scanPage {
			return seq, nil
		}
		after = page[len(page)-1][t.PrimaryID()].(string)
	}
}

// FindByValue returns up to limit rows of t whose column c holds v (given as
// LenientValue takes it). Text is matched exactly first, then with ASCII case
// folded as $filter eq does. A value the column cannot hold matches no row.
func (s *Service) FindByValue(ctx context.Context, q store.Querier, t *Table, c *Column, v any, limit int) ([]Row, error) {
	cv, err := s.LenientValue(ctx, q, t, c, v)
	var re *Error
	if errors.As(err, &re) && re.Status == http.StatusBadRequest {
		return nil, nil
	}
	if err != nil || cv == nil {
		return nil, err
	}
	arg, lim := toSQL(cv), " LIMIT "+strconv.Itoa(limit)
	found, err := selectRows(ctx, q, t, "t."+Quote(c.Name)+" = ?"+lim, arg)
	if err != nil || len(found) > 0 || !c.Type.IsText() {
		return found, err
	}
	return selectRows(ctx, q, t, Fold(q.Dialect(), "t."+Quote(c.Name))+" = "+FoldParam(q.Dialect())+lim, arg)
}

// FoldParam is Fold of a text statement argument.
func FoldParam(d store.Dialect) string {
	if d == store.Postgres {
		return "LOWER(CAST(? AS TEXT) COLLATE \"C\")"
	}
	return "LOWER(?)"
}

// selectRows reads the rows of t (aliased t) matching where.
func selectRows(ctx context.Context, q store.Querier, t *Table, where string, args ...any) ([]Row, error) {
	return store.Collect(ctx, q, func(rows *sql.Rows) (Row, error) { return ScanRow(t, rows) },
		fmt.Sprintf("SELECT %s FROM %s t WHERE %s", SelectList(t, "t"), Quote(t.SQLName()), where), args...)
}

// keyed holds the stored rows of t found by the values of the key columns.
type keyed struct {
	t    *Table
	cols []*Column
	rows map[string]Row
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

func rowKey(cols []*Column, r Row) string {
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = toSQL(r[c.Name])
	}
	return keyText(vals)
}

// load reads the stored rows whose keys are among keys (SQL values). Two rows
// with one key are an error: the key columns must be unique.
func (k *keyed) load(ctx context.Context, q store.Querier, keys [][]any) error {
	k.rows = map[string]Row{}
	add := func(found []Row) error {
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
		col := "t." + Quote(k.cols[0].Name)
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
	conds := make([]string, len(k.cols))
	for i, c := range k.cols {
		conds[i] = "t." + Quote(c.Name) + " = ?"
	}
	for _, kv := range keys {
		kt := keyText(kv)
		if seen[kt] {
			continue
		}
		seen[kt] = true
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

func describeKey(cols []*Column, r Row) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + " = " + text(Flat(r[c.Name]))
	}
	return strings.Join(parts, ", ")
}

// prepared is one input row converted to row form.
type prepared struct {
	values Row
	key    []any // SQL values of the key columns
}

// prepare converts a row's values with LenientValue, column by column in the
// table's order. The values the table refuses are returned as refusals (with
// any, the key is incomplete); other errors (a column the table lacks, the
// store) are returned as the error.
func (s *Service) prepare(ctx context.Context, q store.Querier, t *Table, cols []*Column, in map[string]any) (prepared, []Refusal, error) {
	p := prepared{values: make(Row, len(in))}
	var refused []Refusal
	seen := 0
	for i := range t.Columns {
		c := &t.Columns[i]
		v, ok := in[c.Name]
		if !ok {
			continue
		}
		seen++
		cv, err := s.LenientValue(ctx, q, t, c, v)
		if re := asRefusal(err); re != nil {
			refused = append(refused, Refusal{c.Name, v, re})
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
			refused = append(refused, Refusal{c.Name, nil, Invalid("the key column %s is empty", c.Name)})
			continue
		}
		p.key = append(p.key, toSQL(v))
	}
	return p, refused, nil
}

// asRefusal returns err as an error about the values written (a 4xx
// status), or nil when err is none or is not about them.
func asRefusal(err error) *Error {
	var re *Error
	if errors.As(err, &re) && re.Status < 500 {
		return re
	}
	return nil
}

func hasRefusal(rs []Refusal, column string) bool {
	for _, r := range rs {
		if r.Column == column {
			return true
		}
	}
	return false
}

// differences are the values that differ from the stored row before, leaving
// out the system columns Junction maintains: what UpsertByKey updates.
func differences(t *Table, values, before Row) Row {
	diff := Row{}
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

// CheckByKey converts each row as UpsertByKey converts it and validates it
// as Create or Update would (whether a stored row has the same key decides
// which), without writing. out[i] lists what t refuses of rows[i], each
// refusal naming its column; an error is not about a row.
func (s *Service) CheckByKey(ctx context.Context, q store.Querier, t *Table, key []string, rows []map[string]any, who Caller) ([][]Refusal, error) {
	cols, err := KeyColumns(t, key)
	if err != nil {
		return nil, err
	}
	refused := make([][]Refusal, len(rows))
	prep := make([]prepared, len(rows))
	var keys [][]any
	for i, row := range rows {
		p, bad, err := s.prepare(ctx, q, t, cols, row)
		if err != nil {
			return nil, err
		}
		if refused[i] = bad; len(bad) == 0 {
			prep[i] = p
			keys = append(keys, p.key)
		}
	}
	k := &keyed{t: t, cols: cols}
	if err := k.load(ctx, q, keys); err != nil {
		return nil, err
	}
	for i, p := range prep {
		if len(refused[i]) > 0 {
			continue
		}
		before := k.rows[keyText(p.key)] // nil: UpsertByKey would create the row
		values := p.values
		if before != nil {
			if values = differences(t, p.values, before); len(values) == 0 {
				continue
			}
		}
		err := s.Check(ctx, q, t, before, values, who)
		if re := asRefusal(err); re != nil {
			refused[i] = append(refused[i], Refusal{re.Column, rows[i][re.Column], re})
		} else if err != nil {
			return nil, err
		}
	}
	return refused, nil
}

// UpsertByKey writes rows to t in tx: each row is matched to the stored row
// with the same key, created through Create when there is none, updated
// through Update with only the columns that differ, and counted unchanged
// when nothing differs. A later row with the key of an earlier one updates
// what the earlier one wrote. The first refused value or failed write is the
// error, naming the row.
func (s *Service) UpsertByKey(ctx context.Context, tx store.Tx, t *Table, key []string, rows []map[string]any, who Caller) (UpsertCounts, error) {
	var c UpsertCounts
	if len(rows) == 0 {
		return c, nil
	}
	cols, err := KeyColumns(t, key)
	if err != nil {
		return c, err
	}
	in := make([]prepared, len(rows))
	keys := make([][]any, len(rows))
	for i, r := range rows {
		p, refused, err := s.prepare(ctx, tx, t, cols, r)
		if err == nil && len(refused) > 0 {
			err = refused[0].Err
		}
		if err != nil {
			return c, fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, r), err)
		}
		in[i], keys[i] = p, p.key
	}
	k := &keyed{t: t, cols: cols}
	if err := k.load(ctx, tx, keys); err != nil {
		return c, err
	}
	for i, p := range in {
		kt := keyText(p.key)
		before, exists := k.rows[kt]
		if !exists {
			created, err := s.Create(ctx, tx, t, p.values, who)
			if err != nil {
				return c, fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, rows[i]), err)
			}
			k.rows[kt] = created
			c.Inserted++
			continue
		}
		diff := differences(t, p.values, before)
		if len(diff) == 0 {
			c.Unchanged++
			continue
		}
		after, err := s.Update(ctx, tx, t, before[t.PrimaryID()].(string), diff, "", who)
		if err != nil {
			return c, fmt.Errorf("row %d of the chunk (%s): %w", i+1, inputKey(key, rows[i]), err)
		}
		k.rows[kt] = after
		c.Updated++
	}
	return c, nil
}

func inputKey(key []string, r map[string]any) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = k + " = " + strconv.Quote(text(r[k]))
	}
	return strings.Join(parts, ", ")
}

// DeleteByKey deletes through Delete, in tx, the rows of t with the given
// keys; keys with no row are skipped. It returns how many rows it deleted.
func (s *Service) DeleteByKey(ctx context.Context, tx store.Tx, t *Table, key []string, keys []map[string]any, who Caller) (int64, error) {
	return s.eachByKey(ctx, tx, "delete", t, key, keys, func(id string, _ Row) (bool, error) {
		return true, s.Delete(ctx, tx, t, id, "", who)
	})
}

// FlagByKey sets the Boolean column to true through Update, in tx, on the
// rows of t with the given keys that are not flagged yet; keys with no row
// are skipped. It returns how many rows it flagged.
func (s *Service) FlagByKey(ctx context.Context, tx store.Tx, t *Table, key []string, column string, keys []map[string]any, who Caller) (int64, error) {
	return s.eachByKey(ctx, tx, "flag", t, key, keys, func(id string, r Row) (bool, error) {
		c, ok := t.Column(column)
		if !ok || c.Type != Boolean {
			return false, fmt.Errorf("table %s has no Boolean column %q to flag deleted rows with", t.Name, column)
		}
		if r[column] == true {
			return false, nil
		}
		_, err := s.Update(ctx, tx, t, id, Row{column: true}, "", who)
		return true, err
	})
}

// eachByKey calls fn once with each row of t whose key columns have the
// values of one of keys (keys with no row, and keys given twice, are
// skipped), and counts the rows fn acted on. verb names what fn does in its
// errors.
func (s *Service) eachByKey(ctx context.Context, q store.Querier, verb string, t *Table, key []string, keys []map[string]any,
	fn func(id string, r Row) (bool, error)) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	k, kvs, err := s.loadKeys(ctx, q, t, key, keys)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, kv := range kvs {
		kt := keyText(kv)
		r, ok := k.rows[kt]
		if !ok {
			continue
		}
		acted, err := fn(r[t.PrimaryID()].(string), r)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", verb, describeKey(k.cols, r), err)
		}
		delete(k.rows, kt) // a key given twice is handled once
		if acted {
			n++
		}
	}
	return n, nil
}

// GetByKeys returns the stored rows of t with the given keys (keys with no
// row are skipped), as plain values: each value in the notation the key's
// own value for that column was given in (see LenientValue), so that a
// reconciliation compares like with like; lookups are ids otherwise.
func (s *Service) GetByKeys(ctx context.Context, q store.Querier, t *Table, key []string, keys []map[string]any) ([]map[string]any, error) {
	k, kvs, err := s.loadKeys(ctx, q, t, key, keys)
	if err != nil {
		return nil, err
	}
	given := make(map[string]map[string]any, len(keys))
	for i, kv := range kvs {
		given[keyText(kv)] = keys[i]
	}
	var out []map[string]any
	for kt, r := range k.rows {
		m := make(map[string]any, len(r))
		for name, v := range r {
			c, _ := t.Column(name)
			m[name] = asGiven(c, v, given[kt][name])
		}
		out = append(out, m)
	}
	return out, nil
}

// loadKeys converts keys to their SQL values (kvs[i] for keys[i]) and reads
// the stored rows that have them. An empty or refused key value is an error.
func (s *Service) loadKeys(ctx context.Context, q store.Querier, t *Table, key []string, keys []map[string]any) (*keyed, [][]any, error) {
	cols, err := KeyColumns(t, key)
	if err != nil {
		return nil, nil, err
	}
	kvs := make([][]any, 0, len(keys))
	for _, in := range keys {
		kv := make([]any, len(cols))
		for i, c := range cols {
			v, err := s.LenientValue(ctx, q, t, c, in[c.Name])
			if err != nil {
				return nil, nil, err
			}
			if v == nil {
				return nil, nil, fmt.Errorf("the key column %s is empty", c.Name)
			}
			kv[i] = toSQL(v)
		}
		kvs = append(kvs, kv)
	}
	k := &keyed{t: t, cols: cols}
	if err := k.load(ctx, q, kvs); err != nil {
		return nil, nil, err
	}
	return k, kvs, nil
}
