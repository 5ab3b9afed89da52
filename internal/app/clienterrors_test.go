package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

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
