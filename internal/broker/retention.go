package broker

import (
	"context"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// PruneDeadLetters deletes up to batch dead-lettered messages that were
// dead-lettered before before, oldest first, and returns how many it deleted.
// A dead letter's age counts from the first call that sees it in a
// dead-letter queue, so it is at most one retention interval late. Settled
// messages need no pruning: completing or receiving a message deletes it.
func (b *Broker) PruneDeadLetters(ctx context.Context, before time.Time, batch int) (int64, error) {
	var n int64
	now := store.Micros(b.now())
	err := b.s.Tx(ctx, func(tx storage.Tx) (err error) {
		// A dead letter a receiver holds locked is left to it until its lock ends.
		n, err = tx.PruneDeadLetters(ctx, store.Micros(before), now, batch)
		return err
	})
	return n, err
}
