package broker

import (
	"context"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// sweepLoop runs while this node holds the sweeper lease.
func (b *Broker) sweepLoop(ctx context.Context) {
	t := time.NewTicker(b.sweep)
	defer t.Stop()
	for {
		if _, err := b.Sweep(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("broker sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep does one round of background work: it expires messages whose time to
// live passed (dead-lettering them where the entity says so), forgets
// duplicate-detection history older than its window, removes idle sessions,
// and wakes receivers of entities where scheduled messages became due. It
// returns how many messages expired. The background worker calls it; tests
// call it directly.
func (b *Broker) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := b.expireBatch(ctx, 500)
		total += n
		if err != nil || n < 500 {
			if err != nil {
				return total, err
			}
			break
		}
	}
	now := store.Micros(b.now())
	err := b.s.Tx(ctx, func(tx storage.Tx) error { return tx.Forget(ctx, now) })
	return total, err
}

func (b *Broker) expireBatch(ctx context.Context, limit int) (int, error) {
	n := 0
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		n = 0
		now := b.now()
		rows, err := decodeRows(tx.Expired(ctx, store.Micros(now), limit))
		if err != nil {
			return err
		}
		entities := map[int64]Entity{}
		for _, r := range rows {
			e, ok := entities[r.EntityID]
			if !ok {
				e, err = loadEntityByID(ctx, tx, r.EntityID)
				if err != nil {
					return err
				}
				entities[r.EntityID] = e
			}
			if err := b.expire(ctx, tx, e, r, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
