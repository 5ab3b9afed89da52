package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestFileWatcherForgetsGoneFiles: a file waiting to be stable is held until
// it is picked up, or until its folder no longer has it.
func TestFileWatcherForgetsGoneFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite))
	spec := b.define(t, Spec{Name: "settle", Trigger: Trigger{Files: true},
		Source:  Source{Type: "file", Path: "in", Pattern: "*.csv", Complete: Completion{StableFor: Duration(2 * time.Second)}},
		Mapping: []Mapping{{To: "id"}}, Key: []string{"id"}, Sink: Sink{Type: "file", Path: t.TempDir()}})
	ctx := context.Background()
	dir := filepath.Join(b.data, "files", "in")
	scan := func(want int, after string) {
		t.Helper()
		if err := b.svc.scanFiles(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if n := b.svc.files.len(); n != want {
			t.Fatalf("after %s: %d files wait, want %d", after, n, want)
		}
	}
	writeFile(t, filepath.Join(dir, "a.csv"), "id\n1\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "id\n2\n")
	scan(2, "first sight of two files")
	os.Remove(filepath.Join(dir, "a.csv"))
	scan(1, "a.csv was removed")
	b.clock.Add(3 * time.Second)
	scan(0, "b.csv was picked up")
	runs, _ := listRuns(ctx, b.store, "settle", 10)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	b.drain(t, runs[0].ID) // b.csv moves to archive/
	writeFile(t, filepath.Join(dir, "c.csv"), "id\n3\n")
	scan(1, "first sight of c.csv")
	os.RemoveAll(dir)
	scan(0, "the folder was removed")
}

// TestRemoteWatcherForgetsGoneFiles: the same for the files of a remote SFTP
// folder, which another client may take away.
func TestRemoteWatcherForgetsGoneFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite))
	b.env["PW"] = "pw-1"
	remote, fp := startRemote(t, "partner", "pw-1")
	folder, _ := remote.Folder("partner")
	writeFile(t, filepath.Join(folder, "outbox", "a.csv"), "id\n1\n")
	spec := b.define(t, Spec{Name: "pull", Trigger: Trigger{Files: true},
		Source: Source{Type: "sftp", Address: remote.Addr().String(), User: "partner", Password: "${PW}", HostKey: fp, Path: "outbox",
			Pattern: "*.csv", Complete: Completion{StableFor: Duration(time.Minute)}},
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}}, Key: []string{"id"}, Sink: Sink{Type: "file", Path: t.TempDir()}})
	ctx := context.Background()
	if err := b.svc.scanFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if n := b.svc.files.len(); n != 1 {
		t.Fatalf("%d files wait after the first poll, want 1", n)
	}
	os.Remove(filepath.Join(folder, "outbox", "a.csv"))
	b.clock.Add(31 * time.Second) // the next poll is due
	if err := b.svc.scanFiles(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if n := b.svc.files.len(); n != 0 {
		t.Fatalf("%d files wait after the remote file was taken away, want 0", n)
	}
}

// TestOrgClientsAreBounded: runs naming the same org share its client;
// clients unused for a while are dropped, and no more than maxOrgs are kept.
func TestOrgClientsAreBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := New(Config{Now: clock.Now})
	org := func(i int) *Org { return &Org{URL: fmt.Sprintf("https://org%d.crm.example", i), Token: "t"} }
	first, err := s.dataverse("sink", "", org(0))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.dataverse("source", "", org(0)); again != first {
		t.Fatal("two runs naming one org got two clients")
	}
	for i := 1; i < 2*maxOrgs; i++ {
		clock.Add(time.Second)
		if _, err := s.dataverse("sink", "", org(i)); err != nil {
			t.Fatal(err)
		}
		if n := s.orgs.len(); n > maxOrgs {
			t.Fatalf("%d clients kept, more than %d", n, maxOrgs)
		}
	}
	if c, _ := s.dataverse("sink", "", org(0)); c == first {
		t.Fatal("the least recently used client was kept beyond the bound")
	}
	clock.Add(orgIdle + time.Second)
	if _, err := s.dataverse("sink", "", org(1)); err != nil {
		t.Fatal(err)
	}
	if n := s.orgs.len(); n != 1 {
		t.Fatalf("%d clients kept after the others went unused for %s, want 1", n, orgIdle)
	}
}
