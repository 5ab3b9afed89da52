package broker

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// Outgoing is messages to send to one queue or topic.
type Outgoing struct {
	Path     string
	Messages []Message
}

// CompleteAndSend completes the locked message s names in the entity at path
// and sends out, in one transaction: what a consumer that forwards its work
// inside Junction needs for exactly-once processing. Either the message is
// gone and every outgoing message is enqueued, or nothing changed and the
// message keeps its lock: on a lost lock, an outgoing entity that does not
// exist, a message over its entity's size limit, or an error of also.
//
// also, when set, writes the caller's own rows in the same store transaction
// (a function invocation's record), so that they commit with the
// settlement; it may run more than once, as the store's transactions may.
func (b *Broker) CompleteAndSend(ctx context.Context, path string, s Settlement, out []Outgoing, also func(tx store.Tx) error) error {
	if err := b.checkSettlement(s); err != nil {
		return err
	}
	for _, o := range out {
		for i := range o.Messages {
			if err := b.validate(&o.Messages[i]); err != nil {
				return fmt.Errorf("message %d for %s: %w", i, o.Path, err)
			}
		}
	}
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		now := b.now()
		_, itemErr, err := b.settleIn(ctx, tx, a, s, opComplete, now)
		if err != nil {
			return err
		}
		if itemErr != nil {
			return itemErr
		}
		for _, o := range out {
			if len(o.Messages) == 0 {
				continue
			}
			if err := b.sendIn(ctx, tx, o.Path, o.Messages, make([]int64, len(o.Messages)), now); err != nil {
				return fmt.Errorf("send to %s: %w", o.Path, err)
			}
		}
		if also == nil {
			return nil
		}
		st := tx.Store()
		if st == nil {
			return errors.New("the broker's storage cannot join other writes to its transactions")
		}
		return also(st)
	})
	if err != nil {
		return fmt.Errorf("complete message in %s and send: %w", path, err)
	}
	return nil
}
