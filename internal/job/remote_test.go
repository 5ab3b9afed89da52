package job

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"junction/internal/job/format"
	"junction/internal/sftp"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestPollRemoteSFTP polls the built-in SFTP server as a remote one.
func TestPollRemoteSFTP(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	b.env["PARTNER_PW"] = "pw-123"
	remote := sftp.New(sftp.Options{DataDir: t.TempDir(), Env: func(k string) (string, bool) { return "pw-123", k == "PW" }})
	if err := remote.Configure(sftp.Config{Listen: "127.0.0.1:0", Users: []sftp.User{{Name: "partner", Password: "${PW}"}}}); err != nil {
		t.Fatal(err)
	}
	if err := remote.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Stop(context.Background()) })
	fp, _ := remote.HostKeyFingerprint()
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
	writeFile(t, filepath.Join(folder, "outbox", "more.csv"), "id,qty\n9,9\n")
	if err := b.svc.scanFiles(ctx, spec); err == nil {
		t.Fatal("connected to a server with an unexpected host key")
	}
}
