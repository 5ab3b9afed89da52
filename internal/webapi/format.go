package webapi

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// Annotation terms.
const (
	annFormatted = "OData.Community.Display.V1.FormattedValue"
	annNavProp   = "Microsoft.Dynamics.CRM.associatednavigationproperty"
	annLogical   = "Microsoft.Dynamics.CRM.lookuplogicalname"
)

// jsonValue is a row's value as an answer writes it: a DateTime as its
// text, a lookup as the id it points at.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return records.FormatTime(x)
	case records.Ref:
		return x.ID
	}
	return v
}

// appendJSONValue appends the JSON of jsonValue(v) without making the
// value (a DateTime's string, a lookup's id in an interface); false as
// for appendJSON.
func appendJSONValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case time.Time:
		return append(records.AppendTime(append(b, '"'), x), '"'), true
	case records.Ref:
		return appendJSONString(b, x.ID), true
	}
	return appendJSON(b, v)
}

// propName is the JSON name of a column: _x_value for lookups.
func propName(c *records.Column) string {
	if c.Type.IsLookup() {
		return "_" + c.Name + "_value"
	}
	return c.Name
}

// selected resolves $select to columns; nil or "*" means every column.
func selected(t *records.Table, sel []string) ([]*records.Column, error) {
	var cols []*records.Column
	if len(sel) == 0 || len(sel) == 1 && sel[0] == "*" {
		for i := range t.Columns {
			cols = append(cols, &t.Columns[i])
		}
		return cols, nil
	}
	seen := map[string]bool{}
	for _, s := range sel {
		c, ok := t.Column(s)
		if !ok {
			c, ok = lookupByValueName(t, s)
		}
		if !ok {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", s, t.Name)
		}
		if !seen[c.Name] {
			seen[c.Name] = true
			cols = append(cols, c)
		}
	}
	return cols, nil
}

func formatNumber(f float64, decimals int) string {
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func formatted(c *records.Column, v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case bool:
		if x {
			return "Yes", true
		}
		return "No", true
	case time.Time:
		return x.UTC().Format("1/2/2006 3:04 PM"), true
	case int64:
		if c.Type.IsChoice() {
			return c.Option(x)
		}
		return formatNumber(float64(x), 0), true
	case float64:
		if c.Type == records.Money {
			if x < 0 {
				return "-$" + formatNumber(-x, 2), true
			}
			return "$" + formatNumber(x, 2), true
		}
		p := c.Precision
		if p == 0 {
			p = 2
		}
		return formatNumber(x, p), true
	}
	return "", false
}

// shape turns rows into JSON objects with the query's $select and $expand,
// and with the annotations the Prefer header asks for.
func (h *Handler) shape(ctx context.Context, q store.Querier, rq *req, t *records.Table, rows []records.Row, query *odata.Query) ([]map[string]any, error) {
	var sel []string
	var expand []odata.Expand
	if query != nil {
		sel, expand = query.Select, query.Expand
	}
	cols, err := selected(t, sel)
	if err != nil {
		return nil, err
	}
	fv := rq.prefer.annotate(annFormatted)
	names := map[records.Ref]string{}
	if fv {
		byTable := map[string]map[string]bool{}
		for _, row := range rows {
			for _, c := range cols {
				addRef(byTable, row[c.Name])
			}
		}
		if names, err = h.lookupNames(ctx, q, byTable); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]any, len(rows))
	for i, row := range rows {
		obj := make(map[string]any, len(cols)+2)
		obj["@odata.etag"] = row.ETag()
		obj[t.PrimaryID()] = row[t.PrimaryID()]
		for _, c := range cols {
			v := row[c.Name]
			p := propName(c)
			obj[p] = jsonValue(v)
			if c.Type.IsLookup() {
				if ref, ok := v.(records.Ref); ok {
					if fv {
						if n, ok := names[ref]; ok {
							obj[p+"@"+annFormatted] = n
						}
					}
					if rq.prefer.annotate(annNavProp) {
						obj[p+"@"+annNavProp] = c.NavName(ref.Table)
					}
					if rq.prefer.annotate(annLogical) {
						obj[p+"@"+annLogical] = ref.Table
					}
				}
				continue
			}
			if fv {
				if s, ok := formatted(c, v); ok {
					obj[p+"@"+annFormatted] = s
				}
			}
		}
		out[i] = obj
	}
	for _, e := range expand {
		if err := h.expand(ctx, q, rq, t, rows, out, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addRef adds v to byTable (table name to ids) when it is a lookup's value.
func addRef(byTable map[string]map[string]bool, v any) {
	if ref, ok := v.(records.Ref); ok {
		if byTable[ref.Table] == nil {
			byTable[ref.Table] = map[string]bool{}
		}
		byTable[ref.Table][ref.ID] = true
	}
}

// lookupNames reads the primary names of the rows lookups point at, by
// table name and ids.
func (h *Handler) lookupNames(ctx context.Context, q store.Querier, byTable map[string]map[string]bool) (map[records.Ref]string, error) {
	out := map[records.Ref]string{}
	for tn, ids := range byTable {
		ot, ok := h.rec.Table(tn)
		if !ok {
			continue
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		sort.Strings(list)
		for len(list) > 0 {
			n := min(len(list), 500)
			chunk := list[:n]
			list = list[n:]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			type named struct {
				id   string
				name *string
			}
			got, err := store.Collect(ctx, q, func(rows *sql.Rows) (n named, err error) {
				err = rows.Scan(&n.id, &n.name)
				return n, err
			}, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IN (%s)", records.Quote(ot.PrimaryID()), records.Quote(ot.PrimaryName),
				records.Quote(ot.SQLName()), records.Quote(ot.PrimaryID()), marks(len(chunk))), args...)
			if err != nil {
				return nil, err
			}
			for _, n := range got {
				if n.name != nil {
					out[records.Ref{Table: tn, ID: n.id}] = *n.name
				}
			}
		}
	}
	return out, nil
}

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
