package console_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/console/browsertest"
)

// A workflow that reviews account updates and fails on its one action.
const reviewWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"schema": {"type": "array"}}, "splitOn": "@triggerBody()"}},
    "actions": {"Share": {"type": "Compose", "inputs": "@div(100, sub(1, 1))", "runAfter": {}}},
    "outputs": {}
  },
  "kind": "Stateful"
}`

// TestConsoleFollowsAChange: an account update made under a caller's
// traceparent goes through the change log and the event router to a
// workflow that fails; an operator follows it from the row and from the run.
func TestConsoleFollowsAChange(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	call(t, "PUT", base+"/admin/v1/workflows/review", reviewWorkflow)
	call(t, "PUT", base+"/admin/v1/eventgrid/topics/records/eventSubscriptions/to-review", `{"properties": {
		"destination": {"endpointType": "Workflow", "properties": {"resourceId": "review"}},
		"filter": {"includedEventTypes": ["Junction.Records.Update"], "subjectBeginsWith": "/tables/account/"}}}`)
	req, _ := http.NewRequest("POST", base+"/api/data/v9.2/accounts", strings.NewReader(`{"name":"Contoso"}`))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	row := resp.Header.Get("OData-EntityId")
	account := row[strings.LastIndex(row, "(")+1 : len(row)-1]

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ = http.NewRequest("PATCH", row, strings.NewReader(`{"name":"Contoso Ltd"}`))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/admin/v1/traces/"+trace, nil)
		req.Header.Set("Authorization", "Bearer admin-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"failedSpanId"`) && strings.Contains(string(body), "run review") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trace did not complete: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, opKey, err := a.Keys().Create(context.Background(), "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, "trace.mjs", "BASE="+base, "OPERATOR_KEY="+opKey, "ACCOUNT="+account, "TRACE="+trace)
}
