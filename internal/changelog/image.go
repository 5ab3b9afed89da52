package changelog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"junction/internal/store"
)

// A row image is stored compactly: its non-null values, and the id of its
// shape (the sorted list of every column the row has, nulls included), kept
// once in junction_changes_shapes. An update's before-image is stored as the
// values that differ from its after-image. Readers get the same maps as the
// full rows the writer appended: decodeImages expands both.
//
//	after/delete's before:  ["<shape id>", {non-null values}]
//	update's before:        ["", {values that differ from after}, [columns after has and before had not]]
//
// Rows appended before this format are JSON objects, and still read.

var shapeTable = store.Migration{
	Component: "changelog",
	Version:   5,
	Name:      "row shapes",
	SQL: `CREATE TABLE junction_changes_shapes (
		id   BIGINT PRIMARY KEY,
		keys TEXT NOT NULL
	)`,
}

// shape is the columns of a row image, sorted, with its content-derived id:
// the same columns always get the same id, in every database, so an append
// needs no lookup to find it.
type shape struct {
	id   string // 16 hex digits
	keys string // JSON array
}

// layout is a shape with what encodeFull needs to write a row of it without
// sorting: the sorted columns and each one's JSON string.
type layout struct {
	shape
	cols   []string
	quoted [][]byte
	place  map[string]int // each column's index in cols
}

// A table's rows have the same columns until its schema changes, so the
// layouts of the last few column sets are kept, keyed by a hash of the
// column names that does not depend on their order (a sum), and checked
// column by column on every use.
var (
	layoutSeed  = maphash.MakeSeed()
	layouts     sync.Map // uint64 -> *layout
	layoutCount atomic.Int32
)

const maxLayouts = 1024

func layoutOf(row map[string]any) *layout {
	sum := uint64(len(row))
	for k := range row {
		sum += maphash.String(layoutSeed, k)
	}
	if v, ok := layouts.Load(sum); ok {
		l := v.(*layout)
		if l.fits(row) {
			return l
		}
	}
	l := newLayout(row)
	if layoutCount.Load() < maxLayouts {
		if _, loaded := layouts.LoadOrStore(sum, l); !loaded {
			layoutCount.Add(1)
		}
	}
	return l
}

// fits reports whether row has exactly the layout's columns.
func (l *layout) fits(row map[string]any) bool {
	if len(row) != len(l.cols) {
		return false
	}
	for k := range row {
		if _, ok := l.place[k]; !ok {
			return false
		}
	}
	return true
}

func newLayout(row map[string]any) *layout {
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	raw, _ := json.Marshal(keys)
	sum := sha256.Sum256(raw)
	l := &layout{shape: shape{id: hex.EncodeToString(sum[:8]), keys: string(raw)}, cols: keys,
		quoted: make([][]byte, len(keys)), place: make(map[string]int, len(keys))}
	for i, k := range keys {
		l.quoted[i], _ = json.Marshal(k)
		l.place[k] = i
	}
	return l
}

// key is the shape's id as the table keys it.
func (s shape) key() int64 { return shapeKey(s.id) }

func shapeKey(id string) int64 {
	b, _ := hex.DecodeString(id)
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b) &^ (1 << 63))
}

// A Layout is the columns of a table's rows (NewLayout). A change whose
// Layout is set carries in After only some of the row's columns, those it
// has a value for: the others are null (see Change.Whole).
type Layout struct{ l *layout }

// NewLayout returns the layout of rows of columns cols.
func NewLayout(cols []string) *Layout {
	row := make(map[string]any, len(cols))
	for _, c := range cols {
		row[c] = nil
	}
	return &Layout{newLayout(row)}
}

// Whole returns c with its After image holding every column of its Layout,
// nulls included, as a reader of the log gets it.
func (c Change) Whole() Change {
	if c.Layout == nil || c.After == nil {
		return c
	}
	after := make(map[string]any, len(c.Layout.l.cols))
	for _, k := range c.Layout.l.cols {
		after[k] = c.After[k]
	}
	c.After, c.Layout = after, nil
	return c
}

// encodeFull writes a whole image: its shape and its non-null values. The
// caller records the shape (recordShapes) in the same transaction. lay, when
// not nil, is the row's columns, of which row may hold only some.
func encodeFull(row map[string]any, lay *Layout) (sql.NullString, *shape, error) {
	if row == nil {
		return sql.NullString{}, nil, nil
	}
	// The columns written, in the layout's (sorted) order: all of the
	// layout's, or, for a row of some of them, their places in it.
	var l *layout
	var places []int
	if lay == nil {
		l = layoutOf(row)
	} else {
		l = lay.l
		places = make([]int, 0, len(row))
		for k := range row {
			i, ok := l.place[k]
			if !ok {
				return sql.NullString{}, nil, fmt.Errorf("column %s is not in the row's layout", k)
			}
			places = append(places, i)
		}
		slices.Sort(places)
	}
	// What json.Marshal([]any{id, non-null values}) writes, without
	// sorting the map's keys again: the layout's columns are sorted.
	b := make([]byte, 0, 64+32*len(row))
	b = append(b, `["`...)
	b = append(b, l.id...)
	b = append(b, `",{`...)
	first := true
	write := func(i int) (err error) {
		v := row[l.cols[i]]
		if v == nil {
			return nil
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, l.quoted[i]...)
		b = append(b, ':')
		b, err = appendValue(b, v)
		return err
	}
	if places != nil {
		for _, i := range places {
			if err := write(i); err != nil {
				return sql.NullString{}, nil, err
			}
		}
	} else {
		for i := range l.cols {
			if err := write(i); err != nil {
				return sql.NullString{}, nil, err
			}
		}
	}
	b = append(b, "}]"...)
	return sql.NullString{String: string(b), Valid: true}, &l.shape, nil
}

// appendValue appends v as json.Marshal writes it.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		if plain(x) {
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case float64:
		// json.Marshal writes a float in this range in 'f' form.
		if a := math.Abs(x); a == 0 || a >= 1e-6 && a < 1e21 {
			return strconv.AppendFloat(b, x, 'f', -1, 64), nil
		}
	case map[string]any:
		// A lookup's value (records.JSONRow): its keys in order.
		id, ok1 := x["id"].(string)
		name, ok2 := x["logicalName"].(string)
		if len(x) == 2 && ok1 && ok2 && plain(id) && plain(name) {
			b = append(b, `{"id":"`...)
			b = append(b, id...)
			b = append(b, `","logicalName":"`...)
			b = append(b, name...)
			return append(b, `"}`...), nil
		}
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// plain reports whether json.Marshal writes s as it is between quotes:
// printable ASCII with nothing it escapes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Shapes remembers row shapes one store holds, so that an append of a change
// (Shapes.Append) sends no shape the store holds already: a table's changes
// share a few shapes, each a list of every column. Shapes are
// content-addressed and never deleted, so a shape a committed transaction
// inserted, or met, stays held; a shape is remembered only after that
// commit. One Shapes serves one store (a records service keeps its store's);
// the zero value is empty and ready.
//
// A database can still lose what it held while Junction runs: a PostgreSQL
// server failed over to a standby the last commits had not reached, or
// restored to an earlier point. Both are met on new connections, so with
// Connects set (the store's store.ConnectionCounter) Shapes starts again
// empty whenever the store has opened a connection since it last looked.
type Shapes struct {
	Connects func() uint64

	mu       sync.Mutex
	held     map[int64]struct{}
	connects uint64 // Connects() when held was last checked
}

// maxShapes bounds what a Shapes remembers; past it, it starts again empty.
const maxShapes = 1024

// unknown returns the shapes among these that m does not know the store
// holds; it remembers them after tx commits.
func (m *Shapes) unknown(tx store.Tx, shapes ...*shape) []*shape {
	if m == nil {
		return shapes
	}
	var out []*shape
	m.mu.Lock()
	if m.Connects != nil {
		if c := m.Connects(); c != m.connects {
			m.held, m.connects = nil, c
		}
	}
	since := m.connects
	for _, sh := range shapes {
		if sh == nil {
			continue
		}
		if _, ok := m.held[sh.key()]; !ok {
			out = append(out, sh)
		}
	}
	m.mu.Unlock()
	if len(out) > 0 {
		keys := make([]int64, len(out))
		for i, sh := range out {
			keys[i] = sh.key()
		}
		tx.AfterCommit(func() { m.remember(keys, since) })
	}
	return out
}

// remember notes keys, committed by a transaction that began while the
// store's connection count was since; one that began before Shapes started
// again is not trusted.
func (m *Shapes) remember(keys []int64, since uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if since != m.connects {
		return
	}
	if m.held == nil || len(m.held)+len(keys) > maxShapes {
		m.held = make(map[int64]struct{}, len(keys))
	}
	for _, k := range keys {
		m.held[k] = struct{}{}
	}
}

// shapeInsert is the statement that records shapes (once per distinct
// shape) and its arguments.
func shapeInsert(shapes []*shape) (string, []any) {
	var values []string
	var args []any
	for _, s := range shapes {
		if s != nil {
			values = append(values, "(?, ?)")
			args = append(args, s.key(), s.keys)
		}
	}
	if len(values) == 0 {
		return "", nil
	}
	return "INSERT INTO junction_changes_shapes (id, keys) VALUES " + strings.Join(values, ", ") + " ON CONFLICT (id) DO NOTHING", args
}

// encodeBefore writes an update's before-image as what differs from after.
func encodeBefore(before, after map[string]any) (sql.NullString, error) {
	diff := map[string]any{}
	absent := []string{}
	for k, v := range before {
		if a, ok := after[k]; !ok || !sameValue(a, v) {
			diff[k] = v
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			absent = append(absent, k)
		}
	}
	sort.Strings(absent)
	b, err := json.Marshal([]any{"", diff, absent})
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// sameValue compares two column values as they are stored: as JSON.
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// image is a stored image before decoding.
type image struct {
	shape  string // shape id; "" with relative: the update's before
	values map[string]any
	absent []string
	legacy bool // a whole row as a JSON object
}

func parseImage(raw string) (image, error) {
	var im image
	if strings.HasPrefix(raw, "{") {
		im.legacy = true
		return im, json.Unmarshal([]byte(raw), &im.values)
	}
	var parts []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &parts); err != nil {
		return im, err
	}
	if len(parts) < 2 {
		return im, fmt.Errorf("a row image has %d parts", len(parts))
	}
	if err := json.Unmarshal(parts[0], &im.shape); err != nil {
		return im, err
	}
	if err := json.Unmarshal(parts[1], &im.values); err != nil {
		return im, err
	}
	if len(parts) > 2 {
		if err := json.Unmarshal(parts[2], &im.absent); err != nil {
			return im, err
		}
	}
	return im, nil
}

// decodeImages turns the stored images of changes into whole rows, reading
// the shapes they name in one query.
func decodeImages(ctx context.Context, q store.Querier, changes []Change) error {
	want := map[int64]bool{}
	for _, c := range changes {
		for _, raw := range []sql.NullString{c.rawBefore, c.rawAfter} {
			if raw.Valid && strings.HasPrefix(raw.String, `["`) && !strings.HasPrefix(raw.String, `["",`) {
				var parts []json.RawMessage
				var id string
				if json.Unmarshal([]byte(raw.String), &parts) == nil && len(parts) > 0 && json.Unmarshal(parts[0], &id) == nil {
					want[shapeKey(id)] = true
				}
			}
		}
	}
	shapes := map[int64][]string{}
	if len(want) > 0 {
		ids := make([]any, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		type row struct {
			id   int64
			keys string
		}
		rows, err := store.Collect(ctx, q, func(r *sql.Rows) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.keys)
		}, `SELECT id, keys FROM junction_changes_shapes WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
		if err != nil {
			return fmt.Errorf("read row shapes: %w", err)
		}
		for _, r := range rows {
			var keys []string
			if err := json.Unmarshal([]byte(r.keys), &keys); err != nil {
				return fmt.Errorf("row shape %d: %w", r.id, err)
			}
			shapes[r.id] = keys
		}
	}
	for i := range changes {
		c := &changes[i]
		var err error
		if c.After, err = wholeImage(c.rawAfter, shapes); err != nil {
			return fmt.Errorf("change %d: after: %w", c.Seq, err)
		}
		if c.Before, err = beforeImage(c.rawBefore, c.After, shapes); err != nil {
			return fmt.Errorf("change %d: before: %w", c.Seq, err)
		}
		c.rawBefore, c.rawAfter = sql.NullString{}, sql.NullString{}
	}
	return nil
}

func wholeImage(raw sql.NullString, shapes map[int64][]string) (map[string]any, error) {
	if !raw.Valid {
		return nil, nil
	}
	im, err := parseImage(raw.String)
	if err != nil || im.legacy {
		return im.values, err
	}
	keys, ok := shapes[shapeKey(im.shape)]
	if !ok {
		return nil, fmt.Errorf("no row shape %s", im.shape)
	}
	row := make(map[string]any, len(keys))
	for _, k := range keys {
		row[k] = nil
	}
	for k, v := range im.values {
		row[k] = v
	}
	return row, nil
}

func beforeImage(raw sql.NullString, after map[string]any, shapes map[int64][]string) (map[string]any, error) {
	if !raw.Valid || !strings.HasPrefix(raw.String, `["",`) {
		return wholeImage(raw, shapes)
	}
	im, err := parseImage(raw.String)
	if err != nil {
		return nil, err
	}
	row := make(map[string]any, len(after))
	for k, v := range after {
		row[k] = v
	}
	for _, k := range im.absent {
		delete(row, k)
	}
	for k, v := range im.values {
		row[k] = v
	}
	return row, nil
}
