package workflow

import (
	"context"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestPruneRuns: finished runs that started before the cutoff go with their
// action records, a batch at a time; recent runs and runs still in flight
// stay whatever their age.
func TestPruneRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		clock := &fakeClock{}
		clock.set(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		b := setup(t, s, func(o *Config) { o.Now = clock.now })
		l := b.deploy(t, "old", def(`{"C":{"type":"Compose","inputs":1}}`))
		var old []*Run
		for range 3 {
			old = append(old, b.run(t, l, nil))
		}
		inFlight := b.run(t, l, nil)
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE wf_runs SET status = ? WHERE id = ?", StatusRunning, inFlight.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		clock.advance(48 * time.Hour)
		recent := b.run(t, l, nil)

		cutoff := clock.now().Add(-24 * time.Hour)
		if n, err := b.e.PruneRuns(ctx, cutoff, 2); err != nil || n != 2 {
			t.Fatalf("first batch deleted %d (%v), want 2", n, err)
		}
		if n, err := b.e.PruneRuns(ctx, cutoff, 2); err != nil || n != 1 {
			t.Fatalf("second batch deleted %d (%v), want 1", n, err)
		}
		if n, err := b.e.PruneRuns(ctx, cutoff, 2); err != nil || n != 0 {
			t.Fatalf("third batch deleted %d (%v), want 0", n, err)
		}
		for _, r := range old {
			if _, err := loadRun(ctx, s, r.ID, false); err == nil {
				t.Errorf("run %s survived retention", r.ID)
			}
		}
		var actions int
		s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM wf_actions WHERE run_id IN (?, ?, ?)", old[0].ID, old[1].ID, old[2].ID).Scan(&actions)
		})
		if actions != 0 {
			t.Errorf("%d action records of deleted runs are left", actions)
		}
		if _, err := loadRun(ctx, s, inFlight.ID, false); err != nil {
			t.Errorf("the run in flight was deleted: %v", err)
		}
		if r, err := loadRun(ctx, s, recent.ID, true); err != nil || len(r.Actions) != 1 {
			t.Errorf("the recent run was touched: %v", err)
		}
	})
}
