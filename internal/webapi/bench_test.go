package webapi_test

import (
	"fmt"
	"net/url"
	"testing"

	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Benchmarks of the Web API over HTTP against an in-process Junction:
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/webapi
func eachStore(b *testing.B, fn func(b *testing.B, bd *bundle)) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres {
				storetest.RequirePostgres(b)
			}
			fn(b, start(b, d, ""))
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		b.SetParallelism(8) // 16 concurrent clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				r := bd.do("POST", "accounts", map[string]any{"name": fmt.Sprintf("Bench %d", i), "revenue": 10})
				if r.status != 204 {
					b.Fatalf("create: %d %s", r.status, r.body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}

func BenchmarkCreateMultiple1000(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		targets := make([]any, 1000)
		for i := range targets {
			targets[i] = map[string]any{"name": fmt.Sprintf("Bulk %d", i), "revenue": i, "@odata.type": "Microsoft.Dynamics.CRM.account"}
		}
		body := map[string]any{"Targets": targets}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := bd.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", body)
			if r.status != 200 {
				b.Fatalf("CreateMultiple: %d %s", r.status, r.body)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "creates/s")
	})
}

func BenchmarkPointRead(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		var ids []string
		for i := 0; i < 100; i++ {
			ids = append(ids, bd.create("accounts", map[string]any{"name": fmt.Sprintf("Read %d", i)}))
		}
		b.SetParallelism(8) // 16 concurrent clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				r := bd.do("GET", "accounts("+ids[i%len(ids)]+")?$select=name", nil)
				if r.status != 200 {
					b.Fatalf("read: %d", r.status)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}

func BenchmarkFilteredQuery(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		targets := make([]any, 1000)
		for i := range targets {
			targets[i] = map[string]any{"name": fmt.Sprintf("Q %04d", i), "address1_city": []string{"Paris", "Lyon", "Nice", "Lille"}[i%4], "revenue": i}
		}
		bd.mustStatus(bd.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": targets}), 200)
		q := "accounts?" + url.Values{"$select": {"name,revenue"}, "$filter": {"address1_city eq 'paris' and revenue gt 500"}, "$orderby": {"name"}, "$top": {"50"}}.Encode()
		b.SetParallelism(8) // 16 concurrent clients on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := bd.do("GET", q, nil)
				if r.status != 200 {
					b.Fatalf("query: %d %s", r.status, r.body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	})
}

// BenchmarkCreateAsBasicUser creates rows with a lookup as a sender key (Basic
// User): the privilege checks (Create, Append, AppendTo on the contact) on top
// of BenchmarkCreate's work.
func BenchmarkCreateAsBasicUser(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		_, secret, err := bd.app.Keys().Create(b.Context(), "bench", server.RoleSender)
		if err != nil {
			b.Fatal(err)
		}
		contact := bd.create("contacts", map[string]any{"lastname": "Bench"})
		kb := bd.as(b, secret)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				r := kb.do("POST", "accounts", map[string]any{"name": fmt.Sprintf("Bench %d", i), "primarycontactid@odata.bind": "/contacts(" + contact + ")"})
				if r.status != 204 {
					b.Fatalf("create: %d %s", r.status, r.body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}
