package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/auth"
	"junction/internal/changelog"
	"junction/internal/events"
	"junction/internal/server"
	"junction/internal/store"
)

const adminKey = "test-admin-key"

// bundle is one router served over real HTTP on a real store.
type bundle struct {
	t    testing.TB
	r    *events.Router
	url  string
	keys *auth.Keys
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fastOptions make the ladder run in milliseconds.
func fastOptions() events.Config {
	return events.Config{TimeScale: 0.001, Poll: 20 * time.Millisecond, Timeout: 5 * time.Second, Lease: 10 * time.Second,
		Jitter: func() float64 { return 1 }}
}

// newRouter migrates st and builds a router on it, not started; opts.Keys
// and opts.Logger default to the admin key's and the test's.
func newRouter(t testing.TB, st store.Store, opts events.Config) *events.Router {
	t.Helper()
	if err := st.Migrate(context.Background(), append(append(append([]store.Migration{}, auth.Migrations...), changelog.Migrations()...), events.Migrations()...)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if opts.Keys == nil {
		opts.Keys = auth.New(st, adminKey)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Store, opts.Registerer, opts.NodeID, opts.Listen = st, prometheus.NewRegistry(), "node-"+t.Name(), "127.0.0.1:0"
	return events.New(opts)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func setup(t testing.TB, st store.Store, opts events.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	log, keys := testLogger(t), auth.New(st, adminKey)
	opts.Keys, opts.Logger = keys, log
	r := newRouter(t, st, opts)
	srv, err := server.New(log, keys, prometheus.NewRegistry(), r.Routes())
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, r: r, url: "http://" + addr.String(), keys: keys}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		r.Stop(sctx)
	})
	return b
}

// do sends a request and returns status and body.
func (b *bundle) do(method, path string, body any, hdr map[string]string) (int, []byte) {
	b.t.Helper()
	var rd io.Reader
	switch x := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(x)
	case string:
		rd = strings.NewReader(x)
	default:
		j, _ := json.Marshal(x)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// admin calls the management API with the admin key and wants status.
func (b *bundle) admin(method, path string, body any, want int) map[string]any {
	b.t.Helper()
	status, out := b.do(method, "/admin/v1/eventgrid"+path, body, map[string]string{"Authorization": "Bearer " + adminKey})
	if status != want {
		b.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, out)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

func (b *bundle) topic(name, schema string) (key1, key2 string) {
	b.t.Helper()
	b.admin("PUT", "/topics/"+name, map[string]any{"properties": map[string]any{"inputSchema": schema}}, http.StatusCreated)
	keys := b.admin("POST", "/topics/"+name+"/listKeys", nil, http.StatusOK)
	return keys["key1"].(string), keys["key2"].(string)
}

func (b *bundle) subscribe(topic, name string, props map[string]any) map[string]any {
	b.t.Helper()
	return b.admin("PUT", "/topics/"+topic+"/eventSubscriptions/"+name, map[string]any{"properties": props}, http.StatusCreated)
}

// waitState waits for a subscription's provisioningState.
func (b *bundle) waitState(topic, name, want string) map[string]any {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := b.admin("GET", "/topics/"+topic+"/eventSubscriptions/"+name, nil, http.StatusOK)
		props := m["properties"].(map[string]any)
		if props["provisioningState"] == want {
			return m
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("subscription %s/%s is %v (%v), want %s", topic, name, props["provisioningState"], props["provisioningStateDetail"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *bundle) publishEG(topic, key string, evs any) (int, []byte) {
	return b.do("POST", "/eventgrid/topics/"+topic+"/api/events?api-version=2018-01-01", evs, map[string]string{"aeg-sas-key": key})
}

// delivery is one request a receiver got.
type delivery struct {
	Method string
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a real webhook endpoint with a chosen behaviour.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	got       []delivery
	handshake string // "accept", "refuse", "late", "wait"
	// status returns the answer to the n-th notification (0-based).
	status func(n int) int
	notes  int
}

func newReceiver(t testing.TB, handshake string, status func(n int) int) *receiver {
	rc := &receiver{handshake: handshake, status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{Method: r.Method, Header: r.Header.Clone(), Body: body, At: time.Now()})
	rc.mu.Unlock()
	if r.Method == http.MethodOptions {
		if rc.handshake == "accept" {
			w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
			w.Header().Set("WebHook-Allowed-Rate", "*")
			return
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		var evs []struct {
			Data struct{ ValidationCode, ValidationURL string } `json:"data"`
		}
		json.Unmarshal(body, &evs)
		switch rc.handshake {
		case "accept":
			json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
		case "late":
			go func() {
				time.Sleep(100 * time.Millisecond)
				resp, err := http.Get(evs[0].Data.ValidationURL)
				if err == nil {
					resp.Body.Close()
				}
			}()
		case "wait": // answers 200 without the code and never visits the URL
		default:
			w.WriteHeader(http.StatusForbidden)
		}
		return
	}
	rc.mu.Lock()
	n := rc.notes
	rc.notes++
	rc.mu.Unlock()
	if rc.status != nil {
		w.WriteHeader(rc.status(n))
	}
}

// notifications returns the event deliveries (not handshakes) so far.
func (rc *receiver) notifications() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivery
	for _, d := range rc.got {
		if d.Method == http.MethodPost && d.Header.Get("aeg-event-type") == "Notification" {
			out = append(out, d)
		}
	}
	return out
}

func egEvent(id, typ, subject string, data any) map[string]any {
	return map[string]any{"id": id, "eventType": typ, "subject": subject, "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"dataVersion": "1.0", "data": data}
}

func webhook(url string, extra map[string]any) map[string]any {
	props := map[string]any{"endpointUrl": url}
	for k, v := range extra {
		props[k] = v
	}
	return map[string]any{"endpointType": "WebHook", "properties": props}
}
