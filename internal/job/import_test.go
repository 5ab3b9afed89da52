package job

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func priceSpec(name string, t sqlTarget, onError string, maxErrors int64) Spec {
	return Spec{
		Name:   name,
		Source: Source{Type: "file", Path: "drop/" + name, Pattern: "*.csv", Read: format.Options{Delimiter: ";", Headers: map[string]string{"Product No": "product"}}},
		Mapping: []Mapping{
			{To: "productnumber", From: "product", Required: true, MaxLength: 8},
			{To: "price", From: "Price", Type: format.TypeDecimal, Required: true},
			{To: "status", From: "Status", Choices: map[string]int64{"Active": 1, "Retired": 2}},
			{To: "validfrom", From: "From", Type: format.TypeDate, Format: "02/01/2006"},
			{To: "categoryid", From: "Category", Type: format.TypeInt, Lookup: &Lookup{Table: "category", Key: "code", Return: "id"}},
			{To: "label", Expr: "concat(toUpper(field('product')), '-', field('Status'))"},
			{To: "source", Const: "nightly"},
		},
		Key:    []string{"productnumber"},
		Policy: Policy{OnError: onError, MaxErrors: maxErrors},
		Sink:   Sink{Type: "sql", Driver: t.driver, DSN: "${WAREHOUSE}", Table: "prices"},
		Chunk:  2,
	}
}

const goodPrices = "Product No;Price;Status;From;Category\n" +
	"p1;1.50;Active;01/02/2026;TOOLS\n" +
	"p2;20;Retired;15/03/2026;TOOLS\n" +
	"p3;0.999;2;;GARDEN\n"

func TestImportCSVIntoSQL(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, s store.Store) {
				b := setup(t, s)
				target := newSQLTarget(t, driver)
				b.env["WAREHOUSE"] = target.dsn
				target.exec(t, "CREATE TABLE category (code VARCHAR(20) PRIMARY KEY, id INTEGER NOT NULL)")
				target.exec(t, "INSERT INTO category (code, id) VALUES (?, ?), (?, ?)", "TOOLS", 7, "GARDEN", 9)
				folder := filepath.Join(b.data, "files", "drop")

				// reject-all: one bad row rejects the file and nothing is applied.
				b.define(t, priceSpec("strict", target, "reject-all", 0))
				bad := goodPrices + "p4;abc;Active;;TOOLS\n" + "p5-too-long;1;Unknown;31/31/2026;NOPE\n"
				f := writeFile(t, filepath.Join(folder, "strict", "prices.csv"), bad)
				run := b.runNow(t, "strict", f)
				if run.Status != StatusRejected || run.Read != 5 || run.Rejected != 2 || run.Inserted != 0 {
					t.Fatalf("strict run: %+v", run)
				}
				if !strings.Contains(run.Error, "reject-all") {
					t.Fatalf("strict error: %q", run.Error)
				}
				rejects, err := runFile(context.Background(), s, run.ID, "rejects.csv")
				if err != nil {
					t.Fatal(err)
				}
				recs, _ := csv.NewReader(strings.NewReader(string(rejects))).ReadAll()
				want := map[string]bool{
					"5|price|\"abc\" is not a decimal number":                                  true,
					"6|productnumber|longer than 8 characters":                                 true,
					"6|status|not one of the choices Active, Retired":                          true,
					"6|validfrom|\"31/31/2026\" does not match the date format \"02/01/2006\"": true,
					"6|categoryid|no category row has code = \"NOPE\"":                         true,
				}
				if len(recs) != len(want)+1 {
					t.Fatalf("rejects:\n%s", rejects)
				}
				for _, r := range recs[1:] {
					if !want[r[0]+"|"+r[1]+"|"+r[2]] {
						t.Errorf("unexpected reject %q", r)
					}
				}
				var n int
				s.Read(context.Background(), func(q store.Querier) error { return nil })
				if got := countTables(t, target, "prices"); got != 0 {
					t.Fatalf("reject-all created or filled the table: %d", got)
				}
				if _, err := filepath.Glob(filepath.Join(folder, "strict", "error", "prices.csv")); err != nil || !exists(filepath.Join(folder, "strict", "error", "prices.csv.report.json")) {
					t.Fatalf("the rejected file was not moved to error/ with a report")
				}
				_ = n

				// accept with a threshold: the good rows are applied.
				b.define(t, priceSpec("lenient", target, "accept", 2))
				f = writeFile(t, filepath.Join(folder, "lenient", "prices.csv"), bad)
				run = b.runNow(t, "lenient", f)
				if run.Status != StatusSucceeded || run.Read != 5 || run.Rejected != 2 || run.Inserted != 3 || !run.HasRejects {
					t.Fatalf("lenient run: %+v", run)
				}
				if rc := run.Reconciliation; rc == nil || !rc.Matched || rc.SourceRows != 3 || rc.TargetRows != 3 || rc.Method != "per-key" {
					t.Fatalf("reconciliation: %+v", run.Reconciliation)
				}
				got := target.rows(t, "SELECT productnumber, price, status, validfrom, categoryid, label, source FROM prices ORDER BY productnumber")
				wantRows := []string{
					"p1|1.5|1|2026-02-01|7|P1-Active|nightly",
					"p2|20|2|2026-03-15|7|P2-Retired|nightly",
					"p3|0.999|2|NULL|9|P3-2|nightly",
				}
				if !sameRows(got, wantRows) {
					t.Fatalf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
				}
				if !exists(filepath.Join(folder, "lenient", "archive", "prices.csv")) {
					t.Fatal("the processed file was not archived")
				}

				// A second file: one changed, one unchanged, one new.
				f = writeFile(t, filepath.Join(folder, "lenient", "prices2.csv"),
					"Product No;Price;Status;From;Category\np1;1.5;Active;01/02/2026;TOOLS\np2;21;Retired;15/03/2026;TOOLS\np9;5;Active;;GARDEN\n")
				run = b.runNow(t, "lenient", f)
				if run.Status != StatusSucceeded || run.Inserted != 1 || run.Updated != 1 || run.Unchanged != 1 || run.Rejected != 0 {
					t.Fatalf("second run: %+v", run)
				}
				if !run.Reconciliation.Matched {
					t.Fatalf("second reconciliation: %+v", run.Reconciliation)
				}
			})
		})
	}
}

func countTables(t *testing.T, target sqlTarget, table string) int {
	t.Helper()
	var q string
	switch target.driver {
	case "sqlite":
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'"
	case "postgres":
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '" + table + "'"
	default:
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '" + table + "'"
	}
	var n int
	if err := target.db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sameRows(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func exists(p string) bool {
	_, err := filepath.Glob(p)
	if err != nil {
		return false
	}
	m, _ := filepath.Glob(p)
	return len(m) == 1
}
