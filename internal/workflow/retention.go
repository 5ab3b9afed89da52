package workflow

import (
	"context"
	"time"

	"junction/internal/store"
)

// retentionMigrations index runs by start time, the order retention deletes
// them in (a component of their own, so that they never clash with the
// workflow tables' next version).
var retentionMigrations = []store.Migration{{
	Component: "workflow-retention",
	Version:   1,
	Name:      "runs by start time, for retention",
	SQL:       `CREATE INDEX wf_runs_by_start ON wf_runs (start_time)`,
}}

// PruneRuns deletes up to batch finished runs that started before before,
// with their action records, oldest first, and returns how many runs it
// deleted. As in Logic Apps, a run's age counts from its start; a run still
// running or waiting is kept whatever its age.
func (e *Engine) PruneRuns(ctx context.Context, before time.Time, batch int) (int64, error) {
	if e.opt.Store == nil {
		return 0, nil
	}
	var n int64
	err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		n, err = store.DeleteBatch(ctx, tx, `SELECT id FROM wf_runs WHERE start_time < ? AND status IN (?, ?, ?, ?, ?)
			ORDER BY start_time LIMIT ?`,
			[]any{store.Micros(before), StatusSucceeded, StatusFailed, StatusCancelled, StatusTimedOut, StatusSkipped, batch},
			"wf_actions.run_id", "wf_runs.id")
		return err
	})
	return n, err
}
