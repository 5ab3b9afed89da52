package function_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestHTTPTriggerBodyLimit: an HTTP trigger's body over Config.MaxBody is
// refused with 413 before the function runs, with or without a length.
func TestHTTPTriggerBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/echo/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/echo/index.js": `module.exports = async function (context, req) { context.res = {body: String(req.rawBody.length)}; };`,
	}, function.Config{MaxBody: 1024})
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"within", strings.Repeat("x", 1000), false, 200},
		{"over", strings.Repeat("x", 2000), false, 413},
		{"over without a length", strings.Repeat("x", 2000), true, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd)
			}
			res, err := http.Post(b.url+"/api/echo", "text/plain", rd)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("%d %s", res.StatusCode, raw)
			}
			if tc.status == 413 && !strings.Contains(string(raw), "larger than the limit of 1024 bytes") && !strings.Contains(string(raw), "too large") {
				t.Fatalf("413 says %q", raw)
			}
		})
	}
}
