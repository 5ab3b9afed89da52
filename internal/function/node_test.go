package function_test

import (
	"context"
	"encoding/json"
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
	return serveDir(t, s, dir, function.Options{DataDir: t.TempDir()})
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
			b := nodeApp(t, storetest.Open(t, store.SQLite), a.app)
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
				var b *broker.Broker
				for _, c := range a.Components() {
					if api, ok := c.(*httpapi.API); ok {
						b = api.Broker()
					}
				}
				if name == "e2e-v4" {
					msg := "testData" + strconv.FormatInt(time.Now().UnixNano(), 16)
					if _, err := b.Send(context.Background(), "e2e-test-queue-one-trigger-and-output", broker.Message{Body: []byte(msg)}); err != nil {
						t.Fatal(err)
					}
					waitLog(t, base, "serviceBusQueueTriggerAndOutput", `serviceBusQueueTriggerAndOutput was triggered by "`+msg+`"`)
					waitLog(t, base, "serviceBusQueueTrigger", `serviceBusQueueTrigger was triggered by "`+msg+`"`)
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
