package function_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/broker"
	"junction/internal/broker/httpapi"
	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// nodeApp serves one of the published function apps of testdata/nodeapps in
// the Node.js worker. Their npm packages come from scripts/deps/functions.sh.
func nodeApp(t *testing.T, s store.Store, name string) *bundle {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH: run make deps (scripts/deps/functions.sh)")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "nodeapps", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "functions", "node_modules")); err != nil {
		t.Fatalf("%s has no node_modules: run make deps (scripts/deps/functions.sh)", name)
	}
	return serveDir(t, s, dir, function.Config{DataDir: t.TempDir()})
}

// TestNodeE2EApps runs the Node.js worker's own end-to-end test apps
// (Azure/azure-functions-nodejs-e2e-tests, app/v3 and app/v4, compiled
// TypeScript) unchanged, with the inputs and expected outputs of that
// repository's src/http.test.ts.
func TestNodeE2EApps(t *testing.T) {
	t.Parallel()
	type check struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		want    string // exact body, or JSON compared structurally when it starts with { or [
		cookies string // Set-Cookie values joined with ", " (lower-cased for v4)
	}
	common := []check{
		{name: "hello world", method: "GET", path: "/api/helloWorld", status: 200, want: "Hello, world!"},
		{name: "name in body", method: "POST", path: "/api/helloWorld", body: "testName", status: 200, want: "Hello, testName!"},
		{name: "name in query", method: "GET", path: "/api/helloWorld?name=testName", status: 200, want: "Hello, testName!"},
		{name: "no function", method: "GET", path: "/api/doesntExist", status: 404},
		{name: "route parameters", method: "GET", path: "/api/httpTriggerRouteParams/testName/5", status: 200, want: `{"name":"testName","id":"5"}`},
	}
	apps := []struct {
		app    string
		checks []check
	}{
		{"e2e-v3", append(common,
			check{name: "query", method: "GET", path: "/api/httpTriggerQuery?name=testName&dupe=1&dupe=2", status: 200,
				want: `{"query":{"name":"testName","dupe":"1,2"},"dupe":"1,2","dupeAll":["1,2"]}`},
			check{name: "cookies", method: "GET", path: "/api/httpCookies", status: 200, want: "",
				cookies: "mycookie=myvalue; max-age=200000; path=/, mycookie2=myvalue; max-age=200000; path=/, mycookie3-expires=myvalue3-expires; max-age=0; path=/, mycookie4-samesite-lax=myvalue; path=/; samesite=lax, mycookie5-samesite-strict=myvalue; path=/; samesite=strict"},
			check{name: "json body", method: "POST", path: "/api/httpRawBody", body: `{ "a": 1 }`, headers: []string{"Content-Type", "application/json"}, status: 200,
				want: `{"body":{"a":1},"rawBody":"{ \"a\": 1 }","bufferBody":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>"}`},
			check{name: "json body as text/plain", method: "POST", path: "/api/httpRawBody", body: `{ "a": 1 }`, headers: []string{"Content-Type", "text/plain"}, status: 200,
				want: `{"body":{"a":1},"rawBody":"{ \"a\": 1 }","bufferBody":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>"}`},
			check{name: "json body invalid", method: "POST", path: "/api/httpRawBody", body: `{ "a": 1, "b": }`, headers: []string{"Content-Type", "application/json"}, status: 200,
				want: `{"body":"{ \"a\": 1, \"b\": }","rawBody":"{ \"a\": 1, \"b\": }","bufferBody":"<Buffer 7b 20 22 61 22 3a 20 31 2c 20 22 62 22 3a 20 7d>"}`},
			check{name: "octet-stream body", method: "POST", path: "/api/httpRawBody", body: `{ "a": 1 }`, headers: []string{"Content-Type", "application/octet-stream"}, status: 200,
				want: `{"body":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>","rawBody":"{ \"a\": 1 }","bufferBody":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>"}`},
			check{name: "multipart body", method: "POST", path: "/api/httpRawBody", body: `{ "a": 1 }`, headers: []string{"Content-Type", "multipart/whatever"}, status: 200,
				want: `{"body":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>","rawBody":"{ \"a\": 1 }","bufferBody":"<Buffer 7b 20 22 61 22 3a 20 31 20 7d>"}`},
		)},
		{"e2e-v4", append(common,
			// The v4 app enables HTTP streaming (src/setup.ts), whose query
			// and cookie behaviour http.test.ts states separately.
			check{name: "query", method: "GET", path: "/api/httpTriggerQuery?name=testName&dupe=1&dupe=2", status: 200,
				want: `{"query":{"name":"testName","dupe":"2"},"dupe":"1","dupeAll":["1","2"]}`},
			check{name: "cookies", method: "GET", path: "/api/httpCookies", status: 200, want: "",
				cookies: "mycookie=myvalue; max-age=200000, mycookie2=myvalue; max-age=200000; path=/, mycookie3-expires=myvalue3-expires; max-age=0, mycookie4-samesite-lax=myvalue; samesite=lax, mycookie5-samesite-strict=myvalue; samesite=strict"},
			check{name: "hooks", method: "POST", path: "/api/httpTriggerForHooks", status: 200, want: "hookBodyResponse"},
		)},
	}
	for _, a := range apps {
		t.Run(a.app, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, s store.Store) {
				b := nodeApp(t, s, a.app)
				for _, c := range a.checks {
					r := b.do(c.method, c.path, nil, c.headers...)
					if c.body != "" {
						r = b.doRaw(c.method, c.path, c.body, c.headers...)
					}
					if r.status != c.status {
						t.Errorf("%s: status %d, want %d: %s%s", c.name, r.status, c.status, r.body, b.failure(strings.Split(strings.TrimPrefix(c.path, "/api/"), "/")[0], r))
						continue
					}
					if c.status != 200 {
						continue
					}
					if strings.HasPrefix(c.want, "{") {
						var got, want any
						if err := json.Unmarshal([]byte(r.body), &got); err != nil {
							t.Errorf("%s: body %q: %v", c.name, r.body, err)
							continue
						}
						_ = json.Unmarshal([]byte(c.want), &want)
						if !reflect.DeepEqual(got, want) {
							t.Errorf("%s: body\n got %s\nwant %s", c.name, r.body, c.want)
						}
					} else if r.body != c.want {
						t.Errorf("%s: body %q, want %q", c.name, r.body, c.want)
					}
					if c.name == "hooks" {
						// src/hooks.test.ts's expected log lines.
						for _, line := range []string{
							`preInvocation hook executed with inputs ["HttpRequest"]`,
							`Ignored error: Cannot assign to read only property 'hookData'`,
							`Ignored error: Cannot assign to read only property 'invocationContext'`,
							`extra log from updated functionHandler`,
							`httpTriggerForHooks was triggered with second input extraTestInput12345`,
							`postInvocation hook executed with error: null, result: {"body":"hookBodyResponse"}, hook data: preInvocationHookData123`,
						} {
							waitFor(t, line, func() bool {
								for _, inv := range b.invocations("httpTriggerForHooks") {
									for _, l := range inv.Logs {
										if l.Message == line {
											return true
										}
									}
								}
								return false
							})
						}
					}
					if c.cookies != "" {
						got := strings.Join(r.header.Values("Set-Cookie"), ", ")
						if a.app == "e2e-v4" {
							got = strings.ToLower(got)
						}
						if got != c.cookies {
							t.Errorf("%s: Set-Cookie\n got %s\nwant %s", c.name, got, c.cookies)
						}
					}
				}
			})
		})
	}
}

// failure is the recorded error of a failed invocation, for messages.
func (b *bundle) failure(name string, r response) string {
	id := r.header.Get("x-junction-invocation-id")
	if id == "" || r.status != 500 {
		return ""
	}
	var inv function.Invocation
	waitFor(b.t, "the invocation record", func() bool {
		res := b.admin("GET", "/admin/v1/functions/"+strings.Split(name, "?")[0]+"/invocations/"+id, nil)
		return res.status == 200 && json.Unmarshal([]byte(res.body), &inv) == nil
	})
	return " (" + inv.Error + ")"
}

// TestNodeE2EServiceBus runs the e2e apps' Service Bus functions in a whole
// Junction (its own broker, on both stores) with the inputs and expected log
// lines of the e2e repository's src/serviceBus.test.ts: a message to the
// trigger-and-output queue is logged by serviceBusQueueTriggerAndOutput and,
// through its serviceBus return binding, by serviceBusQueueTrigger; an HTTP
// request's extra serviceBus output reaches serviceBusQueueTrigger too.
func TestNodeE2EServiceBus(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"e2e-v3", "e2e-v4"} {
		for _, d := range storetest.Drivers {
			t.Run(name+"/"+string(d), func(t *testing.T) {
				t.Parallel()
				dir, _ := filepath.Abs(filepath.Join("testdata", "nodeapps", name))
				if _, err := os.Stat(filepath.Join(dir, "functions", "node_modules")); err != nil {
					t.Fatalf("%s has no node_modules: run make deps (scripts/deps/functions.sh)", name)
				}
				a, base := apptest.Start(t, d, func(c *app.Config) { c.Project = dir })
				b := brokerOf(a)
				if name == "e2e-v4" {
					msg := "testData" + strconv.FormatInt(time.Now().UnixNano(), 16)
					if _, err := b.Send(context.Background(), "e2e-test-queue-one-trigger-and-output", broker.Message{Body: []byte(msg)}); err != nil {
						t.Fatal(err)
					}
					waitLog(t, base, "serviceBusQueueTriggerAndOutput", `serviceBusQueueTriggerAndOutput was triggered by "`+msg+`"`)
					waitLog(t, base, "serviceBusQueueTrigger", `serviceBusQueueTrigger was triggered by "`+msg+`"`)
				}
				// The functions on Azure Storage, Cosmos DB, Event Hubs and SQL
				// are reported; the node stays ready.
				ready := apptest.Call(t, "GET", base+"/readyz", "", nil, 200)
				if detail, _ := ready["checks"].(map[string]any)["functions"].(string); !strings.Contains(detail, "not loaded") || !strings.Contains(detail, "cosmosDBTrigger") {
					t.Errorf("readyz: %v", ready)
				}
				overview := apptest.Call(t, "GET", base+"/admin/v1/overview", "k", nil, 200)
				raw, _ := json.Marshal(overview["alerts"])
				if !strings.Contains(string(raw), "function cosmosDBTrigger is not loaded") || !strings.Contains(string(raw), "Azure Cosmos DB") {
					t.Errorf("console alerts: %s", raw)
				}
				msg := "testData" + strconv.FormatInt(time.Now().UnixNano(), 16) + "x"
				apptest.Call(t, "POST", base+"/api/httpTriggerServiceBusOutput", "k", map[string]any{"output": msg}, 200)
				waitLog(t, base, "serviceBusQueueTrigger", `serviceBusQueueTrigger was triggered by "`+msg+`"`)
			})
		}
	}
}

// waitLog waits until an invocation of function logged line.
func waitLog(t *testing.T, base, function, line string) {
	t.Helper()
	waitFor(t, line, func() bool {
		out := apptest.Call(t, "GET", base+"/admin/v1/functions/"+function+"/invocations", "k", nil, 200)
		invs, _ := out["value"].([]any)
		for _, inv := range invs {
			logs, _ := inv.(map[string]any)["logs"].([]any)
			for _, l := range logs {
				if m, _ := l.(map[string]any)["message"].(string); m == line {
					return true
				}
			}
		}
		return false
	})
}

// v4App is a v4-model app on the real @azure/functions package: an Event
// Grid function writing Dataverse rows, a Service Bus relay with a return
// binding, a timer that runs on startup and an HTTP function.
var v4App = map[string]string{
	"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [{"Name": "in", "Properties": {}}, {"Name": "out", "Properties": {}}]}], "Logging": {"Type": "File"}}}`,
	"functions/host.json":    `{"version": "2.0"}`,
	"functions/local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "node", "GREETING": "hello from settings",
		"TOPIC_URL": "https://junction.local/eventgrid/topics/leads/api/events", "TOPIC_KEY": "unused-in-process"}}`,
	"functions/src/functions/newlead.js": `const { app, output } = require("@azure/functions");
const leads = output.eventGrid({ topicEndpointUri: "TOPIC_URL", topicKeySetting: "TOPIC_KEY" });
app.post("newlead", {
    authLevel: "anonymous", extraOutputs: [leads],
    handler: async (request, context) => {
        const lead = await request.json();
        context.extraOutputs.set(leads, { id: "l-2", subject: "/leads/2", eventType: "Lead.Qualified", dataVersion: "1", eventTime: new Date().toISOString(), data: lead });
        return { status: 202 };
    },
});`,
	"functions/package.json": `{"name": "v4app", "main": "src/functions/*.js", "dependencies": {"@azure/functions": "^4.0.0"}}`,
	"functions/src/functions/leads.js": `const { app, output } = require("@azure/functions");
const contact = output.generic({ type: "dataverse", entityName: "contacts", mode: "create" });
app.eventGrid("onlead", {
    extraOutputs: [contact],
    handler: (event, context) => {
        context.log("lead", event.subject);
        context.extraOutputs.set(contact, { firstname: event.data.first, lastname: event.data.last, emailaddress1: event.data.email });
    },
});`,
	"functions/src/functions/relay.js": `const { app, output } = require("@azure/functions");
app.serviceBusQueue("relay", {
    queueName: "in", connection: "ServiceBus",
    return: output.serviceBusQueue({ queueName: "out", connection: "ServiceBus" }),
    handler: (message, context) => {
        context.log("delivery " + context.triggerMetadata.deliveryCount + " of " + context.triggerMetadata.messageId);
        return { relayed: message };
    },
});`,
	"functions/src/functions/tick.js": `const { app } = require("@azure/functions");
app.timer("tick", { schedule: "0 0 0 1 1 *", runOnStartup: true, handler: (timer, context) => { context.log("pastDue=" + timer.isPastDue); } });`,
	"functions/src/functions/hello.js": `const { app } = require("@azure/functions");
app.http("hello", {
    methods: ["GET"], authLevel: "anonymous",
    handler: async (request) => ({ jsonBody: { a: request.query.get("a"), env: process.env.GREETING }, cookies: [{ name: "c", value: "v", httpOnly: true }] }),
});`,
}

// TestNodeV4Bindings runs v4App in a whole Junction on both stores: the
// Event Grid function's dataverse output creates a real row (also for an
// event an HTTP function publishes through its eventGrid output), the Service Bus
// function's return binding sends to the next queue with the trigger
// metadata camelCased, the timer gets isPastDue, and HTTP responses carry
// cookies.
func TestNodeV4Bindings(t *testing.T) {
	t.Parallel()
	modules := azureFunctionsModules(t)
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, v4App)
			if err := os.Symlink(modules, filepath.Join(dir, "functions", "node_modules")); err != nil {
				t.Fatal(err)
			}
			a, base := apptest.Start(t, d, func(c *app.Config) { c.Project = dir })
			call := func(method, path string, body any, want int) map[string]any {
				t.Helper()
				return apptest.Call(t, method, base+path, "k", body, want)
			}
			waitLog(t, base, "tick", "pastDue=false")

			resp, err := http.Get(base + "/api/hello?a=1&a=2")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != `{"a":"1,2","env":"hello from settings"}` || resp.Header.Get("Set-Cookie") != "c=v; path=/; httponly" {
				t.Errorf("hello: %s %q", body, resp.Header.Get("Set-Cookie"))
			}

			b := brokerOf(a)
			ctx := context.Background()
			if _, err := b.Send(ctx, "in", broker.Message{MessageID: "m-1", ContentType: "application/json", Body: []byte(`{"n":1}`)}); err != nil {
				t.Fatal(err)
			}
			got, err := b.Receive(ctx, "out", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Wait: 20 * time.Second})
			if err != nil || len(got) != 1 || string(got[0].Body) != `{"relayed":{"n":1}}` {
				t.Fatalf("relayed: %v %v", got, err)
			}
			waitLog(t, base, "relay", "delivery 1 of m-1")

			call("PUT", "/admin/v1/eventgrid/topics/leads", map[string]any{"properties": map[string]any{"inputSchema": "EventGridSchema"}}, 201)
			call("PUT", "/admin/v1/eventgrid/topics/leads/eventSubscriptions/to-function", map[string]any{"properties": map[string]any{
				"destination": map[string]any{"endpointType": "AzureFunction", "properties": map[string]any{
					"resourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/junction/functions/onlead"}}}}, 201)
			call("POST", "/eventgrid/topics/leads/api/events", `[{"id":"l-1","subject":"/leads/1","eventType":"Lead.Qualified",
				"eventTime":"2026-11-28T10:00:00Z","dataVersion":"1","data":{"first":"Ada","last":"Lovelace","email":"ada@example.com"}}]`, 200)
			waitFor(t, "the contact row", func() bool {
				out := call("GET", "/api/data/v9.2/contacts?$filter=emailaddress1%20eq%20'ada@example.com'&$select=firstname,lastname", nil, 200)
				rows, _ := out["value"].([]any)
				return len(rows) == 1 && rows[0].(map[string]any)["lastname"] == "Lovelace"
			})
			waitLog(t, base, "onlead", "lead /leads/1")

			// An HTTP function's eventGrid output publishes to the same topic,
			// whose subscription runs onlead again.
			resp, err = http.Post(base+"/api/newlead", "application/json", strings.NewReader(`{"first":"Grace","last":"Hopper","email":"grace@example.com"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 202 {
				t.Fatalf("newlead: %d", resp.StatusCode)
			}
			waitFor(t, "the second contact row", func() bool {
				out := call("GET", "/api/data/v9.2/contacts?$filter=emailaddress1%20eq%20'grace@example.com'&$select=lastname", nil, 200)
				rows, _ := out["value"].([]any)
				return len(rows) == 1 && rows[0].(map[string]any)["lastname"] == "Hopper"
			})
		})
	}
}

// TestDocsNodeExamples runs the v4 and v3 apps of docs/functions.md as the
// page shows them.
func TestDocsNodeExamples(t *testing.T) {
	t.Parallel()
	modules := azureFunctionsModules(t)
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  string
	}{
		{"v4", map[string]string{
			"servicebus/config.json":        `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [{"Name": "orders", "Properties": {}}]}]}}`,
			"functions/host.json":           `{"version": "2.0"}`,
			"functions/local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "node", "GREETING": "Hello"}}`,
			"functions/package.json":        `{"main": "src/functions/*.js", "dependencies": {"@azure/functions": "^4.0.0"}}`,
			"functions/src/functions/hello.js": `const { app, output } = require('@azure/functions');

const outbox = output.serviceBusQueue({ queueName: 'orders', connection: 'ServiceBus' });

app.http('hello', {
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    extraOutputs: [outbox],
    handler: async (request, context) => {
        const name = request.query.get('name') || (await request.text()) || 'world';
        context.log(` + "`greeting ${name}`" + `);
        context.extraOutputs.set(outbox, { greeted: name });
        return { jsonBody: { message: ` + "`${process.env.GREETING}, ${name}!`" + ` } };
    },
});`,
		}, "/api/hello?name=Ada", `{"message":"Hello, Ada!"}`},
		{"v3", map[string]string{
			"functions/host.json":                 `{"version": "2.0"}`,
			"functions/package.json":              `{"name": "app"}`,
			"functions/HttpExample/function.json": `{"bindings": [{"authLevel": "anonymous", "type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get", "post"]}, {"type": "http", "direction": "out", "name": "res"}]}`,
			"functions/HttpExample/index.js": `module.exports = async function (context, req) {
    context.log('JavaScript HTTP trigger function processed a request.');
    const name = req.query.name || (req.body && req.body.name);
    context.res = { body: name ? ` + "`Hello, ${name}.`" + ` : 'Pass a name.' };
};`,
		}, "/api/HttpExample?name=Ada", "Hello, Ada."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			if tc.name == "v4" {
				if err := os.Symlink(modules, filepath.Join(dir, "functions", "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			_, base := apptest.Start(t, store.SQLite, func(c *app.Config) { c.Project = dir })
			resp, err := http.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Fatalf("%d %s, want %s", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestNodeTemplates runs Microsoft's v3 JavaScript function templates
// (Azure/azure-functions-templates) unchanged in a whole Junction on both
// stores, each with its own sample.dat as input.
func TestNodeTemplates(t *testing.T) {
	t.Parallel()
	dir, _ := filepath.Abs(filepath.Join("testdata", "nodeapps", "templates-v3"))
	sample := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, "functions", name, "sample.dat"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			a, base := apptest.Start(t, d, func(c *app.Config) { c.Project = dir })
			post := func(path, body string) (int, string) {
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
				req.Header.Set("x-functions-key", "k")
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(out)
			}
			// HttpTrigger: sample.dat is {"name": "Azure"}.
			if code, body := post("/api/HttpTrigger", sample("HttpTrigger")); code != 200 || body != "Hello, Azure. This HTTP triggered function executed successfully." {
				t.Errorf("HttpTrigger: %d %q", code, body)
			}
			if code, body := post("/api/HttpTrigger", ""); code != 200 || !strings.HasPrefix(body, "This HTTP triggered function executed successfully. Pass a name") {
				t.Errorf("HttpTrigger without a name: %d %q", code, body)
			}
			waitLog(t, base, "HttpTrigger", "JavaScript HTTP trigger function processed a request.")

			// TimerTrigger: the "running late" branch runs on isPastDue.
			apptest.Call(t, "POST", base+"/admin/v1/functions/TimerTrigger/invoke", "k", map[string]any{"input": map[string]any{"IsPastDue": true}}, 200)
			waitLog(t, base, "TimerTrigger", "JavaScript is running late!")

			// ServiceBusQueueTrigger: sample.dat is the message body.
			b := brokerOf(a)
			if _, err := b.Send(context.Background(), "myinputqueue", broker.Message{Body: []byte(sample("ServiceBusQueueTrigger"))}); err != nil {
				t.Fatal(err)
			}
			waitLog(t, base, "ServiceBusQueueTrigger", "JavaScript ServiceBus queue trigger function processed message Service Bus Message")

			// EventGridTrigger: sample.dat is one event, delivered through the webhook.
			if code, body := post("/runtime/webhooks/EventGrid?functionName=EventGridTrigger", sample("EventGridTrigger")); code != 200 {
				t.Errorf("EventGridTrigger: %d %s", code, body)
			}
			waitLog(t, base, "EventGridTrigger", "object")
		})
	}
}

// TestNodeQuickstart runs Microsoft's JavaScript quickstart
// (Azure-Samples/functions-quickstart-javascript-azd, @azure/functions 4.5.0
// from its own package-lock.json) with the requests of its README and
// src/functions/test.http.
func TestNodeQuickstart(t *testing.T) {
	t.Parallel()
	testdata, err := os.ReadFile(filepath.Join("testdata", "nodeapps", "quickstart-v4", "functions", "src", "functions", "testdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := nodeApp(t, s, "quickstart-v4")
		tests := []struct {
			name, method, path, body, contentType string
			status                                int
			want                                  string
		}{
			{"get", "GET", "/api/httpget", "", "", 200, "Hello, world!"},
			{"get with a name", "GET", "/api/httpget?name=Ada", "", "", 200, "Hello, Ada!"},
			{"post testdata.json", "POST", "/api/httppost", string(testdata), "text/json", 200, "Hello, Awesome Developer! You are 25 years old."},
			{"post without age", "POST", "/api/httppost", `{"name": "Ada"}`, "application/json", 400, "Please provide both name and age in the request body."},
			{"post not JSON", "POST", "/api/httppost", `name=Ada`, "text/plain", 400, "Invalid request body. Please provide a valid JSON object with name and age."},
		}
		for _, tc := range tests {
			r := b.doRaw(tc.method, tc.path, tc.body, "Content-Type", tc.contentType, "x-functions-key", adminKey)
			if r.status != tc.status || r.body != tc.want {
				t.Errorf("%s: %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.want)
			}
		}
		if r := b.do("GET", "/api/httpget", nil); r.status != 401 {
			t.Errorf("without a key: %d", r.status)
		}
	})
}

// brokerOf is a whole Junction's broker.
func brokerOf(a *app.App) *broker.Broker {
	for _, c := range a.Components() {
		if api, ok := c.(*httpapi.API); ok {
			return api.Broker()
		}
	}
	return nil
}

// azureFunctionsModules is a node_modules folder holding @azure/functions
// (installed by scripts/deps/functions.sh), for apps written in tests.
func azureFunctionsModules(t testing.TB) string {
	t.Helper()
	modules, _ := filepath.Abs(filepath.Join("testdata", "nodeapps", "e2e-v4", "functions", "node_modules"))
	if _, err := os.Stat(modules); err != nil {
		t.Fatal("no node_modules in testdata/nodeapps/e2e-v4: run make deps (scripts/deps/functions.sh)")
	}
	return modules
}

// TestNodeTraceContext: a JavaScript function reads its invocation's span in
// context.traceContext, as Azure Functions gives it (the caller's trace, the
// invocation's own span id), in the Node.js worker and in the sandbox.
func TestNodeTraceContext(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH: run make deps (scripts/deps/functions.sh)")
	}
	src, _ := filepath.Abs(filepath.Join("testdata", "nodeapps", "tracecontext", "functions", "whoami"))
	for _, runtime := range []string{"node", "sandbox"} {
		t.Run(runtime, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fn := filepath.Join(dir, "functions", "whoami")
			os.MkdirAll(fn, 0o755)
			os.WriteFile(filepath.Join(dir, "functions", "host.json"), []byte(`{"version":"2.0","junction":{"javascriptRuntime":"`+runtime+`"}}`), 0o644)
			for _, f := range []string{"function.json", "index.js"} {
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(fn, f), b, 0o644)
			}
			_, base := apptest.Start(t, storetest.Drivers[0], func(c *app.Config) { c.Project = dir })
			const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			req, _ := http.NewRequest("GET", base+"/api/whoami", nil)
			req.Header.Set("traceparent", caller)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var out struct{ Traceparent string }
			json.Unmarshal(raw, &out)
			if resp.StatusCode != 200 || len(out.Traceparent) != 55 || out.Traceparent[3:35] != caller[3:35] || out.Traceparent[36:52] == caller[36:52] {
				t.Fatalf("%d %s: want the caller's trace %s with the invocation's span", resp.StatusCode, raw, caller[3:35])
			}
		})
	}
}
