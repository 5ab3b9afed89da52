package webapi

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// MaxPageSize is the largest page and the default page size.
const MaxPageSize = 5000

// countCap is where @odata.count stops counting, as in Dataverse.
const countCap = 5000

func (h *Handler) parseQuery(rq *req) (*odata.Query, error) {
	q, err := odata.ParseQuery(rq.query)
	var complex *odata.TooComplexError
	if errors.As(err, &complex) {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%v", complex)
	}
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return q, nil
}

func (h *Handler) compiler(rq *req) *odata.Compiler {
	return &odata.Compiler{Tables: h.rec.All(), Dialect: h.rec.Store().Dialect(), Now: h.now(), UserID: rq.user}
}

func queryErr(err error) error {
	var qe *odata.QueryError
	if errors.As(err, &qe) {
		return records.Errorf(http.StatusBadRequest, records.CodeBadQuery, "%s", qe.Msg)
	}
	return err
}

// selectRows runs SELECT over t with the filter (and extra conditions),
// ordering, limit and offset.
func (h *Handler) selectRows(ctx context.Context, q store.Querier, rq *req, t *records.Table, filter odata.Expr, extra []odata.Frag, order []odata.Order, limit, offset int) ([]records.Row, error) {
	return h.selectColumns(ctx, q, rq, t, nil, filter, extra, order, limit, offset)
}

// selectColumns is selectRows reading the columns cols only (nil: all).
func (h *Handler) selectColumns(ctx context.Context, q store.Querier, rq *req, t *records.Table, cols *records.Columns, filter odata.Expr, extra []odata.Frag, order []odata.Order, limit, offset int) ([]records.Row, error) {
	if cols == nil {
		cols = t.ColumnSet()
	}
	sqlText, args, err := h.selectSQL(rq, t, cols, filter, extra, order, limit, offset)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", t.Name, err)
	}
	return store.CollectRows(rows, func(rows *sql.Rows) (records.Row, error) { return cols.Scan(rows) })
}

// selectSQL is the statement selectColumns runs, with its arguments.
func (h *Handler) selectSQL(rq *req, t *records.Table, cols *records.Columns, filter odata.Expr, extra []odata.Frag, order []odata.Order, limit, offset int) (string, []any, error) {
	extra, err := h.withScope(rq, t, extra)
	if err != nil {
		return "", nil, err
	}
	c := h.compiler(rq)
	var where []string
	var args []any
	if filter != nil {
		f, err := c.Filter(t, "t", filter)
		if err != nil {
			return "", nil, queryErr(err)
		}
		where, args = append(where, f.SQL), append(args, f.Args...)
	}
	for _, e := range extra {
		where, args = append(where, e.SQL), append(args, e.Args...)
	}
	ob, err := c.OrderBy(t, "t", order)
	if err != nil {
		return "", nil, queryErr(err)
	}
	// The statement is written into one buffer: with every column of a
	// wide table, its column list alone is a few KB.
	list, from := cols.List("t"), records.Quote(t.SQLName())
	n := len(list) + len(from) + len(ob.SQL) + 64
	for _, w := range where {
		n += len(w) + len(" WHERE ")
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("SELECT ")
	b.WriteString(list)
	b.WriteString(" FROM ")
	b.WriteString(from)
	b.WriteString(" t")
	for i, w := range where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(w)
	}
	// LIMIT and OFFSET are written into the statement: SQLite weighs reading
	// rows in an index's order against sorting them only for a literal
	// LIMIT, and PostgreSQL's generic plan of a prepared statement guesses
	// at an OFFSET it is not given, and may then sort.
	b.WriteString(" ORDER BY ")
	b.WriteString(ob.SQL)
	b.WriteString(" LIMIT ")
	b.WriteString(strconv.Itoa(limit))
	b.WriteString(" OFFSET ")
	b.WriteString(strconv.Itoa(offset))
	args = append(args, ob.Args...)
	return b.String(), args, nil
}

func (h *Handler) countRows(ctx context.Context, q store.Querier, rq *req, t *records.Table, filter odata.Expr, extra []odata.Frag) (int, error) {
	return h.countUpTo(ctx, q, rq, t, filter, extra, countCap)
}

// countUpTo counts the matching rows, stopping at limit.
func (h *Handler) countUpTo(ctx context.Context, q store.Querier, rq *req, t *records.Table, filter odata.Expr, extra []odata.Frag, limit int) (int, error) {
	extra, err := h.withScope(rq, t, extra)
	if err != nil {
		return 0, err
	}
	c := h.compiler(rq)
	var where []string
	var args []any
	if filter != nil {
		f, err := c.Filter(t, "t", filter)
		if err != nil {
			return 0, queryErr(err)
		}
		where, args = append(where, f.SQL), append(args, f.Args...)
	}
	for _, e := range extra {
		where, args = append(where, e.SQL), append(args, e.Args...)
	}
	sqlText := "SELECT 1 FROM " + records.Quote(t.SQLName()) + " t"
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	err = q.QueryRow(ctx, "SELECT COUNT(*) FROM ("+sqlText+" LIMIT ?) c", append(args, limit)...).Scan(&n)
	return n, err
}

// skipToken is the opaque $skiptoken: the offset of the next page and, for
// the first pass of change tracking, the change-log position it started at.
type skipToken struct {
	Offset int   `json:"o"`
	Seq    int64 `json:"s,omitempty"`
}

func encodeSkip(off int) string { return encodeToken(skipToken{Offset: off}) }

func encodeToken(t skipToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkip(s string) (int, error) {
	t, err := decodeToken(s)
	return t.Offset, err
}

func decodeToken(s string) (skipToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var st skipToken
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.Offset < 0 || st.Seq < 0 {
		return skipToken{}, badRequest("The $skiptoken is not valid.")
	}
	return st, nil
}

func (h *Handler) query(w http.ResponseWriter, rq *req, t *records.Table) {
	h.queryWith(w, rq, t, nil)
}

// queryWith serves a collection GET; extra restricts it further (related
// collections).
func (h *Handler) queryWith(w http.ResponseWriter, rq *req, t *records.Table, extra odata.Expr) {
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if q.Fetch != "" {
		h.fetchXML(w, rq, t, q.Fetch)
		return
	}
	if q.Apply != "" {
		h.apply(w, rq, t, q, extra)
		return
	}
	tracking := q.Delta != "" || rq.prefer.trackChanges
	if !tracking && q.Skip != "" {
		st, err := decodeToken(q.Skip)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		tracking = st.Seq > 0
	}
	if tracking {
		h.delta(w, rq, t, q)
		return
	}
	filter := andExpr(extra, q.Filter)
	pageSize, paged, offset, err := page(rq, q)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	resp := map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName + selectSuffix(q)}
	// A list that counts nothing, expands nothing and asks for no
	// formatted values (the names of the rows lookups point at) is one
	// SELECT.
	read := h.read
	if !q.Count && len(q.Expand) == 0 && !rq.prefer.annotate(annFormatted) {
		read = h.readOne
	}
	err = read(rq, func(qr store.Querier) error {
		ctx := rq.r.Context()
		value, more, err := h.listValue(ctx, qr, rq, t, q, filter, pageSize, offset)
		if err != nil {
			return err
		}
		resp["value"] = value
		if q.Count {
			n, err := h.countRows(ctx, qr, rq, t, filter, nil)
			if err != nil {
				return err
			}
			resp["@odata.count"] = n
		}
		if more && paged {
			v := cloneValues(rq.query)
			v.Set("$skiptoken", encodeSkip(offset+pageSize))
			resp["@odata.nextLink"] = rq.base + strings.Join(rq.segs, "/") + "?" + encodeQuery(v)
		}
		return nil
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if rq.prefer.maxPageSize > 0 && paged {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(rq.prefer.maxPageSize))
	}
	writeJSON(w, http.StatusOK, resp)
	if rows, ok := resp["value"].(*rowValues); ok {
		rows.release()
	}
}

// listValue reads a page of a collection GET's rows, pageSize of them from
// offset, and returns the answer's value and whether more rows follow.
// Rows without expansions are written from their values as scanned
// (listRows); with expansions they are shaped into maps.
func (h *Handler) listValue(ctx context.Context, qr store.Querier, rq *req, t *records.Table, q *odata.Query, filter odata.Expr, pageSize, offset int) (value any, more bool, err error) {
	cols := h.readColumns(t, q)
	if len(q.Expand) == 0 {
		return h.listRows(ctx, qr, rq, t, cols, q, filter, pageSize, offset)
	}
	rows, err := h.selectColumns(ctx, qr, rq, t, cols, filter, nil, q.OrderBy, pageSize+1, offset)
	if err != nil {
		return nil, false, err
	}
	if more = len(rows) > pageSize; more {
		rows = rows[:pageSize]
	}
	objs, err := h.shape(ctx, qr, rq, t, rows, q)
	if objs == nil {
		objs = []map[string]any{}
	}
	return objs, more, err
}

// page is the page size of a collection GET ($top, or odata.maxpagesize, at
// most MaxPageSize), whether more pages follow it by a next link, and the
// offset its $skiptoken gives.
func page(rq *req, q *odata.Query) (size int, paged bool, offset int, err error) {
	size, paged = MaxPageSize, true
	if rq.prefer.maxPageSize > 0 {
		size = min(rq.prefer.maxPageSize, MaxPageSize)
	}
	if q.Top >= 0 {
		size, paged = min(q.Top, MaxPageSize), false
	}
	if q.Skip != "" {
		offset, err = decodeSkip(q.Skip)
	}
	return size, paged, offset, err
}

// andExpr joins two optional filters.
func andExpr(a, b odata.Expr) odata.Expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return odata.Binary{Op: "and", L: a, R: b}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// encodeQuery encodes like url.Values.Encode but keeps '$' and ',' readable.
func encodeQuery(v url.Values) string {
	s := v.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",").Replace(s)
}

// count serves /$count on an entity set, or on a related collection when
// extra restricts it.
func (h *Handler) count(w http.ResponseWriter, rq *req, t *records.Table, extra odata.Expr) {
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	filter := andExpr(extra, q.Filter)
	var n int
	err = h.read(rq, func(qr store.Querier) error {
		var err error
		n, err = h.countRows(rq.r.Context(), qr, rq, t, filter, nil)
		return err
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, n)
}

// expand adds one navigation property to shaped rows.
func (h *Handler) expand(ctx context.Context, q store.Querier, rq *req, t *records.Table, rows []records.Row, out []map[string]any, e odata.Expand) error {
	all := h.rec.All()
	nv, ok := findNav(all, t, e.Nav)
	if m, many := h.findManyToMany(t, e.Nav); !ok && many {
		return h.expandManyToMany(ctx, q, rq, t, rows, out, e, m)
	}
	if !ok {
		return records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", e.Nav, t.Name)
	}
	other := all[nv.Other]
	opts := e.Options
	if !nv.Collection {
		if opts.Filter != nil || opts.OrderBy != nil || opts.Top >= 0 || opts.Count {
			return badRequest("$filter, $orderby, $top and $count are not allowed when expanding the single-valued %s", e.Nav)
		}
		ids := map[string]bool{}
		for _, r := range rows {
			if ref, ok := r[nv.Column.Name].(records.Ref); ok && ref.Table == other.Name {
				ids[ref.ID] = true
			}
		}
		byID := map[string]map[string]any{}
		if len(ids) > 0 {
			related, err := h.rowsByID(ctx, q, rq, other, h.readColumns(other, opts), ids)
			if err != nil {
				return err
			}
			shaped, err := h.shape(ctx, q, rq, other, related, opts)
			if err != nil {
				return err
			}
			for i, r := range related {
				byID[r[other.PrimaryID()].(string)] = shaped[i]
			}
		}
		for i, r := range rows {
			var v any
			if ref, ok := r[nv.Column.Name].(records.Ref); ok {
				if o, ok := byID[ref.ID]; ok {
					v = o
				}
			}
			out[i][nv.Name] = v
		}
		return nil
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]any, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r[t.PrimaryID()])
	}
	in := odata.Frag{SQL: "t." + records.Quote(nv.Column.Name) + " IN (" + marks(len(ids)) + ")", Args: ids}
	limit := MaxPageSize * len(rows)
	related, err := h.selectColumns(ctx, q, rq, other, h.readColumns(other, opts, nv.Column.Name), opts.Filter, []odata.Frag{in}, opts.OrderBy, limit, 0)
	if err != nil {
		return err
	}
	// The selected columns must include the lookup for grouping; shape
	// separately so the caller's $select is honoured.
	shaped, err := h.shape(ctx, q, rq, other, related, opts)
	if err != nil {
		return err
	}
	groups := map[string][]map[string]any{}
	counts := map[string]int{}
	for i, r := range related {
		ref, _ := r[nv.Column.Name].(records.Ref)
		if ref.Table != t.Name && nv.Column.Type == records.Customer {
			continue
		}
		counts[ref.ID]++
		if opts.Top >= 0 && len(groups[ref.ID]) >= opts.Top {
			continue
		}
		groups[ref.ID] = append(groups[ref.ID], shaped[i])
	}
	for i, r := range rows {
		id := r[t.PrimaryID()].(string)
		g := groups[id]
		if g == nil {
			g = []map[string]any{}
		}
		out[i][nv.Name] = g
		if opts.Count {
			// $count=true inside $expand counts the related rows that
			// match the nested $filter, before $top (OData 4.0 §11.2.4.1).
			out[i][nv.Name+"@odata.count"] = min(counts[id], countCap)
		}
	}
	return nil
}

func (h *Handler) rowsByID(ctx context.Context, q store.Querier, rq *req, t *records.Table, cols *records.Columns, ids map[string]bool) ([]records.Row, error) {
	args := make([]any, 0, len(ids))
	for id := range ids {
		args = append(args, id)
	}
	in := odata.Frag{SQL: "t." + records.Quote(t.PrimaryID()) + " IN (" + marks(len(args)) + ")", Args: args}
	return h.selectColumns(ctx, q, rq, t, cols, nil, []odata.Frag{in}, nil, len(args), 0)
}
