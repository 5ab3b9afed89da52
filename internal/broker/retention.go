package broker

import (
	"context"
	"time"

	"junction/internal/store"
)

// retentionMigrations keep when each dead letter was first seen dead-lettered,
// the clock of its time to live (a component of their own, so that they
// never clash with the broker tables' next version). The partial index finds
// dead letters without costing active messages anything.
var retentionMigrations = []store.Migration{{
	Component: "broker-retention", Version: 1, Name: "when dead letters were dead-lettered",
	SQL: `CREATE TABLE broker_deadletter_seen (
		message_id BIGINT PRIMARY KEY,
		seen_at    BIGINT NOT NULL
	);
	CREATE INDEX broker_deadletter_seen_at ON broker_deadletter_seen (seen_at);
	CREATE INDEX broker_messages_dead ON broker_messages (id) WHERE dlq = 1`,
}}

// PruneDeadLetters deletes up to batch dead-lettered messages that were
// dead-lettered before before, oldest first, and returns how many it deleted.
// A dead letter's age counts from the first call that sees it in a
// dead-letter queue, so it is at most one retention interval late. Settled
// messages need no pruning: completing or receiving a message deletes it.
func (b *Broker) PruneDeadLetters(ctx context.Context, before time.Time, batch int) (int64, error) {
	var n int64
	now := store.Micros(b.now())
	err := b.s.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM broker_deadletter_seen WHERE NOT EXISTS
			(SELECT 1 FROM broker_messages m WHERE m.id = broker_deadletter_seen.message_id AND m.dlq = 1)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO broker_deadletter_seen (message_id, seen_at)
			SELECT m.id, ? FROM broker_messages m WHERE m.dlq = 1 AND NOT EXISTS
			(SELECT 1 FROM broker_deadletter_seen s WHERE s.message_id = m.id)`, now); err != nil {
			return err
		}
		// A dead letter a receiver holds locked is left to it until its lock ends.
		var err error
		n, err = store.DeleteBatch(ctx, tx, `SELECT s.message_id FROM broker_deadletter_seen s JOIN broker_messages m ON m.id = s.message_id
			WHERE s.seen_at < ? AND m.locked_until <= ? ORDER BY s.seen_at LIMIT ?`,
			[]any{store.Micros(before), now, batch}, "broker_messages.id", "broker_deadletter_seen.message_id")
		return err
	})
	return n, err
}
