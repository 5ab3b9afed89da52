package records_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// BenchmarkInit measures creating the full standard set of tables in an empty
// store, and the memory their loaded metadata takes.
func BenchmarkInit(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres && storetest.PostgresURL() == "" {
				b.Skip("no PostgreSQL")
			}
			ctx := context.Background()
			var cpu int64
			defer func() { b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				b.StopTimer()
				s := storetest.Open(b, d)
				if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := processCPU()
				if err := records.New(records.Config{Store: s}).Init(ctx, nil); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - c0
			}
		})
	}
}

// BenchmarkLoadMetadata measures reading the standard tables' definitions
// (what every node does at start and on a schema change) and the heap the
// loaded metadata holds.
func BenchmarkLoadMetadata(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b, store.SQLite)
	if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
		b.Fatal(err)
	}
	if err := records.New(records.Config{Store: s}).Init(ctx, nil); err != nil {
		b.Fatal(err)
	}
	var held uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rec := records.New(records.Config{Store: s})
		if err := rec.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(rec)
	}
	b.ReportMetric(float64(held)/1024, "KiB-held")
}

// processCPU is the process's user and system CPU time, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
