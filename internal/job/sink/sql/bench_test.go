package sql

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"junction/internal/job/format"
	"junction/internal/job/sink"
	"junction/internal/store/storetest"
)

// BenchmarkPostgresChunks writes 20 chunks of 5,000 new rows into a table
// the sink creates, then the same chunks again (all unchanged), with each
// chunk read by key first or copied first, and reports the CPU a row of
// this process and of the server's backend that served the sink (read from
// /proc: the server must run on this machine), which no other load counts
// in.
func BenchmarkPostgresChunks(b *testing.B) {
	ctx := context.Background()
	plan := sink.Plan{Cols: []format.Column{{Name: "productnumber"}, {Name: "name"}, {Name: "price", Type: format.TypeDecimal},
		{Name: "qty", Type: format.TypeInt}, {Name: "validfrom", Type: format.TypeDate}}, Key: []string{"productnumber"}}
	const chunks, per = 20, 5000
	data := make([][]sink.Row, chunks)
	for c := range data {
		for i := c * per; i < (c+1)*per; i++ {
			price, _ := format.Convert(fmt.Sprintf("%d.%02d", i%1000, i%100), format.TypeDecimal, "")
			day, _ := format.Convert(fmt.Sprintf("2026-%02d-%02d", i%12+1, i%28+1), format.TypeDate, "")
			data[c] = append(data[c], sink.Row{Line: int64(i + 1), Values: map[string]any{"productnumber": fmt.Sprintf("P%09d", i),
				"name": fmt.Sprintf("Product number %d with a longer descriptive name", i), "price": price, "qty": int64(i % 50), "validfrom": day}})
		}
	}
	for _, copyFirst := range []bool{false, true} {
		name := map[bool]string{false: "read-by-key", true: "copy-first"}[copyFirst]
		for _, again := range []bool{false, true} {
			b.Run(name+map[bool]string{false: "/new", true: "/unchanged"}[again], func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					dsn := storetest.NewDatabase(b)
					s, err := Open(ctx, Table{Driver: "postgres", Name: "prices"}, dsn, plan, true)
					if err != nil {
						b.Fatal(err)
					}
					s.uniqueKey = s.uniqueKey && copyFirst
					apply := func(want sink.Counts) {
						for _, chunk := range data {
							c, _, err := s.Apply(ctx, chunk)
							if err != nil || c != want {
								b.Fatalf("%+v, %v", c, err)
							}
						}
					}
					if again {
						apply(sink.Counts{Inserted: per})
					}
					pid := int(s.pg.PgConn().PID())
					b.StartTimer()
					start, cpu0, srv0 := time.Now(), rusage(), backendCPU(b, pid)
					if again {
						apply(sink.Counts{Unchanged: per})
					} else {
						apply(sink.Counts{Inserted: per})
					}
					n := float64(chunks * per)
					b.ReportMetric(n/time.Since(start).Seconds(), "rows/s")
					b.ReportMetric(float64(rusage()-cpu0)/n, "cpu-ns/row")
					b.ReportMetric(float64(backendCPU(b, pid)-srv0)/n, "server-cpu-ns/row")
					s.Abort()
				}
			})
		}
	}
}

// rusage is this process's CPU time so far, in ns.
func rusage() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// backendCPU is the CPU time of the server process pid so far, in ns, from
// /proc (clock ticks of 10 ms).
func backendCPU(b *testing.B, pid int) int64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("the server's backend is not on this machine: %v", err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return (utime + stime) * int64(10*time.Millisecond)
}
