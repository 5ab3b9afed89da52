package app_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store/storetest"
)

// hop is one span expected on a trace's path: its surface and how its name
// begins.
type hop struct{ component, name string }

// The path of one account update through the project in testdata/traced:
// every hop a child of the one before it.
var tracedPath = []hop{
	{"Web API", "PATCH /api/data/v9.2/accounts("},
	{"Change log", "Update account"},
	{"Events", "deliver records/accounts-to-router"},
	{"Workflows", "run route-account"},
	{"Workflows", "action Send_message"},
	{"Functions", "function on-account"},
	{"Web API", "POST /api/data/v9.2/tasks"},
	{"Change log", "Create task"},
}

// TestOneTraceAcrossFivePatterns follows a single change from a Web API
// write to the row a function wrote, through the change log, the event
// router, a workflow and the broker: the caller's traceparent is the root,
// every hop is the child of the one before it, and the trace is read back
// from GET /admin/v1/traces/{id}. A function that throws marks its span as
// the failing hop.
func TestOneTraceAcrossFivePatterns(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, base := apptest.Start(t, d, func(c *app.Config) { c.Project = "testdata/traced" })
			status, hdr, raw := apptest.Post(t, base+"/api/data/v9.2/accounts", "k", strings.NewReader(`{"name":"Contoso"}`))
			if status != 204 {
				t.Fatalf("create: %d %s", status, raw)
			}
			row := hdr.Get("OData-EntityId")

			const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			patch(t, row, `{"name":"Fabrikam"}`, "00-"+traceID+"-"+callerSpan+"-01")
			spans := waitForTrace(t, base, traceID, func(spans []any) bool { return findHop(spans, tracedPath[len(tracedPath)-1]) != nil })
			parent := callerSpan
			for _, h := range tracedPath {
				s := findHop(spans, h)
				if s == nil {
					t.Fatalf("no %s span %q in %v", h.component, h.name, names(spans))
				}
				if s["parentSpanId"] != parent {
					t.Fatalf("%s %q: parent %v, want %s (the hop before it); trace %v", h.component, h.name, s["parentSpanId"], parent, names(spans))
				}
				if s["error"] != nil {
					t.Fatalf("%s %q failed: %v", h.component, h.name, s["error"])
				}
				parent = s["spanId"].(string)
			}

			// A throwing function is the trace's failing hop.
			const failing = "0af7651916cd43dd8448eb211c80319c"
			patch(t, row, `{"name":"fail"}`, "00-"+failing+"-b7ad6b7169203331-01")
			var trace map[string]any
			waitForTrace(t, base, failing, func([]any) bool {
				trace = apptest.Call(t, "GET", base+"/admin/v1/traces/"+failing, "k", nil, 200)
				return trace["failedSpanId"] != nil
			})
			fn := findHop(trace["spans"].([]any), hop{"Functions", "function on-account"})
			if fn == nil || trace["failedSpanId"] != fn["spanId"] || !strings.Contains(fn["error"].(string), "no follow-up for an account named fail") {
				t.Fatalf("failing hop: %v, function span %v", trace["failedSpanId"], fn)
			}
		})
	}
}

// TestTraceAPIErrors: a malformed trace id is a 400 naming the field, and an
// unknown one a 404.
func TestTraceAPIErrors(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, storetest.Drivers[0], nil)
	bad := apptest.Call(t, "GET", base+"/admin/v1/traces/not-a-trace", "k", nil, 400)
	if !strings.Contains(bad["error"].(map[string]any)["message"].(string), "32 hexadecimal digits") {
		t.Fatalf("bad id: %v", bad)
	}
	apptest.Call(t, "GET", base+"/admin/v1/traces/0123456789abcdef0123456789abcdef", "k", nil, 404)
}

// TestTracedResponseNamesTheTrace: a traced request's answer carries its span
// as traceresponse; a caller's unsampled traceparent is continued but not
// recorded.
func TestTracedResponseNamesTheTrace(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, storetest.Drivers[0], nil)
	const unsampled = "00-11111111111111111111111111111111-2222222222222222-00"
	req, _ := http.NewRequest("GET", base+"/api/data/v9.2/accounts", nil)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("traceparent", unsampled)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tr := resp.Header.Get("traceresponse"); tr != "" {
		t.Fatalf("an unsampled trace answered traceresponse %q", tr)
	}
	req.Header.Del("traceparent")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr := resp.Header.Get("traceresponse")
	if len(tr) != 55 || !strings.HasSuffix(tr, "-01") {
		t.Fatalf("traceresponse %q", tr)
	}
	spans := waitForTrace(t, base, tr[3:35], func(spans []any) bool { return len(spans) > 0 })
	if s := spans[0].(map[string]any); s["spanId"] != tr[36:52] || s["component"] != "Web API" || s["kind"] != "server" {
		t.Fatalf("span %v, traceresponse %s", s, tr)
	}
	apptest.Call(t, "GET", base+"/admin/v1/traces/11111111111111111111111111111111", "k", nil, 404)
}

func patch(t *testing.T, url, body, traceparent string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", traceparent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("PATCH %s: %d", url, resp.StatusCode)
	}
}

// waitForTrace reads the trace until done holds of its spans: spans are
// written off the path of the work, a moment after it.
func waitForTrace(t *testing.T, base, id string, done func(spans []any) bool) []any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/admin/v1/traces/"+id, nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Spans []any `json:"spans"`
		}
		if resp.StatusCode == 200 {
			json.NewDecoder(resp.Body).Decode(&v)
		}
		resp.Body.Close()
		spans := v.Spans
		if len(spans) > 0 && done(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s not complete: %v", id, names(spans))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func findHop(spans []any, h hop) map[string]any {
	for _, s := range spans {
		m := s.(map[string]any)
		if m["component"] == h.component && strings.HasPrefix(m["name"].(string), h.name) {
			return m
		}
	}
	return nil
}

func names(spans []any) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		m := s.(map[string]any)
		out[i] = m["component"].(string) + ": " + m["name"].(string)
	}
	return out
}

// TestJobRunJoinsTheTraceThatStartedIt: a job run asked for under a trace
// records its span in that trace, and the rows it writes are changes of the
// same trace, children of the run.
func TestJobRunJoinsTheTraceThatStartedIt(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, base := apptest.Start(t, d, nil)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte("number,name\nT-1,Traced One\nT-2,Traced Two\n"), 0o644)
			apptest.Call(t, "PUT", base+"/admin/v1/jobs/traced-import", "k", map[string]any{
				"source":  map[string]any{"type": "file", "path": dir, "pattern": "*.csv"},
				"mapping": []any{map[string]any{"to": "accountnumber", "from": "number"}, map[string]any{"to": "name", "from": "name"}},
				"key":     []string{"accountnumber"},
				"sink":    map[string]any{"type": "table", "table": "account"},
			}, 201)
			const traceID = "5bf92f3577b34da6a3ce929d0e0e4736"
			req, _ := http.NewRequest("POST", base+"/admin/v1/jobs/traced-import/runs", strings.NewReader(`{"file":"accounts.csv"}`))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Fatalf("start the run: %d", resp.StatusCode)
			}
			spans := waitForTrace(t, base, traceID, func(spans []any) bool {
				n := 0
				for _, s := range spans {
					if s.(map[string]any)["name"] == "Create account" {
						n++
					}
				}
				return n == 2 && findHop(spans, hop{"Jobs", "job traced-import"}) != nil
			})
			job := findHop(spans, hop{"Jobs", "job traced-import"})
			if job["error"] != nil || job["attributes"].(map[string]any)["junction.status"] != "succeeded" {
				t.Fatalf("job span %v", job)
			}
			for _, s := range spans {
				if m := s.(map[string]any); m["name"] == "Create account" && m["parentSpanId"] != job["spanId"] {
					t.Fatalf("a row the job wrote is not its child: %v (job %v)", m, job["spanId"])
				}
			}
		})
	}
}
