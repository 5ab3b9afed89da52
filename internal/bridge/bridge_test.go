package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/broker"
	"junction/internal/broker/httpapi"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// The bridge is tested through a whole Junction: surfaces configured over
// their own HTTP APIs, the cross-surface effect observed on the other side.

type junction struct {
	t    testing.TB
	a    *app.App
	base string
}

func start(t *testing.T, d store.Dialect) *junction {
	t.Helper()
	return startWith(t, d, nil)
}

func startWith(t *testing.T, d store.Dialect, mutate func(*app.Config)) *junction {
	t.Helper()
	a, base := apptest.Start(t, d, mutate)
	return &junction{t: t, a: a, base: base}
}

func (j *junction) call(method, path string, body any, want int) map[string]any {
	j.t.Helper()
	return apptest.Call(j.t, method, j.base+path, "k", body, want)
}

func (j *junction) broker() *broker.Broker {
	for _, c := range j.a.Components() {
		if api, ok := c.(*httpapi.API); ok {
			return api.Broker()
		}
	}
	j.t.Fatal("no broker")
	return nil
}

// receive waits for one message on path and completes it.
func (j *junction) receive(path string) broker.Received {
	j.t.Helper()
	b := j.broker()
	got, err := b.Receive(context.Background(), path, broker.ReceiveOptions{Mode: broker.PeekLock, Wait: 20 * time.Second})
	if err != nil || len(got) != 1 {
		j.t.Fatalf("receive from %s: %v %v", path, got, err)
	}
	if err := b.Complete(context.Background(), path, broker.Settlement{LockToken: got[0].LockToken}); err != nil {
		j.t.Fatal(err)
	}
	return got[0]
}

func TestEventsReachAQueue(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			j.call("PUT", "/admin/v1/servicebus/queues/account-events", map[string]any{"properties": map[string]any{}}, 201)
			j.call("PUT", "/admin/v1/eventgrid/topics/crm", map[string]any{"properties": map[string]any{"inputSchema": "EventGridSchema"}}, 201)
			j.call("PUT", "/admin/v1/eventgrid/topics/crm/eventSubscriptions/to-queue", map[string]any{"properties": map[string]any{
				"destination": map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{
					"resourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.ServiceBus/namespaces/junction/queues/account-events"}},
				"filter": map[string]any{"includedEventTypes": []string{"Account.Changed"}},
			}}, 201)
			j.call("POST", "/eventgrid/topics/crm/api/events", `[
				{"id":"e-1","subject":"/accounts/1","eventType":"Account.Changed","eventTime":"2026-11-28T10:00:00Z","data":{"name":"Contoso"},"dataVersion":"1"},
				{"id":"e-2","subject":"/accounts/2","eventType":"Account.Ignored","eventTime":"2026-11-28T10:00:00Z","data":{},"dataVersion":"1"}]`, 200)
			m := j.receive("account-events")
			var ev map[string]any
			json.Unmarshal(m.Body, &ev)
			if m.MessageID != "e-1" || ev["eventType"] != "Account.Changed" || ev["data"].(map[string]any)["name"] != "Contoso" {
				t.Fatalf("message: %s %s", m.MessageID, m.Body)
			}
		})
	}
}

// A workflow exported from Power Automate: when an account's phone changes,
// send the new number to a queue through the Service Bus connector.
const phoneWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {
      "When_a_row_is_modified": {
        "type": "OpenApiConnectionWebhook",
        "inputs": {
          "host": {"connectionName": "shared_commondataserviceforapps", "operationId": "SubscribeWebhookTrigger",
                   "apiId": "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
          "parameters": {"subscriptionRequest/message": 3, "subscriptionRequest/entityname": "account",
                         "subscriptionRequest/scope": 4, "subscriptionRequest/filteringattributes": "telephone1"}
        }
      }
    },
    "actions": {
      "Send_message": {
        "type": "ServiceProvider",
        "inputs": {
          "parameters": {"entityName": "phone-changes", "message": {"contentData": "@{triggerBody()?['name']}: @{triggerBody()?['telephone1']}"}},
          "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "sendMessage", "serviceProviderId": "/serviceProviders/serviceBus"}
        },
        "runAfter": {}
      }
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

// A Logic Apps Standard workflow: each message of a queue becomes an account,
// through the Dataverse connector on Junction's own tables, with the name
// computed by a JavaScriptCode action.
const inboxWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {
      "When_messages_are_available_in_a_queue": {
        "type": "ServiceProvider",
        "inputs": {
          "parameters": {"queueName": "inbox"},
          "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "receiveQueueMessages", "serviceProviderId": "/serviceProviders/serviceBus"}
        },
        "splitOn": "@triggerOutputs()?['body']"
      }
    },
    "actions": {
      "Upper_name": {
        "type": "JavaScriptCode",
        "inputs": {"code": "return workflowContext.trigger.outputs.body.contentData.name.toUpperCase();"},
        "runAfter": {}
      },
      "Add_account": {
        "type": "OpenApiConnection",
        "inputs": {
          "host": {"connectionName": "shared_commondataserviceforapps", "operationId": "CreateRecord",
                   "apiId": "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
          "parameters": {"entityName": "accounts", "item/name": "@{outputs('Upper_name')?['body']}", "item/accountnumber": "@{triggerBody()?['messageId']}"}
        },
        "runAfter": {"Upper_name": ["Succeeded"]}
      }
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

func TestWorkflowsTriggeredByRowsAndMessages(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			j.call("PUT", "/admin/v1/servicebus/queues/phone-changes", map[string]any{"properties": map[string]any{}}, 201)
			j.call("PUT", "/admin/v1/servicebus/queues/inbox", map[string]any{"properties": map[string]any{}}, 201)
			j.call("PUT", "/admin/v1/workflows/phone-sync", phoneWorkflow, 201)
			j.call("PUT", "/admin/v1/workflows/inbox-to-accounts", inboxWorkflow, 201)

			// Row changes: only the phone update fires.
			req, _ := http.NewRequest("POST", j.base+"/api/data/v9.2/accounts", strings.NewReader(`{"name":"Contoso"}`))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 204 {
				t.Fatalf("create account: %v %v", resp, err)
			}
			row := strings.TrimPrefix(resp.Header.Get("OData-EntityId"), j.base)
			j.call("PATCH", row, `{"name":"Contoso Ltd"}`, 204)
			j.call("PATCH", row, `{"telephone1":"555-0100"}`, 204)
			if m := j.receive("phone-changes"); string(m.Body) != "Contoso Ltd: 555-0100" {
				t.Fatalf("phone message: %q", m.Body)
			}

			// A message becomes an account.
			if _, err := j.broker().Send(context.Background(), "inbox", broker.Message{MessageID: "IN-7", ContentType: "application/json",
				Body: []byte(`{"name":"fabrikam"}`)}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				out := j.call("GET", "/api/data/v9.2/accounts?$filter=accountnumber%20eq%20'IN-7'&$select=name", nil, 200)
				if rows := out["value"].([]any); len(rows) == 1 {
					if name := rows[0].(map[string]any)["name"]; name != "FABRIKAM" {
						t.Fatalf("account name %v", name)
					}
					break
				}
				if time.Now().After(deadline) {
					runs := j.call("GET", "/admin/v1/workflows/inbox-to-accounts/runs", nil, 200)
					t.Fatalf("no account from the inbox message; runs: %v", runs)
				}
				time.Sleep(200 * time.Millisecond)
			}
			c, _ := j.broker().Counts(context.Background(), "inbox")
			if c.Active != 0 || c.DeadLetter != 0 {
				t.Fatalf("inbox after the run: %+v", c)
			}
		})
	}
}

// A workflow that runs a job and waits for it: the jobs connector.
const runJobWorkflow = `{"definition": {
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
  "actions": {
    "Export": {"type": "ServiceProvider", "inputs": {
        "parameters": {"jobName": "accounts-out", "wait": true, "timeoutSeconds": 60},
        "serviceProviderConfiguration": {"connectionName": "jobs", "operationId": "runJob", "serviceProviderId": "/serviceProviders/jobs"}},
      "runAfter": {}},
    "Response": {"type": "Response", "kind": "Http", "inputs": {"statusCode": 200,
        "body": {"status": "@{body('Export')?['status']}", "inserted": "@body('Export')?['inserted']"}},
      "runAfter": {"Export": ["Succeeded"]}}},
  "outputs": {}}, "kind": "Stateful"}`

func TestWorkflowRunsAJob(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	dir := writeProject(t, map[string]string{
		"connections.json": `{"serviceProviderConnections": {"jobs": {"parameterValues": {}, "serviceProvider": {"id": "/serviceProviders/jobs"}, "displayName": "jobs"}}}`,
		"jobs/accounts-out.yaml": "source: {type: table, table: account}\n" +
			"mapping:\n  - {to: accountnumber, required: true}\n  - {to: name}\n" +
			"key: [accountnumber]\nsink: {type: file, path: " + out + ", format: csv, name: account}\n",
	})
	j := startWith(t, store.SQLite, func(c *app.Config) { c.Project = dir })
	j.call("POST", "/api/data/v9.2/accounts", `{"name":"Contoso","accountnumber":"A-1"}`, 204)
	j.call("PUT", "/admin/v1/workflows/export-now", runJobWorkflow, 201)
	cb := j.call("POST", "/admin/v1/workflows/export-now/triggers/manual/listCallbackUrl", nil, 200)
	resp, err := http.Post(cb["value"].(string), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	if resp.StatusCode != 200 || body["status"] != "succeeded" {
		runs := j.call("GET", "/admin/v1/workflows/export-now/runs", nil, 200)
		id := runs["value"].([]any)[0].(map[string]any)["name"].(string)
		run := j.call("GET", "/admin/v1/workflows/export-now/runs/"+id, nil, 200)
		t.Fatalf("workflow answer: %d %s\nrun: %v", resp.StatusCode, raw, run["actions"])
	}
}
