package changelog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"junction/internal/store"
)

// ErrCursorMoved reports that a cursor was advanced, or marked lost, by
// someone else since it was read. The caller's transaction should roll back;
// reading the cursor again and retrying handles each change once.
var ErrCursorMoved = errors.New("changelog: the cursor moved since it was read")

// Cursor is a named reader's position in the change log: the position of
// the last change the reader has handled. Every reader that keeps a
// position (the event router's change feed, the workflows' row triggers)
// keeps it here, in one table, so that the log's retention can see how far
// every reader has got (MinPosition).
type Cursor struct {
	Name      string
	Seq       int64     // the last change handled; Next reads after it
	UpdatedAt time.Time // when the cursor was placed or last advanced
	// Lost is set (MarkLost) when the log was trimmed past the cursor, so its
	// reader may have missed changes. A lost cursor does not hold the log back;
	// advancing it acknowledges the loss and clears the flag.
	Lost bool
}

// cursorTable is the migration that creates the cursors' table, and moves
// into it the positions readers kept in tables of their own before: the
// event router's (events_cursors, row "changelog", now "events") and the row
// triggers' (bridge_cursors, same names).
var cursorTable = store.Migration{
	Component: "changelog",
	Version:   3,
	Name:      "reader cursors",
	SQL: `CREATE TABLE junction_changelog_cursors (
		name       TEXT PRIMARY KEY,
		seq        BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		lost       INTEGER NOT NULL DEFAULT 0
	)`,
	Func: func(ctx context.Context, tx store.Tx) error {
		now := store.Micros(time.Now())
		for _, legacy := range []struct{ table, copy string }{
			{"events_cursors", `SELECT 'events', seq, ?, 0 FROM events_cursors WHERE name = 'changelog'`},
			{"bridge_cursors", `SELECT name, seq, ?, 0 FROM bridge_cursors`},
		} {
			ok, err := tableExists(ctx, tx, legacy.table)
			if err != nil || !ok {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO junction_changelog_cursors (name, seq, updated_at, lost) `+legacy.copy, now); err != nil {
				return fmt.Errorf("move the cursors of %s: %w", legacy.table, err)
			}
			if legacy.table == "bridge_cursors" { // events drops its own (events/4)
				if _, err := tx.Exec(ctx, `DROP TABLE bridge_cursors`); err != nil {
					return err
				}
			}
		}
		return nil
	},
}

func tableExists(ctx context.Context, q store.Querier, name string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if q.Dialect() == store.Postgres {
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	err := q.QueryRow(ctx, query, name).Scan(&n)
	return n > 0, err
}

// Head returns the position of the last numbered change in the log, 0 when
// there is none. A reader placed at Head sees every change committed after
// the transaction that read it (and, on PostgreSQL, those committed before
// it that Sequence had not numbered yet).
func Head(ctx context.Context, q store.Querier) (int64, error) {
	var seq int64
	if err := q.QueryRow(ctx, "SELECT COALESCE(MAX("+position(q)+"), 0) FROM junction_changes").Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the change log's head: %w", err)
	}
	return seq, nil
}

// OpenCursor returns the cursor name, placing it at Head when it does not
// exist yet: a new reader sees the changes made from now on.
func OpenCursor(ctx context.Context, tx store.Tx, name string) (*Cursor, error) {
	c, err := GetCursor(ctx, tx, name)
	if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	head, err := Head(ctx, tx)
	if err != nil {
		return nil, err
	}
	return OpenCursorAt(ctx, tx, name, head)
}

// OpenCursorAt returns the cursor name, placing it at seq when it does not
// exist yet (0: the start of the log).
func OpenCursorAt(ctx context.Context, tx store.Tx, name string, seq int64) (*Cursor, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO junction_changelog_cursors (name, seq, updated_at, lost) VALUES (?, ?, ?, 0)
		ON CONFLICT (name) DO NOTHING`, name, seq, store.Micros(time.Now())); err != nil {
		return nil, fmt.Errorf("place cursor %s: %w", name, err)
	}
	return GetCursor(ctx, tx, name)
}

const cursorColumns = "name, seq, updated_at, lost"

func scanCursor(row interface{ Scan(...any) error }) (Cursor, error) {
	var c Cursor
	var at, lost int64
	if err := row.Scan(&c.Name, &c.Seq, &at, &lost); err != nil {
		return Cursor{}, err
	}
	c.UpdatedAt, c.Lost = store.FromMicros(at), lost != 0
	return c, nil
}

// GetCursor reads the cursor name; store.ErrNotFound when there is none.
func GetCursor(ctx context.Context, q store.Querier, name string) (*Cursor, error) {
	c, err := scanCursor(q.QueryRow(ctx, `SELECT `+cursorColumns+` FROM junction_changelog_cursors WHERE name = ?`, name))
	if err != nil {
		return nil, fmt.Errorf("read cursor %s: %w", name, err)
	}
	return &c, nil
}

// Cursors lists every cursor, by name.
func Cursors(ctx context.Context, q store.Querier) ([]Cursor, error) {
	out, err := store.Collect(ctx, q, func(r *sql.Rows) (Cursor, error) { return scanCursor(r) },
		`SELECT `+cursorColumns+` FROM junction_changelog_cursors ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list cursors: %w", err)
	}
	return out, nil
}

// Next returns up to limit changes after the cursor, in position order; table,
// when not empty, restricts them to one table. It does not move the cursor.
func (c *Cursor) Next(ctx context.Context, q store.Querier, table string, limit int) ([]Change, error) {
	return Read(ctx, q, c.Seq, table, limit)
}

// NextHeaders is Next without the row images and the changed columns
// (Before, After and Changed nil), for a reader that needs only which changes
// there were: it reads and decodes much less.
func (c *Cursor) NextHeaders(ctx context.Context, q store.Querier, limit int) ([]Change, error) {
	pos := position(q)
	out, err := store.Collect(ctx, q, scanHeader, `SELECT `+headerColumns(q)+` FROM junction_changes WHERE `+pos+` > ? ORDER BY `+pos+` LIMIT ?`, c.Seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// Advance moves the cursor to seq (the last change handled) in tx, so that
// the move commits with whatever handling the change did in tx. It fails
// with ErrCursorMoved, changing nothing, when the stored cursor is no longer
// what c was read as (another reader advanced it, or it was marked lost), and
// refuses to move back. Advancing clears Lost.
func (c *Cursor) Advance(ctx context.Context, tx store.Tx, seq int64) error {
	if seq < c.Seq {
		return fmt.Errorf("cursor %s: cannot move back from %d to %d", c.Name, c.Seq, seq)
	}
	now := time.Now()
	res, err := tx.Exec(ctx, `UPDATE junction_changelog_cursors SET seq = ?, updated_at = ?, lost = 0
		WHERE name = ? AND seq = ? AND lost = ?`, seq, store.Micros(now), c.Name, c.Seq, boolInt(c.Lost))
	if err != nil {
		return fmt.Errorf("advance cursor %s: %w", c.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("advance cursor %s: %w", c.Name, err)
	} else if n != 1 {
		return fmt.Errorf("advance cursor %s from %d: %w", c.Name, c.Seq, ErrCursorMoved)
	}
	c.Seq, c.UpdatedAt, c.Lost = seq, store.FromMicros(store.Micros(now)), false
	return nil
}

// MarkLost flags the cursor name as lost: the log was (or is about to be)
// trimmed past it. Its reader sees Lost when it next reads the cursor, and
// its Advance from an earlier read fails with ErrCursorMoved. It answers
// store.ErrNotFound when there is no such cursor.
func MarkLost(ctx context.Context, tx store.Tx, name string) error {
	res, err := tx.Exec(ctx, `UPDATE junction_changelog_cursors SET lost = 1 WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("mark cursor %s lost: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark cursor %s lost: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("mark cursor %s lost: %w", name, store.ErrNotFound)
	}
	return nil
}

// MinPosition is how far every reader has got: the smallest position of
// the cursors that are not lost, or Head when there are none. Changes at or
// below it have been handled by every reader that keeps a cursor, so the log
// may be trimmed up to it (and no further).
func MinPosition(ctx context.Context, q store.Querier) (int64, error) {
	var min sql.NullInt64
	if err := q.QueryRow(ctx, `SELECT MIN(seq) FROM junction_changelog_cursors WHERE lost = 0`).Scan(&min); err != nil {
		return 0, fmt.Errorf("read the cursors' minimum: %w", err)
	}
	if min.Valid {
		return min.Int64, nil
	}
	return Head(ctx, q)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
