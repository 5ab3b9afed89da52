package job

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"junction/internal/job/format"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// genCSV writes n rows of a price list and returns its path.
func genCSV(tb testing.TB, dir string, n int) string {
	p := filepath.Join(dir, "prices.csv")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("productnumber,name,price,qty,validfrom\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "P%09d,Product number %d with a longer descriptive name,%d.%02d,%d,2026-%02d-%02d\n", i, i, i%1000, i%100, i%50, i%12+1, i%28+1)
	}
	w.Flush()
	f.Close()
	return p
}

var benchMapping = []Mapping{
	{To: "productnumber", Required: true, MaxLength: 20}, {To: "name", MaxLength: 100}, {To: "price", Type: format.TypeDecimal},
	{To: "qty", Type: format.TypeInt}, {To: "validfrom", Type: format.TypeDate},
}

func benchImport(b *testing.B, driver string, rows int) {
	s := storetest.Open(b, store.SQLite)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bn := setupB(b, s)
		target := newSQLTargetB(b, driver)
		if driver == "sqlite" {
			target += "?_pragma=journal_mode(WAL)" // as a warehouse file would be configured
		}
		bn.env["W"] = target
		f := genCSV(b, b.TempDir(), rows)
		name := fmt.Sprintf("bench%d", i)
		bn.define(b, Spec{Name: name, Source: Source{Type: "file", Path: "x"}, Mapping: benchMapping, Key: []string{"productnumber"},
			Policy: Policy{OnError: "accept"}, Sink: Sink{Type: "sql", Driver: driver, DSN: "${W}", Table: "prices"}, Chunk: 5000})
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		id, _ := enqueue(context.Background(), s, name, "manual", "", f, time.Now())
		run := drainB(b, bn, id)
		el := time.Since(start)
		if run.Status != StatusSucceeded || run.Inserted != int64(rows) {
			b.Fatalf("run %+v", run)
		}
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows), "cpu-ns/row")
	}
}

// cpuTime is the process's CPU time so far (user and system), in ns: this
// process's own work, whatever else loads the machine. On PostgreSQL the
// server's work is not in it.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkImportCSV imports a generated CSV (mapped, validated, upserted by
// key, reconciled) into a SQL table.
func BenchmarkImportCSV(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) { benchImport(b, driver, 100_000) })
	}
}

// BenchmarkRawSQLiteInsert is the floor: prepared inserts in one transaction.
func BenchmarkRawSQLiteInsert(b *testing.B) {
	const rows = 100_000
	for i := 0; i < b.N; i++ {
		db, _ := sql.Open("sqlite", filepath.Join(b.TempDir(), "raw.db"))
		db.Exec("CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name TEXT, price TEXT, qty INTEGER, validfrom TEXT)")
		start, cpu0 := time.Now(), cpuTime()
		tx, _ := db.Begin()
		st, _ := tx.Prepare("INSERT INTO prices VALUES (?, ?, ?, ?, ?)")
		for j := 0; j < rows; j++ {
			if _, err := st.Exec(fmt.Sprintf("P%09d", j), "Product number with a longer descriptive name", "1.5", j%50, "2026-01-01"); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows), "cpu-ns/row")
		db.Close()
	}
}

// BenchmarkRawPostgresCOPY is PostgreSQL's bulk-load ceiling on this machine.
func BenchmarkRawPostgresCOPY(b *testing.B) {
	const rows = 100_000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dsn := newSQLTargetB(b, "postgres")
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		conn.Exec(ctx, "CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name TEXT, price NUMERIC, qty BIGINT, validfrom DATE)")
		data := make([][]any, rows)
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for j := range data {
			data[j] = []any{fmt.Sprintf("P%09d", j), "Product number with a longer descriptive name", "1.5", int64(j % 50), day}
		}
		start := time.Now()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"prices"}, []string{"productnumber", "name", "price", "qty", "validfrom"}, pgx.CopyFromRows(data)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		conn.Close(ctx)
	}
}

// BenchmarkExport reads a SQLite table and writes CSV files.
func BenchmarkExport(b *testing.B) {
	const rows = 100_000
	s := storetest.Open(b, store.SQLite)
	for _, fm := range []string{"csv", "parquet"} {
		b.Run(fm, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				bn := setupB(b, s)
				src := newSQLTargetB(b, "sqlite")
				db, _ := sql.Open("sqlite", src)
				db.Exec("CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name TEXT, price TEXT, qty INTEGER, validfrom TEXT)")
				tx, _ := db.Begin()
				for j := 0; j < rows; j++ {
					tx.Exec("INSERT INTO prices VALUES (?, ?, ?, ?, ?)", fmt.Sprintf("P%09d", j), "Product", "1.5", j%50, "2026-01-01")
				}
				tx.Commit()
				db.Close()
				bn.env["S"] = src
				name := fmt.Sprintf("export-%s-%d", fm, i)
				bn.define(b, Spec{Name: name, Source: Source{Type: "sql", Driver: "sqlite", DSN: "${S}", Query: "SELECT * FROM prices"},
					Mapping: benchMapping, Key: []string{"productnumber"}, Policy: Policy{OnError: "accept"},
					Sink: Sink{Type: "file", Path: b.TempDir(), Format: fm}})
				b.StartTimer()
				start := time.Now()
				id, _ := enqueue(context.Background(), s, name, "manual", "", "", time.Now())
				run := drainB(b, bn, id)
				if run.Status != StatusSucceeded || run.Inserted != rows {
					b.Fatalf("run %+v", run)
				}
				b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
			}
		})
	}
}

// BenchmarkImportLargeFileMemory imports a generated file of
// JUNCTION_BENCH_MB megabytes (default 200) into SQLite and reports the
// peak Go heap while it runs.
func BenchmarkImportLargeFileMemory(b *testing.B) {
	mb, _ := strconv.Atoi(os.Getenv("JUNCTION_BENCH_MB"))
	if mb <= 0 {
		mb = 200
	}
	rows := mb << 20 / 95 // about 95 bytes a row
	s := storetest.Open(b, store.SQLite)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bn := setupB(b, s)
		target := newSQLTargetB(b, "sqlite")
		bn.env["W"] = target
		f := genCSV(b, b.TempDir(), rows)
		st, _ := os.Stat(f)
		name := fmt.Sprintf("big%d", i)
		bn.define(b, Spec{Name: name, Source: Source{Type: "file", Path: "x"}, Mapping: benchMapping, Key: []string{"productnumber"},
			Policy: Policy{OnError: "accept"}, Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "prices"}, Chunk: 5000})
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		id, _ := enqueue(context.Background(), s, name, "manual", "", f, time.Now())
		run := drainB(b, bn, id)
		el := time.Since(start)
		close(stop)
		wg.Wait()
		if run.Status != StatusSucceeded || run.Inserted != int64(rows) {
			b.Fatalf("run %+v", run)
		}
		b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
	}
}
