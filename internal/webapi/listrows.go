package webapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// A list answer without $expand is written straight from its rows' values
// as scanned, one slice a row in the column set's order, rather than shaped
// into a map a row (shape) and the maps read back for the JSON: with every
// column of a standard table that is two maps of ~150 entries a row. The
// bytes are those shape's maps encode to: each row's fields in the order
// encoding/json sorts a map's keys, each value converted as shape converts
// it. The order and where each field's value comes from (rowFields) are
// worked out once per column set, $select list and annotations asked for,
// and kept with the column set.

// fieldKind is what a field of a row's object holds.
type fieldKind uint8

const (
	fieldETag       fieldKind = iota // W/"<versionnumber>"
	fieldID                          // the primary id as read (shape writes it before the columns)
	fieldValue                       // the column's value as jsonValue converts it
	fieldFormatted                   // the column's formatted value, when formatted gives one
	fieldLookupName                  // the primary name of the row a lookup points at, when read
	fieldNavProp                     // a lookup's navigation property to the table it points at
	fieldLogical                     // the table a lookup points at
)

// rowField is one field of a row's object.
type rowField struct {
	key  string // a comma, the key's JSON and a colon
	null string // key and null
	kind fieldKind
	at   int // the index of the value it is made from in the row's values; -1: not read
	col  *records.Column
}

// rowFields is the fields of the objects of a list answer's rows, in the
// order they are written. names is whether a lookup's formatted value (the
// name of the row it points at) is among them.
type rowFields struct {
	fields  []rowField
	names   bool
	version int // the index of versionnumber in a row's values; -1: not read
	// entity is the context URL of one row's answer after the service
	// root: $metadata#accounts(name)/$entity.
	entity string
}

// rowAnnotations are the annotations the Prefer header asks for that shape
// writes.
type rowAnnotations struct{ formatted, navProp, logical bool }

// key is the annotations' part of the key rowFields are kept under.
func (a rowAnnotations) key() string {
	i := 0
	for bit, on := range [3]bool{a.formatted, a.navProp, a.logical} {
		if on {
			i |= 1 << bit
		}
	}
	return annotationKeys[i]
}

// annotationKeys are the keys of rowAnnotations, by the bits of formatted,
// navProp and logical: "rowFields ---:" to "rowFields +++:".
var annotationKeys = func() (keys [8]string) {
	for i := range keys {
		k := []byte("rowFields ---:")
		for bit := range 3 {
			if i&(1<<bit) != 0 {
				k[10+bit] = '+'
			}
		}
		keys[i] = string(k)
	}
	return keys
}()

func annotationsOf(p prefer) rowAnnotations {
	return rowAnnotations{p.annotate(annFormatted), p.annotate(annNavProp), p.annotate(annLogical)}
}

// fieldsFor returns the fields of t's rows read with cols for the $select
// list sel and the annotations ann, from those kept with cols or built, or
// shape's error for a $select that names what t does not have.
func fieldsFor(t *records.Table, cols *records.Columns, sel []string, ann rowAnnotations) (*rowFields, error) {
	key := ann.key() + strings.Join(sel, ",")
	if f, ok := cols.Kept(key).(*rowFields); ok {
		return f, nil
	}
	selCols, err := selected(t, sel)
	if err != nil {
		return nil, err
	}
	f := buildFields(t, cols, selCols, ann)
	f.entity = "$metadata#" + t.SetName + selectSuffix(&odata.Query{Select: sel}) + "/$entity"
	cols.Keep(key, f)
	return f, nil
}

// buildFields is fieldsFor's fields, built as shape builds a row's map:
// the ETag, the primary id, then each selected column's value and
// annotations.
func buildFields(t *records.Table, cols *records.Columns, sel []*records.Column, ann rowAnnotations) *rowFields {
	at := make(map[string]int, len(cols.Cols()))
	for i, c := range cols.Cols() {
		at[c.Name] = i
	}
	index := func(name string) int {
		if i, ok := at[name]; ok {
			return i
		}
		return -1
	}
	// The keys are set in shape's order, a later one replacing an earlier
	// as in shape's map; only the primary id's comes twice (a column's
	// name starts with a letter, a lookup's property with _ and an
	// annotation's key has an @).
	byKey := map[string]rowField{}
	byKey["@odata.etag"] = rowField{kind: fieldETag, at: index("versionnumber")}
	pid := t.PrimaryID()
	byKey[pid] = rowField{kind: fieldID, at: index(pid)}
	out := &rowFields{version: index("versionnumber")}
	for _, c := range sel {
		p := propName(c)
		f := rowField{kind: fieldValue, at: index(c.Name), col: c}
		byKey[p] = f
		if c.Type.IsLookup() {
			if ann.formatted {
				f.kind = fieldLookupName
				byKey[p+"@"+annFormatted] = f
				out.names = true
			}
			if ann.navProp {
				f.kind = fieldNavProp
				byKey[p+"@"+annNavProp] = f
			}
			if ann.logical {
				f.kind = fieldLogical
				byKey[p+"@"+annLogical] = f
			}
			continue
		}
		if ann.formatted {
			f.kind = fieldFormatted
			byKey[p+"@"+annFormatted] = f
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare) // as encoding/json sorts a map's keys
	out.fields = make([]rowField, len(keys))
	for i, k := range keys {
		f := byKey[k]
		f.key = string(append(appendJSONString([]byte{','}, k), ':'))
		f.null = f.key + "null"
		out.fields[i] = f
	}
	return out
}

// rowValues is a list answer's rows as scanned: n rows of width values.
// Its JSON is the list shape's maps encode to.
type rowValues struct {
	fields *rowFields
	vals   []any
	width  int
	names  map[records.Ref]string // the names of the rows lookups point at, when asked for
	buf    *[]any                 // the slice of scanned vals is, for release
}

// row is the values of row i.
func (r *rowValues) row(i int) []any { return r.vals[i*r.width : (i+1)*r.width] }

func (r *rowValues) len() int {
	if r.width == 0 {
		return 0
	}
	return len(r.vals) / r.width
}

// appendJSON appends the rows as a JSON array; false when encoding/json
// would refuse one of their values (as for shape's maps).
func (r *rowValues) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, '[')
	n := r.len()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		var ok bool
		if b, ok = r.fields.appendRow(b, r.row(i), r.names); !ok {
			return b, false
		}
		if i == 0 && n > 1 {
			// The rows are about as long as each other: room for them
			// at once rather than the buffer doubling as they come.
			b = slices.Grow(b, (len(b)-start+1)*(n-1)*9/8)
		}
	}
	return append(b, ']'), true
}

// MarshalJSON is appendJSON for encoding/json, which writes an answer
// appendJSON refuses (and then refuses it too).
func (r *rowValues) MarshalJSON() ([]byte, error) {
	b, ok := r.appendJSON(nil)
	if !ok {
		return nil, fmt.Errorf("a value of the rows has no JSON encoding")
	}
	return b, nil
}

// etag is the ETag of a row of values (records.Row.ETag).
func (f *rowFields) etag(vals []any) string {
	var version int64
	if f.version >= 0 {
		version, _ = vals[f.version].(int64)
	}
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// appendEntity appends a point read's answer under the service root base
// (it ends with a slash): the row's object with its @odata.context first, as encoding/json sorts it among the row's keys
// (before "@odata.etag" and every property's). False as for appendRow.
func (f *rowFields) appendEntity(b []byte, base string, vals []any) ([]byte, bool) {
	b = append(b, `{"@odata.context":"`...)
	b = appendJSONChars(b, base) // base ends with a slash
	b = appendJSONChars(b, f.entity)
	b = append(b, '"')
	start := len(b)
	b, ok := f.appendRow(b, vals, nil)
	if ok {
		b[start] = ',' // the row's brace
	}
	return b, ok
}

// appendRow appends one row's object: vals are the row's values, names
// the names of the rows its lookups point at. Each field is written with
// the comma before it, and the object's first comma then made its brace.
func (f *rowFields) appendRow(b []byte, vals []any, names map[records.Ref]string) ([]byte, bool) {
	start := len(b)
	for i := range f.fields {
		fd := &f.fields[i]
		var v any
		if fd.at >= 0 {
			v = vals[fd.at]
		}
		var s string // the value of an annotation
		switch fd.kind {
		case fieldETag:
			version, _ := v.(int64) // records.Row.ETag
			b = append(b, fd.key...)
			b = append(b, `"W/\"`...)
			b = strconv.AppendInt(b, version, 10)
			b = append(b, `\""`...)
			continue
		case fieldID, fieldValue:
			if v == nil { // most columns of a wide table's rows
				b = append(b, fd.null...)
				continue
			}
			b = append(b, fd.key...)
			var ok bool
			if fd.kind == fieldValue {
				b, ok = appendJSONValue(b, v)
			} else {
				b, ok = appendJSON(b, v)
			}
			if !ok {
				return b, false
			}
			continue
		case fieldFormatted:
			var ok bool
			if s, ok = formatted(fd.col, v); !ok {
				continue
			}
		default: // a lookup's annotations
			ref, ok := v.(records.Ref)
			if !ok {
				continue
			}
			switch fd.kind {
			case fieldLookupName:
				if s, ok = names[ref]; !ok {
					continue
				}
			case fieldNavProp:
				s = fd.col.NavName(ref.Table)
			case fieldLogical:
				s = ref.Table
			}
		}
		b = append(b, fd.key...)
		b = appendJSONString(b, s)
	}
	if len(b) == start {
		b = append(b, '{')
	} else {
		b[start] = '{'
	}
	return append(b, '}'), true
}

// listRows reads a page of t's rows for a list answer without $expand:
// pageSize rows of cols (nil: every column), and whether more follow.
func (h *Handler) listRows(ctx context.Context, qr store.Querier, rq *req, t *records.Table, cols *records.Columns, q *odata.Query, filter odata.Expr, pageSize, offset int) (rows *rowValues, more bool, err error) {
	if cols == nil {
		cols = t.ColumnSet()
	}
	sqlText, args, err := h.selectSQL(rq, t, cols, filter, nil, q.OrderBy, pageSize+1, offset)
	if err != nil {
		return nil, false, err
	}
	width := len(cols.Cols())
	buf, err := queryValues(ctx, qr, sqlText, args, cols, min(pageSize+1, 32))
	if err != nil {
		return nil, false, fmt.Errorf("query %s: %w", t.Name, err)
	}
	vals := *buf
	if more = len(vals) > pageSize*width; more {
		clear(vals[pageSize*width:])
		vals = vals[:pageSize*width]
	}
	rows = &rowValues{vals: vals, width: width, buf: buf}
	ann := annotationsOf(rq.prefer)
	if rows.fields, err = fieldsFor(t, cols, q.Select, ann); err != nil {
		return nil, false, err
	}
	if rows.fields.names {
		byTable := map[string]map[string]bool{}
		for i := range rows.len() {
			row := rows.row(i)
			for _, fd := range rows.fields.fields {
				if fd.kind == fieldLookupName && fd.at >= 0 {
					addRef(byTable, row[fd.at])
				}
			}
		}
		if rows.names, err = h.lookupNames(ctx, qr, byTable); err != nil {
			return nil, false, err
		}
	}
	return rows, more, nil
}

// scanned are the slices list answers' rows are read into, kept from one
// answer for the next: 21 rows of 150 columns are 50 KB.
var scanned = sync.Pool{New: func() any { return new([]any) }}

// maxPooledValues is the longest slice put back in scanned.
const maxPooledValues = 32 << 10

// release gives the rows' slice back for another answer's rows; r is not
// used after.
func (r *rowValues) release() {
	if r == nil || r.buf == nil || cap(r.vals) > maxPooledValues {
		return
	}
	clear(r.vals)
	*r.buf = r.vals[:0]
	scanned.Put(r.buf)
	r.buf, r.vals = nil, nil
}

// queryValues runs a SELECT of cols' List and returns its rows' values,
// one row after the other, in a slice of scanned; capRows is how many rows
// to make room for at first.
func queryValues(ctx context.Context, qr store.Querier, sqlText string, args []any, cols *records.Columns, capRows int) (*[]any, error) {
	width := len(cols.Cols())
	buf := scanned.Get().(*[]any)
	vals := slices.Grow((*buf)[:0], capRows*width)
	err := store.QueryValues(ctx, qr, sqlText, args, func(raw []any) error {
		vals = slices.Grow(vals, width)
		if err := cols.ConvertValues(raw, vals[len(vals):len(vals)+width]); err != nil {
			return err
		}
		vals = vals[:len(vals)+width]
		return nil
	})
	*buf = vals
	return buf, err
}
