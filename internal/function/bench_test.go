package function_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/auth"
	"junction/internal/function"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// BenchmarkHTTPTrigger compares invocations per second of a trivial
// HTTP-triggered function run in the Node.js worker (v4 and v3 models), as
// inline JavaScript in the embedded sandbox and as a Go custom handler with a
// plain Go handler served on the same route by the same server
// (middleware included). JavaScript and custom handler invocations are
// recorded in the invocation history on SQLite, as in production.
func BenchmarkHTTPTrigger(b *testing.B) {
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello "+r.URL.Query().Get("name"))
	})
	b.Run("go-handler", func(b *testing.B) {
		srv, err := server.New(slog.New(slog.DiscardHandler), nil, prometheus.NewRegistry(),
			[]server.Route{{Pattern: "/api/{path...}", Access: server.Open, Handler: plain}})
		if err != nil {
			b.Fatal(err)
		}
		run(b, srv.Handler())
	})
	b.Run("javascript", func(b *testing.B) {
		run(b, benchHost(b, map[string]string{
			"functions/host.json": `{"version": "2.0", "extensions": {"http": {"maxConcurrentRequests": 1000, "maxOutstandingRequests": 2000}}}`,
			"functions/hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
				{"type": "http", "direction": "out", "name": "res"}]}`,
			"functions/hello/index.js": `module.exports = async function (context, req) { context.res = {body: "hello " + req.query.name}; };`,
		}, ""))
	})
	b.Run("node-v4", func(b *testing.B) {
		modules := azureFunctionsModules(b)
		run(b, benchHost(b, map[string]string{
			"functions/host.json":    `{"version": "2.0", "extensions": {"http": {"maxConcurrentRequests": 1000, "maxOutstandingRequests": 2000}}}`,
			"functions/package.json": `{"main": "index.js"}`,
			"functions/index.js": `const { app } = require("@azure/functions");
app.http("hello", { methods: ["GET"], authLevel: "anonymous", handler: async (req) => ({ body: "hello " + req.query.get("name") }) });`,
		}, "", "functions/node_modules", modules))
	})
	b.Run("node-v3", func(b *testing.B) {
		run(b, benchHost(b, map[string]string{
			"functions/host.json":    `{"version": "2.0", "extensions": {"http": {"maxConcurrentRequests": 1000, "maxOutstandingRequests": 2000}}}`,
			"functions/package.json": `{}`,
			"functions/hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
				{"type": "http", "direction": "out", "name": "res"}]}`,
			"functions/hello/index.js": `module.exports = async function (context, req) { context.res = {body: "hello " + req.query.name}; };`,
		}, ""))
	})
	b.Run("custom-handler-go", func(b *testing.B) {
		exe := goHandlerBench(b)
		data, _ := os.ReadFile(exe)
		run(b, benchHost(b, map[string]string{
			"functions/host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}},
				"extensions": {"http": {"maxConcurrentRequests": 1000, "maxOutstandingRequests": 2000}}}`,
			"functions/hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
				{"type": "http", "direction": "out", "name": "res"}]}`,
			"functions/handler": string(data),
		}, "functions/handler"))
	})
}

func goHandlerBench(b *testing.B) string {
	dir := b.TempDir()
	exe := filepath.Join(dir, "handler")
	if out, err := execCommand("go", "build", "-o", exe, "./testdata/gohandler"); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	return exe
}

// benchHost serves files; links are pairs of (path in the project, target)
// made symbolic links.
func benchHost(b *testing.B, files map[string]string, executable string, links ...string) http.Handler {
	dir := b.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i+1 < len(links); i += 2 {
		if err := os.Symlink(links[i+1], filepath.Join(dir, filepath.FromSlash(links[i]))); err != nil {
			b.Fatal(err)
		}
	}
	s := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, append(append([]store.Migration(nil), auth.Migrations...), function.Migrations()...)); err != nil {
		b.Fatal(err)
	}
	keys := auth.New(s, adminKey)
	comp := function.NewComponent(function.Config{Store: s, Keys: keys, DataDir: b.TempDir()})
	p, _ := project.Open(os.DirFS(dir), dir)
	if err := comp.LoadProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	if err := comp.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = comp.Stop(context.Background()) })
	srv, err := server.New(slog.New(slog.DiscardHandler), keys, prometheus.NewRegistry(), comp.Routes())
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}

func run(b *testing.B, h http.Handler) {
	hs := httptest.NewServer(h)
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	get := func() {
		resp, err := client.Get(hs.URL + "/api/hello?name=bench")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) < 11 {
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	get() // warm: the custom handler process is up, the program compiled
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			get()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "invocations/s")
}
