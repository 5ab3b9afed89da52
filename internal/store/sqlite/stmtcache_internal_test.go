package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"junction/internal/store"
)

// TestStatementCacheBounded: a connection keeps at most Options.Statements
// prepared statements, the most recently used ones, and none when the
// option is negative.
func TestStatementCacheBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct{ option, want int }{{3, 3}, {-1, 0}} {
		s, err := Open(ctx, filepath.Join(t.TempDir(), "bounded.db"), Options{Statements: c.option})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Tx(ctx, func(tx store.Tx) error {
			for i := range 10 {
				var n int
				if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&n); err != nil || n != i {
					return fmt.Errorf("SELECT %d: %d, %v", i, n, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The writer's transaction statements came after: only they stay.
		var cached []string
		conn, err := s.writeDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			cc, ok := dc.(*cachingConn)
			if !ok {
				return nil
			}
			for e := cc.lru.Front(); e != nil; e = e.Next() {
				cached = append(cached, e.Value.(*cachedStmt).query)
			}
			return nil
		})
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(cached) != c.want {
			t.Errorf("Statements %d: %d cached %q, want %d", c.option, len(cached), cached, c.want)
		}
		if c.want > 0 && cached[0] != "COMMIT" {
			t.Errorf("most recently used = %q, want COMMIT", cached[0])
		}
		s.Close()
	}
}
