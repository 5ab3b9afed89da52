package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"junction/internal/function"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/webapi"
	"junction/internal/workflow"
)

var _ webapi.CustomAPIRunner = (*Bridge)(nil)

// transactionKey carries a Custom API call's changeset transaction token
// (webapi.CustomAPICall.Transaction) to the Web API calls its function's
// dataverse output binding makes (WriteRows).
type transactionKey struct{}

// RunCustomAPI implements webapi.CustomAPIRunner: "function:<name>" invokes
// the function with the request parameters as its input (and, bound, the
// row as "Target": {"@odata.id": "<set>(<id>)"}) and answers the object the
// function returns. A function that throws fails the call the way a failing
// plug-in fails a Dataverse message. "workflow:<name>" fires the workflow's
// Request trigger with the same input as the trigger body and answers the
// body of its Response action (see runWorkflow). Inside a $batch changeset,
// the function's dataverse output binding writes in the changeset's
// transaction, and the token is in the binding data as Transaction (and in
// the workflow trigger's headers) for calls the implementation makes itself
// with webapi.TransactionHeader.
func (b *Bridge) RunCustomAPI(ctx context.Context, implementation string, call webapi.CustomAPICall) (map[string]any, error) {
	kind, name, _ := strings.Cut(implementation, ":")
	if (kind != "function" && kind != "workflow") || name == "" {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: implementation %q is neither function:<name> nor workflow:<name>.", call.Name, implementation)
	}
	input := map[string]any{}
	for k, v := range call.Params {
		input[k] = v
	}
	if call.Table != "" && call.ID != "" && b.Records != nil {
		if t, ok := b.Records.Table(call.Table); ok {
			input["Target"] = map[string]any{"@odata.id": t.SetName + "(" + call.ID + ")"}
		}
	}
	if call.Transaction != "" {
		ctx = context.WithValue(ctx, transactionKey{}, call.Transaction)
	}
	if kind == "workflow" {
		return b.runWorkflow(ctx, name, call, input)
	}
	if b.Host == nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: no function host is connected.", call.Name)
	}
	data := map[string]any{"CustomApi": call.Name, "UserId": call.UserID}
	if call.Transaction != "" {
		data["Transaction"] = call.Transaction
	}
	out, err := b.Host.Invoke(ctx, name, function.Trigger{Type: "customApi", Detail: call.Name, Value: input, BindingData: data})
	if err != nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: %v", call.Name, err)
	}
	if out.Err != nil {
		var re *records.Error
		if errors.As(out.Err, &re) {
			return nil, re
		}
		return nil, records.Errorf(http.StatusBadRequest, records.CodePluginError, "%v", out.Err)
	}
	res, _ := out.Outputs["$return"].(map[string]any)
	return res, nil
}

// runWorkflow runs a Custom API implemented by a workflow: its Request
// trigger fires with input as the body (and the caller in the
// x-ms-dataverse-user-id header, the Custom API in
// x-ms-dataverse-custom-api), and the call waits for the run's Response
// action. A Response body that is a JSON object is the Custom API's
// response; a status of 400 or more fails the call as a failing plug-in does,
// with the body's error.message, message or text as the message. A run that
// ends without a Response answers no properties.
func (b *Bridge) runWorkflow(ctx context.Context, name string, call webapi.CustomAPICall, input map[string]any) (map[string]any, error) {
	if b.Engine == nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: no workflow engine is connected.", call.Name)
	}
	if call.Transaction != "" && b.Records != nil && b.Records.Store().Dialect() == store.SQLite {
		// The run records itself in the store, whose only writer the
		// changeset holds until the call returns: it would wait forever.
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage,
			"Custom API %s is implemented by a workflow, which cannot run inside a $batch changeset on SQLite (the changeset holds the store's only writer, which the run needs). Call it outside the changeset, or use PostgreSQL.", call.Name)
	}
	l, ok := b.Engine.Workflow(name)
	if !ok {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: the workflow %s does not exist.", call.Name, name)
	}
	trigger := ""
	for n, t := range l.Def.Triggers {
		if strings.EqualFold(t.Type, "Request") && (trigger == "" || n < trigger) {
			trigger = n
		}
	}
	if trigger == "" {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: the workflow %s has no Request trigger.", call.Name, name)
	}
	outputs := map[string]any{"body": input, "queries": map[string]any{}, "relativePathParameters": map[string]any{},
		"headers": map[string]any{"Content-Type": "application/json", "x-ms-dataverse-user-id": call.UserID, "x-ms-dataverse-custom-api": call.Name}}
	if call.Transaction != "" {
		outputs["headers"].(map[string]any)[webapi.TransactionHeader] = call.Transaction
	}
	h, err := b.Engine.StartRun(ctx, l, workflow.StartOptions{Trigger: trigger, Outputs: outputs})
	if err != nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: %v", call.Name, err)
	}
	resp, err := h.Response(ctx)
	if err != nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: the workflow run %s did not answer: %v", call.Name, h.ID, err)
	}
	if resp == nil {
		return nil, nil
	}
	body := resp.Body
	if s, ok := body.(string); ok && s != "" {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			body = v
		}
	}
	if resp.StatusCode >= 400 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodePluginError, "%s", responseMessage(body, resp.StatusCode))
	}
	out, _ := body.(map[string]any)
	return out, nil
}

// responseMessage is the message of a failing workflow's Response body.
func responseMessage(body any, status int) string {
	switch v := body.(type) {
	case string:
		if v != "" {
			return v
		}
	case map[string]any:
		if e, ok := v["error"].(map[string]any); ok {
			if m, ok := e["message"].(string); ok {
				return m
			}
		}
		if m, ok := v["message"].(string); ok {
			return m
		}
	}
	return fmt.Sprintf("The workflow answered %d.", status)
}
