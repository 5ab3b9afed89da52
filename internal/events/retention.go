package events

import (
	"context"
	"time"

	"junction/internal/store"
)

// PruneDeadLetters deletes up to batch dead-lettered events that were
// dead-lettered before before, oldest first, and returns how many it
// deleted. (Delivered events need no pruning: a delivery is deleted when it
// succeeds, and an event once no delivery refers to it.)
func (r *Router) PruneDeadLetters(ctx context.Context, before time.Time, batch int) (int64, error) {
	var n int64
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		var err error
		n, err = store.DeleteBatch(ctx, tx, `SELECT id FROM events_deadletters WHERE created_at < ? ORDER BY id LIMIT ?`,
			[]any{store.Micros(before), batch}, "events_deadletters.id")
		return err
	})
	return n, err
}
