package workflow_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/project"
	"junction/internal/store/storetest"
	"junction/internal/workflow"
)

// TestCustomConnectorFromTheProject: a custom connector in the project
// (connectors/orders/apiDefinition.swagger.json, as paconn downloads it) is
// called by a workflow's OpenApiConnection action on the managed connection
// of connections.json, with the API key of the connection's parameters, on
// both stores.
func TestCustomConnectorFromTheProject(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "orders-secret" {
			http.Error(w, "no or a wrong API key", http.StatusUnauthorized)
			return
		}
		if r.Method != "GET" || r.URL.Path != "/api/orders/42" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"42","status":"shipped"}`))
	}))
	t.Cleanup(api.Close)
	secrets := filepath.Join(t.TempDir(), "secrets")
	os.WriteFile(secrets, []byte("ORDERS_URL="+api.URL+"/api\nORDERS_KEY=orders-secret\n"), 0o600)
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, base := apptest.Start(t, d, func(c *app.Config) {
				c.Project, c.SecretsFile = "testdata/customconnector", secrets
			})
			cb := apptest.Call(t, "POST", base+"/admin/v1/workflows/lookup/triggers/manual/listCallbackUrl", "k", nil, 200)["value"].(string)
			status, _, raw := apptest.Post(t, cb, "", strings.NewReader(`{"id":"42"}`))
			var out map[string]any
			json.Unmarshal(raw, &out)
			if status != 200 || out["status"] != "shipped" {
				runs := apptest.Call(t, "GET", base+"/admin/v1/workflows/lookup/runs", "k", nil, 200)
				t.Fatalf("%d %s\nruns: %v", status, raw, runs)
			}
		})
	}
}

// TestCustomConnectorProblems: a custom connector document that is not
// OpenAPI, or a name defined twice, is a problem of its file in `junction
// validate`.
func TestCustomConnectorProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "connectors", "orders"), 0o755)
	os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version":"2.0"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "connectors", "broken.openapi.json"), []byte(`{"info":{}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "connectors", "orders", "apiDefinition.swagger.json"), []byte(`{"swagger":"2.0","host":"x.example","paths":{"/a":{"get":{"operationId":"A","responses":{"200":{"description":"ok"}}}}}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "connectors", "Orders.openapi.yaml"), []byte("swagger: \"2.0\"\nhost: y.example\npaths:\n  /b:\n    get:\n      operationId: B\n      responses: {\"200\": {description: ok}}\n"), 0o644)
	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := []string{}
	for _, pr := range workflow.ValidateProject(p, nil, nil) {
		got = append(got, pr.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`connectors/broken.openapi.json: openapi broken: neither "openapi": "3.x" nor "swagger": "2.0"`,
		`the custom connector "orders" is also defined by`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}
