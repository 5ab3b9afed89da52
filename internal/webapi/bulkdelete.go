package webapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"junction/internal/lifecycle"
	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// BulkDelete (POST BulkDelete) records the job as an asyncoperation row
// (System Job, operationtype 13) in the caller's transaction and answers
// {"JobId": ...} at once; the deletion runs in the background, and the
// client polls asyncoperations(JobId) until statecode is 3 (Completed) with
// statuscode 30 (Succeeded) or 31 (Failed), as with Dataverse.
//
// A job is claimed by updating its row under its ETag, so on several nodes
// sharing one database each job runs once; a job left In Progress by a node
// that stopped is not resumed (it stays Locked, as its deletions may have
// been partly committed).

const (
	opBulkDelete = 13

	jobReady, jobLocked, jobCompleted      = 0, 2, 3
	jobInProgress, jobSucceeded, jobFailed = 20, 30, 31

	bulkDeleteChunk      = 500
	jobPoll              = 5 * time.Second
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
	row := records.Row{"name": name, "operationtype": int64(opBulkDelete), "data": string(data)}
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
	c.Tx.AfterCommit(h.jobs.wakeUp)
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

// jobRunner runs BulkDelete jobs in the background.
type jobRunner struct {
	h    *Handler
	log  *slog.Logger
	wake chan struct{}

	worker lifecycle.Worker
}

func newJobRunner(h *Handler, log *slog.Logger) *jobRunner {
	return &jobRunner{h: h, log: log, wake: make(chan struct{}, 1)}
}

func (j *jobRunner) wakeUp() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Start runs the job loop until Stop; starting twice is a no-op.
func (j *jobRunner) Start(ctx context.Context) error {
	j.worker.Start(ctx, j.loop)
	return nil
}

// Stop ends the loop and waits for the job under way; safe without Start.
func (j *jobRunner) Stop(ctx context.Context) error { return j.worker.Stop(ctx) }

func (j *jobRunner) loop(ctx context.Context) {
	t := time.NewTicker(jobPoll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := j.runOne(ctx)
			if err != nil && ctx.Err() == nil {
				j.log.Error("bulk delete job", "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-j.wake:
		case <-t.C:
		}
	}
}

// runOne claims the oldest ready job whose start time has come and runs it;
// it reports whether there was one.
func (j *jobRunner) runOne(ctx context.Context) (bool, error) {
	h := j.h
	jobs, ok := h.rec.Table("asyncoperation")
	if !ok {
		return false, nil
	}
	now := h.now().UTC()
	var job records.Row
	err := h.rec.Store().Tx(ctx, func(tx store.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT asyncoperationid FROM `+records.Quote(jobs.SQLName())+
			` WHERE statecode = ? AND operationtype = ? AND (postponeuntil IS NULL OR postponeuntil <= ?) ORDER BY createdon, asyncoperationid LIMIT 1`,
			jobReady, opBulkDelete, records.SQLValue(now)).Scan(&id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		row, err := h.rec.Get(ctx, tx, jobs, id)
		if err != nil {
			return err
		}
		_, err = h.rec.Update(ctx, tx, jobs, id, records.Row{"statecode": int64(jobLocked), "statuscode": int64(jobInProgress), "startedon": now}, row.ETag(), records.Caller{UserID: ownerID(row)})
		if err != nil {
			return err
		}
		job = row
		return nil
	})
	var re *records.Error
	if errors.As(err, &re) && re.Status == http.StatusPreconditionFailed {
		return true, nil // another node claimed it
	}
	if err != nil || job == nil {
		return false, err
	}
	id := job["asyncoperationid"].(string)
	n, runErr := j.run(ctx, job)
	if ctx.Err() != nil {
		return false, nil
	}
	done := records.Row{"statecode": int64(jobCompleted), "statuscode": int64(jobSucceeded), "completedon": h.now().UTC(),
		"message": fmt.Sprintf("%d records deleted.", n), "friendlymessage": fmt.Sprintf("%d records deleted.", n)}
	if runErr != nil {
		done["statuscode"] = int64(jobFailed)
		done["message"] = fmt.Sprintf("%d records deleted before the job failed: %v", n, runErr)
		done["friendlymessage"] = records.AsError(runErr).Message
	}
	err = h.rec.Store().Tx(ctx, func(tx store.Tx) error {
		_, err := h.rec.Update(ctx, tx, jobs, id, done, "", records.Caller{UserID: ownerID(job)})
		return err
	})
	return true, err
}

func ownerID(row records.Row) string {
	if ref, ok := row["ownerid"].(records.Ref); ok {
		return ref.ID
	}
	return records.SystemUserID
}

// run deletes the rows of each query of the job, in chunks, each chunk one
// transaction with its change-log entries.
func (j *jobRunner) run(ctx context.Context, job records.Row) (int, error) {
	h := j.h
	data, _ := job["data"].(string)
	queries, err := decodeQuerySet([]byte(data))
	if err != nil {
		return 0, err
	}
	// The job runs with its owner's privileges: it reads and deletes only the
	// rows the owner could.
	owner := ownerID(job)
	grants := records.AdminGrants(owner)
	if owner != records.SystemUserID {
		if grants, err = h.rec.Grants(ctx, owner, false); err != nil {
			return 0, err
		}
	}
	caller := records.Caller{UserID: owner, CorrelationID: job["asyncoperationid"].(string), Grants: grants}
	rq := &req{user: owner, grants: grants}
	total := 0
	for _, q := range queries {
		t, filter, err := h.planBulkDelete(q, caller.UserID)
		if err != nil {
			return total, err
		}
		// With Delete at user depth only, only the owner's own rows are
		// candidates (the rows it may read but not delete are left alone).
		var own []odata.Frag
		depth, err := grants.Need(records.RightDelete, t)
		if err != nil {
			return total, err
		}
		if depth <= records.DepthBasic {
			own = []odata.Frag{{SQL: `t."ownerid" = ?`, Args: []any{owner}}}
		}
		for {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			n := 0
			err := h.rec.Store().Tx(ctx, func(tx store.Tx) error {
				rows, err := h.selectRows(ctx, tx, rq, t, filter, own, nil, bulkDeleteChunk, 0)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if err := h.rec.Delete(ctx, tx, t, r[t.PrimaryID()].(string), "", caller); err != nil {
						return err
					}
				}
				n = len(rows)
				return nil
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < bulkDeleteChunk {
				break
			}
		}
	}
	return total, nil
}
