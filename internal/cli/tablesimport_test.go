package cli_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/app"
)

// startServer runs Junction in-process on SQLite (with the project in dir,
// if any) and returns its base URL.
func startServer(t *testing.T, project string) string {
	t.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "admin-key", Project: project})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return "http://" + addr.String()
}

// call sends a Web API request as the administrator.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-key")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "return=representation")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) { t.Helper(); return call(t, "GET", url, "") }

// TestTablesImportIntoServer imports a real exported solution (see
// internal/solution/testdata) into a running server.
func TestTablesImportIntoServer(t *testing.T) {
	t.Parallel()
	url := startServer(t, "")
	zip := "../solution/testdata/quiz.zip"
	code, stdout, stderr := run(t, map[string]string{"JUNCTION_ADMIN_KEY": "admin-key"}, "tables", "import", zip, "--url", url)
	if code != 0 || !strings.Contains(stdout, "imported solution Quiz 1.0.0.1") || !strings.Contains(stdout, "created tables (2):\n  matt_quizanswers\n  matt_quizresponses\n") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if st, body := get(t, url+"/api/data/v9.2/EntityDefinitions(LogicalName='matt_quizresponses')/Attributes(LogicalName='matt_totalscore')"); st != 200 || !strings.Contains(body, `"AttributeType":"Integer"`) {
		t.Fatalf("imported column: %d %s", st, body)
	}
	code, stdout, _ = run(t, nil, "tables", "import", zip, "--url", url, "--key", "admin-key")
	if code != 0 || strings.Contains(stdout, "created tables") || !strings.Contains(stdout, "kept ") {
		t.Fatalf("second import: exit %d\n%s", code, stdout)
	}
	bad := filepath.Join(t.TempDir(), "notes.zip")
	os.WriteFile(bad, []byte("not a zip"), 0o644)
	if code, _, stderr := run(t, nil, "tables", "import", bad, "--url", url, "--key", "admin-key"); code != 1 || !strings.Contains(stderr, "not a zip") {
		t.Fatalf("a file that is no solution: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, nil, "tables", "import", zip, "--url", url); code != 2 || !strings.Contains(stderr, "an API key is required") {
		t.Fatalf("no key: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, nil, "tables", "frob"); code != 2 || !strings.Contains(stderr, `unknown subcommand "frob"`) {
		t.Fatalf("unknown subcommand: exit %d\n%s", code, stderr)
	}
}

// TestTablesImportOut writes a real solution's tables as project files,
// then serves that project and writes rows through them.
func TestTablesImportOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := run(t, nil, "tables", "import", "../solution/testdata/timesheet.zip", "--out", dir)
	if code != 0 || !strings.Contains(stdout, filepath.Join(dir, "tables", "pm_task_pm_employee.yaml")) {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, nil, "validate", dir); code != 0 {
		t.Fatalf("validate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	url := startServer(t, dir)
	st, body := call(t, "POST", url+"/api/data/v9.2/pm_employees", `{"pm_name":"Ada","pm_email":"ada@example.com","pm_department":125570003}`)
	if st != 201 || !strings.Contains(body, `"pm_department":125570003`) {
		t.Fatalf("row in a project table: %d %s", st, body)
	}
	if st, body := get(t, url+"/api/data/v9.2/RelationshipDefinitions(SchemaName='pm_timesheet_Employee_pm_employee')"); st != 200 || !strings.Contains(body, `"ReferencingAttribute":"pm_employee"`) {
		t.Fatalf("relationship of a project table: %d %s", st, body)
	}
	// The solution extends no standard table. One that does is written as
	// files that extend Junction's tables with the columns they lack, and
	// the project serves them.
	crm := t.TempDir()
	code, stdout, stderr = run(t, nil, "tables", "import", "../solution/testdata/salescrm.zip", "--out", crm)
	if code != 0 || !strings.Contains(stdout, filepath.Join(crm, "tables", "account.yaml")) {
		t.Fatalf("standard tables with --out: exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(crm, "tables", "account.yaml"))
	if err != nil || !strings.Contains(string(b), "extends: account") || !strings.Contains(string(b), "cis_abbreviation") || strings.Contains(string(b), "name: name\n") {
		t.Fatalf("account.yaml: %v\n%s", err, b)
	}
	if code, stdout, stderr := run(t, nil, "validate", crm); code != 0 {
		t.Fatalf("validate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	url = startServer(t, crm)
	if st, body := call(t, "POST", url+"/api/data/v9.2/accounts", `{"name":"Contoso","cis_abbreviation":"CTS"}`); st != 201 || !strings.Contains(body, `"cis_abbreviation":"CTS"`) {
		t.Fatalf("an extended standard table: %d %s", st, body)
	}
}
