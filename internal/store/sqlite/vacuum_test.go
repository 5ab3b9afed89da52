package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"junction/internal/store"
	"junction/internal/store/sqlite"
)

func autoVacuum(t *testing.T, q store.Querier) (mode, free int64) {
	t.Helper()
	ctx := context.Background()
	if err := q.QueryRow(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRow(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
		t.Fatal(err)
	}
	return mode, free
}

// TestNewFileIsIncremental: a new file is in incremental auto-vacuum mode
// from its first table, so freed pages can be given back without a rewrite.
func TestNewFileIsIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "new.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Read(ctx, func(q store.Querier) error {
		if mode, _ := autoVacuum(t, q); mode != 2 {
			t.Errorf("auto_vacuum = %d, want 2 (incremental)", mode)
		}
		return nil
	})
}

// TestOldFileIsConvertedOnce: a file made without auto-vacuum is rewritten
// once at open, keeps its rows, and then gives deleted rows' pages back with
// incremental_vacuum.
func TestOldFileIsConvertedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE old (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := raw.Exec("INSERT INTO old VALUES (?)", string(make([]byte, 4000))); err != nil {
			t.Fatal(err)
		}
	}
	var mode int
	raw.QueryRow("PRAGMA auto_vacuum").Scan(&mode)
	raw.Close()
	if mode != 0 {
		t.Fatalf("the old file's auto_vacuum is %d, want 0 for this test", mode)
	}

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows int
	s.Read(ctx, func(q store.Querier) error {
		if mode, _ := autoVacuum(t, q); mode != 2 {
			t.Errorf("auto_vacuum = %d after open, want 2 (incremental)", mode)
		}
		return q.QueryRow(ctx, "SELECT COUNT(*) FROM old").Scan(&rows)
	})
	if rows != 200 {
		t.Fatalf("%d rows after the conversion, want 200", rows)
	}
	if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, "DELETE FROM old"); return err }); err != nil {
		t.Fatal(err)
	}
	var free int64
	s.Read(ctx, func(q store.Querier) error { _, free = autoVacuum(t, q); return nil })
	if free < 100 {
		t.Fatalf("%d free pages after deleting 800 KB, want at least 100", free)
	}
	if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, "PRAGMA incremental_vacuum"); return err }); err != nil {
		t.Fatal(err)
	}
	s.Read(ctx, func(q store.Querier) error { _, free = autoVacuum(t, q); return nil })
	if free != 0 {
		t.Fatalf("%d free pages left after incremental_vacuum, want 0", free)
	}
}
