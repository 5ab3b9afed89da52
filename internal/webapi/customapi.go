package webapi

import (
	"context"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// CustomAPIRunner runs the implementation of a Custom API: the customapi
// row's implementation column, "function:<name>" for a Junction function.
type CustomAPIRunner interface {
	RunCustomAPI(ctx context.Context, implementation string, call CustomAPICall) (map[string]any, error)
}

// CustomAPICall is one call of a Custom API.
type CustomAPICall struct {
	Name   string         // the customapi's uniquename
	Params map[string]any // the request parameters by uniquename
	Table  string         // the bound table, or ""
	ID     string         // the bound row, or ""
	UserID string         // the caller's systemuser
	// Transaction, for a Custom API called inside a $batch changeset, is the
	// token of the changeset's transaction: Web API requests sent with it
	// in TransactionHeader run in that transaction, while the call lasts.
	Transaction string
}

// SetCustomAPIs sets what runs Custom API implementations.
func (h *Handler) SetCustomAPIs(r CustomAPIRunner) { h.customAPIs = r }

// customAPITypes maps a Custom API parameter type to its EDM type.
var customAPIEdm = map[int64]string{0: "Edm.Boolean", 1: "Edm.DateTimeOffset", 2: "Edm.Decimal", 3: "mscrm.crmbaseentity",
	4: "Collection(mscrm.crmbaseentity)", 5: "mscrm.crmbaseentity", 6: "Edm.Double", 7: "Edm.Int32", 8: "Edm.Decimal", 9: "Edm.Int32",
	10: "Edm.String", 11: "Collection(Edm.String)", 12: "Edm.Guid"}

// lookupAction finds a registered action or function, or else a Custom API
// row, named name whose binding satisfies match.
func (h *Handler) lookupAction(rq *req, name string, match func(bound string) bool) (*Action, bool, error) {
	if a, ok := h.action(name, match); ok {
		return a, true, nil
	}
	apis, err := h.customAPIActions(rq, strings.TrimSuffix(name, "()"))
	if err != nil {
		return nil, false, err
	}
	for _, a := range apis {
		if match(a.Bound) {
			return a, true, nil
		}
	}
	return nil, false, nil
}

// customAPIActions reads the Custom APIs named uniquename (all of them when
// it is "") as actions.
func (h *Handler) customAPIActions(rq *req, uniquename string) ([]*Action, error) {
	apiT, ok := h.rec.Table("customapi")
	if !ok {
		return nil, nil
	}
	reqT, _ := h.rec.Table("customapirequestparameter")
	resT, _ := h.rec.Table("customapiresponseproperty")
	var out []*Action
	// Custom API definitions are read whatever the caller's privileges on
	// the customapi tables: calling a message needs none of them.
	sys := &req{r: rq.r, user: rq.user, batchID: rq.batchID}
	err := h.read(rq, func(q store.Querier) error {
		ctx := rq.r.Context()
		rq := sys
		var filter odata.Expr
		if uniquename != "" {
			filter = odata.Binary{Op: "eq", L: odata.Path{Segments: []string{"uniquename"}}, R: odata.Literal{Kind: odata.LitString, Text: uniquename}}
		}
		apis, err := h.selectRows(ctx, q, rq, apiT, filter, nil, nil, MaxPageSize, 0)
		if err != nil {
			return err
		}
		for _, api := range apis {
			id := api["customapiid"].(string)
			of := odata.Binary{Op: "eq", L: odata.Path{Segments: []string{"customapiid"}}, R: odata.Literal{Kind: odata.LitGUID, Text: id}}
			params, err := h.selectRows(ctx, q, rq, reqT, of, nil, []odata.Order{{Path: []string{"uniquename"}}}, MaxPageSize, 0)
			if err != nil {
				return err
			}
			props, err := h.selectRows(ctx, q, rq, resT, of, nil, []odata.Order{{Path: []string{"uniquename"}}}, MaxPageSize, 0)
			if err != nil {
				return err
			}
			out = append(out, h.customAPIAction(api, params, props))
		}
		return nil
	})
	return out, err
}

func (h *Handler) customAPIAction(api records.Row, params, props []records.Row) *Action {
	name, _ := api["uniquename"].(string)
	bound, _ := api["boundentitylogicalname"].(string)
	impl, _ := api["implementation"].(string)
	isFn, _ := api["isfunction"].(bool)
	// Custom APIs run outside a transaction of their own, as their
	// implementations may call the Web API; inside a $batch changeset they
	// hand the changeset's transaction to those calls (TransactionHeader).
	a := &Action{Name: name, Function: isFn, NoTx: true}
	switch bt, _ := api["bindingtype"].(int64); bt {
	case 1:
		a.Bound = bound
	case 2:
		a.Bound = bound + "[]"
	}
	var required []string
	for _, p := range params {
		n, _ := p["uniquename"].(string)
		t, _ := p["type"].(int64)
		a.Params = append(a.Params, odata.Param{Name: n, Type: customAPIEdm[t]})
		if opt, _ := p["isoptional"].(bool); !opt {
			required = append(required, n)
		}
	}
	var returns []string
	for _, p := range props {
		n, _ := p["uniquename"].(string)
		t, _ := p["type"].(int64)
		a.Returns = append(a.Returns, odata.Param{Name: n, Type: customAPIEdm[t]})
		returns = append(returns, n)
	}
	if len(returns) > 0 {
		a.Response = name + "Response"
	}
	a.Run = func(c *Call) (map[string]any, error) {
		for _, n := range required {
			if v, ok := c.Params[n]; !ok || v == nil {
				return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The required parameter %s of %s is missing.", n, name)
			}
		}
		var res map[string]any
		if impl != "" {
			if h.customAPIs == nil {
				return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: nothing runs implementations here.", name)
			}
			call := CustomAPICall{Name: name, Params: c.Params, ID: c.ID, UserID: c.Caller.UserID}
			if c.Table != nil {
				call.Table = c.Table.Name
			}
			if tx := txFrom(c.Ctx); tx != nil {
				token, done := h.scopes.open(tx)
				defer done()
				call.Transaction = token
			}
			var err error
			if res, err = h.customAPIs.RunCustomAPI(c.Ctx, impl, call); err != nil {
				return nil, err
			}
		}
		if len(returns) == 0 {
			return nil, nil
		}
		out := map[string]any{}
		for _, n := range returns {
			out[n] = res[n] // undeclared outputs are dropped; missing ones are null
		}
		return out, nil
	}
	return a
}
