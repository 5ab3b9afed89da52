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
	// A contact's update, under a trace of its own.
	const contactTrace = "0af7651916cd43dd8448eb211c80319c"
	req, _ = http.NewRequest("POST", base+"/api/data/v9.2/contacts", strings.NewReader(`{"lastname":"Doe"}`))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("PATCH", resp.Header.Get("OData-EntityId"), strings.NewReader(`{"firstname":"Jo"}`))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+contactTrace+"-b7ad6b7169203331-01")
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
		dead := call(t, "GET", base+"/admin/v1/eventgrid/topics/records/eventSubscriptions/to-archive/deadLetters", "")
		audit := call(t, "GET", base+"/admin/v1/servicebus/queues/audit/messages", "")
		if strings.Contains(string(body), `"failedSpanId"`) && strings.Contains(string(body), "run review") &&
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
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer admin-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := ""
		for _, want := range []string{`junction_workflow_runs_total{workflow="review"} 1`,
			`junction_events_subscription_delivered_total{subscription="to-review",topic="records"} 1`,
			`junction_events_subscription_delivered_total{subscription="to-audit",topic="records"} 1`,
			`junction_broker_entity_messages_total{entity="audit"} 1`} {
			if !strings.Contains(string(body), want+"\n") {
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
