package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func openTables(tb testing.TB, d store.Dialect) *Tables {
	tb.Helper()
	ctx := context.Background()
	s := storetest.Open(tb, d)
	if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
		tb.Fatal(err)
	}
	rs := records.New(records.Config{Store: s})
	if err := rs.Init(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	return NewTables(rs)
}

// BenchmarkTableSink measures job chunks upserted into account: new rows,
// then the same rows again (all unchanged).
func BenchmarkTableSink(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			ts := openTables(b, d)
			ctx := context.Background()
			const chunk = 1000
			var n int64
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				rows := make([]map[string]any, chunk)
				for r := range rows {
					rows[r] = map[string]any{"accountnumber": fmt.Sprintf("B-%d-%d", i, r), "name": fmt.Sprintf("Account %d", r),
						"revenue": "1000.5", "numberofemployees": int64(r), "creditonhold": r%2 == 0}
				}
				for pass := 0; pass < 2; pass++ {
					c, err := ts.Upsert(ctx, "account", []string{"accountnumber"}, rows)
					if err != nil {
						b.Fatal(err)
					}
					if (pass == 0 && c.Inserted != chunk) || (pass == 1 && c.Unchanged != chunk) {
						b.Fatalf("pass %d: %+v", pass, c)
					}
					n += chunk
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
