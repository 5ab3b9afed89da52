package broker

import (
	"context"
	"time"

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
	err := b.s.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM broker_dedupe WHERE expires_at <= ?", now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM broker_sessions WHERE locked_until <= ? AND state IS NULL AND NOT EXISTS
			(SELECT 1 FROM broker_messages m WHERE m.entity_id = broker_sessions.entity_id AND m.session_id = broker_sessions.session_id)`, now)
		return err
	})
	return total, err
}

func (b *Broker) expireBatch(ctx context.Context, limit int) (int, error) {
	n := 0
	err := b.s.Tx(ctx, func(tx store.Tx) error {
		n = 0
		now := b.now()
		nowUS := store.Micros(now)
		rows, err := queryRows(ctx, tx, "SELECT "+messageColumns+` FROM broker_messages
			WHERE expires_at <= ? AND dlq = 0 AND locked_until <= ? ORDER BY expires_at LIMIT ?`+tx.Dialect().SkipLocked(), nowUS, nowUS, limit)
		if err != nil {
			return err
		}
		entities := map[int64]Entity{}
		for _, r := range rows {
			e, ok := entities[r.entityID]
			if !ok {
				e, err = loadEntityByID(ctx, tx, r.entityID)
				if err != nil {
					return err
				}
				entities[r.entityID] = e
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
