package webapi_test

import (
	"io"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

// TestBodyLimits: bodies over the configured limit are refused before they
// are read, in Dataverse's error shape, and JSON past the depth or value
// bounds is refused while it is decoded.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	_, base := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Limits.WebAPIMaxBody = 1 << 20
		c.Limits.JSONMaxDepth = 32
		c.Limits.JSONMaxValues = 1000
	})
	tests := []struct {
		name    string
		body    string
		chunked bool // no Content-Length: refused while read, not before
		status  int
		msg     string
	}{
		{"over the size limit", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, false, 413, "larger than 1048576 bytes"},
		{"over the size limit without a length", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, true, 413, "larger than 1048576 bytes"},
		{"too deep", `{"name":"x","description":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, false, 400, "nested deeper than 32"},
		{"too many values", `{"name":"x","description":[` + strings.Repeat("1,", 2000) + `1]}`, false, 400, "more than 1000 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd) // hides the length from the client
			}
			status, _, raw := apptest.Post(t, base+"/api/data/v9.2/accounts", "k", rd)
			if status != tc.status || !strings.Contains(string(raw), `"code":"0x80048d19"`) || !strings.Contains(string(raw), tc.msg) {
				t.Fatalf("%d %s", status, raw)
			}
		})
	}
	r := apptest.Call(t, "GET", base+"/api/data/v9.2/accounts?$count=true", "k", nil, 200)
	if r["@odata.count"] != 0.0 {
		t.Fatalf("a refused body changed something: %v", r)
	}
}
