package webapi_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
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
			nodes := startNodes(b, n, url, storetest.NewSchema(b))
			var client atomic.Int64
			creates(b, func() *bundle { return nodes[int(client.Add(1))%n] })
		})
	}
}

// startNodes starts n Junction nodes on one PostgreSQL schema and returns a
// bundle for each one's Web API.
func startNodes(tb testing.TB, n int, url, schema string) []*bundle {
	var nodes []*bundle
	for range n {
		_, base := apptest.Start(tb, store.Postgres, func(c *app.Config) { c.AdminKey, c.Store, c.PostgresSchema = adminKey, url, schema })
		nodes = append(nodes, &bundle{t: tb, base: base + "/api/data/v9.2/"})
	}
	return nodes
}

// creates runs b.N single creates from 16 concurrent clients, each client
// sending to the bundle client gives it, and reports creates/s and the
// process's CPU per create.
func creates(b *testing.B, client func() *bundle) {
	b.SetParallelism(8) // 16 concurrent clients on 2 cores
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		bd := client()
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
}
