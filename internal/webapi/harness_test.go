package webapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

const adminKey = "test-admin-key"

// bundle is one running Junction and an HTTP client for its Web API.
type bundle struct {
	t    testing.TB
	app  *app.App
	url  string // http://127.0.0.1:port
	base string // url + /api/data/v9.2/
	key  string // the bearer key; adminKey when empty
}

// as returns the bundle calling with another API key.
func (b *bundle) as(t testing.TB, key string) *bundle {
	c := *b
	c.t, c.key = t, key
	return &c
}

// each runs fn against an in-process Junction on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, b *bundle)) {
	t.Helper()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, start(t, d, ""))
		})
	}
}

func start(t testing.TB, d store.Dialect, projectDir string) *bundle {
	t.Helper()
	return startConfig(t, d, app.Config{Project: projectDir})
}

// startConfig is start with cfg, its listen address, data directory, admin
// key and store filled in.
func startConfig(t testing.TB, d store.Dialect, cfg app.Config) *bundle {
	t.Helper()
	cfg.Listen, cfg.Data, cfg.AdminKey = "127.0.0.1:0", t.TempDir(), adminKey
	if d == store.Postgres {
		cfg.Store = storetest.RequirePostgres(t)
		cfg.PostgresSchema = storetest.NewSchema(t)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	u := "http://" + addr.String()
	return &bundle{t: t, app: a, url: u, base: u + "/api/data/v9.2/"}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends a request; body may be nil, a string or a value to encode.
func (b *bundle) do(method, path string, body any, headers ...string) resp {
	b.t.Helper()
	var rd io.Reader
	switch x := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(x)
	default:
		data, _ := json.Marshal(x)
		rd = bytes.NewReader(data)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = b.base + path
	}
	u = strings.ReplaceAll(u, " ", "%20")
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	key := adminKey
	if b.key != "" {
		key = b.key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Content-Type" {
			req.Header.Set(headers[i], headers[i+1])
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

func (b *bundle) mustStatus(r resp, want int) resp {
	b.t.Helper()
	if r.status != want {
		b.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// create posts a record and returns its id.
func (b *bundle) create(set string, body any) string {
	b.t.Helper()
	r := b.mustStatus(b.do("POST", set, body), http.StatusNoContent)
	loc := r.header.Get("OData-EntityId")
	i := strings.LastIndex(loc, "(")
	if i < 0 {
		b.t.Fatalf("no OData-EntityId: %v", r.header)
	}
	return strings.TrimSuffix(loc[i+1:], ")")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
