package webapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"junction/internal/app"
	"junction/internal/records"
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
	eachStore(b, func(b *testing.B, bd *bundle) { creates(b, func() *bundle { return bd }) })
}

// BenchmarkCreateIntoLargeTable is BenchmarkCreate into a table that holds
// 200,000 accounts already, most of their lookups empty, as a settled org's
// tables are: each index a create writes to is large, and an entry of it at
// a random place (ordered by the new row's random id) is a page of its own.
func BenchmarkCreateIntoLargeTable(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		seedAccounts(b, bd, 200_000)
		analyze(b, bd, "rec_account")
		creates(b, func() *bundle { return bd })
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
		defer reportCPU(b)()
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

// BenchmarkPointReadHandler is BenchmarkPointRead's read served by the
// server's whole handler (middleware, routing, the Web API) called in the
// benchmark's goroutine, one read after another, with no client and no
// connection: the server's own work a read, the steadier figure on a
// shared machine. The service protection limits are off, since it runs more
// reads than they let one caller make.
func BenchmarkPointReadHandler(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			bd := startConfig(b, d, app.Config{WebAPILimits: "off"})
			var ids []string
			for i := 0; i < 100; i++ {
				ids = append(ids, bd.create("accounts", map[string]any{"name": fmt.Sprintf("Read %d", i)}))
			}
			h := bd.app.Server().Handler()
			b.ReportAllocs()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				r := httptest.NewRequest("GET", bd.base+"accounts("+ids[i%len(ids)]+")?$select=name", nil)
				r.Header.Set("Authorization", "Bearer "+adminKey)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("read: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

func BenchmarkFilteredQuery(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		targets := make([]any, 1000)
		for i := range targets {
			targets[i] = map[string]any{"name": fmt.Sprintf("Q %04d", i), "address1_city": []string{"Paris", "Lyon", "Nice", "Lille"}[i%4], "revenue": i}
		}
		bd.mustStatus(bd.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": targets}), 200)
		q := "accounts?" + url.Values{"$select": {"name,revenue"}, "$filter": {"address1_city eq 'paris' and revenue gt 500"}, "$orderby": {"name"}, "$top": {"50"}}.Encode()
		queryInParallel(b, bd, q)
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

// BenchmarkAggregate100k runs aggregate queries over a table of 100,000
// accounts: with $apply, a groupby with count and sum and an aggregate, each
// over the 40,000 rows a filter keeps, and the refusal of a groupby over all
// 100,000 (more than Dataverse's 50,000-row aggregate limit); with FetchXML,
// the same groupby and a year dategrouping over the filtered rows.
func BenchmarkAggregate100k(b *testing.B) {
	fetch := func(x string) string { return "accounts?" + url.Values{"fetchXml": {x}}.Encode() }
	apply := func(x string) string { return "accounts?" + url.Values{"$apply": {x}}.Encode() }
	const filter = `<filter><condition attribute="statecode" operator="eq" value="0"/><condition attribute="numberofemployees" operator="lt" value="40"/></filter>`
	eachStore(b, func(b *testing.B, bd *bundle) {
		seedAccounts(b, bd, 100000)
		for _, q := range []struct {
			name, path string
			status     int
		}{
			{"filter-groupby", apply("filter(statecode eq 0 and numberofemployees lt 40)/groupby((industrycode),aggregate($count as n,revenue with sum as total))"), 200},
			{"filter-aggregate", apply("filter(statecode eq 0 and numberofemployees lt 40)/aggregate(revenue with average as avg,numberofemployees with max as most,name with countdistinct as names)"), 200},
			{"over-limit-refused", apply("groupby((industrycode),aggregate($count as n))"), 400},
			{"fetchxml-groupby", fetch(`<fetch aggregate="true"><entity name="account"><attribute name="industrycode" groupby="true" alias="ind"/>` +
				`<attribute name="accountid" aggregate="count" alias="n"/><attribute name="revenue" aggregate="sum" alias="total"/>` + filter + `</entity></fetch>`), 200},
			{"fetchxml-dategrouping", fetch(`<fetch aggregate="true"><entity name="account"><attribute name="createdon" groupby="true" dategrouping="year" alias="year"/>` +
				`<attribute name="accountid" aggregate="count" alias="n"/>` + filter + `</entity></fetch>`), 200},
		} {
			b.Run(q.name, func(b *testing.B) {
				for b.Loop() {
					if r := bd.do("GET", q.path, nil); r.status != q.status {
						b.Fatalf("%d %s", r.status, r.body)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			})
		}
	})
}

// queryInParallel GETs path from 16 concurrent clients and reports the rate
// and the CPU per query.
func queryInParallel(b *testing.B, bd *bundle, path string) {
	b.SetParallelism(8) // 16 concurrent clients on 2 cores
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := bd.do("GET", path, nil)
			if r.status != 200 {
				b.Fatalf("query: %d %s", r.status, r.body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkQuery35k runs the list query of issue 18 over 35,000 accounts: a
// filter on an unindexed column that keeps 18% of the rows, ordered by the
// primary name, first 20 rows. An index on the primary name serves the order,
// so only the first ~110 rows in name order are read. It runs without
// $select (every column returned) and with $select=name.
func BenchmarkQuery35k(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		seedAccounts(b, bd, 35000)
		analyze(b, bd, "rec_account")
		for _, c := range []struct{ name, sel string }{{"every-column", ""}, {"select-name", "name"}} {
			b.Run(c.name, func(b *testing.B) {
				v := url.Values{"$filter": {"numberofemployees gt 40"}, "$orderby": {"name"}, "$top": {"20"}}
				if c.sel != "" {
					v.Set("$select", c.sel)
				}
				queryInParallel(b, bd, "accounts?"+v.Encode())
			})
		}
	})
}

// seedAccounts inserts n accounts with one SQL statement (creating them
// through the API would take minutes): revenue i%1000, numberofemployees
// i%50, industrycode i%7+1, statecode i%2, createdon and modifiedon i,
// accountnumber AN<i>.
func seedAccounts(tb testing.TB, bd *bundle, n int) {
	tb.Helper()
	id := `'00000000-0000-4000-8000-' || substr('000000000000' || i, -12, 12)`
	if bd.app.Store().Dialect() == store.Postgres {
		id = `'00000000-0000-4000-8000-' || lpad(i::text, 12, '0')`
	}
	err := bd.app.Store().Tx(context.Background(), func(tx store.Tx) error {
		_, err := tx.Exec(context.Background(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO rec_account (accountid, name, accountnumber, revenue, numberofemployees, industrycode, createdon, modifiedon, versionnumber, statecode, statuscode, ownerid)
SELECT `+id+`, 'Account ' || i, 'AN' || i, i % 1000, i % 50, i % 7 + 1, i, i, 1, i % 2, i % 2 + 1, ? FROM n`, n, records.SystemUserID)
		return err
	})

	if err != nil {
		tb.Fatal(err)
	}
}

// analyze refreshes the planner's statistics of tables, as a settled
// database has them (autovacuum on PostgreSQL).
func analyze(tb testing.TB, bd *bundle, tables ...string) {
	tb.Helper()
	err := bd.app.Store().Tx(context.Background(), func(tx store.Tx) error {
		for _, t := range tables {
			if _, err := tx.Exec(context.Background(), "ANALYZE "+t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// reportCPU resets the benchmark's timer and returns a function that
// reports the process's CPU time (user and system) per operation: the
// steadier figure on a shared machine, where wall time is mostly waiting
// for a core or the disk. It counts the in-process clients too, as the
// ceiling's figure does; on PostgreSQL the server's CPU is not in it.
func reportCPU(b *testing.B) func() {
	b.ResetTimer()
	cpu0 := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkHTTPCeiling is what net/http alone answers on this machine, with
// the same client, parallelism and bodies as BenchmarkCreate (a POST of the
// account's JSON, answered 204) and BenchmarkPointRead (a GET answered with
// a row's JSON): the ceiling the Web API's figures are read against.
func BenchmarkHTTPCeiling(b *testing.B) {
	row := []byte(`{"@odata.context":"$metadata#accounts(name)/$entity","@odata.etag":"W/\"1\"","name":"Read 1","accountid":"3f2504e0-4f89-41d3-9a0c-0305e82c3301"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.Header().Set("OData-EntityId", r.URL.String())
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		w.Write(row)
	}))
	b.Cleanup(srv.Close)
	bd := &bundle{t: b, url: srv.URL, base: srv.URL + "/api/data/v9.2/"}
	for _, c := range []struct{ name, method, unit string }{{"post", "POST", "requests/s"}, {"get", "GET", "requests/s"}} {
		b.Run(c.name, func(b *testing.B) {
			bd.t = b
			b.SetParallelism(8)
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					var body any
					if c.method == "POST" {
						body = map[string]any{"name": fmt.Sprintf("Bench %d", i), "revenue": 10}
					}
					r := bd.do(c.method, "accounts", body)
					if r.status >= 300 {
						b.Fatalf("%s: %d", c.method, r.status)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), c.unit)
		})
	}
}

// BenchmarkCreateFloor writes BenchmarkCreate's rows with the store alone,
// in the same store and schema: 16 clients, each committing an account row
// (the columns a create of {"name", "revenue"} writes, copied from one made
// over HTTP) and its change row, with statements of their own and no
// Junction code between them. On SQLite the two inserts share a transaction
// of the store's group commit; on PostgreSQL they are one statement committed
// by itself (one round trip, where a create takes three). What a Web API
// create costs beyond this floor and BenchmarkHTTPCeiling's is Junction's
// own work.
func BenchmarkCreateFloor(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		ctx := context.Background()
		id := bd.create("accounts", map[string]any{"name": "Floor", "revenue": 10})
		st := bd.app.Store()
		var cols []string
		var vals []any
		var change []any
		err := st.Read(ctx, func(q store.Querier) error {
			rows, err := q.Query(ctx, `SELECT * FROM rec_account WHERE accountid = ?`, id)
			if err != nil {
				return err
			}
			names, _ := rows.Columns()
			all := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range all {
				ptrs[i] = &all[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
			}
			rows.Close()
			for i, v := range all {
				if v != nil {
					cols, vals = append(cols, `"`+names[i]+`"`), append(vals, v)
				}
			}
			change = make([]any, 11)
			ptrs = make([]any, len(change))
			for i := range change {
				ptrs[i] = &change[i]
			}
			return q.QueryRow(ctx, `SELECT source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace
				FROM junction_changes WHERE record_id = ?`, id).Scan(ptrs...)
		})
		if err != nil {
			b.Fatal(err)
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
		row := `INSERT INTO rec_account (` + strings.Join(cols, ", ") + `) VALUES (` + marks + `)`
		ch := `INSERT INTO junction_changes (source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		idAt, nameAt := slices.Index(cols, `"accountid"`), slices.Index(cols, `"name"`)
		var n atomic.Int64
		b.SetParallelism(8) // 16 concurrent clients on 2 cores, as BenchmarkCreate
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			args := slices.Clone(vals)
			chArgs := slices.Clone(change)
			for pb.Next() {
				id := records.NewOrderedID()
				args[idAt], args[nameAt], chArgs[2] = id, fmt.Sprintf("Floor %d", n.Add(1)), id
				var err error
				if st.Dialect() == store.Postgres {
					err = store.WriteOne(ctx, st, func(tx store.Tx) error {
						_, err := tx.Exec(ctx, `WITH w AS (`+row+` RETURNING 1) `+ch, append(slices.Clone(args), chArgs...)...)
						return err
					})
				} else {
					err = st.Tx(ctx, func(tx store.Tx) error {
						if _, err := tx.Exec(ctx, row, args...); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, ch, chArgs...)
						return err
					})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}
