package job

import (
	"context"
	"time"

	"junction/internal/store"
)

// PruneRuns deletes up to batch finished runs that ended before before, with
// their files (rejects, refused rows), oldest first, and returns how many runs
// it deleted. Queued and running runs stay whatever their age; watermarks
// and schedules are kept apart from runs, so delta exports and schedules go
// on from where they were.
func (s *Service) PruneRuns(ctx context.Context, before time.Time, batch int) (int64, error) {
	var n int64
	err := s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		n, err = store.DeleteBatch(ctx, tx, `SELECT id FROM batch_runs WHERE status IN (?, ?, ?) AND COALESCE(ended_at, created_at) < ? ORDER BY id LIMIT ?`,
			[]any{StatusSucceeded, StatusFailed, StatusRejected, store.Micros(before), batch},
			"batch_run_files.run_id", "batch_runs.id")
		return err
	})
	return n, err
}
