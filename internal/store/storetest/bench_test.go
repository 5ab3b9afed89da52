package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"junction/internal/store"
)

// The store benchmarks: committed writes per second through the contract, one
// row per transaction from many callers (group commit on SQLite) and 1000 rows
// per transaction, beside the raw ceilings of the same machine measured in the
// same run: fsync rate, plain SQLite inserts, PostgreSQL single-row inserts and
// COPY. Run: go test -run '^$' -bench . ./internal/store/storetest/

var payload = strings.Repeat("x", 1024)

var benchMigration = []store.Migration{{Component: "bench", Version: 1, Name: "rows",
	SQL: "CREATE TABLE rows (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)"}}

func rowsPerSecond(b *testing.B, rows int64) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkStoreTx(b *testing.B) {
	ctx := context.Background()
	for _, d := range Drivers {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/one-row-per-tx/clients=%d", d, clients), func(b *testing.B) {
				s := Open(b, d)
				if err := s.Migrate(ctx, benchMigration); err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				b.SetParallelism((clients + 1) / 2) // RunParallel uses parallelism × GOMAXPROCS goroutines
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id := next.Add(1)
						if err := s.Tx(ctx, func(tx store.Tx) error {
							_, err := tx.Exec(ctx, "INSERT INTO rows (id, payload) VALUES (?, ?)", id, payload)
							return err
						}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				rowsPerSecond(b, int64(b.N))
			})
		}
		b.Run(fmt.Sprintf("%s/1000-rows-per-tx", d), func(b *testing.B) {
			s := Open(b, d)
			if err := s.Migrate(ctx, benchMigration); err != nil {
				b.Fatal(err)
			}
			id := 0
			b.ResetTimer()
			for range b.N {
				if err := s.Tx(ctx, func(tx store.Tx) error {
					for range 1000 {
						id++
						if _, err := tx.Exec(ctx, "INSERT INTO rows (id, payload) VALUES (?, ?)", id, payload); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			rowsPerSecond(b, int64(b.N)*1000)
		})
	}
}

func BenchmarkCeiling(b *testing.B) {
	ctx := context.Background()
	b.Run("fsync-512B", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "f"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 512)
		for range b.N {
			f.Write(buf)
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
	})
	rawSQLite := func(b *testing.B, perTx int) {
		path := filepath.Join(b.TempDir(), "raw.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		db.Exec("CREATE TABLE rows (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
		id := 0
		b.ResetTimer()
		for range b.N {
			tx, _ := db.Begin()
			for range perTx {
				id++
				if _, err := tx.Exec("INSERT INTO rows (id, payload) VALUES (?, ?)", id, payload); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		rowsPerSecond(b, int64(b.N*perTx))
	}
	b.Run("sqlite-raw/one-row-per-tx", func(b *testing.B) { rawSQLite(b, 1) })
	b.Run("sqlite-raw/1000-rows-per-tx", func(b *testing.B) { rawSQLite(b, 1000) })

	// pgConns connects n times to a new schema holding the table rows.
	pgConns := func(b *testing.B, n int) []*pgx.Conn {
		url := RequirePostgres(b)
		schema := NewSchema(b)
		config, err := pgx.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		config.RuntimeParams["search_path"] = schema
		var conns []*pgx.Conn
		for i := range n {
			if i == 0 {
				// The first connection creates the schema, then takes it up.
				config.RuntimeParams["search_path"] = "public"
			}
			conn, err := pgx.ConnectConfig(ctx, config)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { conn.Close(ctx) })
			if i == 0 {
				for _, q := range []string{"CREATE SCHEMA " + schema, "SET search_path = " + schema,
					"CREATE TABLE rows (id BIGINT PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f BIGINT, g BIGINT, h BIGINT, payload TEXT)"} {
					if _, err := conn.Exec(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				config.RuntimeParams["search_path"] = schema
			}
			conns = append(conns, conn)
		}
		return conns
	}
	pgConn := func(b *testing.B) *pgx.Conn { return pgConns(b, 1)[0] }
	b.Run("postgres-raw/insert-autocommit", func(b *testing.B) {
		conn := pgConn(b)
		b.ResetTimer()
		for i := range b.N {
			if _, err := conn.Exec(ctx, "INSERT INTO rows (id, payload) VALUES ($1, $2)", i, payload); err != nil {
				b.Fatal(err)
			}
		}
		rowsPerSecond(b, int64(b.N))
	})
	// The server's own ceiling for durable single-row commits from 16
	// connections at once: each commit waits on a WAL flush, which the server
	// shares among the commits waiting on it (its group commit).
	b.Run("postgres-raw/insert-autocommit/clients=16", func(b *testing.B) {
		conns := pgConns(b, 16)
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for _, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := next.Add(1); id <= int64(b.N); id = next.Add(1) {
					if _, err := conn.Exec(ctx, "INSERT INTO rows (id, payload) VALUES ($1, $2)", id, payload); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		rowsPerSecond(b, int64(b.N))
	})
	b.Run("postgres-raw/copy-10-columns", func(b *testing.B) {
		conn := pgConn(b)
		const chunk = 10000
		rows := make([][]any, chunk)
		id := 0
		b.ResetTimer()
		for range b.N {
			for j := range rows {
				id++
				rows[j] = []any{int64(id), "alpha", "beta", "gamma", "delta", "epsilon", int64(j), int64(j * 2), int64(j * 3), "payload"}
			}
			if _, err := conn.CopyFrom(ctx, pgx.Identifier{"rows"}, []string{"id", "a", "b", "c", "d", "e", "f", "g", "h", "payload"}, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
		}
		rowsPerSecond(b, int64(b.N)*chunk)
	})
}
