package webapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"junction/internal/odata"
	"junction/internal/records"
)

// BulkDelete (POST BulkDelete) records the job as an asyncoperation row
// (System Job, operationtype 13) in the caller's transaction and answers
// {"JobId": ...} at once; the deletion runs in the background, and the
// client polls asyncoperations(JobId) until statecode is 3 (Completed) with
// statuscode 30 (Succeeded) or 31 (Failed), as with Dataverse.
//
// The job's row holds all it needs (the QuerySet and its progress in data,
// the node running it in hostid), and a node runs it under a lease, so a
// job left In Progress by a node that stopped or died is resumed by
// another, or the same node restarted (bulkdeletejob.go).

const (
	opBulkDelete = 13

	jobReady, jobLocked, jobCompleted      = 0, 2, 3
	jobInProgress, jobSucceeded, jobFailed = 20, 30, 31

	bulkDeleteChunk      = 500
	jobPoll              = 5 * time.Second
	jobLease             = 30 * time.Second
	maxBulkDeleteQueries = 20
	maxFilterDepth       = 10
)

// queryExpression is the JSON form of a QueryExpression in BulkDelete's
// QuerySet.
type queryExpression struct {
	EntityName string            `json:"EntityName"`
	Criteria   *filterExpression `json:"Criteria"`
}

type filterExpression struct {
	FilterOperator string                `json:"FilterOperator"`
	Conditions     []conditionExpression `json:"Conditions"`
	Filters        []filterExpression    `json:"Filters"`
}

type conditionExpression struct {
	AttributeName string `json:"AttributeName"`
	Operator      string `json:"Operator"`
	Values        []struct {
		Value any    `json:"Value"`
		Type  string `json:"Type"`
	} `json:"Values"`
}

// registerBulkDelete adds the BulkDelete action.
func (h *Handler) registerBulkDelete() {
	h.Register(&Action{Name: "BulkDelete", Response: "BulkDeleteResponse",
		Params: []odata.Param{{Name: "QuerySet", Type: "Collection(mscrm.QueryExpression)"}, {Name: "JobName", Type: "Edm.String"},
			{Name: "SendEmailNotification", Type: "Edm.Boolean"}, {Name: "ToRecipients", Type: "Collection(Edm.Guid)"}, {Name: "CCRecipients", Type: "Collection(Edm.Guid)"},
			{Name: "RecurrencePattern", Type: "Edm.String"}, {Name: "StartDateTime", Type: "Edm.DateTimeOffset"}},
		Returns: []odata.Param{{Name: "JobId", Type: "Edm.Guid"}},
		Run:     h.bulkDelete})
}

func (h *Handler) bulkDelete(c *Call) (map[string]any, error) {
	raw, ok := c.Params["QuerySet"].([]any)
	if !ok || len(raw) == 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "QuerySet must hold at least one QueryExpression.")
	}
	if len(raw) > maxBulkDeleteQueries {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "QuerySet holds %d queries; at most %d are allowed.", len(raw), maxBulkDeleteQueries)
	}
	name := stringParam(c.Params, "JobName")
	if strings.TrimSpace(name) == "" {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "JobName is required.")
	}
	if rp := stringParam(c.Params, "RecurrencePattern"); rp != "" {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Recurring bulk delete jobs are not supported; leave RecurrencePattern empty.")
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	queries, err := decodeQuerySet(data)
	if err != nil {
		return nil, err
	}
	for _, q := range queries {
		// Compile now, so that a bad query is refused with the call, and
		// check the caller may delete from the table at all; the job checks
		// each row again as it deletes it.
		t, _, err := h.planBulkDelete(q, c.Caller.UserID)
		if err != nil {
			return nil, err
		}
		if g := c.Caller.Grants; g != nil {
			if _, err := g.Need(records.RightDelete, t); err != nil {
				return nil, err
			}
		}
	}
	state, err := json.Marshal(jobData{QuerySet: data})
	if err != nil {
		return nil, err
	}
	row := records.Row{"name": name, "operationtype": int64(opBulkDelete), "data": string(state)}
	if s := stringParam(c.Params, "StartDateTime"); s != "" {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, records.Invalid("StartDateTime %q is not a date and time such as 2024-01-01T00:00:00Z.", s)
		}
		row["postponeuntil"] = at.UTC()
	}
	jobs, _ := c.Rec.Table("asyncoperation")
	created, err := c.Rec.Create(c.Ctx, c.Tx, jobs, row, c.Caller)
	if err != nil {
		return nil, err
	}
	c.Tx.AfterCommit(h.jobs.Wake)
	return map[string]any{"JobId": created["asyncoperationid"]}, nil
}

func decodeQuerySet(data []byte) ([]queryExpression, error) {
	var qs []queryExpression
	if err := json.Unmarshal(data, &qs); err != nil {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadPayload, "QuerySet: %v", err)
	}
	return qs, nil
}

// planBulkDelete resolves a QueryExpression to its table and filter.
func (h *Handler) planBulkDelete(q queryExpression, user string) (*records.Table, odata.Expr, error) {
	t, ok := h.rec.Table(q.EntityName)
	if !ok {
		return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The entity with a name = '%s' with namemapping = 'Logical' was not found in the MetadataCache.", q.EntityName)
	}
	if t.Name == "asyncoperation" || t.Name == "organization" || t.Name == "businessunit" || t.Name == "systemuser" {
		return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Bulk delete is not allowed on %s.", t.Name)
	}
	var filter odata.Expr
	if q.Criteria != nil {
		var err error
		if filter, err = filterExpr(*q.Criteria, 0); err != nil {
			return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "QuerySet %s: %v", t.Name, err)
		}
	}
	if filter != nil {
		c := &odata.Compiler{Tables: h.rec.All(), Dialect: h.rec.Store().Dialect(), Now: h.now(), UserID: user}
		if _, err := c.Filter(t, "t", filter); err != nil {
			return nil, nil, queryErr(err)
		}
	}
	return t, filter, nil
}

var conditionOps = map[string]string{"equal": "eq", "notequal": "ne", "greaterthan": "gt", "greaterequal": "ge", "lessthan": "lt", "lessequal": "le"}

func filterExpr(f filterExpression, depth int) (odata.Expr, error) {
	if depth > maxFilterDepth {
		return nil, fmt.Errorf("filters are nested too deeply")
	}
	op := "and"
	switch strings.ToLower(f.FilterOperator) {
	case "", "and", "0":
	case "or", "1":
		op = "or"
	default:
		return nil, fmt.Errorf("FilterOperator %q must be And or Or", f.FilterOperator)
	}
	var parts []odata.Expr
	for _, c := range f.Conditions {
		e, err := conditionExpr(c)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	for _, sub := range f.Filters {
		e, err := filterExpr(sub, depth+1)
		if err != nil {
			return nil, err
		}
		if e != nil {
			parts = append(parts, e)
		}
	}
	var out odata.Expr
	for _, p := range parts {
		if out == nil {
			out = p
			continue
		}
		out = odata.Binary{Op: op, L: out, R: p}
	}
	return out, nil
}

func conditionExpr(c conditionExpression) (odata.Expr, error) {
	if c.AttributeName == "" {
		return nil, fmt.Errorf("a condition needs an AttributeName")
	}
	path := odata.Path{Segments: []string{c.AttributeName}}
	var vals []odata.Literal
	for _, v := range c.Values {
		lit, err := conditionValue(v.Value, v.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.AttributeName, err)
		}
		vals = append(vals, lit)
	}
	one := func() (odata.Literal, error) {
		if len(vals) != 1 {
			return odata.Literal{}, fmt.Errorf("%s %s takes one value", c.AttributeName, c.Operator)
		}
		return vals[0], nil
	}
	op := strings.ToLower(c.Operator)
	if sqlOp, ok := conditionOps[op]; ok {
		v, err := one()
		if err != nil {
			return nil, err
		}
		return odata.Binary{Op: sqlOp, L: path, R: v}, nil
	}
	switch op {
	case "null":
		return odata.Binary{Op: "eq", L: path, R: odata.Literal{Kind: odata.LitNull}}, nil
	case "notnull":
		return odata.Binary{Op: "ne", L: path, R: odata.Literal{Kind: odata.LitNull}}, nil
	case "beginswith", "endswith", "contains", "like", "notlike", "doesnotbeginwith", "doesnotendwith", "doesnotcontain":
		v, err := one()
		if err != nil {
			return nil, err
		}
		fn, text := map[string]string{"beginswith": "startswith", "doesnotbeginwith": "startswith", "endswith": "endswith", "doesnotendwith": "endswith"}[op], v.Text
		if fn == "" {
			fn = "contains"
		}
		if op == "like" || op == "notlike" {
			switch pre, suf := strings.HasPrefix(text, "%"), strings.HasSuffix(text, "%") && len(text) > 1; {
			case pre && suf:
				text = text[1 : len(text)-1]
			case pre:
				fn, text = "endswith", text[1:]
			case suf:
				fn, text = "startswith", text[:len(text)-1]
			default:
				fn = ""
			}
			if strings.ContainsAny(text, "%_[") {
				return nil, fmt.Errorf("Like patterns may only have %% at the start or the end")
			}
		}
		var e odata.Expr = odata.Binary{Op: "eq", L: path, R: odata.Literal{Kind: odata.LitString, Text: text}}
		if fn != "" {
			e = odata.Call{Name: fn, Args: []odata.Expr{path, odata.Literal{Kind: odata.LitString, Text: text}}}
		}
		if strings.HasPrefix(op, "not") || strings.HasPrefix(op, "doesnot") {
			e = odata.Not{X: e}
		}
		return e, nil
	case "in", "notin":
		if len(vals) == 0 {
			return nil, fmt.Errorf("%s %s needs values", c.AttributeName, c.Operator)
		}
		var e odata.Expr
		for _, v := range vals {
			var eq odata.Expr = odata.Binary{Op: "eq", L: path, R: v}
			if e == nil {
				e = eq
			} else {
				e = odata.Binary{Op: "or", L: e, R: eq}
			}
		}
		if op == "notin" {
			e = odata.Not{X: e}
		}
		return e, nil
	}
	return nil, fmt.Errorf("the condition operator %q is not supported", c.Operator)
}

func conditionValue(v any, typ string) (odata.Literal, error) {
	switch strings.TrimPrefix(typ, "System.") {
	case "Guid":
		s, _ := v.(string)
		if !records.IsGUID(s) {
			return odata.Literal{}, fmt.Errorf("%v is not a GUID", v)
		}
		return odata.Literal{Kind: odata.LitGUID, Text: strings.ToLower(s)}, nil
	case "DateTime":
		s, _ := v.(string)
		return odata.Literal{Kind: odata.LitDateTime, Text: s}, nil
	}
	switch x := v.(type) {
	case string:
		return odata.Literal{Kind: odata.LitString, Text: x}, nil
	case bool:
		return odata.Literal{Kind: odata.LitBool, Text: fmt.Sprint(x)}, nil
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return odata.Literal{Kind: odata.LitFloat, Text: x.String()}, nil
		}
		return odata.Literal{Kind: odata.LitInt, Text: x.String()}, nil
	case float64:
		return odata.Literal{Kind: odata.LitFloat, Text: fmt.Sprint(x)}, nil
	}
	return odata.Literal{}, fmt.Errorf("value %v of type %s is not supported", v, typ)
}
