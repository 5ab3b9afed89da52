package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/cli"
	"junction/internal/store/storetest"
)

// TestJobsEndToEnd runs a project's job through the real server, its
// management API and the CLI, on SQLite and PostgreSQL stores.
func TestJobsEndToEnd(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			data := t.TempDir()
			warehouse := filepath.Join(t.TempDir(), "w.db")
			os.MkdirAll(filepath.Join(proj, "jobs"), 0o755)
			os.WriteFile(filepath.Join(proj, "jobs", "contacts.yaml"), []byte(`
description: contacts from partners
source:
  type: file
  path: contacts
  pattern: "*.csv"
mapping:
  - {to: email, required: true, maxLength: 40}
  - {to: age, type: int}
key: [email]
policy: {onError: accept, maxErrorPercent: 50}
sink: {type: sql, driver: sqlite, dsn: "`+warehouse+`", table: contacts}
`), 0o644)
			cfg := app.Config{Listen: "127.0.0.1:0", Data: data, AdminKey: "k", Project: proj}
			if driver == "postgres" {
				cfg.Store = storetest.RequirePostgres(t)
				cfg.PostgresSchema = storetest.NewSchema(t)
			}
			ctx := context.Background()
			a, err := app.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			addr, err := a.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Stop(context.Background()) })
			base := "http://" + addr.String()
			os.MkdirAll(filepath.Join(data, "files", "contacts"), 0o755)
			os.WriteFile(filepath.Join(data, "files", "contacts", "c.csv"), []byte("email,age\na@x.org,31\nb@x.org,old\nc@x.org,\n"), 0o644)

			var out, errOut bytes.Buffer
			env := func(k string) string { return map[string]string{"JUNCTION_ADMIN_KEY": "k"}[k] }
			code := cli.Main(ctx, []string{"job", "run", "contacts", "--url", base, "--file", "c.csv", "--wait"}, cli.IO{Stdout: &out, Stderr: &errOut, Env: env})
			if code != 0 || !strings.Contains(out.String(), "succeeded") || !strings.Contains(out.String(), "read 3, rejected 1, inserted 2") {
				t.Fatalf("job run: %d\n%s\n%s", code, out.String(), errOut.String())
			}
			call := func(method, path, body string) (int, string) {
				req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer k")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			status, body := call("GET", "/admin/v1/jobs/contacts/runs/1/rejects", "")
			if status != 200 || body != "line,column,reason,value\n3,age,\"\"\"old\"\" is not a whole number\",old\n" {
				t.Fatalf("rejects %d: %q", status, body)
			}
			status, body = call("GET", "/admin/v1/jobs/contacts/runs/1/reconciliation", "")
			var rec struct{ Matched bool }
			if status != 200 || json.Unmarshal([]byte(body), &rec) != nil || !rec.Matched {
				t.Fatalf("reconciliation %d: %s", status, body)
			}
			// The same file again is refused: its content was processed.
			os.WriteFile(filepath.Join(data, "files", "contacts", "again.csv"), []byte("email,age\na@x.org,31\nb@x.org,old\nc@x.org,\n"), 0o644)
			status, body = call("POST", "/admin/v1/jobs/contacts/runs", `{"file":"again.csv"}`)
			if status != 409 || !strings.Contains(body, "AlreadyProcessed") {
				t.Fatalf("re-upload %d: %s", status, body)
			}
			status, body = call("POST", "/admin/v1/jobs/contacts/runs", `{"file":"../../junction.db"}`)
			if status != 400 {
				t.Fatalf("path traversal %d: %s", status, body)
			}
			// Jobs through the API: bad definitions are refused with the field named.
			status, body = call("PUT", "/admin/v1/jobs/nightly", `{"source":{"type":"sql","driver":"oracle","dsn":"x","query":"SELECT 1"},"sink":{"type":"file","path":"out"}}`)
			if status != 400 || !strings.Contains(body, "source.driver") {
				t.Fatalf("bad job %d: %s", status, body)
			}
			status, body = call("PUT", "/admin/v1/jobs/nightly", `{"trigger":{"schedule":"0 2 * * *"},"source":{"type":"sql","driver":"sqlite","dsn":"`+warehouse+`","query":"SELECT email, age FROM contacts"},"key":["email"],"sink":{"type":"file","path":"out","format":"jsonl"}}`)
			if status != 201 {
				t.Fatalf("put job %d: %s", status, body)
			}
			status, _ = call("PUT", "/admin/v1/jobs/contacts", `{"source":{"type":"sql"}}`)
			if status != 409 {
				t.Fatalf("overwrite a project job: %d", status)
			}
			out.Reset()
			if code := cli.Main(ctx, []string{"job", "run", "nightly", "--url", base, "--wait"}, cli.IO{Stdout: &out, Stderr: &errOut, Env: env}); code != 0 ||
				!strings.Contains(out.String(), "inserted 2") {
				t.Fatalf("nightly: %s %s", out.String(), errOut.String())
			}
			out.Reset()
			if code := cli.Main(ctx, []string{"job", "list", "--url", base}, cli.IO{Stdout: &out, Stderr: &errOut, Env: env}); code != 0 ||
				!strings.Contains(out.String(), "nightly   sql") || !strings.Contains(out.String(), "0 2 * * *") || !strings.Contains(out.String(), "project") {
				t.Fatalf("job list:\n%s", out.String())
			}
			files, _ := filepath.Glob(filepath.Join(data, "files", "out", "nightly_*.jsonl"))
			if len(files) != 1 {
				t.Fatalf("export files %v", files)
			}
			status, body = call("GET", "/admin/v1/openapi.json", "")
			if status != 200 || !strings.Contains(body, "/admin/v1/jobs/{name}/runs/{id}/rejects") {
				t.Fatalf("openapi: %d", status)
			}
		})
	}
}
