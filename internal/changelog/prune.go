package changelog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"junction/internal/store"
)

// trimTable records how far the log has been trimmed, so that a reader
// whose position is below it (a delta token, a job's watermark) knows it
// missed changes even when it keeps no cursor.
var trimTable = store.Migration{
	Component: "changelog",
	Version:   4,
	Name:      "trim point",
	SQL: `CREATE TABLE junction_changelog_trim (
		id  INTEGER PRIMARY KEY,
		seq BIGINT NOT NULL
	);
	INSERT INTO junction_changelog_trim (id, seq) VALUES (1, 0)`,
}

// Trimmed returns the sequence number of the last change retention deleted
// (0 when it never deleted any). A reader positioned below it has missed
// changes and must resync.
func Trimmed(ctx context.Context, q store.Querier) (int64, error) {
	var seq int64
	if err := q.QueryRow(ctx, "SELECT seq FROM junction_changelog_trim WHERE id = 1").Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the change log's trim point: %w", err)
	}
	return seq, nil
}

// Expired reports whether a reader that has handled the changes up to seq
// missed some because retention deleted them.
func Expired(ctx context.Context, q store.Querier, seq int64) (bool, error) {
	trimmed, err := Trimmed(ctx, q)
	return seq < trimmed, err
}

// Trim is what one Prune did.
type Trim struct {
	Deleted int64    // changes deleted
	UpTo    int64    // the last change deleted (0: none)
	Lost    []string // cursors it left behind, now marked lost
}

// Prune deletes, in tx, up to batch of the oldest changes that retention
// may drop: those committed before before that every cursor has passed,
// and those committed before hardBefore whoever still needs them. Cursors
// below the last change it deletes are marked lost. It never deletes the
// newest change, so Head does not move back. A zero hardBefore sets no hard
// maximum.
func Prune(ctx context.Context, tx store.Tx, before, hardBefore time.Time, batch int) (Trim, error) {
	var t Trim
	head, err := Head(ctx, tx)
	if err != nil {
		return t, err
	}
	min, err := MinPosition(ctx, tx)
	if err != nil {
		return t, err
	}
	type entry struct{ seq, at int64 }
	pos := position(tx)
	oldest, err := store.Collect(ctx, tx, func(r *sql.Rows) (entry, error) {
		var e entry
		return e, r.Scan(&e.seq, &e.at)
	}, `SELECT `+pos+`, at FROM junction_changes WHERE `+pos+` < ? ORDER BY `+pos+` LIMIT ?`, head, batch)
	if err != nil {
		return t, fmt.Errorf("read the oldest changes: %w", err)
	}
	soft, hard := store.Micros(before), int64(0)
	if !hardBefore.IsZero() {
		hard = store.Micros(hardBefore)
	}
	for _, e := range oldest {
		if !(e.at < hard || (e.at < soft && e.seq <= min)) {
			break // the log is trimmed from its start, without holes
		}
		t.UpTo = e.seq
	}
	if t.UpTo == 0 {
		return t, nil
	}
	// Changes not numbered yet are newer than every numbered one: kept.
	res, err := tx.Exec(ctx, "DELETE FROM junction_changes WHERE "+pos+" <= ?", t.UpTo)
	if err != nil {
		return t, fmt.Errorf("delete changes: %w", err)
	}
	if t.Deleted, err = res.RowsAffected(); err != nil {
		return t, fmt.Errorf("delete changes: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE junction_changelog_trim SET seq = ? WHERE id = 1 AND seq < ?", t.UpTo, t.UpTo); err != nil {
		return t, fmt.Errorf("move the trim point: %w", err)
	}
	if t.Lost, err = store.Collect(ctx, tx, func(r *sql.Rows) (string, error) {
		var name string
		return name, r.Scan(&name)
	}, "SELECT name FROM junction_changelog_cursors WHERE seq < ? AND lost = 0 ORDER BY name", t.UpTo); err != nil {
		return t, fmt.Errorf("find the cursors left behind: %w", err)
	}
	for _, name := range t.Lost {
		if err := MarkLost(ctx, tx, name); err != nil {
			return t, err
		}
	}
	return t, nil
}

// SetCursor places the cursor name at seq, creating it or moving it either
// way, and clears Lost: for a reader whose position is kept elsewhere (a
// job's watermark) and mirrored here so retention sees it.
func SetCursor(ctx context.Context, tx store.Tx, name string, seq int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO junction_changelog_cursors (name, seq, updated_at, lost) VALUES (?, ?, ?, 0)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at, lost = 0`,
		name, seq, store.Micros(time.Now())); err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

// DropCursors removes every cursor whose name begins with prefix: the
// readers of something deleted (a workflow's row triggers).
func DropCursors(ctx context.Context, tx store.Tx, prefix string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM junction_changelog_cursors WHERE substr(name, 1, ?) = ?", len(prefix), prefix); err != nil {
		return fmt.Errorf("drop cursors %s*: %w", prefix, err)
	}
	return nil
}

// DropCursor removes the cursor name, if there is one: its reader is gone
// and no longer holds the log back.
func DropCursor(ctx context.Context, tx store.Tx, name string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM junction_changelog_cursors WHERE name = ?", name); err != nil {
		return fmt.Errorf("drop cursor %s: %w", name, err)
	}
	return nil
}
