package records

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// BenchmarkContactWrites measures creating and updating contacts with the
// columns the platform computes (fullname, the composite address, the
// currency and base values, the owner's user and business unit, createdby,
// modifiedby) against the same table with the computations off. Writes are
// committed 100 to a transaction so that the flush does not hide the cost of
// the work itself.
func BenchmarkContactWrites(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres {
				storetest.RequirePostgres(b)
			}
			ctx := context.Background()
			s := storetest.Open(b, d)
			if err := s.Migrate(ctx, append(changelog.Migrations(), Migrations()...)); err != nil {
				b.Fatal(err)
			}
			rec := New(Config{Store: s})
			if err := rec.Init(ctx, nil); err != nil {
				b.Fatal(err)
			}
			var def Table
			for _, t := range Builtin() {
				if t.Name == "contact" {
					def = t
				}
			}
			def.Name, def.SetName, def.Source, def.SystemRelationships = "benchcontact", "benchcontacts", "", nil
			if _, err := rec.DefineTable(ctx, def); err != nil {
				b.Fatal(err)
			}
			plain, _ := rec.Table("benchcontact")
			plain.noCompute = true
			contact, _ := rec.Table("contact")
			// The computation alone, on the row a create writes: what the
			// platform's columns cost, next to the write around it.
			b.Run("compute-only", func(b *testing.B) {
				cpu0 := cpuTime()
				defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
				err := s.Read(ctx, func(q store.Querier) error {
					i := 0
					for b.Loop() {
						i++
						r, _, err := written(contact, nil, Row{"firstname": "Ann", "middlename": "B", "lastname": fmt.Sprint("Lee", i), "annualincome": 1000.0,
							"address1_line1": "1 Main St", "address1_city": "Seattle", "address1_postalcode": "98052", "emailaddress1": "ann@example.com"}, Caller{})
						if err != nil {
							return err
						}
						if _, err := rec.compute(ctx, q, contact, nil, r, nil, Caller{}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			})
			for _, tc := range []struct {
				name string
				t    *Table
			}{{"computed", contact}, {"plain", plain}} {
				row := func(i int) Row {
					return Row{"firstname": "Ann", "middlename": "B", "lastname": fmt.Sprint("Lee", i), "annualincome": 1000.0 + float64(i),
						"address1_line1": "1 Main St", "address1_city": "Seattle", "address1_postalcode": "98052", "emailaddress1": "ann@example.com"}
				}
				var ids []string
				b.Run("create/"+tc.name, func(b *testing.B) {
					batches(b, s, func(ctx context.Context, tx store.Tx, i int) error {
						r, err := rec.Create(ctx, tx, tc.t, row(i), Caller{})
						if err == nil {
							ids = append(ids, r[tc.t.PrimaryID()].(string))
						}
						return err
					})
				})
				b.Run("update/"+tc.name, func(b *testing.B) {
					batches(b, s, func(ctx context.Context, tx store.Tx, i int) error {
						_, err := rec.Update(ctx, tx, tc.t, ids[i%len(ids)], Row{"lastname": fmt.Sprint("Ng", i), "annualincome": float64(i), "address1_city": "Paris"}, "", Caller{})
						return err
					})
				})
			}
		})
	}
}

// batches runs b.N calls of fn, 100 to a transaction, and reports the
// process's CPU time per call beside the wall time (on a shared machine the
// wall time mostly measures waiting for a core).
func batches(b *testing.B, s store.Store, fn func(ctx context.Context, tx store.Tx, i int) error) {
	ctx := context.Background()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	i := 0
	for i < b.N {
		err := s.Tx(ctx, func(tx store.Tx) error {
			for j := 0; j < 100 && i < b.N; j++ {
				if err := fn(ctx, tx, i); err != nil {
					return err
				}
				i++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user and system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
