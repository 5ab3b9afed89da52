package job

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestDeltaExportSynapse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		src := newSQLTarget(t, "sqlite")
		b.env["SRC"] = src.dsn
		src.exec(t, "CREATE TABLE orders (id TEXT PRIMARY KEY, amount TEXT, modified INTEGER, gone INTEGER)")
		src.exec(t, "INSERT INTO orders VALUES ('o1', '10.5', 1, 0), ('o2', '3', 2, 0)")
		out := filepath.Join(t.TempDir(), "lake")
		spec := b.define(t, Spec{
			Name:   "orders-export",
			Source: Source{Type: "sql", Driver: "sqlite", DSN: "${SRC}", Query: "SELECT id, amount, modified, gone FROM orders", Watermark: "modified", DeletedColumn: "gone"},
			Mapping: []Mapping{
				{To: "id", Required: true}, {To: "amount", Type: format.TypeDecimal}, {To: "modified", Type: format.TypeInt},
			},
			Key:  []string{"id"},
			Sink: Sink{Type: "file", Path: out, Format: "csv", Layout: "synapse", Name: "orders", Deletes: "flag"},
		})
		run := b.runNow(t, spec.Name, "")
		if run.Status != StatusSucceeded || run.Inserted != 2 || run.WatermarkTo != "2" || !run.Reconciliation.Matched || run.Reconciliation.Method != "read-back" {
			t.Fatalf("first run: %+v %+v", run, run.Reconciliation)
		}
		src.exec(t, "UPDATE orders SET amount = '11', modified = 3 WHERE id = 'o1'")
		src.exec(t, "UPDATE orders SET gone = 1, modified = 4 WHERE id = 'o2'")
		b.clock.Add(61e9)
		run = b.runNow(t, spec.Name, "")
		if run.Status != StatusSucceeded || run.Inserted != 1 || run.Deleted != 1 || run.WatermarkFrom != "2" || run.WatermarkTo != "4" {
			t.Fatalf("delta run: %+v", run)
		}
		folders, _ := filepath.Glob(filepath.Join(out, "*"))
		if len(folders) != 2 {
			t.Fatalf("want two timestamped folders, got %v", folders)
		}
		if hidden, _ := filepath.Glob(filepath.Join(out, ".*")); len(hidden) != 0 {
			t.Fatalf("temporary output left behind: %v", hidden)
		}
		data, err := os.ReadFile(filepath.Join(folders[1], "orders", "orders_"+itoa(run.ID)+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(data); got != "o1,11,3,false\no2,,,true\n" {
			t.Fatalf("delta partition:\n%s", got)
		}
		var model struct {
			Entities []struct {
				Name       string
				Attributes []struct{ Name, DataType string }
			}
		}
		mj, _ := os.ReadFile(filepath.Join(folders[1], "model.json"))
		if err := json.Unmarshal(mj, &model); err != nil || model.Entities[0].Name != "orders" || len(model.Entities[0].Attributes) != 4 ||
			model.Entities[0].Attributes[1].DataType != "decimal" || model.Entities[0].Attributes[3].Name != "IsDelete" {
			t.Fatalf("model.json: %s", mj)
		}
		// A run with nothing new still succeeds and keeps the watermark.
		b.clock.Add(61e9)
		run = b.runNow(t, spec.Name, "")
		if run.Status != StatusSucceeded || run.Read != 0 || run.WatermarkTo != "4" {
			t.Fatalf("empty delta: %+v", run)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestExportParquet(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	src := newSQLTarget(t, "sqlite")
	b.env["SRC"] = src.dsn
	src.exec(t, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, at TEXT)")
	src.exec(t, "INSERT INTO t VALUES (1, 'a', '2026-01-02T03:04:05Z'), (2, 'b', NULL)")
	out := t.TempDir()
	b.define(t, Spec{Name: "pq", Source: Source{Type: "sql", Driver: "sqlite", DSN: "${SRC}", Query: "SELECT * FROM t"},
		Mapping: []Mapping{{To: "id", Type: format.TypeInt}, {To: "name"}, {To: "at", Type: format.TypeDateTime}}, Key: []string{"id"},
		Sink: Sink{Type: "file", Path: out, Format: "parquet"}})
	run := b.runNow(t, "pq", "")
	if run.Status != StatusSucceeded || run.Inserted != 2 || run.Reconciliation.Method != "row-count" || !run.Reconciliation.Matched {
		t.Fatalf("run %+v %+v", run, run.Reconciliation)
	}
	files, _ := filepath.Glob(filepath.Join(out, "pq_*.parquet"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	data, _ := os.ReadFile(files[0])
	type row struct {
		ID   *int64  `parquet:"id"`
		Name *string `parquet:"name"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(data), int64(len(data)))
	if err != nil || len(rows) != 2 || *rows[0].ID != 1 || *rows[1].Name != "b" {
		t.Fatalf("parquet rows %v %v", rows, err)
	}
}
