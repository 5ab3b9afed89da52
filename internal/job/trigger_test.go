package job

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func countRuns(t *testing.T, s store.Store, job string) int {
	t.Helper()
	runs, err := listRuns(context.Background(), s, job, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

func TestScheduleOncePerOccurrence(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := setup(t, s)
		// A second node on the same store with the same clock.
		other := New(Config{Store: s, NodeID: "node-b", DataDir: a.data, Now: a.clock.Now})
		for _, svc := range []*Service{a.svc, other} {
			for _, expr := range []string{"*/5 * * * *", "30 */5 * * * *"} {
				name := map[string]string{"*/5 * * * *": "five", "30 */5 * * * *": "six"}[expr]
				spec := Spec{Name: name, Trigger: Trigger{Schedule: expr},
					Source: Source{Type: "sql", Driver: "sqlite", DSN: "x", Query: "SELECT 1 AS id"}, Key: []string{"id"},
					Sink: Sink{Type: "file", Path: "out"}}
				spec.Check()
				svc.mu.Lock()
				svc.project[name] = &spec
				svc.mu.Unlock()
			}
		}
		ctx := context.Background()
		a.svc.tick(ctx) // first sight: remembers now (10:00:00)
		other.tick(ctx)
		if countRuns(t, s, "five") != 0 {
			t.Fatal("a run before the first occurrence")
		}
		a.clock.Add(5 * time.Minute) // 10:05:00: five is due; six (10:00:30) is due too
		for i := 0; i < 3; i++ {
			a.svc.tick(ctx)
			other.tick(ctx)
		}
		if n := countRuns(t, s, "five"); n != 1 {
			t.Fatalf("five: %d runs for one occurrence", n)
		}
		if n := countRuns(t, s, "six"); n != 1 {
			t.Fatalf("six: %d runs", n)
		}
		// Down for 20 minutes: the missed occurrences fold into one run.
		a.clock.Add(20 * time.Minute)
		restarted := New(Config{Store: s, NodeID: "node-c", DataDir: a.data, Now: a.clock.Now})
		restarted.project = a.svc.project
		restarted.tick(ctx)
		other.tick(ctx)
		runs, _ := listRuns(ctx, s, "five", 10)
		if len(runs) != 2 || runs[0].Occurrence != "schedule:2026-05-01T10:25:00Z" || runs[1].Occurrence != "schedule:2026-05-01T10:05:00Z" {
			t.Fatalf("runs after restart: %+v", runs)
		}
	})
}

func TestFileArrival(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		out := t.TempDir()
		spec := b.define(t, Spec{Name: "drop", Trigger: Trigger{Files: true},
			Source:  Source{Type: "file", Path: "in", Pattern: "*.csv", Complete: Completion{StableFor: Duration(2 * time.Second), Marker: ".done"}},
			Mapping: []Mapping{{To: "id", Type: format.TypeInt, Required: true}, {To: "name"}}, Key: []string{"id"},
			Sink: Sink{Type: "file", Path: out, Format: "jsonl"}})
		dir := filepath.Join(b.data, "files", "in")
		ctx := context.Background()
		writeFile(t, filepath.Join(dir, "a.csv.tmp"), "id,name\n1,x\n")
		writeFile(t, filepath.Join(dir, "a.csv"), "id,name\n1,x\n2,y\n")
		b.svc.scanFiles(ctx, spec)
		b.clock.Add(3 * time.Second)
		b.svc.scanFiles(ctx, spec)
		if countRuns(t, s, "drop") != 0 {
			t.Fatal("picked up a file without its marker")
		}
		writeFile(t, filepath.Join(dir, "a.csv.done"), "")
		b.svc.scanFiles(ctx, spec) // first sight of a stable size
		if countRuns(t, s, "drop") != 0 {
			t.Fatal("picked up a file before its size was stable")
		}
		b.clock.Add(3 * time.Second)
		b.svc.scanFiles(ctx, spec)
		runs, _ := listRuns(ctx, s, "drop", 10)
		if len(runs) != 1 || runs[0].Trigger != "file" {
			t.Fatalf("runs: %+v", runs)
		}
		b.svc.scanFiles(ctx, spec) // queued already: not again
		run := b.drain(t, runs[0].ID)
		if run.Status != StatusSucceeded || run.Inserted != 2 {
			t.Fatalf("run: %+v", run)
		}
		if !exists(filepath.Join(dir, "archive", "a.csv")) || !exists(filepath.Join(dir, "archive", "a.csv.report.json")) || exists(filepath.Join(dir, "a.csv.done")) {
			t.Fatal("the file was not archived with its report")
		}
		// The same bytes again under another name: not processed twice.
		writeFile(t, filepath.Join(dir, "b.csv"), "id,name\n1,x\n2,y\n")
		writeFile(t, filepath.Join(dir, "b.csv.done"), "")
		b.svc.scanFiles(ctx, spec)
		b.clock.Add(3 * time.Second)
		if err := b.svc.scanFiles(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if n := countRuns(t, s, "drop"); n != 1 {
			t.Fatalf("a re-upload of the same bytes made %d runs", n)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "archive", "duplicate-*-b.csv.report.json")); len(m) != 1 {
			all, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			t.Log(all)
			t.Fatal("the duplicate was not archived with a report")
		}
		if _, err := os.Stat(filepath.Join(dir, "b.csv")); err == nil {
			t.Fatal("the duplicate is still in the folder")
		}
	})
}

func TestBadInputFails(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	target := newSQLTarget(t, "sqlite")
	b.env["W"] = target.dsn
	spec := b.define(t, Spec{Name: "xml", Source: Source{Type: "file", Path: "x", Read: format.Options{Format: "xml", Record: "item"}},
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}}, Key: []string{"id"}, Policy: Policy{OnError: "accept"},
		Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "items"}})
	f := writeFile(t, filepath.Join(b.data, "files", "x", "t.xml"), "<r><item><id>1</id></item><item><id>2</id>")
	run := b.runNow(t, spec.Name, f)
	if run.Status != StatusFailed || run.Error == "" || !exists(filepath.Join(b.data, "files", "x", "error", "t.xml")) {
		t.Fatalf("truncated XML: %+v", run)
	}
	// An unreachable sink fails the run with a clear error.
	spec2 := b.define(t, Spec{Name: "down", Source: Source{Type: "sql", Driver: "sqlite", DSN: "${W}", Query: "SELECT 1 AS id"},
		Key: []string{"id"}, Sink: Sink{Type: "sql", Driver: "postgres", DSN: "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", Table: "t"}})
	run = b.runNow(t, spec2.Name, "")
	if run.Status != StatusFailed || run.Error == "" {
		t.Fatalf("unreachable sink: %+v", run)
	}
}
