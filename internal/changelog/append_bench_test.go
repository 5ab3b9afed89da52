package changelog_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/postgres"
	"junction/internal/store/storetest"
)

// BenchmarkChangelogAppend measures committed record writes per second from
// concurrent writers, each write one transaction that inserts a row and
// appends its change, as the record service does, while a follower numbers
// and reads the log (the time includes numbering the last writes):
//
//	go test -run '^$' -bench ChangelogAppend -benchtime 3s ./internal/changelog/
func BenchmarkChangelogAppend(b *testing.B) {
	ctx := context.Background()
	rows := store.Migration{Component: "bench", Version: 1, Name: "rows",
		SQL: "CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", d, writers), func(b *testing.B) {
				s := storetest.Open(b, d)
				if d == store.Postgres {
					s = openPostgres(b, 16) // the production pool
				}
				if err := s.Migrate(ctx, append(changelog.Migrations(), rows)); err != nil {
					b.Fatal(err)
				}
				// On PostgreSQL a follower numbers and reads the log as the
				// event feed does, so the writes measured are readable ones.
				followCtx, stop := context.WithCancel(ctx)
				followed := make(chan struct{})
				go func() {
					defer close(followed)
					if d == store.Postgres {
						follow(followCtx, b, s)
					}
				}()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							id := next.Add(1)
							if id > int64(b.N) {
								return
							}
							if err := s.Tx(ctx, func(tx store.Tx) error {
								if _, err := tx.Exec(ctx, "INSERT INTO bench_rows (id, name) VALUES (?, ?)", id, "Bench"); err != nil {
									return err
								}
								_, err := changelog.Append(ctx, tx, changelog.Change{Table: "bench_rows", RecordID: fmt.Sprint(id),
									Message: changelog.Create, Changed: []string{"name"}, After: map[string]any{"id": id, "name": "Bench"}})
								return err
							}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				if err := changelog.Sequence(ctx, s); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				b.StopTimer()
				stop()
				<-followed
			})
		}
	}
}

// follow reads the log with a cursor until ctx ends, woken by commits.
func follow(ctx context.Context, b *testing.B, s store.Store) {
	sub := s.Listen(changelog.Channel)
	defer sub.Close()
	for {
		if err := changelog.TrySequence(ctx, s); err != nil && ctx.Err() == nil {
			b.Error(err)
			return
		}
		for {
			n := 0
			err := s.Tx(ctx, func(tx store.Tx) error {
				c, err := changelog.OpenCursorAt(ctx, tx, "bench", 0)
				if err != nil {
					return err
				}
				changes, err := c.NextHeaders(ctx, tx, 200)
				if err != nil || len(changes) == 0 {
					return err
				}
				n = len(changes)
				return c.Advance(ctx, tx, changes[n-1].Seq)
			})
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				b.Error(err)
				return
			}
			if n < 200 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sub.C:
		}
	}
}

// openPostgres opens a PostgreSQL store in a fresh schema with a pool of
// maxConns connections.
func openPostgres(tb testing.TB, maxConns int) store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, storetest.RequirePostgres(tb), postgres.Options{Schema: storetest.NewSchema(tb), MaxConns: maxConns})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
