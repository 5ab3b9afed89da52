package changelog_test

import (
	"context"
	"errors"
	"testing"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// shapeCount is how many row shapes s holds.
func shapeCount(t *testing.T, s store.Store) int {
	t.Helper()
	var n int
	err := s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), `SELECT COUNT(*) FROM junction_changes_shapes`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShapesRememberedAfterCommit checks that Shapes.Append leaves out a
// shape only once a committed transaction recorded it: a shape whose insert
// was rolled back is inserted by the next append, and one committed is not
// sent again.
func TestShapesRememberedAfterCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		var shapes changelog.Shapes
		change := changelog.Change{Table: "account", RecordID: "a", Message: changelog.Create,
			Changed: []string{"name"}, After: map[string]any{"name": "A", "shapes_test_column": nil}}
		appendOne := func(fail error) error {
			return s.Tx(ctx, func(tx store.Tx) error {
				if _, err := shapes.Append(ctx, tx, change); err != nil {
					return err
				}
				return fail
			})
		}
		rolledBack := errors.New("rolled back")
		if err := appendOne(rolledBack); !errors.Is(err, rolledBack) {
			t.Fatal(err)
		}
		if err := appendOne(nil); err != nil {
			t.Fatal(err)
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		err := s.Read(ctx, func(q store.Querier) error {
			got, err := changelog.Read(ctx, q, 0, "account", 10)
			if err == nil && (len(got) != 1 || got[0].After["name"] != "A") {
				t.Errorf("read %+v", got)
			}
			return err
		})
		if err != nil {
			t.Fatalf("the change after a rolled-back one lost its shape: %v", err)
		}
		// Committed now, the shape is not sent again by the same Shapes,
		// and is by another (as for another store).
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM junction_changes_shapes`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := appendOne(nil); err != nil {
			t.Fatal(err)
		}
		if n := shapeCount(t, s); n != 0 {
			t.Errorf("a remembered shape was sent again: %d shapes", n)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			var other changelog.Shapes
			_, err := other.Append(ctx, tx, change)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n := shapeCount(t, s); n != 1 {
			t.Errorf("another Shapes did not send the shape: %d shapes", n)
		}
	})
}

// TestShapesStartAgainOnANewConnection: a PostgreSQL server met on a new
// connection may be a standby or a restore that lacks shapes the old one
// held, so Shapes given the store's connection count sends them again once
// the store opened a connection since.
func TestShapesStartAgainOnANewConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One connection: the one this test ends is the store's only one.
	s := storetest.OpenPostgresConns(t, 1)
	if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
		t.Fatal(err)
	}
	shapes := changelog.Shapes{Connects: s.Connects}
	change := changelog.Change{Table: "account", RecordID: "a", Message: changelog.Create,
		Changed: []string{"name"}, After: map[string]any{"name": "A", "reconnect_test_column": nil}}
	appendOne := func() error {
		return s.Tx(ctx, func(tx store.Tx) error {
			_, err := shapes.Append(ctx, tx, change)
			return err
		})
	}
	forget := func() {
		t.Helper()
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM junction_changes_shapes`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	// The database loses the shape; on the same connection Shapes does not
	// send it again.
	forget()
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	if n := shapeCount(t, s); n != 0 {
		t.Fatalf("a remembered shape was sent again on the same connection: %d shapes", n)
	}
	// The server ends the connection; the next one is new.
	before := s.Connects()
	_ = s.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
		return err
	})
	for attempt := 0; ; attempt++ {
		err := appendOne()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("append after the connection ended: %v", err)
		}
	}
	if s.Connects() == before {
		t.Fatal("no new connection was opened")
	}
	if n := shapeCount(t, s); n != 1 {
		t.Errorf("the shape was not sent again on a new connection: %d shapes", n)
	}
}
