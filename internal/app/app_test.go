package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/retention"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// bundle is a running Junction and a client for it.
type bundle struct {
	app    *app.App
	base   string
	out    *bytes.Buffer
	client *http.Client // nil: http.DefaultClient
}

func start(t *testing.T, d store.Dialect, mutate func(*app.Config)) *bundle {
	t.Helper()
	out := &bytes.Buffer{}
	cfg := app.Config{Listen: "127.0.0.1:0", AMQPListen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "admin-key", Out: out, Version: "test"}
	if d == store.Postgres {
		cfg.Store = storetest.RequirePostgres(t)
		cfg.PostgresSchema = storetest.NewSchema(t)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	addr, err := a.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return &bundle{app: a, base: "http://" + addr.String(), out: out}
}

func (b *bundle) do(t *testing.T, method, path, key string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := b.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestServeOnBothStores(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := start(t, d, nil)

			resp, body := b.do(t, "GET", "/readyz", "", nil)
			if resp.StatusCode != 200 || body["status"] != "ready" {
				t.Fatalf("readyz: %d %v", resp.StatusCode, body)
			}
			if amqp, _ := body["checks"].(map[string]any)["amqp"].(string); !strings.HasPrefix(amqp, "listening on 127.0.0.1:") {
				t.Fatalf("readyz does not report the AMQP listener: %v", body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
			if resp, _ := b.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
				t.Fatalf("healthz: %d", resp.StatusCode)
			}

			resp, body = b.do(t, "GET", "/admin/v1/openapi.json", "", nil)
			if resp.StatusCode != 401 || errorCode(body) != "Unauthorized" || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("openapi without key: %d %v", resp.StatusCode, body)
			}
			if resp, _ := b.do(t, "GET", "/admin/v1/openapi.json", "wrong", nil); resp.StatusCode != 401 {
				t.Fatalf("openapi with a wrong key: %d", resp.StatusCode)
			}
			resp, body = b.do(t, "GET", "/admin/v1/openapi.json", "admin-key", nil)
			if resp.StatusCode != 200 || body["openapi"] != "3.1.0" {
				t.Fatalf("openapi: %d %v", resp.StatusCode, body)
			}
			paths := body["paths"].(map[string]any)
			if _, ok := paths["/admin/v1/keys/{id}"]; !ok {
				t.Fatalf("openapi lacks the keys routes: %v", paths)
			}

			// Keys with roles.
			resp, body = b.do(t, "POST", "/admin/v1/keys", "admin-key", map[string]string{"name": "ops", "role": "operator"})
			if resp.StatusCode != 201 || body["key"] == nil {
				t.Fatalf("create key: %d %v", resp.StatusCode, body)
			}
			opKey, opID := body["key"].(string), body["id"].(string)
			if resp, _ := b.do(t, "GET", "/admin/v1/openapi.json", opKey, nil); resp.StatusCode != 200 {
				t.Fatalf("operator reading openapi: %d", resp.StatusCode)
			}
			resp, body = b.do(t, "GET", "/admin/v1/keys", opKey, nil)
			if resp.StatusCode != 403 || errorCode(body) != "Forbidden" {
				t.Fatalf("operator listing keys: %d %v", resp.StatusCode, body)
			}
			resp, body = b.do(t, "GET", "/admin/v1/keys", "admin-key", nil)
			if list := body["value"].([]any); resp.StatusCode != 200 || len(list) != 1 {
				t.Fatalf("list keys: %d %v", resp.StatusCode, body)
			}
			if strings.Contains(b.out.String(), opKey) {
				t.Fatal("a key's secret was printed")
			}
			if resp, _ := b.do(t, "DELETE", "/admin/v1/keys/"+opID, "admin-key", nil); resp.StatusCode != 204 {
				t.Fatalf("delete key: %d", resp.StatusCode)
			}
			if resp, _ := b.do(t, "GET", "/admin/v1/openapi.json", opKey, nil); resp.StatusCode != 401 {
				t.Fatalf("revoked key still works: %d", resp.StatusCode)
			}
			if resp, _ := b.do(t, "DELETE", "/admin/v1/keys/"+opID, "admin-key", nil); resp.StatusCode != 404 {
				t.Fatalf("delete twice: %d", resp.StatusCode)
			}

			// Bad input changes nothing.
			for _, bad := range []string{`{"name":"x","role":"root"}`, `{"name":"","role":"admin"}`, `{"name":"x","role":"admin","extra":1}`, `{not json`} {
				resp, body = b.do(t, "POST", "/admin/v1/keys", "admin-key", bad)
				if resp.StatusCode != 400 {
					t.Fatalf("create key %s: %d %v", bad, resp.StatusCode, body)
				}
			}
			huge := `{"name":"` + strings.Repeat("a", 5<<20) + `","role":"admin"}`
			if resp, body := b.do(t, "POST", "/admin/v1/keys", "admin-key", huge); resp.StatusCode != 413 || errorCode(body) != "RequestTooLarge" {
				t.Fatalf("oversize body: %d %v", resp.StatusCode, body)
			}
			if _, body := b.do(t, "GET", "/admin/v1/keys", "admin-key", nil); len(body["value"].([]any)) != 0 {
				t.Fatalf("bad input created keys: %v", body)
			}

			resp, body = b.do(t, "GET", "/no/such/thing", "", nil)
			if resp.StatusCode != 404 || errorCode(body) != "NotFound" {
				t.Fatalf("unknown path: %d %v", resp.StatusCode, body)
			}

			resp, _ = b.do(t, "GET", "/metrics", "", nil)
			req, _ := http.NewRequest("GET", b.base+"/metrics", nil)
			mresp, _ := http.DefaultClient.Do(req)
			metrics, _ := io.ReadAll(mresp.Body)
			mresp.Body.Close()
			for _, want := range []string{`junction_http_requests_total{code="401",method="GET",route="GET /admin/v1/openapi.json"}`,
				"junction_http_request_duration_seconds_bucket", "junction_store_transactions_total", "junction_store_commits_total"} {
				if !bytes.Contains(metrics, []byte(want)) {
					t.Fatalf("metrics lack %s", want)
				}
			}
		})
	}
}

func TestGeneratedAdminKeyIsPrintedOnceAndWorks(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	b := start(t, store.SQLite, func(c *app.Config) { c.AdminKey = ""; c.Data = data })
	out := b.out.String()
	i := strings.Index(out, "jk_")
	if i < 0 {
		t.Fatalf("no generated key printed: %q", out)
	}
	key := strings.Fields(out[i:])[0]
	if resp, _ := b.do(t, "GET", "/admin/v1/keys", key, nil); resp.StatusCode != 200 {
		t.Fatalf("generated key refused: %d", resp.StatusCode)
	}
	b.app.Stop(context.Background())

	b2 := start(t, store.SQLite, func(c *app.Config) { c.AdminKey = ""; c.Data = data })
	if strings.Contains(b2.out.String(), "jk_") {
		t.Fatal("a second key was generated on restart")
	}
	if resp, _ := b2.do(t, "GET", "/admin/v1/keys", key, nil); resp.StatusCode != 200 {
		t.Fatalf("generated key refused after restart: %d", resp.StatusCode)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "junction.yaml"), []byte("name: x\nbogus: 1\n"), 0o644)
	locked := t.TempDir()
	start(t, store.SQLite, func(c *app.Config) { c.Data = locked })
	badRetention := t.TempDir()
	os.WriteFile(filepath.Join(badRetention, "junction.yaml"), []byte("name: x\nretention:\n  jobRuns: 30 days\n"), 0o644)

	cases := []struct {
		name  string
		cfg   app.Config
		field string
		want  string
	}{
		{"bad store url", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Store: "mysql://x"}, "--store", "not a postgres:// URL"},
		{"unreachable store", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Store: "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2"}, "--store", "cannot open postgres://u:****@127.0.0.1:1"},
		{"data is a file", app.Config{Listen: "127.0.0.1:0", Data: file}, "--data", "cannot create"},
		{"data in use", app.Config{Listen: "127.0.0.1:0", Data: locked}, "--data", "in use by another junction"},
		{"broken project", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Project: broken}, "--project", `junction.yaml:2:1: unknown key "bogus"`},
		{"missing project", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Project: filepath.Join(broken, "nope")}, "--project", "cannot read the project folder"},
		{"no listen", app.Config{Data: t.TempDir()}, "--listen", "required"},
		{"negative body limit", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Limits: app.Limits{WebAPIMaxBody: -1}}, "--webapi-max-body", "negative"},
		{"negative expression limit", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Limits: app.Limits{ExprMaxString: -5}}, "--expression-max-string", "default of 131072"},
		{"job lease too short", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), JobLease: 10 * time.Millisecond}, "--job-lease", "at least 1s"},
		{"negative job lease", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), JobLease: -time.Second}, "--job-lease", "too short"},
		{"no such node", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), FunctionsNode: filepath.Join(file, "node")}, "JUNCTION_FUNCTIONS_NODE", "cannot be run"},
		{"retention batch too big", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Retention: retention.Settings{Batch: 50000}}, "--retention-batch", "between 1 and 10000"},
		{"retention interval too short", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Retention: retention.Settings{Interval: time.Millisecond}}, "--retention-interval", "at least 1s"},
		{"bad access log level", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AccessLog: app.AccessLogConfig{Level: "loud"}}, "--access-log", "not debug, info, warn or off"},
		{"negative access log rate", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AccessLog: app.AccessLogConfig{PerSecond: -1}}, "--access-log-rate", "negative"},
		{"bad retention in junction.yaml", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), Project: badRetention}, "--project", "junction.yaml:3:12: retention.jobRuns"},
		{"negative stop timeout", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), StopTimeout: -time.Second}, "--stop-timeout", "-1s is negative"},
		{"negative events lease", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), EventsLease: -time.Minute}, "--events-lease", "negative"},
		{"negative events poll", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), EventsPoll: -1}, "--events-poll", "negative"},
		{"negative events time scale", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), EventsTimeScale: -0.5}, "--events-time-scale", "not a positive number"},
		{"events public url not a url", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), EventsPublicURL: "ftp://x"}, "--events-public-url", `"ftp://x" is not an http:// or https:// URL`},
		{"bad webapi limits", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), WebAPILimits: "requests=lots"}, "--webapi-limits", `requests: "lots" is not a whole number`},
		{"negative webapi limit", app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), WebAPILimits: "window=-5s"}, "--webapi-limits", "window: -5s is negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := app.New(context.Background(), c.cfg)
			if err == nil || !app.IsConfigError(err) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if !strings.HasPrefix(err.Error(), c.field+": ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %q, want %s ... %q", err, c.field, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatal("password in the message")
			}
		})
	}
}

func TestTakenPortIsAConfigError(t *testing.T) {
	t.Parallel()
	b := start(t, store.SQLite, nil)
	a, err := app.New(context.Background(), app.Config{Listen: strings.TrimPrefix(b.base, "http://"), Data: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start(context.Background()); err == nil || !app.IsConfigError(err) {
		t.Fatalf("start on a taken port: %v", err)
	}
}

func TestDemoProjectLoads(t *testing.T) {
	t.Parallel()
	b := start(t, store.SQLite, func(c *app.Config) {
		c.Demo = true
		c.Env = func(k string) (string, bool) {
			if k == "JUNCTION_DEMO_SFTP_LISTEN" {
				return "127.0.0.1:0", true // the demo's SFTP server on a free port
			}
			return "", false
		}
	})
	if resp, _ := b.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 200 {
		t.Fatalf("readyz with demo: %d", resp.StatusCode)
	}
}

func TestAMQPListenConfig(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		listen, wantErr string
	}{
		{"nonsense", "--amqp-listen"},
		{"0.0.0.0:0", "--amqp-listen"}, // plain AMQP off loopback needs TLS or --insecure-listen
		{taken.Addr().String(), "--amqp-listen"},
		{"off", ""},
		{"", ""}, // embedded without an address: no listener
	} {
		a, err := app.New(context.Background(), app.Config{Listen: "127.0.0.1:0", AMQPListen: tc.listen, Data: t.TempDir(), AdminKey: "k"})
		if err == nil {
			_, err = a.Start(context.Background())
			defer a.Stop(context.Background())
		}
		if tc.wantErr == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.listen, err)
			}
			if a.AMQPAddr() != "" {
				t.Fatalf("off still listens on %s", a.AMQPAddr())
			}
			continue
		}
		if err == nil || !app.IsConfigError(err) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("%s: %v, want a configuration error naming %s", tc.listen, err, tc.wantErr)
		}
	}
}

// syncBuffer is a buffer a logger and a test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStopNamesWhatDidNotStopInTime: a stop whose deadline has passed tells
// every running component to stop, and names, in the log and in the error,
// those it could not see stop.
func TestStopNamesWhatDidNotStopInTime(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	b := start(t, store.SQLite, func(c *app.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := b.app.Stop(expired)
	var late *app.StopTimeoutError
	if !errors.As(err, &late) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop out of time: %v, want a StopTimeoutError", err)
	}
	for _, name := range []string{"events", "workflow", "functions", "webapi"} {
		if !slices.Contains(late.Components, name) || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s is not named: %v", name, err)
		}
	}
	if line := logs.String(); !strings.Contains(line, "not stopped in time") || !strings.Contains(line, "events") {
		t.Fatalf("the log does not name them:\n%s", line)
	}
	if again := b.app.Stop(context.Background()); again != err {
		t.Fatalf("a second stop: %v", again)
	}
}

// TestStopInTimeIsClean: a stop with time to spare reports nothing.
func TestStopInTimeIsClean(t *testing.T) {
	t.Parallel()
	b := start(t, store.SQLite, func(c *app.Config) { c.StopTimeout = time.Minute })
	ctx, cancel := b.app.StopContext()
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("the stop context has no deadline")
	}
	if err := b.app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
