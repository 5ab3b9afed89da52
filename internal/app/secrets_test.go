package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

// TestAppSettingsFollowSecretsRule deploys workflows that read app settings:
// the secrets file, JUNCTION_SECRET_* and --secrets-allow names resolve; the
// server's own key and the rest of its environment do not.
func TestAppSettingsFollowSecretsRule(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secrets.env")
	os.WriteFile(file, []byte("FROM_FILE=f\n"), 0o600)
	env := map[string]string{"JUNCTION_ADMIN_KEY": "k", "JUNCTION_STORE": "postgres://x", "HOME": "/root", "SB_CONN": "sb", "JUNCTION_SECRET_TOKEN": "t"}
	_, base := apptest.Start(t, store.SQLite, func(c *app.Config) {
		c.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		c.SecretsFile, c.SecretsAllow = file, []string{"SB_CONN"}
	})
	cases := []struct {
		setting string
		want    int
	}{
		{"FROM_FILE", http.StatusCreated},
		{"JUNCTION_SECRET_TOKEN", http.StatusCreated},
		{"SB_CONN", http.StatusCreated},
		{"JUNCTION_ADMIN_KEY", http.StatusBadRequest},
		{"JUNCTION_STORE", http.StatusBadRequest},
		{"HOME", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.setting, func(t *testing.T) {
			t.Parallel()
			flow := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{"A":{"type":"Compose","inputs":"@appsetting('` + c.setting + `')","runAfter":{}}}}}`
			out := apptest.Call(t, "PUT", base+"/admin/v1/workflows/w-"+strings.ToLower(strings.ReplaceAll(c.setting, "_", "-")), "k", flow, c.want)
			if c.want == http.StatusBadRequest {
				msg, _ := out["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, "appsetting('"+c.setting+"')") || !strings.Contains(msg, "JUNCTION_SECRET_*") {
					t.Fatalf("the refusal does not name the setting and the rule: %s", msg)
				}
			}
		})
	}
}

func TestSecretsConfigErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(bad, []byte("not a pair\n"), 0o600)
	cases := []struct {
		name, field string
		mutate      func(*app.Config)
	}{
		{"allow-admin-key", "--secrets-allow", func(c *app.Config) { c.SecretsAllow = []string{"JUNCTION_ADMIN_KEY"} }},
		{"allow-bad-name", "--secrets-allow", func(c *app.Config) { c.SecretsAllow = []string{"A=B"} }},
		{"file-missing", "--secrets-file", func(c *app.Config) { c.SecretsFile = filepath.Join(t.TempDir(), "none") }},
		{"file-bad", "--secrets-file", func(c *app.Config) { c.SecretsFile = bad }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "k"}
			c.mutate(&cfg)
			a, err := app.New(context.Background(), cfg)
			if err == nil {
				a.Stop(context.Background())
				t.Fatal("started")
			}
			if !app.IsConfigError(err) || !strings.HasPrefix(err.Error(), c.field+":") {
				t.Fatalf("error %v does not name %s", err, c.field)
			}
		})
	}
}
