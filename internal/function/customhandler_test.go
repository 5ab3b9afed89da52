package function_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

var (
	goHandlerOnce sync.Once
	goHandlerPath string
	goHandlerErr  error
)

// goHandler builds testdata/gohandler once per test run.
func goHandler(t *testing.T) string {
	t.Helper()
	goHandlerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gohandler")
		if err != nil {
			goHandlerErr = err
			return
		}
		goHandlerPath = filepath.Join(dir, "handler")
		out, err := exec.Command("go", "build", "-o", goHandlerPath, "./testdata/gohandler").CombinedOutput()
		if err != nil {
			goHandlerErr = err
			t.Log(string(out))
		}
	})
	if goHandlerErr != nil {
		t.Fatalf("build the Go custom handler: %v", goHandlerErr)
	}
	return goHandlerPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if goHandlerPath != "" {
		os.RemoveAll(filepath.Dir(goHandlerPath))
	}
	os.Exit(code)
}

func httpFunc(name, extra string) (string, string) {
	return "functions/" + name + "/function.json", `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"` + extra + `},
		{"type": "http", "direction": "out", "name": "res"}]}`
}

func TestCustomHandlerGo(t *testing.T) {
	t.Parallel()
	exe := goHandler(t)
	files := map[string]string{
		"functions/host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}},
			"extensions": {"http": {"maxConcurrentRequests": 1, "maxOutstandingRequests": 1}}}`,
		"functions/onevent/function.json": `{"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "event"}]}`,
	}
	for _, name := range []string{"hello", "fail", "broken", "crash", "slow"} {
		k, v := httpFunc(name, `, "methods": ["get", "post"]`)
		files[k] = v
	}
	dir := t.TempDir()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"handler": string(data)})
	if err := os.Chmod(filepath.Join(dir, "handler"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{Dir: dir})

	r := b.do("GET", "/api/hello?name=Ada", nil)
	if r.status != 200 || !strings.HasPrefix(r.body, "hello Ada from go (GET hello") || r.header.Get("X-Handler") != "go" {
		t.Fatalf("hello: %d %v %s", r.status, r.header, r.body)
	}
	invs := b.invocations("hello")
	if len(invs) != 1 || len(invs[0].Logs) != 1 || invs[0].Logs[0].Message != "said hello to Ada" {
		t.Fatalf("hello history: %+v", invs)
	}
	// A handler that answers without a response: 204; one that answers 500: a failed invocation.
	if r := b.do("GET", "/api/fail", nil); r.status != 204 {
		t.Fatalf("fail: %d %s", r.status, r.body)
	}
	if r := b.do("GET", "/api/broken", nil); r.status != 500 {
		t.Fatalf("broken: %d", r.status)
	}
	if invs := b.invocations("broken"); len(invs) != 1 || !strings.Contains(invs[0].Error, "something broke inside") {
		t.Fatalf("broken history: %+v", invs)
	}
	// Events go through the invocation protocol.
	r = b.admin("POST", "/admin/v1/functions/onevent/invoke", map[string]any{"input": map[string]any{"id": "e9", "eventType": "Thing", "subject": "s/1"}})
	if r.status != 200 || !strings.Contains(r.body, `"$return":"s/1"`) || !strings.Contains(r.body, "event e9 of type Thing") {
		t.Fatalf("event: %d %s", r.status, r.body)
	}

	// The concurrency limit: one request in flight, the next is refused.
	entered, release := filepath.Join(t.TempDir(), "entered"), filepath.Join(t.TempDir(), "release")
	done := make(chan response, 1)
	go func() { done <- b.do("GET", "/api/slow?entered="+entered+"&release="+release, nil) }()
	waitFor(t, "the slow invocation to start", func() bool { _, err := os.Stat(entered); return err == nil })
	if r := b.do("GET", "/api/hello?name=Bo", nil); r.status != 429 {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.status != 200 || r.body != "done" {
		t.Fatalf("slow: %d %s", r.status, r.body)
	}

	// A handler that dies is restarted, and invocations go on.
	if r := b.do("GET", "/api/crash", nil); r.status != 500 {
		t.Fatalf("crash: %d", r.status)
	}
	r = b.do("GET", "/api/hello?name=again", nil)
	if r.status != 200 || !strings.HasPrefix(r.body, "hello again from go") {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}

func TestCustomHandlerPython(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed")
		}
		t.Skip("SKIPPED LOUDLY: python3 is not installed; the Python custom handler test did not run")
	}
	src, err := os.ReadFile("testdata/pyhandler/handler.py")
	if err != nil {
		t.Fatal(err)
	}
	k, v := httpFunc("pyhello", `, "methods": ["get", "post"]`)
	files := map[string]string{
		"functions/host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "` + py + `", "arguments": ["handler.py"]},
			"enableForwardingHttpRequest": true}}`,
		"functions/handler.py":            string(src),
		k:                                 v,
		"functions/pyevent/function.json": `{"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "event"}]}`,
	}
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{})
	r := b.do("GET", "/api/pyhello?name=Grace", nil)
	if r.status != 200 || r.body != "hello Grace from python" || r.header.Get("X-Handler") != "python" {
		t.Fatalf("forwarded GET: %d %v %q", r.status, r.header, r.body)
	}
	if r := b.do("POST", "/api/pyhello", "raw body"); r.status != 200 || r.body != "posted raw body" {
		t.Fatalf("forwarded POST: %d %q", r.status, r.body)
	}
	r = b.admin("POST", "/admin/v1/functions/pyevent/invoke", map[string]any{"input": map[string]any{"id": "p1", "eventType": "Snake", "data": map[string]any{"len": 3}}})
	if r.status != 200 || !strings.Contains(r.body, `"$return":{"len":3}`) || !strings.Contains(r.body, "python saw Snake") {
		t.Fatalf("event: %d %s", r.status, r.body)
	}
	if invs := b.invocations("pyhello"); len(invs) != 2 || invs[0].Status != function.StatusSucceeded {
		t.Fatalf("history: %+v", invs)
	}
}

func execCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
