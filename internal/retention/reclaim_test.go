package retention_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/retention"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// blobsTable holds the history of these tests' own: rows with a time.
var blobsTable = store.Migration{Component: "retentiontest", Version: 1, Name: "blobs", SQL: `CREATE TABLE test_blobs (id INTEGER PRIMARY KEY, at BIGINT NOT NULL, data TEXT NOT NULL)`}

// blobs prunes test_blobs, under the workflow runs' setting.
func blobs(st store.Store) retention.History {
	return retention.History{Name: "test blobs", Setting: "workflowRuns", Prune: func(ctx context.Context, before time.Time, batch int) (int64, error) {
		var n int64
		err := st.Tx(ctx, func(tx store.Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM test_blobs WHERE id IN (SELECT id FROM test_blobs WHERE at < ? LIMIT ?)`, store.Micros(before), batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		return n, err
	}}
}

func pragma(t *testing.T, st store.Store, name string) int64 {
	t.Helper()
	var v int64
	if err := st.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "PRAGMA "+name).Scan(&v)
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// A pass on SQLite gives the pages of what it deleted back to the disk: the
// file shrinks by about what the rows took, and no page is left free.
func TestPassGivesSQLitePagesBack(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if err := st.Migrate(ctx, []store.Migration{blobsTable}); err != nil {
		t.Fatal(err)
	}
	old, data := time.Now().Add(-48*time.Hour), strings.Repeat("x", 4096)
	const rows = 4000 // 16 MiB
	if err := st.Tx(ctx, func(tx store.Tx) error {
		for i := range rows {
			at := old
			if i%10 == 0 {
				at = time.Now() // a tenth is young and stays
			}
			if _, err := tx.Exec(ctx, `INSERT INTO test_blobs (id, at, data) VALUES (?, ?, ?)`, i, store.Micros(at), data); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pageSize, before := pragma(t, st, "page_size"), pragma(t, st, "page_count")
	w := retention.New(retention.Options{Store: st, NodeID: "n", Histories: []retention.History{blobs(st)},
		Settings: retention.Settings{WorkflowRuns: retention.Period(24 * time.Hour), Batch: 500}})
	p := w.RunPass(ctx, time.Now())
	if len(p.Errors) > 0 || p.Deleted["test blobs"] != rows*9/10 {
		t.Fatalf("pass: %+v", p)
	}
	after, free := pragma(t, st, "page_count"), pragma(t, st, "freelist_count")
	t.Logf("file %.1f MiB before, %.1f MiB after; %d bytes reclaimed; %d pages free", float64(before*pageSize)/(1<<20), float64(after*pageSize)/(1<<20), p.Reclaimed, free)
	deleted := int64(rows*9/10) * 4096
	if free != 0 || p.Reclaimed < deleted || (before-after)*pageSize < deleted {
		t.Fatalf("the pass deleted %d bytes of rows but the file went from %d to %d pages (%d free), reclaimed %d bytes",
			deleted, before, after, free, p.Reclaimed)
	}
	var left int
	if err := st.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT COUNT(*) FROM test_blobs`).Scan(&left)
	}); err != nil || left != rows/10 {
		t.Fatalf("%d rows left, want %d: %v", left, rows/10, err)
	}
}

// When the store is idle the worker runs a pass before the interval is
// up; the first pass, due at start, is not an idle one.
func TestIdleStoreGetsAnEarlyPass(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			ctx := context.Background()
			if err := st.Migrate(ctx, []store.Migration{blobsTable}); err != nil {
				t.Fatal(err)
			}
			// The worker's clock: moved on by hand, so that the early pass
			// is due (a tenth of the interval since the last) long before the
			// interval is up.
			start := time.Now()
			var offset atomic.Int64
			now := func() time.Time { return start.Add(time.Duration(offset.Load())) }
			w := retention.New(retention.Options{Store: st, NodeID: "n", Histories: []retention.History{blobs(st)}, Now: now, Check: time.Second,
				Settings: retention.Settings{WorkflowRuns: retention.Period(24 * time.Hour), Interval: 24 * time.Hour}})
			if err := w.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Stop(context.Background()) })
			first := waitPass(t, w, nil)
			if first.Idle {
				t.Fatalf("the first pass, due at start, is marked idle: %+v", first)
			}
			// An old row for the idle pass to delete.
			if err := st.Tx(ctx, func(tx store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO test_blobs (id, at, data) VALUES (1, ?, 'x')`, store.Micros(start.Add(-48*time.Hour)))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			offset.Store(int64(3 * time.Hour))
			early := waitPass(t, w, first)
			if !early.Idle || early.Deleted["test blobs"] != 1 {
				t.Fatalf("the pass after three idle hours of a day's interval: %+v", early)
			}
		})
	}
}

// waitPass waits for a pass other than prev.
func waitPass(t *testing.T, w *retention.Worker, prev *retention.Pass) *retention.Pass {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if p := w.Last(); p != nil && p != prev {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pass after a minute (last: %+v)", w.Last())
		}
	}
}
