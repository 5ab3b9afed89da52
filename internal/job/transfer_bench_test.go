package job_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"junction/internal/cli"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// BenchmarkImportCommand measures `junction import` into a running Junction's
// accounts through its Web API (UpsertMultiple, 4 writers, batches of 100,
// chunks of 1000, read-back reconciliation): new rows, then the same file
// again (every row read and found unchanged), then `junction export` of the
// table to CSV.
func BenchmarkImportCommand(b *testing.B) {
	const rows = 20000
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			o := startOrg(b, d, 0)
			env := func(k string) string { return map[string]string{"JUNCTION_ADMIN_KEY": "k"}[k] }
			run := func(args ...string) {
				var out, errOut bytes.Buffer
				if code := cli.Main(context.Background(), append(args, "--url", o.base), cli.IO{Stdout: &out, Stderr: &errOut, Env: env}); code != 0 {
					b.Fatalf("%v: %d\n%s\n%s", args, code, out.String(), errOut.String())
				}
			}
			var insert, unchanged, export time.Duration
			exported := 0
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				file := filepath.Join(dir, "accounts.csv")
				f, _ := os.Create(file)
				w := bufio.NewWriter(f)
				w.WriteString("accountnumber,name,revenue,numberofemployees,telephone1\n")
				for r := 0; r < rows; r++ {
					fmt.Fprintf(w, "B%d-%06d,Account %d of run %d,%d.50,%d,+44 20 %04d\n", i, r, r, i, r*10, r%500, r%10000)
				}
				w.Flush()
				f.Close()
				t0 := time.Now()
				run("import", file, "--table", "account")
				t1 := time.Now()
				if d == store.Postgres {
					// What autovacuum does after a load (it is off on the test
					// machine's PostgreSQL): without statistics on the key's
					// folded index, reads by key scan the table.
					o.a.Store().Tx(context.Background(), func(tx store.Tx) error {
						_, err := tx.Exec(context.Background(), "ANALYZE")
						return err
					})
					t1 = time.Now()
				}
				run("import", file, "--table", "account")
				t2 := time.Now()
				run("export", "--table", "account", "--to", filepath.Join(dir, "out"), "--select", "accountnumber,name,revenue,numberofemployees,telephone1")
				t3 := time.Now()
				insert, unchanged, export = insert+t1.Sub(t0), unchanged+t2.Sub(t1), export+t3.Sub(t2)
				exported += rows * (i + 1) // every run's accounts so far
			}
			n := float64(rows * b.N)
			b.ReportMetric(n/insert.Seconds(), "insert-rows/s")
			b.ReportMetric(n/unchanged.Seconds(), "unchanged-rows/s")
			b.ReportMetric(float64(exported)/export.Seconds(), "export-rows/s")
		})
	}
}

// BenchmarkTableJob measures a job from a CSV file into Junction's accounts
// (the table sink: each row checked against the table, then upserted through
// the records service in chunks of 1000, read back for reconciliation): new
// rows, then the same rows again, all unchanged.
func BenchmarkTableJob(b *testing.B) {
	const rows = 5000
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			o := startOrg(b, d, 0)
			dir := b.TempDir()
			o.call("PUT", "/admin/v1/jobs/accounts-table", map[string]any{
				"source": map[string]any{"type": "file", "path": dir, "pattern": "*.csv"},
				"mapping": []any{map[string]any{"to": "accountnumber", "required": true}, map[string]any{"to": "name"},
					map[string]any{"to": "revenue", "type": "decimal"}, map[string]any{"to": "numberofemployees", "type": "int"}},
				"key": []string{"accountnumber"}, "policy": map[string]any{"onError": "accept"}, "chunk": 1000,
				"sink": map[string]any{"type": "table", "table": "account"}}, 201)
			write := func(name string, run, pass int) {
				f, _ := os.Create(filepath.Join(dir, name))
				w := bufio.NewWriter(f)
				w.WriteString("accountnumber,name,revenue,numberofemployees,pass\n")
				for r := 0; r < rows; r++ {
					fmt.Fprintf(w, "T%d-%06d,Account %d,%d.50,%d,%d\n", run, r, r, r*10, r%500, pass)
				}
				w.Flush()
				f.Close()
			}
			var insert, unchanged time.Duration
			for i := 0; i < b.N; i++ {
				write(fmt.Sprintf("new-%d.csv", i), i, 1)
				write(fmt.Sprintf("again-%d.csv", i), i, 2)
				t0 := time.Now()
				if r := o.run("accounts-table", map[string]any{"file": fmt.Sprintf("new-%d.csv", i)}); r["inserted"] != float64(rows) {
					b.Fatalf("first run: %v", r)
				}
				t1 := time.Now()
				if r := o.run("accounts-table", map[string]any{"file": fmt.Sprintf("again-%d.csv", i)}); r["unchanged"] != float64(rows) {
					b.Fatalf("second run: %v", r)
				}
				insert, unchanged = insert+t1.Sub(t0), unchanged+time.Since(t1)
			}
			b.ReportMetric(float64(rows*b.N)/insert.Seconds(), "insert-rows/s")
			b.ReportMetric(float64(rows*b.N)/unchanged.Seconds(), "unchanged-rows/s")
		})
	}
}
