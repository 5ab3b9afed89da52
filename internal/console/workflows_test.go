package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/console/browsertest"
)

const failingWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
    "actions": {
      "Read_quantity": {"type": "Compose", "inputs": "@triggerBody()?['quantity']", "runAfter": {}},
      "Each_line": {
        "type": "Foreach", "foreach": "@createArray(1, 2, 3)", "runAfter": {},
        "actions": {"Share": {"type": "Compose", "inputs": "@div(10, sub(item(), 2))"}}
      },
      "Parse_order": {
        "type": "ParseJson",
        "inputs": {"content": "@triggerBody()", "schema": {"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}}},
        "runAfter": {"Read_quantity": ["Succeeded"]}
      }
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

func call(t *testing.T, method, url, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// TestConsoleShowsAFailedRun: a workflow run fails on its ParseJson action;
// an operator finds the run and reads the failing action's error.
func TestConsoleShowsAFailedRun(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	call(t, "PUT", base+"/admin/v1/workflows/order-intake", failingWorkflow)
	runOnce(t, base, "order-intake", `{"quantity": 3}`, "Failed")
	_, opKey, err := a.Keys().Create(context.Background(), "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, "failedrun.mjs", "BASE="+base, "OPERATOR_KEY="+opKey)
}

// TestConsoleShowsRetriesAndBinaryOutput: an HTTP action is retried twice
// before a server answers with a PDF; an operator reads the retries as a
// table and downloads the PDF the action received, byte for byte.
func TestConsoleShowsRetriesAndBinaryOutput(t *testing.T) {
	t.Parallel()
	browser(t)
	pdf := []byte("%PDF-1.4\n\x00\x01\x02\xff binary content of a statement\n%%EOF\n")
	var calls atomic.Int32
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Write(pdf)
	}))
	t.Cleanup(docs.Close)
	a, base := startApp(t, app.Config{})
	call(t, "PUT", base+"/admin/v1/workflows/statement", `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
    "actions": {"Fetch_statement": {"type": "Http", "runAfter": {},
      "inputs": {"method": "GET", "uri": "`+docs.URL+`/statement.pdf", "retryPolicy": {"type": "fixed", "count": 2, "interval": "PT1S"}}}},
    "outputs": {}
  },
  "kind": "Stateful"
}`)
	runOnce(t, base, "statement", `{}`, "Succeeded")
	_, opKey, err := a.Keys().Create(context.Background(), "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, "actiondetail.mjs", "BASE="+base, "OPERATOR_KEY="+opKey, "PDF_BASE64="+base64.StdEncoding.EncodeToString(pdf))
}

// runOnce fires a workflow's manual trigger with body and waits for its one
// run to end with status.
func runOnce(t *testing.T, base, workflow, body, status string) {
	t.Helper()
	cb := call(t, "POST", base+"/admin/v1/workflows/"+workflow+"/triggers/manual/listCallbackUrl", "")
	resp, err := http.Post(cb["value"].(string), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs := call(t, "GET", base+"/admin/v1/workflows/"+workflow+"/runs", "")
		if v := runs["value"].([]any); len(v) == 1 && v[0].(map[string]any)["status"] == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s run of %s: %v", status, workflow, runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
