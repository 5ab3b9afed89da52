package workflow_test

import (
	"io"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

const echoFlow = `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","inputs":{}}},
 "actions":{"Size":{"type":"Compose","inputs":"@length(triggerBody()?['a'])","runAfter":{}}}},"kind":"Stateful"}`

func callbackURL(t *testing.T, base string) string {
	t.Helper()
	apptest.Call(t, "PUT", base+"/admin/v1/workflows/echo", "k", echoFlow, 201)
	return apptest.Call(t, "POST", base+"/admin/v1/workflows/echo/triggers/manual/listCallbackUrl", "k", nil, 200)["value"].(string)
}

// TestTriggerBodyLimits: trigger bodies over the configured limit are
// refused in Logic Apps' error shape before they are read, and JSON past the
// depth or value bounds is refused while decoded; no run starts.
func TestTriggerBodyLimits(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Limits.WorkflowMaxBody = 1 << 20
		c.Limits.JSONMaxDepth = 32
		c.Limits.JSONMaxValues = 1000
	})
	cb := callbackURL(t, base)
	tests := []struct {
		name    string
		body    string
		chunked bool
		status  int
		code    string
		msg     string
	}{
		{"over the size limit", `{"a":"` + strings.Repeat("x", 2<<20) + `"}`, false, 413, "RequestTooLarge", "larger than the limit of 1048576 bytes"},
		{"over the size limit without a length", `{"a":"` + strings.Repeat("x", 2<<20) + `"}`, true, 413, "RequestTooLarge", "larger than the limit of 1048576 bytes"},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), false, 400, "InvalidRequestContent", "nested deeper than 32"},
		{"too many values", `[` + strings.Repeat("1,", 2000) + `1]`, false, 400, "InvalidRequestContent", "more than 1000 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd)
			}
			status, _, raw := apptest.Post(t, cb, "", rd)
			if status != tc.status || !strings.Contains(string(raw), `"code":"`+tc.code+`"`) || !strings.Contains(string(raw), tc.msg) {
				t.Fatalf("%d %s", status, raw)
			}
		})
	}
	runs := apptest.Call(t, "GET", base+"/admin/v1/workflows/echo/runs", "k", nil, 200)
	if v, _ := runs["value"].([]any); len(v) != 0 {
		t.Fatalf("a refused body started a run: %v", runs)
	}
}
