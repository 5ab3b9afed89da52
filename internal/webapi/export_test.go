package webapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// ListSQL is the SELECT, with its arguments, that a GET of the entity set
// with the query string rawQuery runs for the administrator.
func (h *Handler) ListSQL(set, rawQuery string) (string, []any, error) {
	t, ok := h.rec.TableBySet(set)
	if !ok {
		return "", nil, fmt.Errorf("no entity set %s", set)
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, err
	}
	rq := &req{query: vals}
	q, err := h.parseQuery(rq)
	if err != nil {
		return "", nil, err
	}
	size, _, offset, err := page(rq, q)
	if err != nil {
		return "", nil, err
	}
	cols := h.readColumns(t, q)
	if cols == nil {
		cols = t.ColumnSet()
	}
	return h.selectSQL(rq, t, cols, q.Filter, nil, q.OrderBy, size+1, offset)
}

// KeySQL is the SELECT, with its arguments, that resolves the key segment
// key (the text between the parentheses of set(key)).
func (h *Handler) KeySQL(set, key string) (string, []any, error) {
	t, ok := h.rec.TableBySet(set)
	if !ok {
		return "", nil, fmt.Errorf("no entity set %s", set)
	}
	k, err := odata.ParseKey(key)
	if err != nil {
		return "", nil, err
	}
	vals, err := keyValues(t, k)
	if err != nil {
		return "", nil, err
	}
	return records.KeyQuery(t, vals)
}

// PropertyTypes are the types of the columns of the table named, by their
// properties' names (_x_value for a lookup).
func (h *Handler) PropertyTypes(table string) map[string]string {
	out := map[string]string{}
	if t, ok := h.rec.Table(table); ok {
		for i := range t.Columns {
			out[propName(&t.Columns[i])] = string(t.Columns[i].Type)
		}
	}
	return out
}

// ShapedRow is the administrator's point read of row id of the entity set
// with the query string rawQuery and the Prefer header prefer, as the
// answers with $expand are made, independently of the point read without
// one: the row read into a map (getColumns), shaped into a map (shape) and
// encoded; without its @odata.context and newline.
func (h *Handler) ShapedRow(ctx context.Context, set, id, rawQuery, prefer string) ([]byte, error) {
	t, ok := h.rec.TableBySet(set)
	if !ok {
		return nil, fmt.Errorf("no entity set %s", set)
	}
	r := httptest.NewRequestWithContext(ctx, "GET", "/api/data/v9.2/"+set+"("+id+")?"+rawQuery, nil)
	rq := &req{r: r, query: r.URL.Query(), prefer: parsePrefer([]string{prefer})}
	q, err := h.parseQuery(rq)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	err = h.read(rq, func(qr store.Querier) error {
		row, err := h.getColumns(ctx, qr, rq, t, id, h.readColumns(t, q))
		if err != nil {
			return err
		}
		out, err = h.shape(ctx, qr, rq, t, []records.Row{row}, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	buf, ok := encodeJSON(out[0])
	if !ok {
		return nil, fmt.Errorf("no JSON encoding")
	}
	return bytes.TrimSuffix(*buf, []byte("\n")), nil
}
