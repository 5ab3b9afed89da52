package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"junction/internal/store"
	"junction/internal/store/sqlite"
)

func openCache(t *testing.T, statements int) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cache.db"), sqlite.Options{Statements: statements})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	err = s.Tx(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Exec(context.Background(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
			return err
		}
		for i := 1; i <= 5; i++ {
			if _, err := tx.Exec(context.Background(), "INSERT INTO t (id, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(ctx context.Context, q store.Querier, query string, args ...any) ([]int64, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
}

// TestStatementNestedQuery: while the rows of a query are open, the same
// SQL text runs again on the same connection (in the writer's transaction
// and in a read transaction); both see every row.
func TestStatementNestedQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openCache(t, 0)
	const q = "SELECT id FROM t WHERE id >= ? ORDER BY id"
	nested := func(qr store.Querier) error {
		rows, err := qr.Query(ctx, q, 1)
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			outer = append(outer, id)
			inner, err := ids(ctx, qr, q, id)
			if err != nil {
				return err
			}
			if want := []int64{1, 2, 3, 4, 5}[id-1:]; !slices.Equal(inner, want) {
				t.Errorf("inner query from %d = %v, want %v", id, inner, want)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !slices.Equal(outer, []int64{1, 2, 3, 4, 5}) {
			t.Errorf("outer query = %v, want 1..5", outer)
		}
		return nil
	}
	for range 2 { // the second time, the statement comes from the cache
		if err := s.Tx(ctx, func(tx store.Tx) error { return nested(tx) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Read(ctx, nested); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatementEvictedWhileOpen: with room for two statements, a query's
// statement is pushed out of the cache by others while its rows are open;
// the rows still read to the end, and the query runs again afterwards.
func TestStatementEvictedWhileOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openCache(t, 2)
	err := s.Tx(ctx, func(tx store.Tx) error {
		for round := range 3 {
			rows, err := tx.Query(ctx, "SELECT id FROM t ORDER BY id")
			if err != nil {
				return err
			}
			var got []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				got = append(got, id)
				// Other statements fill the cache.
				for k := range 3 {
					var v string
					if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT v FROM t WHERE id = ? AND %d = %d", k, k), id).Scan(&v); err != nil {
						return err
					}
					if v != fmt.Sprint("v", id) {
						t.Errorf("v of %d = %q", id, v)
					}
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
				t.Errorf("round %d: %v, want 1..5", round, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatementAfterSchemaChange: a cached SELECT * sees a column added
// after it was prepared, on the readers and on the writer; a statement
// that failed to prepare (no such table) runs once the table exists.
func TestStatementAfterSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openCache(t, 0)
	const q = "SELECT * FROM t WHERE id = ?"
	columns := func(qr store.Querier) ([]string, error) {
		rows, err := qr.Query(ctx, q, 1)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return rows.Columns()
	}
	check := func(want ...string) {
		t.Helper()
		var got []string
		// The pool has several readers: read often enough to reach each.
		for range 8 {
			err := s.Read(ctx, func(qr store.Querier) (err error) {
				got, err = columns(qr)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("read columns = %v, want %v", got, want)
			}
		}
		if err := s.Tx(ctx, func(tx store.Tx) (err error) { got, err = columns(tx); return err }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("writer columns = %v, want %v", got, want)
		}
	}
	check("id", "v")
	if err := s.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "ALTER TABLE t ADD COLUMN w TEXT")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("id", "v", "w")

	const later = "SELECT COUNT(*) FROM later"
	var n int64
	if err := s.Read(ctx, func(qr store.Querier) error { return qr.QueryRow(ctx, later).Scan(&n) }); err == nil {
		t.Fatal("count of a missing table: no error")
	}
	if err := s.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE later (x INTEGER)")
		if err == nil {
			_, err = tx.Exec(ctx, "INSERT INTO later (x) VALUES (1), (2)")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if err := s.Read(ctx, func(qr store.Querier) error { return qr.QueryRow(ctx, later).Scan(&n) }); err != nil || n != 2 {
			t.Fatalf("count = %d, %v; want 2", n, err)
		}
	}
}
