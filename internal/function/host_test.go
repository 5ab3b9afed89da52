package function_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

var jsApp = map[string]string{
	"functions/host.json": `{"version": "2.0", "logging": {"logLevel": {"default": "Information"}}}`,
	"functions/hello/function.json": `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get", "post"], "authLevel": "anonymous", "route": "greet/{name:alpha?}"},
		{"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/hello/index.js": `
module.exports = async function (context, req) {
    const name = context.bindingData.name || req.query.name || (req.body && req.body.name) || "world";
    context.log("greeting", name);
    context.res = {status: 200, headers: {"X-Greeting": "yes"}, body: {message: "Hello, " + name, method: req.method}};
};`,
	"functions/boom/function.json": `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
		{"type": "http", "direction": "out", "name": "$return"}]}`,
	"functions/boom/index.js": `module.exports = async function (context, req) { context.log.warn("about to throw"); throw new Error("kaboom " + req.query.n); };`,
	"functions/ret/function.json": `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["post"]},
		{"type": "http", "direction": "out", "name": "$return"}]}`,
	"functions/ret/index.js": `module.exports = async (context, req) => ({status: 202, body: "got " + req.rawBody});`,
	"functions/locked/function.json": `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"},
		{"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/locked/index.js": `module.exports = async function (context) { context.res = {body: "secret"}; };`,
	"functions/master/function.json": `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "admin"},
		{"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/master/index.js": `module.exports = async function (context) { context.res = {body: "master"}; };`,
}

func TestHTTPTriggerJavaScript(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s, jsApp, function.Config{})

		r := b.do("GET", "/api/greet/Ada", nil)
		if r.status != 200 || r.header.Get("X-Greeting") != "yes" || !strings.Contains(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET: %d %v %s", r.status, r.header, r.body)
		}
		var body map[string]string
		r.json(t, &body)
		if body["message"] != "Hello, Ada" || body["method"] != "GET" {
			t.Fatalf("body = %v", body)
		}
		r = b.do("POST", "/api/GREET", map[string]string{"name": "Bob"})
		r.json(t, &body)
		if r.status != 200 || body["message"] != "Hello, Bob" {
			t.Fatalf("POST: %d %s", r.status, r.body)
		}
		if r := b.do("GET", "/api/greet/R2D2", nil); r.status != 404 {
			t.Fatalf("constraint: %d", r.status)
		}
		if r := b.do("DELETE", "/api/greet", nil); r.status != 405 {
			t.Fatalf("method: %d", r.status)
		}
		if r := b.do("POST", "/api/ret", "payload"); r.status != 202 || r.body != "got payload" {
			t.Fatalf("$return: %d %q", r.status, r.body)
		}
		if r := b.do("GET", "/api/ret", nil); r.status != 405 {
			t.Fatalf("ret GET: %d", r.status)
		}

		r = b.do("GET", "/api/boom?n=7", nil)
		if r.status != 500 {
			t.Fatalf("boom: %d %s", r.status, r.body)
		}
		id := r.header.Get("x-junction-invocation-id")
		invs := b.invocations("boom")
		if len(invs) != 1 || invs[0].ID != id || invs[0].Status != function.StatusFailed || !strings.Contains(invs[0].Error, "kaboom 7") {
			t.Fatalf("boom history = %+v", invs)
		}
		if len(invs[0].Logs) != 1 || invs[0].Logs[0].Message != "about to throw" || invs[0].Logs[0].Level != "warning" {
			t.Fatalf("boom logs = %+v", invs[0].Logs)
		}
		one := b.admin("GET", "/admin/v1/functions/boom/invocations/"+id, nil)
		var inv function.Invocation
		one.json(t, &inv)
		if one.status != 200 || inv.Trigger != "httpTrigger" || inv.Detail != "GET /api/boom" {
			t.Fatalf("one invocation: %d %s", one.status, one.body)
		}
		if r := b.admin("GET", "/admin/v1/functions/boom/invocations/nope", nil); r.status != 404 || !strings.Contains(r.body, `"NotFound"`) {
			t.Fatalf("missing invocation: %d %s", r.status, r.body)
		}
		hello := b.invocations("hello")
		if len(hello) != 2 || hello[0].Status != function.StatusSucceeded || hello[0].Logs[0].Message != "greeting Bob" {
			t.Fatalf("hello history = %+v", hello)
		}
	})
}

func TestFunctionKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s, jsApp, function.Config{})
		if r := b.do("GET", "/api/locked", nil); r.status != 401 {
			t.Fatalf("no key: %d", r.status)
		}
		if r := b.do("GET", "/api/locked?code=wrong-key-0123456789", nil); r.status != 401 {
			t.Fatalf("wrong key: %d", r.status)
		}
		r := b.admin("POST", "/admin/v1/functions/locked/keys", map[string]string{"name": "default"})
		var k function.KeyInfo
		r.json(t, &k)
		if r.status != 201 || len(k.Value) < 16 {
			t.Fatalf("create key: %d %s", r.status, r.body)
		}
		if r := b.do("GET", "/api/locked", nil, "x-functions-key", k.Value); r.status != 200 || r.body != "secret" {
			t.Fatalf("header key: %d %s", r.status, r.body)
		}
		if r := b.do("GET", "/api/locked?code="+k.Value, nil); r.status != 200 {
			t.Fatalf("code key: %d", r.status)
		}
		if r := b.do("GET", "/api/master?code="+k.Value, nil); r.status != 401 {
			t.Fatalf("function key on admin level: %d", r.status)
		}
		if r := b.do("GET", "/api/master", nil, "x-functions-key", adminKey); r.status != 200 || r.body != "master" {
			t.Fatalf("master key: %d %s", r.status, r.body)
		}
		r = b.admin("POST", "/admin/v1/function-host/keys", map[string]string{"name": "shared", "value": "host-key-value-0123456789"})
		if r.status != 201 {
			t.Fatalf("host key: %d %s", r.status, r.body)
		}
		if r := b.do("GET", "/api/locked", nil, "x-functions-key", "host-key-value-0123456789"); r.status != 200 {
			t.Fatalf("host key use: %d", r.status)
		}
		list := b.admin("GET", "/admin/v1/functions/locked/keys", nil)
		if list.status != 200 || !strings.Contains(list.body, `"default"`) || strings.Contains(list.body, k.Value) {
			t.Fatalf("list keys: %d %s", list.status, list.body)
		}
		if r := b.admin("POST", "/admin/v1/functions/locked/keys", map[string]string{"name": "short", "value": "tiny"}); r.status != 400 || !strings.Contains(r.body, "InvalidField") {
			t.Fatalf("short key: %d %s", r.status, r.body)
		}
		if r := b.admin("DELETE", "/admin/v1/functions/locked/keys/default", nil); r.status != 204 {
			t.Fatalf("delete: %d", r.status)
		}
		if r := b.do("GET", "/api/locked?code="+k.Value, nil); r.status != 401 {
			t.Fatalf("deleted key still works: %d", r.status)
		}
		if r := b.do("GET", "/admin/v1/functions/locked/keys", nil); r.status != 401 {
			t.Fatalf("keys without auth: %d", r.status)
		}
	})
}

func TestManagementAPI(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s, jsApp, function.Config{})
	r := b.admin("GET", "/admin/v1/functions", nil)
	var list struct{ Value []function.FunctionInfo }
	r.json(t, &list)
	if r.status != 200 || len(list.Value) != 5 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	r = b.admin("GET", "/admin/v1/functions/hello", nil)
	var fi function.FunctionInfo
	r.json(t, &fi)
	if fi.URL != "/api/greet/{name:alpha?}" || fi.Kind != "javascript" || fi.Trigger.Type != "httpTrigger" {
		t.Fatalf("get: %s", r.body)
	}
	if r := b.admin("GET", "/admin/v1/functions/nope", nil); r.status != 404 {
		t.Fatalf("missing: %d", r.status)
	}
	r = b.admin("POST", "/admin/v1/functions/hello/invoke", map[string]any{"input": map[string]any{"method": "GET", "query": map[string]any{"name": "Cy"}}})
	var out map[string]any
	r.json(t, &out)
	resp, _ := out["response"].(map[string]any)
	if r.status != 200 || out["status"] != "Succeeded" || resp == nil || !strings.Contains(resp["body"].(string), "Hello, Cy") {
		t.Fatalf("invoke: %d %s", r.status, r.body)
	}
	if r := b.admin("POST", "/admin/v1/functions/hello/invoke", map[string]any{"bogus": 1}); r.status != 400 {
		t.Fatalf("bad body: %d %s", r.status, r.body)
	}
	if invs := b.invocations("hello"); len(invs) != 1 || invs[0].Trigger != "manual" {
		t.Fatalf("manual history: %+v", invs)
	}
}

func TestEventGridTriggerAndOutput(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []map[string]any
	var gotKey string
	topic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &evs); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, evs...)
		gotKey = r.Header.Get("aeg-sas-key")
		mu.Unlock()
	}))
	defer topic.Close()
	settings := map[string]string{"TOPIC_URL": topic.URL + "/api/events", "TOPIC_KEY": "topic-key"}
	files := map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/onevent/function.json": `{"bindings": [
			{"type": "eventGridTrigger", "direction": "in", "name": "event"},
			{"type": "eventGrid", "direction": "out", "name": "out", "topicEndpointUri": "TOPIC_URL", "topicKeySetting": "TOPIC_KEY"}]}`,
		"functions/onevent/index.js": `
module.exports = async function (context, event) {
    if (event.data.fail) throw new Error("refused");
    context.log("saw", event.eventType);
    context.bindings.out = [{subject: "copy/" + event.subject, eventType: "Copied", data: event.data}];
};`,
	}
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s, files, function.Config{Getenv: func(k string) string { return settings[k] }})
	key := b.admin("POST", "/admin/v1/functions/onevent/keys", map[string]string{"name": "eventgrid", "value": "eventgrid-key-0123456789"})
	if key.status != 201 {
		t.Fatal(key.body)
	}
	hook := "/runtime/webhooks/EventGrid?functionName=onevent&code=eventgrid-key-0123456789"
	r := b.do("POST", hook, []map[string]any{{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": map[string]any{"validationCode": "abc-123"}}},
		"aeg-event-type", "SubscriptionValidation")
	if r.status != 200 || !strings.Contains(r.body, `"validationResponse":"abc-123"`) {
		t.Fatalf("validation: %d %s", r.status, r.body)
	}
	r = b.do("POST", hook, []map[string]any{{"id": "e1", "subject": "orders/1", "eventType": "OrderCreated", "data": map[string]any{"n": 1}, "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1"}},
		"aeg-event-type", "Notification")
	if r.status != 200 {
		t.Fatalf("deliver: %d %s", r.status, r.body)
	}
	// The delivery is answered once its record is written (read from the
	// store, not through the API, which would flush the writer itself).
	var recorded int
	if err := s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), `SELECT COUNT(*) FROM func_invocations WHERE function = 'onevent' AND detail = 'event e1'`).Scan(&recorded)
	}); err != nil || recorded != 1 {
		t.Fatalf("records of the delivered event: %d, %v; want 1 before the delivery is answered", recorded, err)
	}
	mu.Lock()
	if len(got) != 1 || got[0]["subject"] != "copy/orders/1" || got[0]["id"] == nil || gotKey != "topic-key" {
		t.Fatalf("published = %v key %q", got, gotKey)
	}
	mu.Unlock()
	// A CloudEvent whose function fails asks for a retry.
	r = b.do("POST", hook, map[string]any{"specversion": "1.0", "id": "c1", "type": "X", "source": "/s", "data": map[string]any{"fail": true}})
	if r.status != 500 {
		t.Fatalf("failing event: %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/runtime/webhooks/EventGrid?functionName=onevent", []any{}); r.status != 401 {
		t.Fatalf("no key: %d", r.status)
	}
	if r := b.do("POST", "/runtime/webhooks/EventGrid?functionName=nope&code=eventgrid-key-0123456789", []any{}); r.status != 404 {
		t.Fatalf("unknown function: %d", r.status)
	}
	invs := b.invocations("onevent")
	if len(invs) != 2 || invs[0].Status != function.StatusFailed || invs[1].Detail != "event e1" {
		t.Fatalf("history: %+v", invs)
	}
}

func TestUnwiredBindings(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"functions/host.json":               `{"version": "2.0"}`,
		"functions/fromqueue/function.json": `{"bindings": [{"type": "serviceBusTrigger", "direction": "in", "name": "msg", "queueName": "orders", "connection": "SB"}]}`,
		"functions/fromqueue/index.js":      `module.exports = async function (context, msg) {};`,
		"functions/toqueue/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "orders"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/toqueue/index.js": `module.exports = async function (context) { context.bindings.out = {a: 1}; };`,
	}
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{})
	var fi function.FunctionInfo
	b.admin("GET", "/admin/v1/functions/fromqueue", nil).json(t, &fi)
	if !strings.Contains(fi.Unwired, "no Service Bus message source") {
		t.Fatalf("fromqueue unwired = %q", fi.Unwired)
	}
	if r := b.do("GET", "/api/toqueue", nil); r.status != 500 {
		t.Fatalf("toqueue: %d", r.status)
	}
	invs := b.invocations("toqueue")
	if len(invs) != 1 || !strings.Contains(invs[0].Error, "no Service Bus sender") {
		t.Fatalf("history: %+v", invs)
	}
}
