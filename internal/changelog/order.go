package changelog

import (
	"context"
	"fmt"

	"junction/internal/store"
)

// How readers on PostgreSQL see the log in an order they can trust while
// writers commit in parallel.
//
// A change's seq is drawn before its transaction commits, so transactions
// commit out of seq order: a reader could see seq 12 while seq 11 is still
// uncommitted and, having moved past 12, never see 11. SQLite has one writer,
// so its seq order is its commit order and nothing below applies to it.
//
// A reader therefore reads only up to its horizon: the highest seq, among the
// changes its snapshot sees, below which no transaction that drew a seq can
// still commit. Three things make that computable without serialising
// writers:
//
//   - A drawer (a transaction appending a change) holds, from just before its
//     first draw until it ends, an advisory lock named by this table and its
//     transaction id, so a reader can tell a drawer from any other running
//     transaction.
//   - Each change records ready: one more than the highest transaction id of
//     any drawer that drew before it (or drew it). junction_changes_draw
//     keeps that maximum in the sequence junction_changes_ready, updated with
//     the draw under an advisory lock held for the draw only (microseconds,
//     released before the function returns, not at commit). A transaction's
//     id may be older than its draw by any amount, which is why the change's
//     own transaction id alone cannot order it.
//   - junction_changes_threshold takes the reader's snapshot and returns the
//     first id that may belong to an unfinished drawer: its xmax (ids from
//     there on are beyond what it knows), or, lower, the first id it lists as
//     running that now holds a drawer lock or has committed since with
//     changes the snapshot does not see. A running transaction without the
//     lock has not drawn yet and will draw above every change the snapshot
//     sees; one that rolled back left nothing. Whether one that committed
//     since drew is read from the changes' drawer column, which READ
//     COMMITTED lets the function see; in a REPEATABLE READ reader it cannot,
//     so such a transaction holds that read's horizon at its id, and the
//     next read (a new snapshot) goes on.
//
// A change whose ready is at most the threshold is safe to read: every
// drawer that drew before it has an id below the threshold, and no such
// drawer was running when the snapshot was taken (it would be listed, and,
// having drawn, hold its lock or have finished since), so the snapshot sees
// every one of their changes that committed. The horizon is the highest seq
// among safe changes (ready grows with seq). A later horizon can be lower,
// when a transaction that had drawn nothing now draws, but its changes come
// above every change an earlier reader saw, so no reader skips one; a reader
// at an earlier horizon simply waits. Transactions that draw nothing,
// however long they run, hold no reader back.
var orderMigration = store.Migration{
	Component: "changelog",
	Version:   7,
	Name:      "ordered without holding a lock until commit",
	Func: func(ctx context.Context, tx store.Tx) error {
		if tx.Dialect() != store.Postgres {
			return nil
		}
		// Changes before this migration were appended under a lock held
		// until commit: they are in commit order, ready from the start.
		_, err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE junction_changes ADD COLUMN ready BIGINT NOT NULL DEFAULT 0,
				ADD COLUMN drawer BIGINT NOT NULL DEFAULT 0;
			ALTER TABLE junction_changes ALTER COLUMN ready DROP DEFAULT, ALTER COLUMN drawer DROP DEFAULT;
			CREATE SEQUENCE junction_changes_ready MINVALUE 0 START 0;
			CREATE FUNCTION junction_changes_drawer(xid BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE
				RETURN ('junction_changes'::regclass::oid::bigint << 32) | (xid & 4294967295);
			CREATE FUNCTION junction_changes_draw(OUT seq BIGINT, OUT ready BIGINT, OUT drawer BIGINT) LANGUAGE plpgsql AS $draw$
			DECLARE
				own BIGINT := pg_current_xact_id()::text::bigint;
			BEGIN
				drawer := own;
				PERFORM pg_advisory_xact_lock(junction_changes_drawer(own));
				PERFORM pg_advisory_lock(%[1]d);
				BEGIN
					seq := nextval('junction_changes_seq_seq');
					SELECT last_value INTO ready FROM junction_changes_ready;
					IF ready <= own THEN
						ready := own + 1;
						PERFORM setval('junction_changes_ready', ready);
					END IF;
				EXCEPTION WHEN OTHERS OR query_canceled THEN
					PERFORM pg_advisory_unlock(%[1]d);
					RAISE;
				END;
				PERFORM pg_advisory_unlock(%[1]d);
			END
			$draw$;
			CREATE FUNCTION junction_changes_threshold(snap pg_snapshot) RETURNS BIGINT LANGUAGE plpgsql AS $threshold$
			DECLARE
				x BIGINT;
				idle BOOLEAN;
				status TEXT;
			BEGIN
				FOR x IN SELECT id::text::bigint FROM pg_snapshot_xip(snap) id ORDER BY 1 LOOP
					-- One expression, so nothing can interrupt between them.
					idle := pg_try_advisory_lock_shared(junction_changes_drawer(x))
						AND pg_advisory_unlock_shared(junction_changes_drawer(x));
					IF NOT idle THEN
						RETURN x;
					END IF;
					-- The lock first, then the status: one that had not drawn
					-- and is still running draws after this check; one that
					-- rolled back left nothing.
					status := pg_xact_status(x::text::xid8);
					CONTINUE WHEN status IN ('in progress', 'aborted');
					-- It committed since the snapshot. In READ COMMITTED this
					-- query sees what it committed: its changes, if any, lie
					-- above the last change whose ready is at most its id.
					CONTINUE WHEN status = 'committed' AND current_setting('transaction_isolation') = 'read committed'
						AND NOT EXISTS (SELECT 1 FROM junction_changes c WHERE c.drawer = x AND c.seq >
							COALESCE((SELECT b.seq FROM junction_changes b WHERE b.ready <= x ORDER BY b.seq DESC LIMIT 1), 0));
					RETURN x;
				END LOOP;
				RETURN pg_snapshot_xmax(snap)::text::bigint;
			END
			$threshold$`, int64(drawLockKey)))
		return err
	},
}

// drawLockKey is the PostgreSQL advisory lock junction_changes_draw holds
// while it draws one change's seq and ready.
const drawLockKey = 7_275_000_003

// insertChange is the statement that appends one change and returns its
// seq; its eleven parameters are the change's columns.
func insertChange(d store.Dialect) string {
	if d == store.Postgres {
		return `INSERT INTO junction_changes
			(seq, ready, drawer, source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace)
			SELECT d.seq, d.ready, d.drawer, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM junction_changes_draw() d RETURNING seq`
	}
	return `INSERT INTO junction_changes
		(source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
}

// horizon is an SQL expression for the highest seq a reader may read up to
// (see above), 0 when there is none; on SQLite, the last change's seq. On
// PostgreSQL it is never below the trim point: retention deletes only
// changes below an earlier horizon, whose drawers have all finished.
func horizon(d store.Dialect) string {
	if d == store.Postgres {
		return `GREATEST(COALESCE((SELECT seq FROM junction_changes
			WHERE ready <= (SELECT junction_changes_threshold(pg_current_snapshot())) ORDER BY seq DESC LIMIT 1), 0),
			(SELECT seq FROM junction_changelog_trim WHERE id = 1))`
	}
	return `(SELECT COALESCE(MAX(seq), 0) FROM junction_changes)`
}
