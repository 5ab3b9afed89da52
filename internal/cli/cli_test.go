package cli_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"junction/internal/cli"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, cli.IO{Stdout: &out, Stderr: &errOut, Env: func(k string) string { return env[k] }})
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{}, nil, "Usage"},
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, nil, "unknown flag --no-such-flag"},
		{[]string{"serv"}, nil, "unknown command \"serv\"\nDid you mean: junction serve"},
		{[]string{"serve", "--dmeo"}, nil, "unknown flag --dmeo\nDid you mean --demo?"},
		{[]string{"job", "run", "x", "--key", "k", "--wiat"}, nil, "unknown flag --wiat\nDid you mean --wait?"},
		{[]string{"serve", "--data", "x", "--lisen=:1"}, nil, "Did you mean --listen?"},
		{[]string{"serve", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level"},
		{[]string{"serve"}, map[string]string{"JUNCTION_DEMO": "maybe"}, "JUNCTION_DEMO: invalid value"},
		{[]string{"serve", "--data", "/proc/junction"}, nil, "--data: cannot create"},
		{[]string{"serve", "--store", "redis://x"}, nil, "--store"},
		{[]string{"serve"}, map[string]string{"JUNCTION_STOP_TIMEOUT": "soon"}, "JUNCTION_STOP_TIMEOUT: invalid value"},
		{[]string{"serve"}, map[string]string{"JUNCTION_EVENTS_LEASE": "2 minutes"}, "JUNCTION_EVENTS_LEASE: invalid value"},
		{[]string{"serve", "--data", "x", "--events-poll", "-1s"}, nil, "--events-poll: -1s is negative"},
		{[]string{"serve", "--data", "x"}, map[string]string{"JUNCTION_WEBAPI_LIMITS": "requests=many"}, `--webapi-limits: requests: "many" is not a whole number`},
		{[]string{"validate"}, nil, "usage: junction validate DIR"},
		{[]string{"keys", "list"}, nil, "an API key is required"},
	} {
		code, _, stderr := run(t, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Fatalf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestEnvironmentFillsFlagsAndFlagsWin(t *testing.T) {
	t.Parallel()
	// JUNCTION_STORE from the environment is used...
	_, _, stderr := run(t, map[string]string{"JUNCTION_STORE": "bogus://env", "JUNCTION_DATA": t.TempDir()}, "serve")
	if !strings.Contains(stderr, "bogus://env") {
		t.Fatalf("env not applied: %s", stderr)
	}
	// ...unless the flag is given.
	_, _, stderr = run(t, map[string]string{"JUNCTION_STORE": "bogus://env", "JUNCTION_DATA": t.TempDir()}, "serve", "--store", "bogus://flag")
	if !strings.Contains(stderr, "bogus://flag") {
		t.Fatalf("flag did not win: %s", stderr)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := t.TempDir()
	os.WriteFile(filepath.Join(good, "junction.yaml"), []byte("name: good\n"), 0o644)
	if code, out, stderr := run(t, nil, "validate", good); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good project: %d %s %s", code, out, stderr)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "junction.yaml"), []byte("name: bad\ncolour: blue\n"), 0o644)
	os.MkdirAll(filepath.Join(bad, "servicebus"), 0o755)
	os.WriteFile(filepath.Join(bad, "servicebus", "config.json"), []byte("{\"x\": }"), 0o644)
	code, _, stderr := run(t, nil, "validate", bad)
	if code != 2 || !strings.Contains(stderr, bad+`/junction.yaml:2:1: unknown key "colour"`) ||
		!strings.Contains(stderr, bad+"/servicebus/config.json:1:7") || !strings.Contains(stderr, "2 problem(s)") {
		t.Fatalf("bad project: %d %s", code, stderr)
	}
}

// TestValidateSpeaksInTheFilesTerms: a problem in any of a project's files
// is told in that file's terms (key path, the kind of value expected, the
// key a mistyped one meant), never with Go's type names.
func TestValidateSpeaksInTheFilesTerms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"junction.yaml":          "name: p\ndescriptoin: x\n",
		"tables/invoice.yaml":    "name: new_invoice\ndisplayName: Invoice\ncolumns:\n  - name: new_amount\n    tpye: money\n",
		"jobs/load.yaml":         "name: load\nsourc: x\n",
		"eventgrid.yaml":         "topics:\n  - name: t\n    eventSubscriptons: []\n",
		"connections.yaml":       "connections:\n  db:\n    tpye: sql\n",
		"servicebus/config.json": "{\n  \"UserConfig\": {\n    \"Namespaces\": [{\"Name\": 1}]\n  }\n}\n",
		"parameters.json":        `{"limit": {"type": 5, "value": 1}}`,
		"wf/workflow.json":       `{"definition": {"triggers": {}, "actions": {"a": {"type": "Compose", "inputs": 1, "runAfter": []}}}, "kind": "Stateful"}`,
	}
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	code, _, stderr := run(t, nil, "validate", dir)
	for _, want := range []string{
		`/junction.yaml:2:1: unknown key "descriptoin"; did you mean "description"?`,
		`/tables/invoice.yaml:5:5: columns[0]: unknown key "tpye"; did you mean "type"?`,
		`/jobs/load.yaml:2:1: unknown key "sourc"; did you mean "source"?`,
		`/eventgrid.yaml:3:5: topics[0]: unknown key "eventSubscriptons"; did you mean "eventSubscriptions"?`,
		`/connections.yaml:3:5: connections.db: unknown key "tpye"; did you mean "type"?`,
		`/servicebus/config.json:3:29: UserConfig.Namespaces[0].Name: expected a string, found a number`,
		`/parameters.json:1:20: limit.type: expected a string, found a number`,
		`/wf/workflow.json:1:95: definition.actions.a.runAfter: expected an object, found an array`,
	} {
		if !strings.Contains(stderr, dir+want) {
			t.Errorf("validate lacks %q", want)
		}
	}
	checkNoGoNames(t, stderr)
	if code != 2 || t.Failed() {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// checkNoGoNames fails when text a person reads names Go's types.
func checkNoGoNames(t *testing.T, text string) {
	t.Helper()
	for _, w := range []string{"Go struct", "Go value", "not found in type", "cannot unmarshal", "json: ", "yaml: ", "project.", "records.", "job.", "map[", "[]string"} {
		if strings.Contains(text, w) {
			t.Errorf("%q names Go:\n%s", w, text)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "junction ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUsageShowsDoubleDashFlags(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, nil, "serve", "--help")
	if code != 0 || !strings.Contains(stderr, "  --listen STRING\n") || !strings.Contains(stderr, "[env JUNCTION_LISTEN]") || strings.Contains(stderr, "\n  -listen") {
		t.Fatalf("serve --help: %d\n%s", code, stderr)
	}
}

// TestServerOutOfReachSaysWhatToDo: with no server listening, commands say
// so once, plainly, and how to fix it.
func TestServerOutOfReachSaysWhatToDo(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	file := filepath.Join(t.TempDir(), "a.csv")
	os.WriteFile(file, []byte("name\nx\n"), 0o644)
	for _, args := range [][]string{
		{"keys", "list", "--url", url, "--key", "k"},
		{"job", "run", "x", "--url", url, "--key", "k"},
		{"import", file, "--table", "account", "--url", url, "--api-key", "k"},
		{"tables", "import", "../solution/testdata/quiz.zip", "--url", url, "--key", "k"},
	} {
		code, _, stderr := run(t, nil, args...)
		if code != 1 || !strings.Contains(stderr, "cannot reach the server at "+l.Addr().String()+" (connection refused)") ||
			!strings.Contains(stderr, "Is `junction serve` running there?") || strings.Count(stderr, url) > 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
}

func TestWaitUntilReady(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ready"}`))
	}))
	defer srv.Close()
	if code, out, stderr := run(t, nil, "wait", "--url", srv.URL); code != 0 || !strings.Contains(out, "is ready") || calls.Load() != 3 {
		t.Fatalf("wait: %d %q %q after %d calls", code, out, stderr, calls.Load())
	}
	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer never.Close()
	if code, _, stderr := run(t, nil, "wait", "--url", never.URL, "--timeout", "300ms"); code != 1 || !strings.Contains(stderr, "is not ready after 300ms: it answers 503") {
		t.Fatalf("wait on a server never ready: %d %q", code, stderr)
	}
}
