package webapi

import (
	"net/http"
	"regexp"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
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
	var cols []aggColumn
	var gb []string
	for _, c := range groups {
		ref := "t." + records.Quote(c.Name)
		cols = append(cols, aggColumn{alias: propName(c), col: c, expr: ref, kind: "group"})
		gb = append(gb, ref)
	}
	for _, a := range aggs {
		ac := aggColumn{alias: a.alias, col: a.col, kind: a.method}
		ref := ""
		switch a.method {
		case "$count":
			ac.kind = "count"
		case "countdistinct":
			ac.kind = "countcolumn"
		case "average":
			ac.kind = "avg"
		}
		if a.col != nil {
			ref = "t." + records.Quote(a.col.Name)
		}
		ac.expr, _ = aggregateSQL(ac.kind, ref, a.method == "countdistinct")
		cols = append(cols, ac)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c.expr
	}
	from := " FROM " + records.Quote(t.SQLName()) + " t"
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
		from += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText := "SELECT " + strings.Join(sel, ", ") + from
	if len(gb) > 0 {
		sqlText += " GROUP BY " + strings.Join(gb, ", ") + " ORDER BY " + strings.Join(gb, " ASC NULLS FIRST, ") + " ASC NULLS FIRST"
	}
	sqlText += " LIMIT ?"
	value, err := h.runAggregate(rq, from, args, sqlText, cols, true)
	if err != nil {
		h.fail(w, rq, err)
		return
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
