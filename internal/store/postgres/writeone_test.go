package postgres_test

import (
	"context"
	"testing"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestWriteOneAfterAColumnChangedType: a write of one statement whose
// prepared statement a column's change of type made stale is refused by
// the server before it runs, so it is run again, once.
func TestWriteOneAfterAColumnChangedType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One connection: the statement prepared on it is the one that goes stale.
	s := storetest.OpenPostgresConns(t, 1)
	exec := func(q string) {
		t.Helper()
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(id string) (code string, err error) {
		err = store.WriteOne(ctx, s, func(tx store.Tx) error {
			return tx.QueryRow(ctx, "INSERT INTO items (id) VALUES (?) RETURNING code", id).Scan(&code)
		})
		return code, err
	}
	exec("CREATE TABLE items (id TEXT PRIMARY KEY, code TEXT NOT NULL DEFAULT 'x')")
	if code, err := insert("a"); err != nil || code != "x" {
		t.Fatalf("first insert: %q, %v", code, err)
	}
	exec("ALTER TABLE items DROP COLUMN code")
	exec("ALTER TABLE items ADD COLUMN code BIGINT NOT NULL DEFAULT 7")
	if code, err := insert("b"); err != nil || code != "7" {
		t.Fatalf("insert after the column changed type: %q, %v", code, err)
	}
	var n int
	if err := s.Read(ctx, func(q store.Querier) error { return q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&n) }); err != nil || n != 2 {
		t.Fatalf("rows: %d, %v; want 2", n, err)
	}
}

// TestRefusedWrites: a statement the server refuses (a duplicate key, a
// value it cannot take) is store.IsRefused, and changed nothing; a write
// that never reached the server, its context ended, is not.
func TestRefusedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.OpenPostgresConns(t, 2)
	insert := func(ctx context.Context, id string) error {
		return store.WriteOne(ctx, s, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO refused (id) VALUES (?)", id)
			return err
		})
	}
	if err := s.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE refused (id TEXT PRIMARY KEY)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := insert(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "nul\x00"} {
		if err := insert(ctx, id); !store.IsRefused(err) {
			t.Errorf("insert %q: %v, want refused", id, err)
		}
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := insert(ended, "b"); err == nil || store.IsRefused(err) {
		t.Errorf("insert with an ended context: %v, want an error that is not a refusal", err)
	}
	var n int
	if err := s.Read(ctx, func(q store.Querier) error { return q.QueryRow(ctx, "SELECT COUNT(*) FROM refused").Scan(&n) }); err != nil || n != 1 {
		t.Fatalf("rows: %d, %v", n, err)
	}
}
