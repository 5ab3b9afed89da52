package job

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"junction/internal/changelog"
	"junction/internal/job/format"
	"junction/internal/project"
	"junction/internal/store"
	"junction/internal/store/storetest"
	"testing/fstest"
)

func TestJSONSchemaValidation(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	out := t.TempDir()
	spec := b.define(t, Spec{Name: "schema", Source: Source{Type: "file", Path: "j", Read: format.Options{Format: "json"}},
		Schema:  `{"type":"object","required":["id","email"],"properties":{"id":{"type":"integer"},"email":{"type":"string","format":"email","maxLength":20}}}`,
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}, {To: "email"}, {To: "city", From: "address.city"}}, Key: []string{"id"},
		Policy: Policy{OnError: "accept"}, Sink: Sink{Type: "file", Path: out, Format: "jsonl"}})
	f := writeFile(t, filepath.Join(b.data, "files", "j", "in.json"), `[
{"id": 1, "email": "a@x.org", "address": {"city": "Oslo"}},
{"id": "two", "email": "b@x.org"},
{"id": 3}
]`)
	run := b.runNow(t, spec.Name, f)
	if run.Status != StatusSucceeded || run.Read != 3 || run.Rejected != 2 || run.Inserted != 1 {
		t.Fatalf("run %+v", run)
	}
	rejects, _ := runFile(context.Background(), s, run.ID, "rejects.csv")
	recs, _ := csv.NewReader(strings.NewReader(string(rejects))).ReadAll()
	if len(recs) < 3 || recs[1][0] != "3" || recs[1][1] != "id" || !strings.Contains(recs[1][2], "JSON Schema") || recs[len(recs)-1][0] != "4" {
		t.Fatalf("rejects:\n%s", rejects)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.jsonl"))
	if len(files) != 1 {
		t.Fatal(files)
	}
}

// TestChangeLogDelta exports a Junction table's changes, deletes included,
// from the change log, resuming after the watermark each time.
func TestChangeLogDelta(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, s)
		appendChange := func(c changelog.Change) {
			err := s.Tx(ctx, func(tx store.Tx) error { _, err := changelog.Append(ctx, tx, c); return err })
			if err != nil {
				t.Fatal(err)
			}
		}
		appendChange(changelog.Change{Table: "account", RecordID: "a1", Message: changelog.Create, After: map[string]any{"accountid": "a1", "name": "Contoso"}})
		appendChange(changelog.Change{Table: "contact", RecordID: "c1", Message: changelog.Create, After: map[string]any{"contactid": "c1"}})
		appendChange(changelog.Change{Table: "account", RecordID: "a2", Message: changelog.Create, After: map[string]any{"accountid": "a2", "name": "Fabrikam"}})
		target := newSQLTarget(t, "sqlite")
		b.env["W"] = target.dsn
		spec := b.define(t, Spec{Name: "accounts", Source: Source{Type: "table", Table: "account", Delta: true},
			Mapping: []Mapping{{To: "accountid"}, {To: "name"}}, Key: []string{"accountid"},
			Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "account", Deletes: "delete"}})
		run := b.runNow(t, spec.Name, "")
		if run.Status != StatusSucceeded || run.Inserted != 2 || run.WatermarkTo != "3" {
			t.Fatalf("first run %+v", run)
		}
		appendChange(changelog.Change{Table: "account", RecordID: "a1", Message: changelog.Update, After: map[string]any{"accountid": "a1", "name": "Contoso Ltd"}})
		appendChange(changelog.Change{Table: "account", RecordID: "a2", Message: changelog.Delete, Before: map[string]any{"accountid": "a2", "name": "Fabrikam"}})
		run = b.runNow(t, spec.Name, "")
		if run.Status != StatusSucceeded || run.Read != 2 || run.Updated != 1 || run.Deleted != 1 || run.WatermarkFrom != "3" || run.WatermarkTo != "5" {
			t.Fatalf("delta run %+v", run)
		}
		if got := target.rows(t, "SELECT accountid, name FROM account"); len(got) != 1 || got[0] != "a1|Contoso Ltd" {
			t.Fatalf("target %v", got)
		}
		// A full read needs the records service, which is not wired here.
		b.define(t, Spec{Name: "full", Source: Source{Type: "table", Table: "account"}, Key: []string{"accountid"},
			Mapping: []Mapping{{To: "accountid"}}, Sink: Sink{Type: "file", Path: t.TempDir()}})
		run = b.runNow(t, "full", "")
		if run.Status != StatusFailed || !strings.Contains(run.Error, "not available") {
			t.Fatalf("full read without tables: %+v", run)
		}
	})
}

// TestSQLSinkFlagRevives: with deletes: flag, a row deleted at the source is
// flagged, and the same row created again is live again even when its values
// did not change.
func TestSQLSinkFlagRevives(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, s)
		change := func(msg string, row map[string]any) {
			c := changelog.Change{Table: "account", RecordID: "a1", Message: msg, After: row}
			if msg == changelog.Delete {
				c.After, c.Before = nil, row
			}
			if err := s.Tx(ctx, func(tx store.Tx) error { _, err := changelog.Append(ctx, tx, c); return err }); err != nil {
				t.Fatal(err)
			}
		}
		target := newSQLTarget(t, "sqlite")
		b.env["W"] = target.dsn
		spec := b.define(t, Spec{Name: "flagged", Source: Source{Type: "table", Table: "account", Delta: true},
			Mapping: []Mapping{{To: "accountid"}, {To: "name"}}, Key: []string{"accountid"},
			Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "account", Deletes: "flag"}})
		row := map[string]any{"accountid": "a1", "name": "Contoso"}
		for i, step := range []struct {
			msg, want string
			counts    Counts
		}{
			{changelog.Create, "a1|Contoso|0", Counts{Inserted: 1}},
			{changelog.Delete, "a1|Contoso|1", Counts{Deleted: 1}},
			{changelog.Create, "a1|Contoso|0", Counts{Updated: 1}},
		} {
			change(step.msg, row)
			run := b.runNow(t, spec.Name, "")
			if run.Status != StatusSucceeded || run.Counts != step.counts {
				t.Fatalf("step %d: %+v", i, run)
			}
			if got := target.rows(t, "SELECT accountid, name, isdeleted FROM account"); len(got) != 1 || got[0] != step.want {
				t.Fatalf("step %d: target %v, want %s", i, got, step.want)
			}
		}
	})
}

// TestResumeAfterNodeDeath: a node dies mid-run (its lease lapses); another
// node claims the run and goes on from the last committed chunk.
func TestResumeAfterNodeDeath(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		target := newSQLTarget(t, "sqlite")
		b.env["W"] = target.dsn
		var sb strings.Builder
		sb.WriteString("id,v\n")
		for i := 1; i <= 10; i++ {
			sb.WriteString(strings.Repeat("", 0) + itoa(int64(i)) + ",x\n")
		}
		f := writeFile(t, filepath.Join(b.data, "files", "r", "in.csv"), sb.String())
		b.define(t, Spec{Name: "resume", Source: Source{Type: "file", Path: "r"}, Mapping: []Mapping{{To: "id", Type: format.TypeInt}, {To: "v"}},
			Key: []string{"id"}, Policy: Policy{OnError: "accept"}, Chunk: 3, Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "t"}})
		id, err := enqueue(ctx, s, "resume", "manual", "", f, b.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The first node applies two chunks, then dies: simulate by recording
		// its checkpoint and letting its lease lapse.
		dead := New(Config{Store: s, NodeID: "dead", DataDir: b.data, Secrets: b.svc.cfg.Secrets, LeaseTTL: 1})
		dead.project = b.svc.project
		run, ok, err := claim(ctx, s, "dead", 1)
		if err != nil || !ok {
			t.Fatal(err)
		}
		target.exec(t, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
		target.exec(t, "INSERT INTO t VALUES (1,'x'),(2,'x'),(3,'x'),(4,'x'),(5,'x'),(6,'x')")
		err = s.Tx(ctx, func(tx store.Tx) error {
			return fenced(ctx, tx, &run, "dead", "phase = 'applying', checkpoint = 6, rows_inserted = 6, lease_until = 0")
		})
		if err != nil {
			t.Fatal(err)
		}
		final := b.drain(t, id)
		if final.Status != StatusSucceeded || final.Attempt != 2 || final.Inserted != 10 || final.Read != 10 || !final.Reconciliation.Matched || final.Reconciliation.SourceRows != 10 {
			t.Fatalf("resumed run %+v %+v", final, final.Reconciliation)
		}
		// The dead node's late write is fenced off.
		err = s.Tx(ctx, func(tx store.Tx) error { return fenced(ctx, tx, &run, "dead", "rows_inserted = 0") })
		if err != errLeaseLost {
			t.Fatalf("a stale holder wrote: %v", err)
		}
	})
}

func TestProjectValidation(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"jobs/ok.yaml":   {Data: []byte("source: {type: sql, driver: sqlite, dsn: x, query: SELECT 1 AS id}\nkey: [id]\nsink: {type: file, path: out}\n")},
		"jobs/bad.yaml":  {Data: []byte("trigger: {schedule: '61 * * * *'}\nsource: {type: ftp}\nsink: {type: sql, driver: sqlite, dsn: x, table: 't-1'}\npolicy: {onError: maybe}\n")},
		"jobs/typo.yaml": {Data: []byte("source: {type: sql, drvier: sqlite}\n")},
	}
	p, problems := project.Open(fsys, "p")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := New(Config{}).ValidateProject(p)
	text := project.Problems(got).Error()
	for _, want := range []string{"jobs/bad.yaml: trigger.schedule", "jobs/bad.yaml: source.type", "jobs/bad.yaml: sink.table", "jobs/bad.yaml: policy.onError", "jobs/typo.yaml:1", "drvier"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ok.yaml") {
		t.Errorf("a good job has problems:\n%s", text)
	}
}

// TestRemovedJobsReleaseTheChangeLog: at start, the cursors of jobs that are
// neither in the project nor saved through the API are dropped; the others
// keep their place.
func TestRemovedJobsReleaseTheChangeLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		b := setup(t, s)
		b.define(t, Spec{Name: "in-project", Source: Source{Type: "table", Table: "account", Delta: true},
			Sink: Sink{Type: "file", Path: t.TempDir(), Format: "csv"}})
		if err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO batch_jobs (name, spec, updated_at) VALUES (?, ?, ?)", "saved", "{}", 0); err != nil {
				return err
			}
			for _, job := range []string{"in-project", "saved", "removed"} {
				if err := changelog.SetCursor(ctx, tx, cursorName(job), 0); err != nil {
					return err
				}
			}
			return changelog.SetCursor(ctx, tx, "events", 0)
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.svc.Stop(context.Background()) })
		var names []string
		s.Read(ctx, func(q store.Querier) error {
			cs, err := changelog.Cursors(ctx, q)
			for _, c := range cs {
				names = append(names, c.Name)
			}
			return err
		})
		sort.Strings(names)
		if strings.Join(names, ",") != "events,job:in-project,job:saved" {
			t.Fatalf("cursors after the start: %v", names)
		}
	})
}
