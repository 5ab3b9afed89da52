package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

// TestClientMistakesGetTheSurfacesOwnErrors: the mistakes a newcomer makes
// first are answered in the Web API's error shape with what to do, and no
// answer names a Go type.
func TestClientMistakesGetTheSurfacesOwnErrors(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, store.SQLite, nil)
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code, says                            string
	}{
		// "Troubleshoot Dataverse Web API client errors" (Microsoft Learn):
		// a wrong name is 404 "Resource not found for the segment".
		{"no version in the URL", "GET", "/api/data/accounts", "", "", 404, "0x80060888",
			"Resource not found for the segment 'accounts'. The Web API's URLs name a version: /api/data/v9.2/accounts"},
		{"logical name for the set", "GET", "/api/data/v9.2/account", "", "", 404, "0x80060888",
			"Resource not found for the segment 'account'. Did you mean 'accounts'?"},
		{"a typo in the set", "GET", "/api/data/v9.2/acounts", "", "", 404, "0x80060888", "Did you mean 'accounts'?"},
		{"nothing close", "GET", "/api/data/v9.2/zzzzzzzz", "", "", 404, "0x80060888", "Resource not found for the segment 'zzzzzzzz'."},
		{"an array for a row", "POST", "/api/data/v9.2/accounts", "application/json", `[{"name":"x"}]`, 400, "0x80048d19",
			"the body must be a JSON object, not an array"},
		{"no content type", "POST", "/api/data/v9.2/accounts", "", `{"name":"x"}`, 400, "0x80048d19",
			"The content type header is required"},
		{"management API, wrong kind", "POST", "/admin/v1/keys", "application/json", `{"name":7,"role":"sender"}`, 400, "BadRequest",
			`the field "name" must be a string, not a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer k")
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			text := string(raw)
			var e struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(raw, &e)
			if resp.StatusCode != c.status || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.says) {
				t.Fatalf("%s %s: %d %s\nwant %d, code %s, saying %q", c.method, c.path, resp.StatusCode, text, c.status, c.code, c.says)
			}
			if strings.Contains(text, "interface {}") || strings.Contains(text, "map[") || strings.Contains(text, "Go value") {
				t.Fatalf("the answer names a Go type: %s", text)
			}
		})
	}
	// Nothing was created by the refused requests.
	out := apptest.Call(t, "GET", base+"/api/data/v9.2/accounts?$count=true", "k", nil, 200)
	if n := out["@odata.count"]; n != float64(0) {
		t.Fatalf("refused requests created rows: %v", out)
	}
}

// TestKeyNamesAreUnique: a second key with a name in use (in any case) is
// refused, so that lists and logs tell keys apart.
func TestKeyNamesAreUnique(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, store.SQLite, nil)
	apptest.Call(t, "POST", base+"/admin/v1/keys", "k", map[string]string{"name": "erp", "role": "sender"}, 201)
	out := apptest.Call(t, "POST", base+"/admin/v1/keys", "k", map[string]string{"name": " ERP ", "role": "listener"}, 409)
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, `a key named "erp" exists`) {
		t.Fatalf("conflict: %v", out)
	}
	keys := apptest.Call(t, "GET", base+"/admin/v1/keys", "k", nil, 200)["value"].([]any)
	n := 0
	for _, k := range keys {
		if strings.EqualFold(k.(map[string]any)["name"].(string), "erp") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d keys named erp: %v", n, keys)
	}
}

// TestWebAPIErrorsBesideAFunctionAppOwningAPI: a function app whose HTTP
// trigger takes every path under /api/ leaves /api/data/ to the Web API, so
// that a mistaken Web API URL is answered in Dataverse's shape, not by the
// function (or its host's plain-text 404), and /api/data/v9.2 without its
// slash is the service document, as Dataverse serves it.
func TestWebAPIErrorsBesideAFunctionAppOwningAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"functions/host.json":                `{"version": "2.0"}`,
		"functions/everything/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get", "post"], "authLevel": "anonymous", "route": "{*rest}"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/everything/index.js":      `module.exports = async function (context, req) { context.res = {status: 200, body: "the function"}; };`,
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	_, base := apptest.Start(t, store.SQLite, func(c *app.Config) { c.Project = dir })
	get := func(path string) (int, string, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(raw)
	}
	// The function owns the rest of /api/.
	if code, _, body := get("/api/anything/else"); code != 200 || body != "the function" {
		t.Fatalf("the function does not answer /api/anything/else: %d %s", code, body)
	}
	for _, c := range []struct{ path, says string }{
		{"/api/data/accounts", "The Web API's URLs name a version: /api/data/v9.2/accounts"},
		{"/api/data/v8.0/accounts", "Resource not found for the segment 'v8.0'."},
		{"/api/data/v9.2/acounts", "Did you mean 'accounts'?"},
		{"/api/data/v9.2/accounts(not-a-guid)", ""},
		{"/api/data", "The Web API's URLs name a version"},
		{"/api/data/", "The Web API's URLs name a version"},
	} {
		code, ctype, body := get(c.path)
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal([]byte(body), &e) != nil || code < 400 || e.Error.Code == "" || !strings.HasPrefix(ctype, "application/json") ||
			!strings.Contains(e.Error.Message, c.says) || strings.Contains(body, "the function") {
			t.Errorf("GET %s: %d %s %s; want a Dataverse error saying %q", c.path, code, ctype, body, c.says)
		}
	}
	// The version's root without its slash is the service document.
	for _, v := range []string{"v9.0", "v9.1", "v9.2"} {
		code, ctype, body := get("/api/data/" + v)
		var doc struct {
			Context string `json:"@odata.context"`
			Value   []struct{ Name, URL string }
		}
		json.Unmarshal([]byte(body), &doc)
		if code != 200 || !strings.HasPrefix(ctype, "application/json") || doc.Context != base+"/api/data/"+v+"/$metadata" || len(doc.Value) == 0 {
			t.Fatalf("GET /api/data/%s: %d %s %s", v, code, ctype, body)
		}
	}
}
