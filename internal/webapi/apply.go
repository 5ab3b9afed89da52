package webapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// AggregateLimit is the most rows $apply aggregates, as in Dataverse.
const AggregateLimit = 50000

// aggregation is one "col with method as alias" (or "$count as alias").
type aggregation struct {
	col    *records.Column // nil for $count
	method string
	alias  string
}

var (
	aggItem = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s+with\s+(sum|average|min|max|countdistinct)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$`)
	cntItem = regexp.MustCompile(`^\s*\$count\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$`)
)

// apply serves $apply: [filter(...)/]groupby((a,b)[,aggregate(...)]) or
// aggregate(...), over an entity set or (extra set) a related collection.
func (h *Handler) apply(w http.ResponseWriter, rq *req, t *records.Table, q *odata.Query, extra odata.Expr) {
	if q.Select != nil || q.Expand != nil || q.Count {
		h.fail(w, rq, badRequest("$apply cannot be combined with $select, $expand or $count"))
		return
	}
	spec := strings.TrimSpace(q.Apply)
	var filter odata.Expr
	if strings.HasPrefix(spec, "filter(") {
		end := matchParen(spec, len("filter"))
		if end < 0 || end+1 >= len(spec) || spec[end+1] != '/' {
			h.fail(w, rq, badRequest("$apply: filter(...) must be followed by /groupby(...) or /aggregate(...)"))
			return
		}
		var err error
		if filter, err = odata.ParseFilter(spec[len("filter("):end], aliasesOf(rq)); err != nil {
			h.fail(w, rq, badRequest("$apply filter: %v", err))
			return
		}
		spec = spec[end+2:]
	}
	var groups []*records.Column
	var aggs []aggregation
	var err error
	switch {
	case strings.HasPrefix(spec, "groupby((") && strings.HasSuffix(spec, ")"):
		inner := spec[len("groupby(") : len(spec)-1]
		end := matchParen(inner, 0)
		if end < 0 {
			h.fail(w, rq, badRequest("$apply: unbalanced groupby"))
			return
		}
		for _, n := range strings.Split(inner[1:end], ",") {
			c, ok := t.Column(strings.TrimSpace(n))
			if !ok {
				c, ok = lookupByValueName(t, strings.TrimSpace(n))
			}
			if !ok {
				h.fail(w, rq, notProperty(t, n))
				return
			}
			if c.Type == records.DateTime {
				// As in Dataverse ("groupby with datetime values isn't
				// supported"); FetchXML dategrouping is the way to do it.
				h.fail(w, rq, badRequest("$apply: groupby with the datetime column %s is not supported", c.Name))
				return
			}
			groups = append(groups, c)
		}
		rest := strings.TrimSpace(inner[end+1:])
		if rest != "" {
			if !strings.HasPrefix(rest, ",aggregate(") || !strings.HasSuffix(rest, ")") {
				h.fail(w, rq, badRequest("$apply: groupby takes an optional aggregate(...)"))
				return
			}
			if aggs, err = parseAggregates(t, rest[len(",aggregate("):len(rest)-1]); err != nil {
				h.fail(w, rq, err)
				return
			}
		}
	case strings.HasPrefix(spec, "aggregate(") && strings.HasSuffix(spec, ")"):
		if aggs, err = parseAggregates(t, spec[len("aggregate("):len(spec)-1]); err != nil {
			h.fail(w, rq, err)
			return
		}
	default:
		h.fail(w, rq, badRequest("$apply supports groupby((...)[,aggregate(...)]) and aggregate(...), optionally after filter(...)/"))
		return
	}
	var sel, gb, ob []string
	for _, c := range groups {
		sel = append(sel, "t."+records.Quote(c.Name))
		gb = append(gb, "t."+records.Quote(c.Name))
		ob = append(ob, "t."+records.Quote(c.Name)+" ASC NULLS FIRST")
	}
	for _, a := range aggs {
		switch a.method {
		case "$count":
			sel = append(sel, "COUNT(*)")
		case "countdistinct":
			sel = append(sel, "COUNT(DISTINCT t."+records.Quote(a.col.Name)+")")
		case "sum":
			sel = append(sel, "CAST(SUM(t."+records.Quote(a.col.Name)+") AS DOUBLE PRECISION)")
		case "average":
			sel = append(sel, "CAST(AVG(t."+records.Quote(a.col.Name)+") AS DOUBLE PRECISION)")
		default:
			sel = append(sel, strings.ToUpper(a.method)+"(t."+records.Quote(a.col.Name)+")")
		}
	}
	sqlText := "SELECT " + strings.Join(sel, ", ") + " FROM " + records.Quote(t.SQLName()) + " t"
	var args []any
	var where []string
	filter = andExpr(extra, filter)
	if filter != nil {
		f, err := h.compiler(rq).Filter(t, "t", filter)
		if err != nil {
			h.fail(w, rq, queryErr(err))
			return
		}
		where, args = append(where, f.SQL), f.Args
	}
	scope, err := h.readScope(rq, t, "t")
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if scope != nil {
		where, args = append(where, scope.SQL), append(args, scope.Args...)
	}
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	if len(gb) > 0 {
		sqlText += " GROUP BY " + strings.Join(gb, ", ") + " ORDER BY " + strings.Join(ob, ", ")
	}
	sqlText += " LIMIT ?"
	args = append(args, MaxPageSize)
	var value []map[string]any
	err = h.read(rq, func(qr store.Querier) error {
		// Dataverse aggregates at most 50,000 rows and refuses more.
		n, err := h.countUpTo(rq.r.Context(), qr, rq, t, filter, nil, AggregateLimit+1)
		if err != nil {
			return err
		}
		if n > AggregateLimit {
			return records.Errorf(http.StatusBadRequest, records.CodeAggregateLimit, "AggregateQueryRecordLimit exceeded. Cannot perform this operation.")
		}
		rows, err := qr.Query(rq.r.Context(), sqlText, args...)
		if err != nil {
			return fmt.Errorf("$apply on %s: %w", t.Name, err)
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, len(sel))
			ptrs := make([]any, len(sel))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			obj := map[string]any{}
			for i, c := range groups {
				v := records.FromSQL(c, vals[i])
				obj[propName(c)] = jsonValue(v)
				if f, ok := formatted(c, v); ok && rq.prefer.annotate(annFormatted) && !c.Type.IsLookup() {
					obj[propName(c)+"@"+annFormatted] = f
				}
			}
			for j, a := range aggs {
				v := vals[len(groups)+j]
				switch {
				case a.method == "$count" || a.method == "countdistinct":
					v = records.FromSQL(&records.Column{Type: records.BigInt}, v)
				case a.method == "sum" || a.method == "average":
					v = records.FromSQL(&records.Column{Type: records.Double}, v)
				default:
					v = jsonValue(records.FromSQL(a.col, v))
				}
				obj[a.alias] = v
				if rq.prefer.annotate(annFormatted) {
					col := a.col
					if col == nil || a.method == "countdistinct" {
						col = &records.Column{Type: records.BigInt}
					}
					if f, ok := formatted(col, v); ok {
						obj[a.alias+"@"+annFormatted] = f
					}
				}
			}
			value = append(value, obj)
		}
		return rows.Err()
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if value == nil {
		value = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName, "value": value})
}

func notProperty(t *records.Table, n string) *records.Error {
	return records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", strings.TrimSpace(n), t.Name)
}

func parseAggregates(t *records.Table, s string) ([]aggregation, error) {
	var out []aggregation
	for _, item := range strings.Split(s, ",") {
		if m := cntItem.FindStringSubmatch(item); m != nil {
			out = append(out, aggregation{method: "$count", alias: m[1]})
			continue
		}
		m := aggItem.FindStringSubmatch(item)
		if m == nil {
			return nil, badRequest("$apply: %q is not \"column with sum|average|min|max|countdistinct as alias\"", strings.TrimSpace(item))
		}
		c, ok := t.Column(m[1])
		if !ok {
			return nil, notProperty(t, m[1])
		}
		if (m[2] == "sum" || m[2] == "average") && !(c.Type == records.Integer || c.Type == records.BigInt || c.Type == records.Decimal || c.Type == records.Double || c.Type == records.Money) {
			return nil, badRequest("$apply: %s of %s needs a numeric column", m[2], c.Name)
		}
		out = append(out, aggregation{col: c, method: m[2], alias: m[3]})
	}
	return out, nil
}

// matchParen returns the index of the parenthesis closing the one at open.
func matchParen(s string, open int) int {
	if open >= len(s) || s[open] != '(' {
		return -1
	}
	depth, inStr := 0, false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func aliasesOf(rq *req) odata.Aliases { return odata.AliasesOf(rq.query) }
