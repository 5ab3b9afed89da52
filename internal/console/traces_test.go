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
// workflow that fails, to a queue, and to a missing queue where the event is
// dead-lettered; an operator follows it from the row, the run, the message
// and the dead-lettered event.
func TestConsoleFollowsAChange(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	call(t, "PUT", base+"/admin/v1/workflows/review", reviewWorkflow)
	call(t, "PUT", base+"/admin/v1/eventgrid/topics/records/eventSubscriptions/to-review", `{"properties": {
		"destination": {"endpointType": "Workflow", "properties": {"resourceId": "review"}},
		"filter": {"includedEventTypes": ["Junction.Records.Update"], "subjectBeginsWith": "/tables/account/"}}}`)
	// Account updates also go as messages to an audit queue; contact updates
	// to an archive queue that does not exist, where they are dead-lettered.
	call(t, "PUT", base+"/admin/v1/servicebus/queues/audit", "{}")
	for sub, to := range map[string][2]string{"to-audit": {"audit", "account"}, "to-archive": {"archive", "contact"}} {
		call(t, "PUT", base+"/admin/v1/eventgrid/topics/records/eventSubscriptions/"+sub, `{"properties": {
		"destination": {"endpointType": "ServiceBusQueue", "properties": {"resourceId": "`+to[0]+`"}},
		"deadLetterDestination": {"endpointType": "StorageBlob", "properties": {"blobContainerName": "dl"}},
		"retryPolicy": {"maxDeliveryAttempts": 1},
		"filter": {"includedEventTypes": ["Junction.Records.Update"], "subjectBeginsWith": "/tables/`+to[1]+`/"}}}`)
	}
	row := write(t, "POST", base+"/api/data/v9.2/accounts", `{"name":"Contoso"}`, "").Header.Get("OData-EntityId")
	account := row[strings.LastIndex(row, "(")+1 : len(row)-1]
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	write(t, "PATCH", row, `{"name":"Contoso Ltd"}`, "00-"+trace+"-00f067aa0ba902b7-01")
	// A contact's update, under a trace of its own.
	const contactTrace = "0af7651916cd43dd8448eb211c80319c"
	contact := write(t, "POST", base+"/api/data/v9.2/contacts", `{"lastname":"Doe"}`, "").Header.Get("OData-EntityId")
	write(t, "PATCH", contact, `{"firstname":"Jo"}`, "00-"+contactTrace+"-b7ad6b7169203331-01")

	deadline := time.Now().Add(30 * time.Second)
	for {
		body := read(t, base+"/admin/v1/traces/"+trace)
		dead := call(t, "GET", base+"/admin/v1/eventgrid/topics/records/eventSubscriptions/to-archive/deadLetters", "")
		audit := call(t, "GET", base+"/admin/v1/servicebus/queues/audit/messages", "")
		if strings.Contains(body, `"failedSpanId"`) && strings.Contains(body, "run review") &&
			len(dead["value"].([]any)) == 1 && len(audit["value"].([]any)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trace did not complete: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The counters the integration map reads its rates from saw the same
	// hops: the run, the deliveries, the message that reached the queue.
	for {
		body := read(t, base+"/metrics")
		missing := ""
		for _, want := range []string{`junction_workflow_runs_total{workflow="review"} 1`,
			`junction_events_subscription_delivered_total{subscription="to-review",topic="records"} 1`,
			`junction_events_subscription_delivered_total{subscription="to-audit",topic="records"} 1`,
			`junction_broker_entity_messages_total{entity="audit"} 1`} {
			if !strings.Contains(body, want+"\n") {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, opKey, err := a.Keys().Create(context.Background(), "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, "trace.mjs", "BASE="+base, "OPERATOR_KEY="+opKey, "ACCOUNT="+account, "TRACE="+trace, "CONTACT_TRACE="+contactTrace)
}

// write sends body with the admin key, under traceparent when it is set, and
// returns the answer (its body closed).
func write(t *testing.T, method, url, body, traceparent string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
	return resp
}

// read GETs url with the admin key and returns the body.
func read(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
