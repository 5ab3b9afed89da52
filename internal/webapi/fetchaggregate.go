package webapi

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"

	"junction/internal/records"
	"junction/internal/store"
)

// aggColumn is one column of an aggregate FetchXML answer.
type aggColumn struct {
	alias string
	col   *records.Column // nil for count
	expr  string          // the SQL expression
	kind  string          // "group", "dategroup" or the aggregate method
	// label turns a dategroup's number into its text (fiscal periods and
	// years); nil keeps the number.
	label func(int64) string
}

// fetchAggregate serves <fetch aggregate="true">: attributes with
// aggregate="count|countcolumn|sum|avg|min|max" (distinct="true" for
// countcolumn) or groupby="true" (dategrouping="day|week|month|quarter|year|
// fiscal-period|fiscal-year" for dates, see fetchdate.go), on the entity and its link-entities, ordered by <order alias>.
// As in Dataverse, more than 50,000 rows is AggregateQueryRecordLimit.
func (h *Handler) fetchAggregate(w http.ResponseWriter, rq *req, t *records.Table, f *Fetch) {
	// The plan of joins and filters is the non-aggregate one; orders name
	// aliases here, so they are taken out of it.
	var orders []FetchOrder
	stripOrders(&f.Entity, &orders)
	p := &fetchPlan{comp: h.compiler(rq)}
	if err := h.planEntity(rq, p, t, "t", &f.Entity, map[string]fetchTarget{}); err != nil {
		h.fail(w, rq, err)
		return
	}
	dialect := h.rec.Store().Dialect()
	var cols []aggColumn
	addAttrs := func(tt *records.Table, alias string, attrs []FetchAttr) error {
		for _, a := range attrs {
			c, ok := tt.Column(a.Name)
			if !ok {
				return records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "'%s' entity doesn't contain attribute with Name = '%s'.", tt.Name, a.Name)
			}
			if a.GroupBy != "true" && a.Aggregate == "" {
				return badRequest("An attribute can not be requested when an aggregate operation has been specified and its neither groupby nor aggregate (attribute %s).", a.Name)
			}
			if a.Alias == "" {
				return badRequest("Aggregate and groupby attributes need an alias (attribute %s).", a.Name)
			}
			ref := alias + "." + records.Quote(c.Name)
			ac := aggColumn{alias: a.Alias, col: c, expr: ref}
			switch {
			case a.GroupBy == "true" && a.DateGrouping != "":
				if c.Type != records.DateTime {
					return badRequest("dategrouping needs a date and time column, not %s", c.Name)
				}
				g, err := h.dateGroup(rq, dialect, ref, a.DateGrouping)
				if err != nil {
					return err
				}
				ac.expr, ac.kind, ac.label = g.expr, "dategroup", g.label
			case a.GroupBy == "true":
				ac.kind = "group"
			default:
				ac.kind = strings.ToLower(a.Aggregate)
				if ac.kind == "count" {
					ac.col = nil
				}
				if (ac.kind == "sum" || ac.kind == "avg") && !numeric(c) {
					return badRequest("%s of %s needs a numeric column", ac.kind, c.Name)
				}
				var ok bool
				if ac.expr, ok = aggregateSQL(ac.kind, ref, a.Distinct == "true"); !ok {
					return badRequest("aggregate %q is not one of count, countcolumn, sum, avg, min, max", a.Aggregate)
				}
				if ac.kind == "sum" {
					// A group whose values are all null sums to 0 in FetchXML
					// ("Aggregate data using FetchXml": Total 0 for the group
					// of the account with no employees).
					ac.expr = "COALESCE(" + ac.expr + ", 0)"
				}
			}
			for _, prev := range cols {
				if prev.alias == ac.alias {
					return badRequest("The alias %s is used twice.", ac.alias)
				}
			}
			cols = append(cols, ac)
		}
		return nil
	}
	if f.Entity.All != nil {
		h.fail(w, rq, badRequest("all-attributes cannot be used in an aggregate query"))
		return
	}
	err := addAttrs(t, "t", f.Entity.Attributes)
	links := linkEntities(&f.Entity, nil)
	for i := 0; err == nil && i < len(links) && i < len(p.links); i++ {
		err = addAttrs(p.links[i].t, p.links[i].alias, links[i].Attributes)
	}
	if err == nil && len(cols) == 0 {
		err = badRequest("An aggregate query needs at least one attribute with aggregate or groupby.")
	}
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	var sel, group, order []string
	for _, c := range cols {
		sel = append(sel, c.expr)
		if c.kind == "group" || c.kind == "dategroup" {
			group = append(group, c.expr)
		}
	}
	for _, o := range orders {
		found := false
		for i, c := range cols {
			if c.alias == o.Alias {
				dir := " ASC"
				if o.Descending == "true" {
					dir = " DESC"
				}
				order = append(order, fmt.Sprintf("%d%s", i+1, dir))
				found = true
			}
		}
		if !found {
			h.fail(w, rq, badRequest("An order in an aggregate query names an alias (<order alias=\"...\"/>); %q is not one.", o.Alias+o.Attribute))
			return
		}
	}
	for _, g := range group {
		order = append(order, g+" ASC NULLS FIRST")
	}
	from := " FROM " + records.Quote(t.SQLName()) + " t " + strings.Join(p.joins, " ")
	if len(p.where) > 0 {
		from += " WHERE " + strings.Join(p.where, " AND ")
	}
	q := "SELECT " + strings.Join(sel, ", ") + from
	if len(group) > 0 {
		q += " GROUP BY " + strings.Join(group, ", ")
	}
	if len(order) > 0 {
		q += " ORDER BY " + strings.Join(order, ", ")
	}
	q += " LIMIT ?"
	value, err := h.runAggregate(rq, from, p.wargs, q, cols, false)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName, "value": value})
}

// aggregateSQL is the SQL of an aggregate method over the column ref.
func aggregateSQL(kind, ref string, distinct bool) (string, bool) {
	switch kind {
	case "count":
		return "COUNT(*)", true
	case "countcolumn":
		if distinct {
			return "COUNT(DISTINCT " + ref + ")", true
		}
		return "COUNT(" + ref + ")", true
	case "sum":
		return "CAST(SUM(" + ref + ") AS DOUBLE PRECISION)", true
	case "avg":
		return "CAST(AVG(" + ref + ") AS DOUBLE PRECISION)", true
	case "min", "max":
		return strings.ToUpper(kind) + "(" + ref + ")", true
	}
	return "", false
}

// runAggregate runs an aggregate query ($apply or aggregate FetchXML): from
// is its FROM ... WHERE part with args, query the whole statement (its args
// then the row limit). Over AggregateLimit rows it fails as Dataverse does.
// Each row becomes an object keyed by the columns' aliases, with formatted
// values when asked; nulls are kept only with keepNulls.
func (h *Handler) runAggregate(rq *req, from string, args []any, query string, cols []aggColumn, keepNulls bool) ([]map[string]any, error) {
	value := []map[string]any{}
	err := h.read(rq, func(qr store.Querier) error {
		ctx := rq.r.Context()
		var n int
		if err := qr.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1"+from+" LIMIT ?) c", append(append([]any{}, args...), AggregateLimit+1)...).Scan(&n); err != nil {
			return err
		}
		if n > AggregateLimit {
			return records.Errorf(http.StatusBadRequest, records.CodeAggregateLimit, "AggregateQueryRecordLimit exceeded. Cannot perform this operation.")
		}
		rows, err := qr.Query(ctx, query, append(append([]any{}, args...), MaxPageSize)...)
		if err != nil {
			return fmt.Errorf("aggregate: %w", err)
		}
		got, err := store.CollectRows(rows, func(rows *sql.Rows) (map[string]any, error) {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			obj := map[string]any{}
			for i, c := range cols {
				var fc *records.Column
				switch c.kind {
				case "count", "countcolumn", "dategroup":
					fc = &records.Column{Type: records.BigInt}
				case "sum", "avg":
					fc = &records.Column{Type: records.Double}
					if c.col.Type == records.Money {
						fc = &records.Column{Type: records.Money}
					}
				default:
					fc = c.col
				}
				v := records.FromSQL(fc, vals[i])
				if n, ok := v.(int64); ok && c.label != nil {
					v = c.label(n)
				}
				if v == nil && !keepNulls {
					continue
				}
				obj[c.alias] = jsonValue(v)
				if v != nil && rq.prefer.annotate(annFormatted) && !(c.kind == "group" && c.col.Type.IsLookup()) {
					if s, ok := formatted(fc, v); ok {
						obj[c.alias+"@"+annFormatted] = s
					}
				}
			}
			return obj, nil
		})
		value = append(value, got...)
		return err
	})
	return value, err
}

func numeric(c *records.Column) bool {
	switch c.Type {
	case records.Integer, records.BigInt, records.Decimal, records.Double, records.Money:
		return true
	}
	return false
}

// stripOrders moves the orders of e and its links into out.
func stripOrders(e *FetchEntity, out *[]FetchOrder) {
	*out = append(*out, e.Orders...)
	e.Orders = nil
	for i := range e.Links {
		stripOrders(&e.Links[i], out)
	}
}

// linkEntities lists the link-entities in the order planEntity plans them.
func linkEntities(e *FetchEntity, out []*FetchEntity) []*FetchEntity {
	for i := range e.Links {
		out = append(out, &e.Links[i])
		out = linkEntities(&e.Links[i], out)
	}
	return out
}
