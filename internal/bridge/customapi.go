package bridge

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"junction/internal/function"
	"junction/internal/records"
	"junction/internal/webapi"
)

var _ webapi.CustomAPIRunner = (*Bridge)(nil)

// RunCustomAPI implements webapi.CustomAPIRunner: "function:<name>" invokes
// the function with the request parameters as its input (and, bound, the
// row as "Target": {"@odata.id": "<set>(<id>)"}) and answers the object the
// function returns. A function that throws fails the call the way a failing
// plug-in fails a Dataverse message.
func (b *Bridge) RunCustomAPI(ctx context.Context, implementation string, call webapi.CustomAPICall) (map[string]any, error) {
	kind, name, _ := strings.Cut(implementation, ":")
	if kind != "function" || name == "" {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: implementation %q is not function:<name>.", call.Name, implementation)
	}
	if b.Host == nil {
		return nil, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "Custom API %s: no function host is connected.", call.Name)
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
	out, err := b.Host.Invoke(ctx, name, function.Trigger{Type: "customApi", Detail: call.Name, Value: input,
		BindingData: map[string]any{"CustomApi": call.Name, "UserId": call.UserID}})
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
