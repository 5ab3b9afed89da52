// Package apptest starts whole Junctions for tests: a real listener on a free
// port and a real store, SQLite in a temporary folder or PostgreSQL in a
// schema of the test's own.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Start runs a Junction on d's store with admin key "k"; mutate, when not
// nil, changes the configuration first. The Junction stops when the test
// ends. Start returns it and its base URL.
func Start(t testing.TB, d store.Dialect, mutate func(*app.Config)) (*app.App, string) {
	t.Helper()
	cfg := app.Config{Listen: "127.0.0.1:0", AMQPListen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "k"}
	if d == store.Postgres {
		cfg.Store, cfg.PostgresSchema = storetest.RequirePostgres(t), storetest.NewSchema(t)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return a, "http://" + addr.String()
}

// Call sends method url with bearer key and body (a string as is, anything
// else as JSON), fails the test unless the answer has status want, and
// returns the answer's JSON object (nil when it is not one).
func Call(t testing.TB, method, url, key string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// Post sends body as JSON to url, with a bearer key unless key is empty, and
// returns the status, the headers and the raw answer. A body reader without a
// length (io.MultiReader(r)) is sent chunked.
func Post(t testing.TB, url, key string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// Binary builds the junction command into a temporary folder and returns its
// path, for tests that run it as a real process (to kill it, say). It skips
// under -short.
func Binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the junction binary")
	}
	bin := filepath.Join(t.TempDir(), "junction")
	if out, err := exec.Command("go", "build", "-o", bin, "junction/cmd/junction").CombinedOutput(); err != nil {
		t.Fatalf("build junction: %v\n%s", err, out)
	}
	return bin
}
