package webapi_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"junction/internal/app"
	"junction/internal/store/storetest"
)

// BenchmarkCreateNodes runs single creates, 16 clients at once, against one
// and against two Junction nodes sharing one PostgreSQL schema (the clients
// split evenly between the nodes). All the processes share this machine's
// cores with the server, so the ratio of the two rates is what to read:
//
//	go test -run '^$' -bench BenchmarkCreateNodes -benchtime 3000x ./internal/webapi
func BenchmarkCreateNodes(b *testing.B) {
	url := storetest.RequirePostgres(b)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			schema := storetest.NewSchema(b)
			var nodes []*bundle
			for range n {
				a, err := app.New(context.Background(), app.Config{Listen: "127.0.0.1:0", Data: b.TempDir(), AdminKey: adminKey, Store: url, PostgresSchema: schema})
				if err != nil {
					b.Fatal(err)
				}
				addr, err := a.Start(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { a.Stop(context.Background()) })
				nodes = append(nodes, &bundle{t: b, base: "http://" + addr.String() + "/api/data/v9.2/"})
			}
			var client atomic.Int64
			b.SetParallelism(8) // 16 concurrent clients on 2 cores
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				bd := nodes[int(client.Add(1))%n]
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
}
