package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type okAuth struct{}

func (okAuth) Authenticate(context.Context, string) (Principal, bool) { return Principal{}, false }

// logLines is a concurrency-safe buffer of JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// sampledServer serves /ok (200) and /missing (404 through the mux's
// unmatched route) with an access log sampled on a settable clock.
func sampledServer(t *testing.T, a *AccessLog) (*Server, *logLines, *time.Time) {
	t.Helper()
	logs := &logLines{}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return clock }
	routes := []Route{
		{Method: "GET", Pattern: "/ok", Access: Open, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })},
		{Method: "GET", Pattern: "/boom", Access: Open, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })},
	}
	s, err := New(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), okAuth{}, prometheus.NewRegistry(), routes)
	if err != nil {
		t.Fatal(err)
	}
	s.AccessLog = a
	return s, logs, &clock
}

func get(s *Server, path string) {
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
}

func count(lines []map[string]any, msg string, status float64) int {
	n := 0
	for _, l := range lines {
		if l["msg"] == msg && (status == 0 || l["status"] == status) {
			n++
		}
	}
	return n
}

// TestAccessLogSamplesSuccessesNotErrors: of 1000 successful requests in one
// second, the first 10 and then one in 100 are logged, and the next second
// says how many were not; every failed request is logged, at WARN or ERROR.
func TestAccessLogSamplesSuccessesNotErrors(t *testing.T) {
	t.Parallel()
	s, logs, clock := sampledServer(t, &AccessLog{Level: slog.LevelInfo})
	for i := range 1000 {
		get(s, "/ok")
		if i%100 == 0 {
			get(s, "/nowhere")
			get(s, "/boom")
		}
	}
	*clock = clock.Add(time.Second)
	get(s, "/ok")
	lines := logs.lines(t)
	if n := count(lines, "http", 200); n != 10+9+1 {
		t.Errorf("%d successful requests logged, want 10 in full, 9 sampled and 1 in the next second", n)
	}
	if n := count(lines, "http", 404); n != 10 {
		t.Errorf("%d refused requests logged, want all 10", n)
	}
	if n := count(lines, "http", 503); n != 10 {
		t.Errorf("%d failed requests logged, want all 10", n)
	}
	for _, l := range lines {
		want := map[float64]string{200: "INFO", 404: "WARN", 503: "ERROR"}[asFloat(l["status"])]
		if l["msg"] == "http" && l["level"] != want {
			t.Errorf("status %v logged at %v, want %s", l["status"], l["level"], want)
		}
	}
	var summary map[string]any
	for _, l := range lines {
		if l["msg"] == "http requests not logged" {
			summary = l
		}
	}
	if summary == nil || summary["count"] != float64(1000-19) {
		t.Errorf("summary of the second: %v", summary)
	}
}

func asFloat(v any) float64 { f, _ := v.(float64); return f }

func TestAccessLogLevels(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		a        *AccessLog
		ok, want int
		level    string
	}{
		{"off logs failures only", &AccessLog{Off: true}, 0, 1, ""},
		{"all logs every request", &AccessLog{All: true, Level: slog.LevelDebug}, 500, 501, "DEBUG"},
		{"a higher rate", &AccessLog{PerSecond: 200, Sample: 1000, Level: slog.LevelWarn}, 200, 201, "WARN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, logs, _ := sampledServer(t, c.a)
			for range 500 {
				get(s, "/ok")
			}
			get(s, "/boom")
			lines := logs.lines(t)
			if n := count(lines, "http", 200); n != c.ok {
				t.Errorf("%d successful requests logged, want %d", n, c.ok)
			}
			if n := count(lines, "http", 0); n != c.want {
				t.Errorf("%d lines, want %d", n, c.want)
			}
			for _, l := range lines {
				if l["status"] == float64(200) && l["level"] != c.level {
					t.Errorf("logged at %v, want %s", l["level"], c.level)
				}
			}
		})
	}
	for _, bad := range []string{"", "trace", "error", "INFO "} {
		if _, _, err := ParseAccessLogLevel(bad); err == nil {
			t.Errorf("ParseAccessLogLevel(%q) accepted", bad)
		}
	}
}
