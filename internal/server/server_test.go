package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/server"
)

type keys map[string]server.Role

func (k keys) Authenticate(_ context.Context, key string) (server.Principal, bool) {
	r, ok := k[key]
	return server.Principal{Name: key, Role: r}, ok
}

func newServer(t *testing.T, logs *bytes.Buffer) *server.Server {
	t.Helper()
	routes := []server.Route{
		{Method: "GET", Pattern: "/panic", Access: server.Open, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("secret internals: db password hunter2")
		})},
		{Method: "GET", Pattern: "/who", Access: server.Allow(server.RoleSender), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := server.PrincipalFrom(r.Context())
			server.WriteJSON(w, 200, map[string]string{"name": p.Name, "request": server.RequestID(r.Context())})
		})},
		{Method: "POST", Pattern: "/small", Access: server.Open, MaxBody: 10, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var v any
			if server.DecodeJSON(w, r, &v) {
				w.WriteHeader(204)
			}
		})},
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s, err := server.New(log, keys{"s": server.RoleSender, "l": server.RoleListener, "a": server.RoleAdmin}, prometheus.NewRegistry(), routes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPanicBecomes500WithoutInternals(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := newServer(t, &logs)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") || !strings.Contains(rec.Body.String(), "InternalError") {
		t.Fatalf("panic answer: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	s := newServer(t, &bytes.Buffer{})
	for _, c := range []struct {
		key  string
		want int
	}{{"", 401}, {"nope", 401}, {"l", 403}, {"s", 200}, {"a", 200}} {
		req := httptest.NewRequest("GET", "/who", nil)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		req.Header.Set("X-Request-Id", "given-id")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Fatalf("key %q: %d, want %d", c.key, rec.Code, c.want)
		}
		if rec.Header().Get("X-Request-Id") != "given-id" {
			t.Fatal("request id not kept")
		}
		if c.want == 200 {
			var body map[string]string
			json.Unmarshal(rec.Body.Bytes(), &body)
			if body["name"] != c.key || body["request"] != "given-id" {
				t.Fatalf("principal/request id not passed: %v", body)
			}
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, &bytes.Buffer{})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/small", strings.NewReader(`{"a":"0123456789"}`)))
	if rec.Code != 413 {
		t.Fatalf("oversize: %d %s", rec.Code, rec.Body)
	}
	// Without a Content-Length the limit still holds while reading.
	req := httptest.NewRequest("POST", "/small", strings.NewReader(`{"a":"0123456789"}`))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("oversize, chunked: %d %s", rec.Code, rec.Body)
	}
}

func TestDuplicateRouteIsAnError(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	_, err := server.New(slog.New(slog.DiscardHandler), keys{}, nil, []server.Route{
		{Method: "GET", Pattern: "/x", Handler: h}, {Method: "GET", Pattern: "/x", Handler: h}})
	if err == nil {
		t.Fatal("want an error")
	}
}
