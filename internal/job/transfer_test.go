package job_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"junction/internal/cli"
	"junction/internal/store/storetest"
)

// TestImportExportCommands drives `junction import` and `junction export`
// against a running Junction as a user would: a CSV upserted into accounts
// with a rejects file beside it, then exported in full and by delta.
func TestImportExportCommands(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			o := startOrg(t, d, 0)
			ctx := context.Background()
			env := func(k string) string { return map[string]string{"JUNCTION_ADMIN_KEY": "k", "JUNCTION_KEY": "k"}[k] }
			run := func(args ...string) (int, string, string) {
				var out, errOut bytes.Buffer
				code := cli.Main(ctx, append(args, "--url", o.base), cli.IO{Stdout: &out, Stderr: &errOut, Env: env})
				return code, out.String(), errOut.String()
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "accounts.csv")
			os.WriteFile(file, []byte("AccountNumber,Name,NumberOfEmployees,ShoeSize\nK-1,Kappa,10,x\nK-2,Lambda,many,x\nK-3,Mu,30,x\n"), 0o644)

			// Reject-all (the default): nothing applied, the rejects file says why.
			code, out, errOut := run("import", file, "--table", "accounts")
			if code != 1 || !strings.Contains(out, "rejected") || !strings.Contains(out, "read 3, rejected 1, inserted 0") {
				t.Fatalf("reject-all import: %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "the file's column ShoeSize is not a column of account") {
				t.Fatalf("unknown column not reported: %s", errOut)
			}
			rejects := readCSV(t, file+".rejects.csv")
			if len(rejects) != 2 || rejects[1][0] != "3" || rejects[1][1] != "numberofemployees" {
				t.Fatalf("rejects: %v", rejects)
			}
			if got := o.call("GET", "/api/data/v9.2/accounts?$filter=startswith(accountnumber,'K-')", nil, 200)["value"].([]any); len(got) != 0 {
				t.Fatalf("reject-all applied rows: %v", got)
			}
			// --accept: the good rows go in; again: nothing changes.
			code, out, errOut = run("import", file, "--table", "accounts", "--accept")
			if code != 0 || !strings.Contains(out, "read 3, rejected 1, inserted 2, updated 0, unchanged 0") || !strings.Contains(out, "matched=true") {
				t.Fatalf("accept import: %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "%") {
				t.Fatalf("no progress drawn: %q", errOut)
			}
			code, out, _ = run("import", file, "--table", "account", "--accept")
			if code != 0 || !strings.Contains(out, "inserted 0, updated 0, unchanged 2") {
				t.Fatalf("second import: %d\n%s", code, out)
			}
			if _, err := os.Stat(file); err != nil {
				t.Fatal("the imported file was moved away")
			}
			// A mapping file and an explicit key.
			mapFile := filepath.Join(dir, "map.yaml")
			os.WriteFile(mapFile, []byte("- {to: accountnumber, from: No}\n- {to: name, from: Title, maxLength: 20}\n"), 0o644)
			other := filepath.Join(dir, "other.csv")
			os.WriteFile(other, []byte("No;Title\nK-1;Kappa Renamed\nK-9;Iota\n"), 0o644)
			code, out, errOut = run("import", other, "--table", "account", "--map", mapFile, "--key", "accountnumber", "--delimiter", ";")
			if code != 0 || !strings.Contains(out, "inserted 1, updated 1") {
				t.Fatalf("mapped import: %d\n%s\n%s", code, out, errOut)
			}
			if code, _, errOut = run("import", other, "--table", "nosuch"); code != 1 || !strings.Contains(errOut, "no table") {
				t.Fatalf("unknown table: %d %s", code, errOut)
			}
			if code, _, errOut = run("import", filepath.Join(dir, "missing.csv"), "--table", "account"); code != 1 || !strings.Contains(errOut, "not a readable file") {
				t.Fatalf("missing file: %d %s", code, errOut)
			}

			// Export: in full, then only what changed, deletions flagged.
			outDir := filepath.Join(t.TempDir(), "lake")
			code, out, errOut = run("export", "--table", "account", "--delta", "--to", outDir, "--select", "accountnumber,name")
			if code != 0 || !strings.Contains(out, "read 3, rejected 0, inserted 3") {
				t.Fatalf("full export: %d\n%s\n%s", code, out, errOut)
			}
			ids := map[string]string{}
			for _, v := range o.call("GET", "/api/data/v9.2/accounts?$select=accountnumber", nil, 200)["value"].([]any) {
				m := v.(map[string]any)
				ids[m["accountnumber"].(string)] = m["accountid"].(string)
			}
			o.call("DELETE", "/api/data/v9.2/accounts("+ids["K-3"]+")", nil, 204)
			o.call("PATCH", "/api/data/v9.2/accounts("+ids["K-9"]+")", map[string]any{"name": "Iota Two"}, 204)
			code, out, errOut = run("export", "--table", "account", "--delta", "--to", outDir, "--select", "accountnumber,name")
			if code != 0 || !strings.Contains(out, "read 2, rejected 0, inserted 1, updated 0, unchanged 0, deleted 1") {
				t.Fatalf("delta export: %d\n%s\n%s", code, out, errOut)
			}
			folders, _ := filepath.Glob(filepath.Join(outDir, "20*"))
			sort.Strings(folders)
			if len(folders) != 2 {
				t.Fatalf("export folders: %v", folders)
			}
			for _, f := range folders {
				if _, err := os.Stat(filepath.Join(f, "model.json")); err != nil {
					t.Fatalf("no model.json in %s", f)
				}
			}
			files, _ := filepath.Glob(filepath.Join(folders[1], "account", "*.csv"))
			if len(files) != 1 {
				t.Fatalf("delta files: %v", files)
			}
			rows := readCSV(t, files[0])
			var flagged, renamed bool
			for _, r := range rows {
				line := strings.Join(r, ",")
				flagged = flagged || (strings.HasPrefix(line, ids["K-3"]) && strings.HasSuffix(line, "true"))
				renamed = renamed || strings.Contains(line, "Iota Two")
			}
			if len(rows) != 2 || !flagged || !renamed {
				t.Fatalf("delta rows: %v", rows)
			}
			if code, _, errOut = run("export", "--table", "account", "--to", "sftp://partner@127.0.0.1:1/in"); code != 1 || !strings.Contains(errOut, "--host-key") {
				t.Fatalf("sftp without host key: %d %s", code, errOut)
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
