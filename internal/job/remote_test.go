package job

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestPollRemoteSFTP polls the built-in SFTP server as a remote one.
func TestPollRemoteSFTP(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	b.env["PARTNER_PW"] = "pw-123"
	remote, fp := startRemote(t, "partner", "pw-123")
	folder, _ := remote.Folder("partner")
	writeFile(t, filepath.Join(folder, "outbox", "orders.csv"), "id,qty\n1,5\n2,6\n")
	writeFile(t, filepath.Join(folder, "outbox", "later.csv.part"), "id,qty\n3,")
	out := t.TempDir()
	spec := b.define(t, Spec{Name: "pull", Trigger: Trigger{Files: true},
		Source:  Source{Type: "sftp", Address: remote.Addr().String(), User: "partner", Password: "${PARTNER_PW}", HostKey: fp, Path: "outbox", Pattern: "*.csv"},
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}, {To: "qty", Type: format.TypeInt}}, Key: []string{"id"},
		Sink: Sink{Type: "file", Path: out, Format: "csv"}})
	ctx := context.Background()
	if err := b.svc.scanFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	runs, _ := listRuns(ctx, s, "pull", 10)
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	run := b.drain(t, runs[0].ID)
	if run.Status != StatusSucceeded || run.Inserted != 2 {
		t.Fatalf("run %+v", run)
	}
	if _, err := os.Stat(filepath.Join(folder, "outbox", "archive", "orders.csv")); err != nil {
		t.Fatal("the remote file was not moved to archive/")
	}
	if _, err := os.Stat(filepath.Join(folder, "outbox", "later.csv.part")); err != nil {
		t.Fatal("a file still being written was taken")
	}
	// A wrong host key is refused before anything is read.
	spec.Source.HostKey = "SHA256:AAAA"
	b.clock.Add(31e9) // the next poll is due
	writeFile(t, filepath.Join(folder, "outbox", "more.csv"), "id,qty\n9,9\n")
	if err := b.svc.scanFiles(ctx, spec); err == nil {
		t.Fatal("connected to a server with an unexpected host key")
	}
}

// TestExportToSFTP uploads a Synapse-layout export to an SFTP server.
func TestExportToSFTP(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	b.env["PW"] = "pw-9"
	remote, fp := startRemote(t, "lake", "pw-9")
	src := newSQLTarget(t, "sqlite")
	b.env["S"] = src.dsn
	src.exec(t, "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT)")
	src.exec(t, "INSERT INTO a VALUES (1, 'x'), (2, 'y')")
	b.define(t, Spec{Name: "push", Source: Source{Type: "sql", Driver: "sqlite", DSN: "${S}", Query: "SELECT * FROM a"}, Key: []string{"id"},
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}, {To: "name"}},
		Sink: Sink{Type: "file", Path: "staging", Layout: "synapse", Name: "account",
			SFTP: &SFTPTarget{Address: remote.Addr().String(), User: "lake", Password: "${PW}", HostKey: fp, Path: "dataverse"}}})
	run := b.runNow(t, "push", "")
	if run.Status != StatusSucceeded || run.Inserted != 2 {
		t.Fatalf("run %+v", run)
	}
	folder, _ := remote.Folder("lake")
	models, _ := filepath.Glob(filepath.Join(folder, "dataverse", "*", "model.json"))
	parts, _ := filepath.Glob(filepath.Join(folder, "dataverse", "*", "account", "account_*.csv"))
	hidden, _ := filepath.Glob(filepath.Join(folder, "dataverse", ".*"))
	if len(models) != 1 || len(parts) != 1 || len(hidden) != 0 {
		t.Fatalf("remote layout: %v %v %v", models, parts, hidden)
	}
	if got, _ := os.ReadFile(parts[0]); string(got) != "1,x\n2,y\n" {
		t.Fatalf("partition %q", got)
	}
}
