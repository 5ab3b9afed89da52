package function

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/project"
)

// TestWorkerAnswersOnlyItsHost: the worker's port refuses calls without the
// token the host gave it, so other local processes cannot run functions.
func TestWorkerAnswersOnlyItsHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"functions/host.json":           `{"version": "2.0"}`,
		"functions/package.json":        `{}`,
		"functions/hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/hello/index.js":      `module.exports = async function (context) { context.res = {body: "hi " + (process.env.JUNCTION_WORKER_TOKEN || "no token")}; };`,
	} {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := project.Open(os.DirFS(dir), dir)
	cfg, problems := Load(p)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	h := New(Config{Dir: filepath.Join(dir, Folder), DataDir: t.TempDir()})
	ctx := context.Background()
	if err := h.indexNode(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h.setConfig(cfg)
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background()) })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	base, err := h.worker.endpoint(wctx)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"invocationId": "x", "function": "hello", "trigger": {"type": "httpTrigger", "name": "req"}, "http": {"method": "GET", "url": "http://localhost/api/hello"}}`
	resp, err := http.Post(base.JoinPath("invoke").String(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a call without the token: %d", resp.StatusCode)
	}
	out, err := h.Invoke(ctx, "hello", Trigger{Type: "manual", Value: map[string]any{}})
	if err != nil || out.Err != nil || string(out.Response.Body) != "hi no token" {
		t.Fatalf("the host's call: %v %+v", err, out)
	}
}
