package job_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

// TestDataverseClientDialsThroughTheOutboundPolicy: a job's Dataverse org is
// reached only where the outbound policy allows, redirects included, while
// Junction's own Web API (an org with no url) stays reachable.
func TestDataverseClientDialsThroughTheOutboundPolicy(t *testing.T) {
	t.Parallel()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	cases := []struct {
		name        string
		org         map[string]any
		denyPrivate bool
		refused     string // "" when the run must succeed
	}{
		{"metadata address", map[string]any{"url": "http://169.254.169.254", "token": "t"}, false, "outbound connection to 169.254.169.254 refused"},
		{"IPv6 metadata address", map[string]any{"url": "http://[fd00:ec2::254]", "token": "t"}, false, "refused"},
		{"IPv4-mapped metadata address", map[string]any{"url": "http://[::ffff:169.254.169.254]", "token": "t"}, false, "outbound connection to 169.254.169.254 refused"},
		{"Alibaba metadata address", map[string]any{"url": "http://100.100.100.200", "token": "t"}, false, "outbound connection to 100.100.100.200 refused"},
		{"redirect to the metadata address", map[string]any{"url": redirect.URL, "token": "t"}, false, "outbound connection to 169.254.169.254 refused"},
		{"loopback under --outbound-deny-private", map[string]any{"url": redirect.URL, "token": "t"}, true, "outbound connection to 127.0.0.1 refused"},
		{"Junction's own Web API under --outbound-deny-private", map[string]any{}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := &org{t: t}
			o.a, o.base = apptest.Start(t, store.SQLite, func(cfg *app.Config) { cfg.OutboundDenyPrivate = c.denyPrivate })
			data := t.TempDir()
			os.WriteFile(filepath.Join(data, "a.csv"), []byte("number,name\nA-1,Alpha\n"), 0o644)
			o.call("PUT", "/admin/v1/jobs/to-org", map[string]any{
				"source":  map[string]any{"type": "file", "path": data, "pattern": "*.csv"},
				"mapping": []any{map[string]any{"to": "accountnumber", "from": "number"}, map[string]any{"to": "name", "from": "name"}},
				"key":     []string{"accountnumber"},
				"sink":    map[string]any{"type": "dataverse", "org": c.org, "table": "account"},
			}, 201)
			r := o.run("to-org", map[string]any{"file": "a.csv"})
			msg, _ := r["error"].(string)
			if c.refused == "" {
				if r["status"] != "succeeded" {
					t.Fatalf("run: %s %v", r["status"], r["error"])
				}
				return
			}
			if r["status"] != "failed" || !strings.Contains(msg, c.refused) {
				t.Fatalf("run: %s %q, want failed with %q", r["status"], msg, c.refused)
			}
		})
	}
}
