package webapi

import (
	"database/sql"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// Fetch is a parsed FetchXML query.
type Fetch struct {
	XMLName      xml.Name    `xml:"fetch"`
	Count        string      `xml:"count,attr"`
	Page         string      `xml:"page,attr"`
	Top          string      `xml:"top,attr"`
	PagingCookie string      `xml:"paging-cookie,attr"`
	TotalCount   string      `xml:"returntotalrecordcount,attr"`
	Aggregate    string      `xml:"aggregate,attr"`
	Entity       FetchEntity `xml:"entity"`
}

// FetchEntity is <entity> or <link-entity>.
type FetchEntity struct {
	Name       string        `xml:"name,attr"`
	From       string        `xml:"from,attr"`
	To         string        `xml:"to,attr"`
	Alias      string        `xml:"alias,attr"`
	LinkType   string        `xml:"link-type,attr"`
	Attributes []FetchAttr   `xml:"attribute"`
	All        *struct{}     `xml:"all-attributes"`
	Orders     []FetchOrder  `xml:"order"`
	Filters    []FetchFilter `xml:"filter"`
	Links      []FetchEntity `xml:"link-entity"`
}

// FetchAttr is <attribute name="x" alias="y"/>, in an aggregate query with
// aggregate="sum" or groupby="true" (and dategrouping="year").
type FetchAttr struct {
	Name         string `xml:"name,attr"`
	Alias        string `xml:"alias,attr"`
	Aggregate    string `xml:"aggregate,attr"`
	GroupBy      string `xml:"groupby,attr"`
	DateGrouping string `xml:"dategrouping,attr"`
	Distinct     string `xml:"distinct,attr"`
}

// FetchOrder is <order attribute="x" descending="true"/> (<order alias="y"/>
// in an aggregate query).
type FetchOrder struct {
	Attribute  string `xml:"attribute,attr"`
	Alias      string `xml:"alias,attr"`
	Descending string `xml:"descending,attr"`
}

// FetchFilter is <filter type="and|or"> with conditions and nested filters.
type FetchFilter struct {
	Type       string           `xml:"type,attr"`
	Conditions []FetchCondition `xml:"condition"`
	Filters    []FetchFilter    `xml:"filter"`
}

// FetchCondition is <condition attribute operator value>.
type FetchCondition struct {
	EntityName string   `xml:"entityname,attr"`
	Attribute  string   `xml:"attribute,attr"`
	Operator   string   `xml:"operator,attr"`
	Value      *string  `xml:"value,attr"`
	Values     []string `xml:"value"`
}

// ParseFetchXML decodes a FetchXML document.
func ParseFetchXML(s string) (*Fetch, error) {
	if len(s) > 1<<20 {
		return nil, fmt.Errorf("the FetchXML is larger than 1 MiB")
	}
	var f Fetch
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("the FetchXML is not valid: %v", err)
	}
	if f.Entity.Name == "" {
		return nil, fmt.Errorf("the FetchXML has no <entity name=...>")
	}
	if depth(&f.Entity, 0) > 10 {
		return nil, fmt.Errorf("link-entity is nested too deeply")
	}
	return &f, nil
}

func depth(e *FetchEntity, d int) int {
	m := d
	for i := range e.Links {
		m = max(m, depth(&e.Links[i], d+1))
	}
	for i := range e.Filters {
		m = max(m, filterDepth(&e.Filters[i], d+1))
	}
	return m
}

func filterDepth(f *FetchFilter, d int) int {
	m := d
	for i := range f.Filters {
		m = max(m, filterDepth(&f.Filters[i], d+1))
	}
	return m
}

var fetchOps = map[string]string{"eq": "eq", "ne": "ne", "neq": "ne", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}

// fetchFuncs maps FetchXML date and user operators to query functions.
var fetchFuncs = map[string]string{"on": "On", "on-or-after": "OnOrAfter", "on-or-before": "OnOrBefore", "not-on": "NotOn",
	"today": "Today", "yesterday": "Yesterday", "tomorrow": "Tomorrow", "last-seven-days": "Last7Days", "next-seven-days": "Next7Days",
	"this-week": "ThisWeek", "last-week": "LastWeek", "next-week": "NextWeek", "this-month": "ThisMonth", "last-month": "LastMonth",
	"next-month": "NextMonth", "this-year": "ThisYear", "last-year": "LastYear", "next-year": "NextYear",
	"last-x-hours": "LastXHours", "next-x-hours": "NextXHours", "last-x-days": "LastXDays", "next-x-days": "NextXDays",
	"last-x-weeks": "LastXWeeks", "next-x-weeks": "NextXWeeks", "last-x-months": "LastXMonths", "next-x-months": "NextXMonths",
	"last-x-years": "LastXYears", "next-x-years": "NextXYears", "olderthan-x-days": "OlderThanXDays", "olderthan-x-hours": "OlderThanXHours",
	"olderthan-x-months": "OlderThanXMonths", "olderthan-x-years": "OlderThanXYears", "eq-userid": "EqualUserId", "ne-userid": "NotEqualUserId",
	"in": "In", "not-in": "NotIn", "between": "Between", "not-between": "NotBetween"}

// fetchLiteral turns a condition value into a literal for column c.
func fetchLiteral(c *records.Column, v string) odata.Literal {
	switch {
	case c.Type.IsText():
		return odata.Literal{Kind: odata.LitString, Text: v}
	case c.Type == records.Boolean:
		if v == "1" || strings.EqualFold(v, "true") {
			return odata.Literal{Kind: odata.LitBool, Text: "true"}
		}
		return odata.Literal{Kind: odata.LitBool, Text: "false"}
	case c.Type == records.UniqueIdentifier || c.Type.IsLookup():
		return odata.Literal{Kind: odata.LitString, Text: strings.ToLower(strings.Trim(v, "{}"))}
	case c.Type == records.DateTime:
		return odata.Literal{Kind: odata.LitString, Text: v}
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return odata.Literal{Kind: odata.LitInt, Text: v}
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return odata.Literal{Kind: odata.LitFloat, Text: v}
	}
	return odata.Literal{Kind: odata.LitString, Text: v}
}

// fetchPlan is a FetchXML query turned into SQL pieces.
type fetchPlan struct {
	comp   *odata.Compiler
	joins  []string
	where  []string
	wargs  []any
	orders []string
	links  []fetchLink
}

type fetchLink struct {
	t     *records.Table
	alias string // SQL alias
	name  string // the alias clients see
	attrs []string
}

func (h *Handler) planEntity(rq *req, p *fetchPlan, t *records.Table, alias string, e *FetchEntity, aliases map[string]fetchTarget) error {
	if alias == "t" {
		scope, err := h.readScope(rq, t, alias)
		if err != nil {
			return err
		}
		if scope != nil {
			p.where, p.wargs = append(p.where, scope.SQL), append(p.wargs, scope.Args...)
		}
	}
	for _, o := range e.Orders {
		term, err := p.comp.OrderTerm(t, alias, o.Attribute, o.Descending == "true")
		if err != nil {
			return queryErr(err)
		}
		p.orders = append(p.orders, term)
	}
	for i := range e.Filters {
		f, err := h.fetchFilter(p, t, alias, &e.Filters[i], aliases)
		if err != nil {
			return err
		}
		if f.SQL != "" {
			p.where, p.wargs = append(p.where, f.SQL), append(p.wargs, f.Args...)
		}
	}
	for i := range e.Links {
		l := &e.Links[i]
		lt, ok := h.rec.Table(l.Name)
		if !ok {
			return badRequest("link-entity: unknown table %s", l.Name)
		}
		from, ok1 := lt.Column(l.From)
		to, ok2 := t.Column(l.To)
		if !ok1 || !ok2 {
			return badRequest("link-entity %s: from=%q and to=%q must name columns of %s and %s", l.Name, l.From, l.To, lt.Name, t.Name)
		}
		la := fmt.Sprintf("l%d", len(p.links)+1)
		join := "LEFT JOIN"
		switch l.LinkType {
		case "", "inner":
			join = "INNER JOIN"
		case "outer":
		default:
			return badRequest("link-type %q is not supported (inner, outer)", l.LinkType)
		}
		on := fmt.Sprintf("%s.%s = %s.%s", la, records.Quote(from.Name), alias, records.Quote(to.Name))
		scope, err := h.readScope(rq, lt, la)
		if err != nil {
			return err
		}
		if scope != nil {
			// The caller's own id, a GUID Junction made: safe to inline in
			// the ON clause, which takes no arguments.
			uid, _ := scope.Args[0].(string)
			if !records.IsGUID(uid) {
				return rq.grants.Missing(records.PrivilegeName(records.RightRead, lt), lt)
			}
			on += fmt.Sprintf(" AND %s.\"ownerid\" = '%s'", la, uid)
		}
		p.joins = append(p.joins, fmt.Sprintf("%s %s %s ON %s", join, records.Quote(lt.SQLName()), la, on))
		name := l.Alias
		if name == "" {
			name = lt.Name + strconv.Itoa(len(p.links)+1)
		}
		link := fetchLink{t: lt, alias: la, name: name}
		for _, a := range l.Attributes {
			if _, ok := lt.Column(a.Name); !ok {
				return badRequest("link-entity %s has no attribute %s", lt.Name, a.Name)
			}
			link.attrs = append(link.attrs, a.Name)
		}
		if l.All != nil {
			link.attrs = nil
			for _, c := range lt.Columns {
				link.attrs = append(link.attrs, c.Name)
			}
		}
		p.links = append(p.links, link)
		aliases[name] = fetchTarget{t: lt, alias: la}
		if err := h.planEntity(rq, p, lt, la, l, aliases); err != nil {
			return err
		}
	}
	return nil
}

type fetchTarget struct {
	t     *records.Table
	alias string
}

func (h *Handler) fetchFilter(p *fetchPlan, t *records.Table, alias string, f *FetchFilter, aliases map[string]fetchTarget) (odata.Frag, error) {
	op := " AND "
	switch f.Type {
	case "", "and":
	case "or":
		op = " OR "
	default:
		return odata.Frag{}, badRequest("filter type %q must be and or or", f.Type)
	}
	var parts []string
	var args []any
	for _, c := range f.Conditions {
		ct, ca := t, alias
		if c.EntityName != "" {
			tg, ok := aliases[c.EntityName]
			if !ok {
				return odata.Frag{}, badRequest("condition entityname %q names no link-entity alias", c.EntityName)
			}
			ct, ca = tg.t, tg.alias
		}
		e, err := fetchCondition(ct, &c)
		if err != nil {
			return odata.Frag{}, err
		}
		fr, err := p.comp.Filter(ct, ca, e)
		if err != nil {
			return odata.Frag{}, queryErr(err)
		}
		parts, args = append(parts, fr.SQL), append(args, fr.Args...)
	}
	for i := range f.Filters {
		fr, err := h.fetchFilter(p, t, alias, &f.Filters[i], aliases)
		if err != nil {
			return odata.Frag{}, err
		}
		if fr.SQL != "" {
			parts, args = append(parts, fr.SQL), append(args, fr.Args...)
		}
	}
	if len(parts) == 0 {
		return odata.Frag{}, nil
	}
	return odata.Frag{SQL: "(" + strings.Join(parts, op) + ")", Args: args}, nil
}

func fetchCondition(t *records.Table, c *FetchCondition) (odata.Expr, error) {
	col, ok := t.Column(c.Attribute)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "'%s' entity doesn't contain attribute with Name = '%s'.", t.Name, c.Attribute)
	}
	path := odata.Path{Segments: []string{col.Name}}
	value := func() (odata.Literal, error) {
		if c.Value != nil {
			return fetchLiteral(col, *c.Value), nil
		}
		if len(c.Values) == 1 {
			return fetchLiteral(col, c.Values[0]), nil
		}
		return odata.Literal{}, badRequest("condition on %s with operator %s needs a value", c.Attribute, c.Operator)
	}
	if op, ok := fetchOps[c.Operator]; ok {
		v, err := value()
		if err != nil {
			return nil, err
		}
		return odata.Binary{Op: op, L: path, R: v}, nil
	}
	switch c.Operator {
	case "null", "not-null":
		op := "eq"
		if c.Operator == "not-null" {
			op = "ne"
		}
		return odata.Binary{Op: op, L: path, R: odata.Literal{Kind: odata.LitNull}}, nil
	case "like", "not-like", "begins-with", "not-begin-with", "ends-with", "not-end-with":
		v, err := value()
		if err != nil {
			return nil, err
		}
		if !col.Type.IsText() {
			return nil, badRequest("%s needs a string attribute", c.Operator)
		}
		name := map[string]string{"like": "like", "not-like": "like", "begins-with": "startswith", "not-begin-with": "startswith", "ends-with": "endswith", "not-end-with": "endswith"}[c.Operator]
		var e odata.Expr = odata.Call{Name: name, Args: []odata.Expr{path, v}}
		if strings.HasPrefix(c.Operator, "not-") {
			e = odata.Not{X: e}
		}
		return e, nil
	}
	fn, ok := fetchFuncs[c.Operator]
	if !ok {
		return nil, badRequest("the condition operator %q is not supported", c.Operator)
	}
	params := map[string]odata.Expr{"PropertyName": odata.Literal{Kind: odata.LitString, Text: col.Name}}
	switch fn {
	case "In", "NotIn", "Between", "NotBetween":
		vals := c.Values
		if len(vals) == 0 && c.Value != nil {
			vals = []string{*c.Value}
		}
		var items []odata.Expr
		for _, v := range vals {
			items = append(items, fetchLiteral(col, v))
		}
		params["PropertyValues"] = odata.List{Items: items}
	default:
		if c.Value != nil || len(c.Values) > 0 {
			v, err := value()
			if err != nil {
				return nil, err
			}
			params["PropertyValue"] = v
		}
	}
	return odata.QueryFunc{Name: fn, Params: params}, nil
}

// sliceScanner lets records.ScanRow read from already-scanned values.
type sliceScanner []any

func (s sliceScanner) Scan(dest ...any) error {
	for i := range dest {
		*(dest[i].(*any)) = s[i]
	}
	return nil
}

// encodeURIComponent escapes like JavaScript's function of that name.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// fetchXML serves GET <set>?fetchXml=...
func (h *Handler) fetchXML(w http.ResponseWriter, rq *req, t *records.Table, fx string) {
	f, err := ParseFetchXML(fx)
	if err != nil {
		h.fail(w, rq, badRequest("%v", err))
		return
	}
	if f.Entity.Name != t.Name {
		h.fail(w, rq, badRequest("the FetchXML entity %s does not match the entity set %s", f.Entity.Name, t.SetName))
		return
	}
	if f.Aggregate == "true" {
		h.fetchAggregate(w, rq, t, f)
		return
	}
	pageSize, page, limited := MaxPageSize, 1, false
	if f.Top != "" {
		n, err := strconv.Atoi(f.Top)
		if err != nil || n < 0 {
			h.fail(w, rq, badRequest("top must be a whole number"))
			return
		}
		pageSize, limited = min(n, MaxPageSize), true
	}
	if f.Count != "" {
		n, err := strconv.Atoi(f.Count)
		if err != nil || n <= 0 {
			h.fail(w, rq, badRequest("count must be a positive whole number"))
			return
		}
		pageSize = min(n, MaxPageSize)
	}
	if f.Page != "" {
		if page, err = strconv.Atoi(f.Page); err != nil || page < 1 {
			h.fail(w, rq, badRequest("page must be a positive whole number"))
			return
		}
	}
	p := &fetchPlan{comp: h.compiler(rq)}
	if err := h.planEntity(rq, p, t, "t", &f.Entity, map[string]fetchTarget{}); err != nil {
		h.fail(w, rq, err)
		return
	}
	var mainAttrs []string
	for _, a := range f.Entity.Attributes {
		c, ok := t.Column(a.Name)
		if !ok {
			h.fail(w, rq, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "'%s' entity doesn't contain attribute with Name = '%s'.", t.Name, a.Name))
			return
		}
		mainAttrs = append(mainAttrs, c.Name)
	}
	if f.Entity.All != nil || len(mainAttrs) == 0 {
		mainAttrs = nil
	}
	cols := []string{records.SelectList(t, "t")}
	for _, l := range p.links {
		cols = append(cols, records.SelectList(l.t, l.alias))
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + records.Quote(t.SQLName()) + " t " + strings.Join(p.joins, " ")
	if len(p.where) > 0 {
		q += " WHERE " + strings.Join(p.where, " AND ")
	}
	q += " ORDER BY " + strings.Join(append(p.orders, "t."+records.Quote(t.PrimaryID())+" ASC"), ", ") + " LIMIT ? OFFSET ?"
	args := append(append([]any{}, p.wargs...), pageSize+1, (page-1)*pageSize)
	resp := map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName}
	err = h.read(rq, func(qr store.Querier) error {
		ctx := rq.r.Context()
		widths := []int{records.SelectWidth(t)}
		for _, l := range p.links {
			widths = append(widths, records.SelectWidth(l.t))
		}
		total := 0
		for _, n := range widths {
			total += n
		}
		// Each result row is the main row and one row per link-entity.
		joined, err := store.Collect(ctx, qr, func(rows *sql.Rows) ([]records.Row, error) {
			vals := make([]any, total)
			ptrs := make([]any, total)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			off := 0
			var parts []records.Row
			for i, n := range widths {
				tt := t
				if i > 0 {
					tt = p.links[i-1].t
				}
				r, err := records.ScanRow(tt, sliceScanner(vals[off:off+n]))
				if err != nil {
					return nil, err
				}
				parts = append(parts, r)
				off += n
			}
			return parts, nil
		}, q, args...)
		if err != nil {
			return fmt.Errorf("fetchxml %s: %w", t.Name, err)
		}
		mains := make([]records.Row, 0, len(joined))
		linked := make([][]records.Row, 0, len(joined))
		for _, parts := range joined {
			mains = append(mains, parts[0])
			linked = append(linked, parts[1:])
		}
		more := len(mains) > pageSize
		if more {
			mains, linked = mains[:pageSize], linked[:pageSize]
		}
		sel := mainAttrs
		shaped, err := h.shape(ctx, qr, rq, t, mains, &odata.Query{Select: sel, Top: -1})
		if err != nil {
			return err
		}
		value := make([]map[string]any, len(shaped))
		for i, obj := range shaped {
			for k, v := range obj {
				if v == nil {
					delete(obj, k) // FetchXML results omit null columns
				}
			}
			for j, l := range p.links {
				lr := linked[i][j]
				for _, a := range l.attrs {
					if v := lr[a]; v != nil {
						obj[l.name+"."+a] = jsonValue(v)
						c, _ := l.t.Column(a)
						if s, ok := formatted(c, v); ok && rq.prefer.annotate(annFormatted) && !c.Type.IsLookup() {
							obj[l.name+"."+a+"@"+annFormatted] = s
						}
					}
				}
			}
			value[i] = obj
		}
		resp["value"] = value
		if more && !limited {
			first, last := "", ""
			if len(mains) > 0 {
				first, last = mains[0][t.PrimaryID()].(string), mains[len(mains)-1][t.PrimaryID()].(string)
			}
			inner := fmt.Sprintf(`<cookie page="%d"><%s last="{%s}" first="{%s}" /></cookie>`, page, t.PrimaryID(), strings.ToUpper(last), strings.ToUpper(first))
			resp["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = fmt.Sprintf(`<cookie pagenumber="%d" pagingcookie="%s" istracking="False" />`, page+1, encodeURIComponent(encodeURIComponent(inner)))
			resp["@Microsoft.Dynamics.CRM.morerecords"] = true
		}
		if f.TotalCount == "true" {
			n, err := h.countFetch(rq, qr, t, p)
			if err != nil {
				return err
			}
			resp["@Microsoft.Dynamics.CRM.totalrecordcount"] = n
			resp["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = n >= countCap
		}
		return nil
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) countFetch(rq *req, q store.Querier, t *records.Table, p *fetchPlan) (int, error) {
	s := "SELECT 1 FROM " + records.Quote(t.SQLName()) + " t " + strings.Join(p.joins, " ")
	if len(p.where) > 0 {
		s += " WHERE " + strings.Join(p.where, " AND ")
	}
	var n int
	err := q.QueryRow(rq.r.Context(), "SELECT COUNT(*) FROM ("+s+" LIMIT ?) c", append(append([]any{}, p.wargs...), countCap)...).Scan(&n)
	return n, err
}
