package webapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// Call is one invocation of an action or function.
type Call struct {
	Ctx    context.Context
	Tx     store.Tx       // set for actions (they run in one transaction)
	Q      store.Querier  // set for functions
	Table  *records.Table // the bound table, or nil
	ID     string         // the bound record, or ""
	Params map[string]any // JSON body (actions) or resolved function parameters
	Base   string         // absolute service root, for links
	Caller records.Caller
	Rec    *records.Service
	h      *Handler
	rq     *req
}

// Action is a custom action (POST) or function (GET).
type Action struct {
	Name     string
	Function bool
	// Bound is "" (unbound), a table name (bound to a record), "*" (any
	// record), "<table>[]" or "[]" (bound to an entity set).
	Bound string
	// Response names the complex type in @odata.context; empty means 204.
	Response string
	// Params and Returns describe the operation in $metadata.
	Params  []odata.Param
	Returns []odata.Param
	// Entity marks an operation answering entities, not a complex type
	// (its Run sets @odata.context); a function so marked answers with
	// Preference-Applied: return=representation, as InitializeFrom does.
	Entity bool
	// Types are further complex types the Returns use, for $metadata.
	Types []odata.ComplexType
	// NoTx runs the operation outside a transaction (Custom APIs, whose
	// implementations may call the Web API themselves).
	NoTx bool
	Run  func(c *Call) (map[string]any, error)
}

// Register adds a custom action or function; later registrations replace
// earlier ones of the same name.
func (h *Handler) Register(a *Action) {
	list := h.actions[a.Name]
	for i, x := range list {
		if x.Bound == a.Bound {
			list[i] = a
			return
		}
	}
	h.actions[a.Name] = append(list, a)
}

// action finds the action named name whose binding satisfies ok.
func (h *Handler) action(name string, ok func(bound string) bool) (*Action, bool) {
	for _, a := range h.actions[strings.TrimSuffix(name, "()")] {
		if ok(a.Bound) {
			return a, true
		}
	}
	return nil, false
}

// invoke runs an action or function and writes its response.
func (h *Handler) invoke(w http.ResponseWriter, rq *req, a *Action, t *records.Table, id string, args string) {
	if a.Function != (rq.r.Method == http.MethodGet) {
		h.fail(w, rq, methodNotAllowed(rq.r))
		return
	}
	c := &Call{Ctx: rq.r.Context(), Table: t, ID: id, Base: rq.base, Caller: h.caller(rq), Rec: h.rec, h: h, rq: rq}
	var out map[string]any
	var err error
	if a.Function {
		c.Params, err = functionParams(args, rq.query)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		if a.NoTx {
			out, err = a.Run(c)
		} else {
			err = h.read(rq, func(q store.Querier) error {
				c.Q = q
				out, err = a.Run(c)
				return err
			})
		}
	} else {
		c.Params = map[string]any{}
		if rq.r.ContentLength != 0 {
			body, rerr := readBody(rq.r)
			if rerr != nil && rq.r.ContentLength > 0 {
				h.fail(w, rq, rerr)
				return
			}
			if body != nil {
				c.Params = body
			}
		}
		if a.NoTx {
			out, err = a.Run(c)
		} else {
			err = h.write(rq, func(tx store.Tx) error {
				c.Tx, c.Q = tx, tx
				var err error
				out, err = a.Run(c)
				return err
			})
		}
	}
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	// An action declaring no response may still answer with a body it
	// labels itself (ImportSolution under return=representation).
	if out == nil || a.Response == "" && out["@odata.context"] == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if a.Entity && a.Function {
		w.Header().Set("Preference-Applied", "return=representation")
	}
	if _, own := out["@odata.context"]; !own {
		out["@odata.context"] = rq.base + "$metadata#Microsoft.Dynamics.CRM." + a.Response
	}
	writeJSON(w, http.StatusOK, out)
}

// functionParams reads fn(P1=@p1,P2='x') with aliases from the query string.
// A value is an OData literal, an enum literal
// (Microsoft.Dynamics.CRM.EndpointAccessType'Default' gives "Default"), or a
// JSON object or array ({'@odata.id':'accounts(<id>)'}, ["account","contact"]).
func functionParams(args string, query url.Values) (map[string]any, error) {
	out := map[string]any{}
	if strings.TrimSpace(args) == "" {
		return out, nil
	}
	parts, err := splitArgs(args)
	if err != nil {
		return nil, badRequest("function parameters: %v", err)
	}
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, badRequest("function parameter %q must be Name=value", p)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.HasPrefix(v, "@") {
			av, ok := query[v]
			if !ok || len(av) == 0 {
				return nil, badRequest("parameter alias %s has no value in the query string", v)
			}
			v = strings.TrimSpace(av[0])
		}
		val, err := paramValue(v)
		if err != nil {
			return nil, badRequest("function parameter %s: %v", k, err)
		}
		out[k] = val
	}
	return out, nil
}

// splitArgs splits function arguments on commas outside quotes, brackets
// and braces.
func splitArgs(s string) ([]string, error) {
	var out []string
	depth, start, inStr := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 || inStr {
		return nil, fmt.Errorf("unbalanced quotes or brackets")
	}
	return append(out, s[start:]), nil
}

var enumLiteral = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*'([^']*)'$`)

func paramValue(v string) (any, error) {
	if m := enumLiteral.FindStringSubmatch(v); m != nil {
		return m[1], nil
	}
	if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") && strings.Contains(v, `"`) {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			// Microsoft's samples write objects with single quotes.
			dec = json.NewDecoder(strings.NewReader(strings.ReplaceAll(v, "'", `"`)))
			dec.UseNumber()
			if err := dec.Decode(&x); err != nil {
				return nil, fmt.Errorf("%q is not a JSON value", v)
			}
		}
		return x, nil
	}
	e, err := odata.ParseFilter(v, nil)
	if err != nil {
		return nil, err
	}
	if l, ok := e.(odata.List); ok {
		out := make([]any, 0, len(l.Items))
		for _, it := range l.Items {
			lit, ok := it.(odata.Literal)
			if !ok {
				return nil, fmt.Errorf("a list may hold literals only")
			}
			out = append(out, literalParam(lit))
		}
		return out, nil
	}
	lit, ok := e.(odata.Literal)
	if !ok {
		return nil, fmt.Errorf("must be a literal")
	}
	return literalParam(lit), nil
}

func literalParam(lit odata.Literal) any {
	switch lit.Kind {
	case odata.LitNull:
		return nil
	case odata.LitInt, odata.LitFloat:
		return jsonNumber(lit.Text)
	case odata.LitBool:
		return lit.Text == "true"
	}
	return lit.Text
}

func stringParam(p map[string]any, name string) string {
	s, _ := p[name].(string)
	return s
}

// registerBuiltinActions adds WhoAmI, the bulk actions, and the sample
// custom action that creates a Case and returns its ticket number.
func (h *Handler) registerBuiltinActions() {
	g := func(n string) odata.Param { return odata.Param{Name: n, Type: "Edm.Guid"} }
	str := func(n string) odata.Param { return odata.Param{Name: n, Type: "Edm.String"} }
	h.Register(&Action{Name: "WhoAmI", Function: true, Response: "WhoAmIResponse", Returns: []odata.Param{g("BusinessUnitId"), g("UserId"), g("OrganizationId")}, Run: func(c *Call) (map[string]any, error) {
		return map[string]any{"BusinessUnitId": records.BusinessUnitID, "UserId": c.Caller.UserID, "OrganizationId": records.OrganizationID}, nil
	}})
	h.Register(&Action{Name: "RetrieveVersion", Function: true, Response: "RetrieveVersionResponse", Returns: []odata.Param{str("Version")}, Run: func(c *Call) (map[string]any, error) {
		return map[string]any{"Version": "9.2.0.0"}, nil
	}})
	h.registerMessages()
	h.Register(&Action{Name: "CreateMultiple", Bound: "[]", Response: "CreateMultipleResponse", Params: []odata.Param{{Name: "Targets", Type: "Collection(mscrm.crmbaseentity)"}}, Returns: []odata.Param{{Name: "Ids", Type: "Collection(Edm.Guid)"}}, Run: h.createMultiple})
	h.Register(&Action{Name: "UpdateMultiple", Bound: "[]", Params: []odata.Param{{Name: "Targets", Type: "Collection(mscrm.crmbaseentity)"}}, Run: h.updateMultiple})
	h.Register(&Action{Name: "UpsertMultiple", Bound: "[]", Params: []odata.Param{{Name: "Targets", Type: "Collection(mscrm.crmbaseentity)"}}, Run: h.upsertMultiple})
	caseParams := []odata.Param{str("Title"), str("Description"), {Name: "Priority", Type: "Edm.Int32"}, g("CustomerId"), str("CustomerEmail"), str("CustomerName")}
	caseReturns := []odata.Param{g("IncidentId"), str("TicketNumber"), {Name: "Incident", Type: "mscrm.incident"}}
	h.Register(&Action{Name: "new_CreateCase", Response: "new_CreateCaseResponse", Params: caseParams, Returns: caseReturns, Run: createCase})
	h.Register(&Action{Name: "new_CreateCase", Bound: "*", Response: "new_CreateCaseResponse", Params: caseParams, Returns: caseReturns, Run: createCase})
	h.Register(&Action{Name: "new_CountOpenCases", Function: true, Response: "new_CountOpenCasesResponse", Params: []odata.Param{g("CustomerId")}, Returns: []odata.Param{{Name: "Count", Type: "Edm.Int32"}}, Run: countOpenCases})
}

// createCase is the custom action new_CreateCase: it creates a Case (with a
// customer found by id or by e-mail, or created from the given name) and
// answers with the Case's id and auto-numbered ticket number in the same call.
//
// Parameters: Title (required), Description, Priority (1-3), CustomerId (an
// account or contact id), CustomerEmail, CustomerName. Bound to an account or
// contact, the bound record is the customer.
func createCase(c *Call) (map[string]any, error) {
	inc, _ := c.Rec.Table("incident")
	title := stringParam(c.Params, "Title")
	if title == "" {
		return nil, records.Invalid("Title is required.")
	}
	row := records.Row{"title": title}
	if d := stringParam(c.Params, "Description"); d != "" {
		v, err := records.Convert(inc, mustCol(inc, "description"), d)
		if err != nil {
			return nil, err
		}
		row["description"] = v
	}
	if p, ok := c.Params["Priority"]; ok && p != nil {
		v, err := records.Convert(inc, mustCol(inc, "prioritycode"), p)
		if err != nil {
			return nil, err
		}
		row["prioritycode"] = v
	}
	var customer *records.Ref
	switch {
	case c.Table != nil:
		if c.Table.Name != "account" && c.Table.Name != "contact" {
			return nil, records.Invalid("new_CreateCase can be bound to an account or a contact only")
		}
		customer = &records.Ref{Table: c.Table.Name, ID: c.ID}
	case stringParam(c.Params, "CustomerId") != "":
		id := strings.ToLower(stringParam(c.Params, "CustomerId"))
		for _, tn := range []string{"account", "contact"} {
			t, _ := c.Rec.Table(tn)
			if _, err := c.Rec.Get(c.Ctx, c.Tx, t, id); err == nil {
				customer = &records.Ref{Table: tn, ID: id}
				break
			}
		}
		if customer == nil {
			return nil, records.NotFound("account", id)
		}
	case stringParam(c.Params, "CustomerEmail") != "":
		ct, _ := c.Rec.Table("contact")
		email := stringParam(c.Params, "CustomerEmail")
		rows, err := c.h.selectRows(c.Ctx, c.Tx, c.rq, ct, odata.Binary{Op: "eq", L: odata.Path{Segments: []string{"emailaddress1"}},
			R: odata.Literal{Kind: odata.LitString, Text: email}}, nil, nil, 1, 0)
		if err != nil {
			return nil, err
		}
		if len(rows) == 1 {
			customer = &records.Ref{Table: "contact", ID: rows[0]["contactid"].(string)}
		} else {
			name := stringParam(c.Params, "CustomerName")
			if name == "" {
				name = email
			}
			vals := records.Row{"emailaddress1": email, "lastname": name, "fullname": name}
			for k, v := range vals {
				if _, err := records.Convert(ct, mustCol(ct, k), v); err != nil {
					return nil, err
				}
			}
			created, err := c.Rec.Create(c.Ctx, c.Tx, ct, vals, c.Caller)
			if err != nil {
				return nil, err
			}
			customer = &records.Ref{Table: "contact", ID: created["contactid"].(string)}
		}
	default:
		return nil, records.Invalid("Give CustomerId or CustomerEmail, or bind the action to an account or contact.")
	}
	row["customerid"] = *customer
	created, err := c.Rec.Create(c.Ctx, c.Tx, inc, row, c.Caller)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"IncidentId":   created["incidentid"],
		"TicketNumber": created["ticketnumber"],
		"Incident":     map[string]any{"@odata.id": c.Base + "incidents(" + created["incidentid"].(string) + ")"},
	}, nil
}

func mustCol(t *records.Table, name string) *records.Column {
	c, _ := t.Column(name)
	return c
}

// countOpenCases is the function new_CountOpenCases(CustomerId=@p1).
func countOpenCases(c *Call) (map[string]any, error) {
	inc, _ := c.Rec.Table("incident")
	id := stringParam(c.Params, "CustomerId")
	if !records.IsGUID(id) {
		return nil, records.Invalid("CustomerId must be a GUID.")
	}
	f := odata.Binary{Op: "and",
		L: odata.Binary{Op: "eq", L: odata.Path{Segments: []string{"_customerid_value"}}, R: odata.Literal{Kind: odata.LitGUID, Text: strings.ToLower(id)}},
		R: odata.Binary{Op: "eq", L: odata.Path{Segments: []string{"statecode"}}, R: odata.Literal{Kind: odata.LitInt, Text: "0"}}}
	n, err := c.h.countRows(c.Ctx, c.Q, c.rq, inc, f, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Count": n}, nil
}
