package bridge_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// writeProject lays out a project folder from path → content.
func writeProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFunctionTriggeredByAQueue: a serviceBusTrigger function in inline
// JavaScript enriches each message of a queue and sends it on through its
// serviceBus output binding; a message it throws on is abandoned until the
// broker dead-letters it.
func TestFunctionTriggeredByAQueue(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [
			{"Name": "orders-in", "Properties": {"MaxDeliveryCount": 2, "LockDuration": "PT5S"}},
			{"Name": "orders-out", "Properties": {}}]}], "Logging": {"Type": "File"}}}`,
		"functions/host.json": `{"version": "2.0"}`,
		"functions/enrich/function.json": `{"bindings": [
			{"type": "serviceBusTrigger", "direction": "in", "name": "order", "queueName": "orders-in", "connection": "ServiceBus"},
			{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "orders-out", "connection": "ServiceBus"}]}`,
		"functions/enrich/index.js": `module.exports = async function (context, order) {
			if (!order.sku) throw new Error("order " + order.id + " has no sku");
			context.log("enriching", order.id);
			context.bindings.out = { id: order.id, sku: order.sku.toUpperCase(), enriched: true };
		};`,
	})
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := startWith(t, d, func(c *app.Config) { c.Project = dir })
			b := j.broker()
			ctx := context.Background()
			if _, err := b.Send(ctx, "orders-in", broker.Message{MessageID: "o-1", ContentType: "application/json", Body: []byte(`{"id":1,"sku":"ab-12"}`)},
				broker.Message{MessageID: "o-2", ContentType: "application/json", Body: []byte(`{"id":2}`)}); err != nil {
				t.Fatal(err)
			}
			m := j.receive("orders-out")
			var out map[string]any
			json.Unmarshal(m.Body, &out)
			if out["sku"] != "AB-12" || out["enriched"] != true {
				t.Fatalf("enriched message: %s", m.Body)
			}
			// The poison message is retried, then dead-lettered by the broker.
			deadline := time.Now().Add(60 * time.Second)
			for {
				c, _ := b.Counts(ctx, "orders-in")
				if c.DeadLetter == 1 && c.Active == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("poison message not dead-lettered: %+v", c)
				}
				time.Sleep(200 * time.Millisecond)
			}
			inv := j.call("GET", "/admin/v1/functions/enrich/invocations", nil, 200)
			if n := len(inv["value"].([]any)); n < 3 {
				t.Fatalf("invocations: %d, want the success and two failures", n)
			}
		})
	}
}

// TestFunctionOnEvents: an event subscription delivers to an eventGridTrigger
// function, which writes a row through its dataverse output binding; the row
// is a real Junction row, with its change in the change log.
func TestFunctionOnEvents(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/onlead/function.json": `{"bindings": [
			{"type": "eventGridTrigger", "direction": "in", "name": "event"},
			{"type": "dataverse", "direction": "out", "name": "contact", "entityName": "contacts", "mode": "create"}]}`,
		"functions/onlead/index.js": `module.exports = async function (context, event) {
			context.bindings.contact = { firstname: event.data.first, lastname: event.data.last, emailaddress1: event.data.email };
		};`,
	})
	j := startWith(t, store.SQLite, func(c *app.Config) { c.Project = dir })
	j.call("PUT", "/admin/v1/eventgrid/topics/leads", map[string]any{"properties": map[string]any{"inputSchema": "EventGridSchema"}}, 201)
	j.call("PUT", "/admin/v1/eventgrid/topics/leads/eventSubscriptions/to-function", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "AzureFunction", "properties": map[string]any{
			"resourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/junction/functions/onlead"}}}}, 201)
	j.call("POST", "/eventgrid/topics/leads/api/events", `[{"id":"l-1","subject":"/leads/1","eventType":"Lead.Qualified",
		"eventTime":"2026-11-28T10:00:00Z","dataVersion":"1","data":{"first":"Ada","last":"Lovelace","email":"ada@example.com"}}]`, 200)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := j.call("GET", "/api/data/v9.2/contacts?$filter=emailaddress1%20eq%20'ada@example.com'&$select=firstname,lastname", nil, 200)
		if rows := out["value"].([]any); len(rows) == 1 {
			if row := rows[0].(map[string]any); row["firstname"] != "Ada" || row["lastname"] != "Lovelace" {
				t.Fatalf("contact %v", row)
			}
			return
		}
		if time.Now().After(deadline) {
			inv := j.call("GET", "/admin/v1/functions/onlead/invocations", nil, 200)
			t.Fatalf("no contact from the event; invocations: %v", inv)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWorkflowCallsAFunction: a workflow's Function action (Microsoft Learn,
// "Call Azure Functions from workflows in Azure Logic Apps") calls an
// HTTP-triggered inline JavaScript function of the same Junction with the
// request shape (method, query, headers, JSON body) and gets its response as
// statusCode, headers and body; a function that throws fails the action
// with 500, a function that does not exist with 404.
func TestWorkflowCallsAFunction(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/greet/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["post"], "authLevel": "function"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/greet/index.js": `module.exports = async function (context, req) {
			if (req.body.name === "boom") throw new Error("cannot greet boom");
			context.res = { status: 201, headers: { "x-lang": req.query.lang }, body: { greeting: "hej " + req.body.name + " " + req.headers["x-who"] } };
		};`,
		"caller/workflow.json": `{"kind": "Stateful", "definition": {
			"triggers": {"manual": {"type": "Request", "kind": "Http"}},
			"actions": {
				"Greet": {"type": "Function", "inputs": {"function": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/functions/greet"},
					"method": "POST", "queries": {"lang": "sv"}, "headers": {"x-who": "flow"}, "body": {"name": "@triggerBody()?['name']"},
					"retryPolicy": {"type": "none"}}},
				"Missing": {"type": "Function", "inputs": {"function": {"id": "nosuch"}, "method": "POST", "body": {}}},
				"Response": {"type": "Response", "runAfter": {"Greet": ["Succeeded", "Failed"], "Missing": ["Failed"]},
					"inputs": {"statusCode": 200, "body": {"status": "@outputs('Greet')?['statusCode']", "lang": "@outputs('Greet')?['headers']?['x-lang']",
						"body": "@body('Greet')", "missing": "@outputs('Missing')?['statusCode']"}}}}}}`,
	})
	j := startWith(t, store.SQLite, func(c *app.Config) { c.Project = dir })
	cases := []struct{ name, want string }{
		{"ada", `{"body":{"greeting":"hej ada flow"},"lang":"sv","missing":404,"status":201}`},
		{"boom", `{"body":"function \"greet\" failed`},
	}
	for _, c := range cases {
		cb := j.call("POST", "/admin/v1/workflows/caller/triggers/manual/listCallbackUrl", nil, 200)
		got := apptest.Call(t, "POST", cb["value"].(string), "", map[string]any{"name": c.name}, 200)
		text, _ := json.Marshal(got)
		if !strings.HasPrefix(string(text), c.want) {
			t.Fatalf("%s: %s", c.name, text)
		}
	}
}
