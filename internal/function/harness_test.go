package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/auth"
	"junction/internal/function"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

const adminKey = "test-admin-key-0123456789"

// bundle is one function host served over real HTTP on a real store.
type bundle struct {
	t   *testing.T
	url string
	dir string
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// setup writes files (paths relative to the project) and serves them.
func setup(t *testing.T, s store.Store, files map[string]string, opts function.Config) *bundle {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return serveDir(t, s, dir, opts)
}

// serveDir serves the project in dir (a function that fails to load is
// allowed: the others run).
func serveDir(t *testing.T, s store.Store, dir string, opts function.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, append(append([]store.Migration(nil), auth.Migrations...), function.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	keys := auth.New(s, adminKey)
	if _, err := keys.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Keys = s, keys
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	comp := function.NewComponent(opts)
	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if problems := project.Problems(p.Validate(function.Validator{})).Errors(); len(problems) > 0 {
		t.Fatal(problems)
	}
	if err := comp.LoadProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(opts.Logger, keys, prometheus.NewRegistry(), comp.Routes())
	if err != nil {
		t.Fatal(err)
	}
	if err := comp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := comp.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &bundle{t: t, url: hs.URL, dir: dir}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; headers come in pairs.
func (b *bundle) do(method, path string, body any, headers ...string) response {
	b.t.Helper()
	var rd io.Reader
	switch x := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(x))
	default:
		enc, _ := json.Marshal(x)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// doRaw sends body as it is (no Content-Type unless given).
func (b *bundle) doRaw(method, path, body string, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *bundle) admin(method, path string, body any) response {
	b.t.Helper()
	return b.do(method, path, body, "Authorization", "Bearer "+adminKey)
}

func (b *bundle) invocations(name string) []function.Invocation {
	b.t.Helper()
	r := b.admin("GET", "/admin/v1/functions/"+name+"/invocations?$top=1000", nil)
	if r.status != 200 {
		b.t.Fatalf("invocations: %d %s", r.status, r.body)
	}
	var out struct{ Value []function.Invocation }
	r.json(b.t, &out)
	return out.Value
}

// waitFor polls cond until it holds (no timing is asserted; the deadline only
// bounds a broken run).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
