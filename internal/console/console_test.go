package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/console/browsertest"
	"junction/internal/store"
)

// startApp runs a Junction with an admin key and returns its base URL.
func startApp(t *testing.T, cfg app.Config) (*app.App, string) {
	t.Helper()
	return apptest.Start(t, store.SQLite, func(c *app.Config) {
		data := c.Data
		*c = cfg
		c.Listen, c.Data, c.AdminKey = "127.0.0.1:0", data, "admin-key"
	})
}

// browser skips t unless Chromium and playwright-core are installed (make deps
// installs them); in CI their absence is a failure.
func browser(t *testing.T) {
	t.Helper()
	if !browsertest.Available(t) {
		t.SkipNow()
	}
}

func TestConsoleSignInAndKeys(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	_, opKey, err := a.Keys().Create(context.Background(), "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"name":"Contoso"}`, `{"name":"Fabrikam Ltd","accountnumber":"F-1"}`} {
		resp, err := post(base+"/api/data/v9.2/accounts", body)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("create account: %v %v", resp, err)
		}
		if body[9] == 'F' {
			req, _ := http.NewRequest("PATCH", resp.Header.Get("OData-EntityId"), strings.NewReader(`{"telephone1":"555-0100"}`))
			req.Header.Set("Authorization", "Bearer admin-key")
			req.Header.Set("Content-Type", "application/json")
			if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 204 {
				t.Fatalf("update account: %v %v", r, err)
			}
		}
	}
	browsertest.Run(t, "signin.mjs", "BASE="+base, "ADMIN_KEY=admin-key", "OPERATOR_KEY="+opKey)
}

func post(url, body string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}
