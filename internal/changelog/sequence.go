package changelog

import (
	"context"
	"database/sql"
	"fmt"

	"junction/internal/store"
)

// On SQLite one transaction writes at a time, so the id a change gets on
// insert (seq) is already commit order and serves as its position.
//
// On PostgreSQL writers commit in parallel, and ids drawn before commit are
// not commit order: a reader that has read id 9 could later find id 8,
// committed after it. So a change is inserted with no position (pos NULL)
// and numbered after its commit by a sequencer: a short transaction,
// serialised by an advisory lock held until it commits, that gives the
// committed unnumbered changes increasing positions, in id order. Each
// sequencer starts after the previous one committed and draws its positions
// after it, so positions become visible in increasing order: a reader that
// has seen position n never later finds a smaller one. Readers see only
// numbered changes, and run the sequencer before they read (Sequence), or
// when woken on Channel (TrySequence), so a change is readable promptly
// after its commit. Writers never wait for each other.

// sequencerLockClass is the first key of the sequencer's advisory lock; the
// second is the schema's hash, so that Junctions sharing a database in
// schemas of their own number their logs independently.
const sequencerLockClass = 7_275_002

// sequenceBatch bounds the changes one sequencer transaction numbers.
const sequenceBatch = 10_000

// positionColumn adds the positions on PostgreSQL: existing changes keep
// their id as position (so cursors, delta tokens and job watermarks, which
// hold ids of changes read, stay valid), and new positions start after every
// value one of them can hold.
var positionColumn = store.Migration{
	Component: "changelog",
	Version:   7,
	Name:      "positions",
	Postgres: `ALTER TABLE junction_changes ADD COLUMN pos BIGINT;
		UPDATE junction_changes SET pos = seq;
		CREATE SEQUENCE junction_changes_pos;
		SELECT setval('junction_changes_pos', GREATEST(m, 1), m > 0) FROM (SELECT GREATEST(
			(SELECT COALESCE(MAX(seq), 0) FROM junction_changes),
			(SELECT COALESCE(MAX(seq), 0) FROM junction_changelog_trim),
			(SELECT COALESCE(MAX(seq), 0) FROM junction_changelog_cursors)) AS m) AS top;
		CREATE UNIQUE INDEX junction_changes_position ON junction_changes (pos);
		CREATE INDEX junction_changes_unnumbered ON junction_changes (seq) WHERE pos IS NULL;
		CREATE INDEX junction_changes_table_position ON junction_changes (table_name, pos);
		CREATE INDEX junction_changes_row_position ON junction_changes (table_name, record_id, pos);
		DROP INDEX junction_changes_table;
		DROP INDEX junction_changes_row`,
}

// position is the column that holds a change's position.
func position(q store.Querier) string {
	if q.Dialect() == store.Postgres {
		return "pos"
	}
	return "seq"
}

// number gives the committed unnumbered changes positions, in id order: the
// positions are drawn once per change (a CTE that calls a volatile function
// is materialised) as the changes are read sorted.
const number = `WITH n AS MATERIALIZED (
		SELECT seq, nextval('junction_changes_pos') AS pos FROM (
			SELECT seq FROM junction_changes WHERE pos IS NULL ORDER BY seq LIMIT ? FOR UPDATE) AS o)
	UPDATE junction_changes AS c SET pos = n.pos FROM n WHERE c.seq = n.seq`

// Sequence numbers every change committed before it was called, waiting
// for a sequencer another caller is running. Call it before a read that
// must see them (a delta after the client's own write, a job's run), and
// outside the read's transaction: a snapshot taken before cannot see the
// positions it assigns. On SQLite it does nothing.
func Sequence(ctx context.Context, s store.Store) error { return sequence(ctx, s, true) }

// TrySequence is Sequence for a reader woken on Channel: when another
// caller is already sequencing it returns at once, and that caller notifies
// Channel when it is done, so the reader is woken again.
func TrySequence(ctx context.Context, s store.Store) error { return sequence(ctx, s, false) }

func sequence(ctx context.Context, s store.Store, wait bool) error {
	if s.Dialect() != store.Postgres {
		return nil
	}
	for {
		var numbered int64
		err := s.Tx(ctx, func(tx store.Tx) error {
			numbered = 0
			// NULL: nothing to number; false: another sequencer runs.
			var locked sql.NullBool
			if err := tx.QueryRow(ctx, `SELECT CASE WHEN EXISTS (SELECT 1 FROM junction_changes WHERE pos IS NULL)
				THEN pg_try_advisory_xact_lock(?, hashtext(current_schema())) END`, sequencerLockClass).Scan(&locked); err != nil {
				return err
			}
			if !locked.Valid || (!locked.Bool && !wait) {
				return nil
			}
			if !locked.Bool {
				// The running sequencer may have started before the
				// caller's changes committed: wait for it, then number
				// what it left.
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))`, sequencerLockClass); err != nil {
					return err
				}
			}
			// A statement of its own, so that its snapshot is taken with
			// the lock held: it sees what the previous sequencer numbered.
			res, err := tx.Exec(ctx, number, sequenceBatch)
			if err != nil {
				return err
			}
			// Notified even when this one numbered nothing: a reader that
			// found the lock taken is woken to look again.
			tx.Notify(Channel)
			numbered, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("number the change log: %w", err)
		}
		if numbered < sequenceBatch {
			return nil
		}
	}
}

// PositionOf returns the position of the change Append returned id for,
// numbering it first if it has none yet; store.ErrNotFound when the change
// is not in the log (retention deleted it).
func PositionOf(ctx context.Context, s store.Store, id int64) (int64, error) {
	if err := Sequence(ctx, s); err != nil {
		return 0, err
	}
	var pos int64
	err := s.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT "+position(q)+" FROM junction_changes WHERE seq = ?", id).Scan(&pos)
	})
	if err != nil {
		return 0, fmt.Errorf("read the position of change %d: %w", id, err)
	}
	return pos, nil
}

// Behind counts the changes after position pos, numbered or not: how far a
// reader there is behind.
func Behind(ctx context.Context, q store.Querier, pos int64) (int64, error) {
	col := position(q)
	var n int64
	if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM junction_changes WHERE "+col+" > ? OR "+col+" IS NULL", pos).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the changes after %d: %w", pos, err)
	}
	return n, nil
}
