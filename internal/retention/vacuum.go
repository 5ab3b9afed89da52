package retention

import (
	"context"
	"strconv"
	"time"

	"junction/internal/store"
)

// vacuumStep is how many free pages one incremental vacuum gives back (4 MiB
// of 4 KiB pages): short enough that the single writer is not held long.
const vacuumStep = 1024

// reclaim gives the SQLite file's free pages back to the disk, a step at a
// time with a rest between steps, and returns how many bytes it gave back.
// It does nothing unless the file is in incremental auto-vacuum mode (the
// driver converts it at open; see docs/operations.md).
func (w *Worker) reclaim(ctx context.Context) (int64, error) {
	var total int64
	for {
		var freed int64
		err := w.o.Store.Tx(ctx, func(tx store.Tx) error {
			var mode, pageSize, before, after int64
			if err := tx.QueryRow(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil || mode != 2 {
				return err
			}
			if err := tx.QueryRow(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, "PRAGMA freelist_count").Scan(&before); err != nil || before == 0 {
				return err
			}
			if _, err := tx.Exec(ctx, "PRAGMA incremental_vacuum("+strconv.Itoa(vacuumStep)+")"); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, "PRAGMA freelist_count").Scan(&after); err != nil {
				return err
			}
			freed = (before - after) * pageSize
			return nil
		})
		total += freed
		if err != nil || freed <= 0 {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(w.o.Pause):
		}
	}
}
