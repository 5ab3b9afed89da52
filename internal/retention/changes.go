package retention

import (
	"context"
	"fmt"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
)

// changesName is the change log's name in passes, reports and metrics.
const changesName = "change log"

// pruneChanges trims the change log batch after batch: changes older than
// Settings.Changes that every reader has passed, and changes older than
// Settings.ChangesMax whoever still needs them, marking the readers left
// behind as lost so that they resync.
func (w *Worker) pruneChanges(ctx context.Context, p *Pass, s Settings) {
	if s.Changes <= 0 { // forever
		return
	}
	before := p.Started.Add(-s.Changes.Duration())
	var hardBefore time.Time
	if s.ChangesMax > 0 {
		hardBefore = p.Started.Add(-s.ChangesMax.Duration())
	}
	h := History{Name: changesName, Setting: "changes", Prune: func(ctx context.Context, before time.Time, batch int) (int64, error) {
		// Only numbered changes are pruned: number those committed.
		if err := changelog.Sequence(ctx, w.o.Store); err != nil {
			return 0, err
		}
		var t changelog.Trim
		err := w.o.Store.Tx(ctx, func(tx store.Tx) error {
			var err error
			t, err = changelog.Prune(ctx, tx, before, hardBefore, batch)
			return err
		})
		if err != nil {
			return 0, err
		}
		for _, name := range t.Lost {
			w.m.lost.WithLabelValues(name).Inc()
			w.o.Logger.Warn("retention: a change-log reader stayed behind longer than the hard maximum; its changes were deleted and it resyncs",
				"consumer", name, "max", s.ChangesMax.String(), "trimmed_to", t.UpTo)
		}
		return t.Deleted, nil
	}}
	n, err := w.prune(ctx, h, before, s.Batch)
	p.Deleted[changesName] = n
	w.m.deleted.WithLabelValues(changesName).Add(float64(n))
	if err != nil && ctx.Err() == nil {
		p.Errors = append(p.Errors, fmt.Sprintf("%s: %v", changesName, err))
		w.o.Logger.Warn("retention: prune failed", "history", changesName, "err", err)
	}
	if n > 0 {
		w.o.Logger.Info("retention: pruned", "history", changesName, "deleted", n, "older_than", s.Changes.String())
	}
}

// Consumers lists the change log's readers with how far behind they are,
// for the storage report.
func Consumers(st store.Store) func(ctx context.Context) ([]Consumer, error) {
	return func(ctx context.Context) ([]Consumer, error) {
		var out []Consumer
		err := st.Read(ctx, func(q store.Querier) error {
			head, err := changelog.Head(ctx, q)
			if err != nil {
				return err
			}
			cursors, err := changelog.Cursors(ctx, q)
			if err != nil {
				return err
			}
			out = make([]Consumer, 0, len(cursors))
			for _, c := range cursors {
				var behind int64
				if c.Seq < head {
					if behind, err = changelog.Behind(ctx, q, c.Seq); err != nil {
						return err
					}
				}
				out = append(out, Consumer{Name: c.Name, Position: c.Seq, Behind: behind, Lost: c.Lost})
			}
			return nil
		})
		return out, err
	}
}
