package records

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"junction/internal/store"
)

// Columns is the part of a table's columns a read selects: a point read or
// a list query with $select reads the columns it answers with and the few
// the service needs besides, not all of a standard table's ~150 (the
// driver describes and scans every column selected). A nil *Columns is
// every column. Columns are built once per table and column set and kept
// (see Table.Columns); they are read-only.
type Columns struct {
	t     *Table
	cols  []*Column // in the table's order
	width int       // SQL columns: a polymorphic lookup adds its type
	list  string    // the select list, alias t
	get   string    // Get's statement

	keptMu sync.RWMutex
	kept   map[string]any // see Keep
}

// maxColumnSets bounds the column sets kept per table: $select lists are
// the clients' to choose, so past this many distinct sets a set is built
// for its read and dropped.
const maxColumnSets = 256

// columnSets keeps a table's Columns by their key (the names, sorted), and
// by the callers' keys (KeepColumns). A table's column sets are dropped
// whenever its columns change (prepare).
type columnSets struct {
	mu   sync.RWMutex
	all  *Columns
	sets map[string]*Columns
	kept map[string]*Columns
}

// KeptColumns returns the column set kept under key by KeepColumns, or nil.
func (t *Table) KeptColumns(key string) *Columns {
	cs := t.columnSets
	if cs == nil {
		return nil
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.kept[key]
}

// KeepColumns keeps c under key, a caller's name for what it built c from
// (a request's $select list, say) that depends on this table's columns
// only: c is forgotten with the table's other column sets when its columns
// change. Past maxColumnSets keys nothing more is kept.
func (t *Table) KeepColumns(key string, c *Columns) {
	cs := t.columnSets
	if cs == nil || c == nil {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.kept) >= maxColumnSets {
		return
	}
	if cs.kept == nil {
		cs.kept = map[string]*Columns{}
	}
	cs.kept[key] = c
}

// ColumnSet returns the set of t's columns named (logical names; the names
// the table does not have are left out), in the table's order. No names is
// every column.
func (t *Table) ColumnSet(names ...string) *Columns {
	if len(names) == 0 {
		return t.allColumns()
	}
	key := columnKey(names)
	cs := t.columnSets
	if cs != nil {
		cs.mu.RLock()
		c := cs.sets[key]
		cs.mu.RUnlock()
		if c != nil {
			return c
		}
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var cols []*Column
	for i := range t.Columns {
		if want[t.Columns[i].Name] {
			cols = append(cols, &t.Columns[i])
		}
	}
	c := newColumns(t, cols)
	if cs != nil {
		cs.mu.Lock()
		if len(cs.sets) < maxColumnSets {
			if cs.sets == nil {
				cs.sets = map[string]*Columns{}
			}
			cs.sets[key] = c
		}
		cs.mu.Unlock()
	}
	return c
}

// columnKey is names sorted, without repeats, joined by commas.
func columnKey(names []string) string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	var b strings.Builder
	for i, n := range s {
		if i > 0 && n == s[i-1] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
	}
	return b.String()
}

func (t *Table) allColumns() *Columns {
	cs := t.columnSets
	if cs != nil {
		cs.mu.RLock()
		c := cs.all
		cs.mu.RUnlock()
		if c != nil {
			return c
		}
	}
	cols := make([]*Column, len(t.Columns))
	for i := range t.Columns {
		cols[i] = &t.Columns[i]
	}
	c := newColumns(t, cols)
	if cs != nil {
		cs.mu.Lock()
		cs.all = c
		cs.mu.Unlock()
	}
	return c
}

func newColumns(t *Table, cols []*Column) *Columns {
	c := &Columns{t: t, cols: cols}
	for _, col := range cols {
		c.width++
		if col.Polymorphic() {
			c.width++
		}
	}
	c.list = c.List("t")
	c.get = "SELECT " + c.list + " FROM " + Quote(t.SQLName()) + " t WHERE t." + Quote(t.PrimaryID()) + " = ?"
	return c
}

// of is c, or every column of t when c is nil.
func (c *Columns) of(t *Table) *Columns {
	if c == nil {
		return t.allColumns()
	}
	return c
}

// List is the SQL column list that Scan reads, prefixed by alias.
func (c *Columns) List(alias string) string {
	if alias == "t" && c.list != "" {
		return c.list
	}
	var b strings.Builder
	for i, col := range c.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(alias + "." + Quote(col.Name))
		if col.Polymorphic() {
			b.WriteString(", " + alias + "." + Quote(TypeColumn(col)))
		}
	}
	return b.String()
}

// Width is the number of SQL columns List names.
func (c *Columns) Width() int { return c.width }

// Cols are the set's columns, in the order ConvertValues writes their values
// (the table's). The slice is the set's own: read it, do not change it.
func (c *Columns) Cols() []*Column { return c.cols }

// Kept returns what Keep kept with the set under key, or nil.
func (c *Columns) Kept(key string) any {
	c.keptMu.RLock()
	defer c.keptMu.RUnlock()
	return c.kept[key]
}

// Keep keeps v with the set under key: something a caller derives from the
// set and from key alone (the order of an answer's fields, say), built once
// and forgotten with the set when the table's columns change. Past
// maxColumnSets keys nothing more is kept.
func (c *Columns) Keep(key string, v any) {
	c.keptMu.Lock()
	defer c.keptMu.Unlock()
	if len(c.kept) >= maxColumnSets {
		return
	}
	if c.kept == nil {
		c.kept = map[string]any{}
	}
	c.kept[key] = v
}

// Scan reads a row selected with List: the row holds the set's columns
// only.
func (c *Columns) Scan(rows interface{ Scan(...any) error }) (Row, error) {
	vals, err := c.values(rows)
	if err != nil {
		return nil, err
	}
	return c.RowOf(vals), nil
}

// values reads a row selected with List: its values, one per column.
func (c *Columns) values(rows interface{ Scan(...any) error }) ([]any, error) {
	buf := make([]any, 2*c.width+len(c.cols)) // the values scanned, the pointers Scan takes, the row's values
	raw, ptrs, vals := buf[:c.width], buf[c.width:2*c.width], buf[2*c.width:]
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := c.scan(rows, raw, ptrs, vals); err != nil {
		return nil, err
	}
	return vals, nil
}

// RowOf is the row of a set's values, one per column (as ConvertValues and
// GetValues read them).
func (c *Columns) RowOf(vals []any) Row {
	row := make(Row, len(c.cols))
	for i, col := range c.cols {
		row[col.Name] = vals[i]
	}
	return row
}

// ConvertValues converts raw, a row selected with List as
// store.QueryValues gives it (one value a SQL column, Width of them), into
// vals (len(Cols()) long), as Scan converts a row it reads.
func (c *Columns) ConvertValues(raw, vals []any) error {
	if len(raw) != c.width {
		return fmt.Errorf("a row of %d values for %d columns", len(raw), c.width)
	}
	c.convert(raw, vals)
	return nil
}

// scan reads a row selected with List into vals, one value per column:
// ptrs point at raw's values, which hold the values as scanned.
func (c *Columns) scan(rows interface{ Scan(...any) error }, raw, ptrs, vals []any) error {
	if err := rows.Scan(ptrs...); err != nil {
		return err
	}
	c.convert(raw, vals)
	return nil
}

// convert converts raw, the values of a row selected with List as
// scanned, into vals, one value per column.
func (c *Columns) convert(raw, vals []any) {
	j := 0
	for i, col := range c.cols {
		var v any
		if raw[j] != nil { // most of a wide row's values are null
			v = fromSQL(col, raw[j])
		}
		j++
		if col.Type.IsLookup() {
			tbl := col.Targets[0]
			if col.Polymorphic() {
				if s, _ := fromSQL(&Column{Type: String}, raw[j]).(string); s != "" {
					tbl = s
				}
				j++
			}
			if id, ok := v.(string); ok && id != "" {
				v = Ref{Table: tbl, ID: id}
			} else {
				v = nil
			}
		}
		if v != nil || vals[i] != nil { // a null not written over a null
			vals[i] = v
		}
	}
}

// SelectList is the SQL column list that ScanRow reads, prefixed by alias.
func SelectList(t *Table, alias string) string { return t.allColumns().List(alias) }

// SelectWidth is the number of SQL columns SelectList names.
func SelectWidth(t *Table) int { return t.allColumns().width }

// ScanRow reads a row selected with SelectList.
func ScanRow(t *Table, rows interface{ Scan(...any) error }) (Row, error) {
	return t.allColumns().Scan(rows)
}

// Get reads one row by primary id.
func (s *Service) Get(ctx context.Context, q store.Querier, t *Table, id string) (Row, error) {
	return s.GetColumns(ctx, q, t, id, nil)
}

// GetColumns reads the columns cols (nil: all) of one row by primary id.
//
// On SQLite the read is one seek of the primary key's index, which nothing
// makes wait, so it runs to its end once started rather than being watched
// for ctx's end, which costs the SQLite driver a goroutine per statement and
// database/sql another per result; a ctx ended before it starts still stops
// it. On PostgreSQL it stays cancellable: it may wait for a pooled
// connection or behind a schema change's lock.
func (s *Service) GetColumns(ctx context.Context, q store.Querier, t *Table, id string, cols *Columns) (Row, error) {
	cols = cols.of(t)
	vals, err := s.GetValues(ctx, q, t, id, cols)
	if err != nil {
		return nil, err
	}
	return cols.RowOf(vals), nil
}

// errOneRow ends GetValues' rows at the first: the primary key's row is
// the only one, and the statement is reset then rather than stepped to its
// end, as QueryRow does.
var errOneRow = errors.New("one row read")

// GetValues is GetColumns' row as its values, one per column of cols (nil:
// all) in the order of cols.Cols(), converted as Scan converts them: a
// point read written straight from its values, without a map.
func (s *Service) GetValues(ctx context.Context, q store.Querier, t *Table, id string, cols *Columns) ([]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cols = cols.of(t)
	qctx := ctx
	if q.Dialect() == store.SQLite {
		qctx = context.WithoutCancel(ctx)
	}
	// The row's values as the driver gives them (store.QueryValues), which
	// on a read outside a transaction skips database/sql's rows, and its
	// scan's copies and conversions, on both drivers.
	var vals []any
	err := store.QueryValues(qctx, q, cols.get, []any{strings.ToLower(id)}, func(raw []any) error {
		vals = make([]any, len(cols.cols))
		if err := cols.ConvertValues(raw, vals); err != nil {
			return err
		}
		return errOneRow
	})
	if err != nil && !errors.Is(err, errOneRow) {
		return nil, err
	}
	if vals == nil {
		return nil, NotFound(t.Name, id)
	}
	return vals, nil
}
