package function

import (
	"context"
	"time"

	"junction/internal/store"
)

// retentionMigrations index invocations by start, the order retention
// deletes them in (a component of their own, so that they never clash with
// the function tables' next version).
var retentionMigrations = []store.Migration{{
	Component: "function-retention", Version: 1, Name: "invocations by start, for retention",
	SQL: `CREATE INDEX func_invocations_started ON func_invocations (started_at)`,
}}

// PruneInvocations deletes up to batch invocation records (with their logs)
// that started before before, oldest first, and returns how many it deleted.
func (h *Host) PruneInvocations(ctx context.Context, before time.Time, batch int) (int64, error) {
	if h.opts.Store == nil {
		return 0, nil
	}
	var n int64
	err := h.opts.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		n, err = store.DeleteBatch(ctx, tx, `SELECT id FROM func_invocations WHERE started_at < ? ORDER BY started_at LIMIT ?`,
			[]any{store.Micros(before), batch}, "func_invocations.id")
		return err
	})
	return n, err
}
