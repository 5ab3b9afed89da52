package changelog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
)

var errRollBack = errors.New("rolled back on purpose")

// setupOrder opens a PostgreSQL store with the change log and a table of rows
// a writer can insert to take its transaction id before it appends.
func setupOrder(t *testing.T, maxConns int) store.Store {
	t.Helper()
	s := openPostgres(t, maxConns)
	if err := s.Migrate(context.Background(), append(changelog.Migrations(), store.Migration{Component: "ordertest", Version: 1, Name: "rows",
		SQL: "CREATE TABLE order_rows (id TEXT PRIMARY KEY)"})); err != nil {
		t.Fatal(err)
	}
	return s
}

// follow reads the log with the cursor "follower", batch changes per
// transaction that advances it, until the log is exhausted after done is
// set, and returns what it read.
func follow(t *testing.T, s store.Store, done *atomic.Bool, batch int) []changelog.Change {
	t.Helper()
	ctx := context.Background()
	var seen []changelog.Change
	for {
		finished := done.Load() // read before the batch: after it, an empty batch at the log's last change is the end
		var got []changelog.Change
		err := s.Tx(ctx, func(tx store.Tx) error {
			c, err := changelog.OpenCursorAt(ctx, tx, "follower", 0)
			if err != nil {
				return err
			}
			if got, err = c.Next(ctx, tx, "", batch); err != nil || len(got) == 0 {
				return err
			}
			return c.Advance(ctx, tx, got[len(got)-1].Seq)
		})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, got...)
		if len(got) == 0 && finished && (len(seen) > 0 && seen[len(seen)-1].Seq == lastSeq(t, s) || len(seen) == 0 && lastSeq(t, s) == 0) {
			return seen
		}
	}
}

// lastSeq is the last change's seq in the table itself, horizon or not.
func lastSeq(t *testing.T, s store.Store) int64 {
	t.Helper()
	var seq int64
	if err := s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT COALESCE(MAX(seq), 0) FROM junction_changes").Scan(&seq)
	}); err != nil {
		t.Fatal(err)
	}
	return seq
}

// headReaches reads Head until it is want: a read may stop short while
// other transactions commit under it, never go past.
func headReaches(t *testing.T, s store.Store, want int64) {
	t.Helper()
	for {
		var seq int64
		if err := s.Read(context.Background(), func(q store.Querier) error {
			var err error
			seq, err = changelog.Head(context.Background(), q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if seq == want {
			return
		}
		if seq > want {
			t.Fatalf("head %d, past %d", seq, want)
		}
	}
}

// TestReaderNeverSkipsConcurrentWriters: on PostgreSQL writers draw seqs and
// commit in any order. Many writers append while a reader follows the log
// with a cursor; some take their transaction id long before they append (a
// record written first), some commit changes drawn long before, some roll
// back, and one transaction that appends nothing stays open throughout. The
// reader must see exactly the committed changes, each once, in seq order.
func TestReaderNeverSkipsConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := setupOrder(t, 40)
	ctx := context.Background()

	// A transaction that holds an id and appends nothing holds no reader back.
	bystander := make(chan struct{})
	var standing sync.WaitGroup
	standing.Add(1)
	go func() {
		defer standing.Done()
		s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO order_rows (id) VALUES ('bystander')"); err != nil {
				t.Error(err)
			}
			<-bystander
			return errRollBack
		})
	}()

	const writers, txPerWriter = 32, 8
	var mu sync.Mutex
	committed := map[string]bool{} // record id → committed
	var writing sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			pause := func() { time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond) }
			for i := range txPerWriter {
				rollBack := r.IntN(5) == 0
				var ids []string
				err := s.Tx(ctx, func(tx store.Tx) error {
					if r.IntN(2) == 0 { // the transaction gets its id long before it draws
						if _, err := tx.Exec(ctx, "INSERT INTO order_rows (id) VALUES (?)", fmt.Sprintf("%d-%d", w, i)); err != nil {
							return err
						}
						pause()
					}
					for k := range 1 + r.IntN(3) {
						id := fmt.Sprintf("%d-%d-%d", w, i, k)
						if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: id, Message: changelog.Update}); err != nil {
							return err
						}
						ids = append(ids, id)
						pause()
					}
					pause()
					if rollBack {
						return errRollBack
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollBack) {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					committed[id] = err == nil
				}
				mu.Unlock()
			}
		}()
	}
	go func() { writing.Wait(); done.Store(true) }()

	seen := follow(t, s, &done, 5)
	close(bystander)
	standing.Wait()

	type row struct {
		Seq      int64
		RecordID string
	}
	var all []row
	if err := s.Read(ctx, func(q store.Querier) error {
		var err error
		all, err = store.Collect(ctx, q, func(r *sql.Rows) (row, error) {
			var c row
			return c, r.Scan(&c.Seq, &c.RecordID)
		}, "SELECT seq, record_id FROM junction_changes ORDER BY seq")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, ok := range committed {
		if ok {
			want++
		}
	}
	if len(all) != want {
		t.Fatalf("the log has %d changes, the writers committed %d", len(all), want)
	}
	if len(seen) != len(all) {
		t.Fatalf("the reader saw %d of %d changes", len(seen), len(all))
	}
	for i := range all {
		if seen[i].Seq != all[i].Seq || seen[i].RecordID != all[i].RecordID {
			t.Fatalf("change %d: the reader saw seq %d (%s) where the log has %d (%s)", i, seen[i].Seq, seen[i].RecordID, all[i].Seq, all[i].RecordID)
		}
		if !committed[all[i].RecordID] {
			t.Fatalf("change %d (%s) was rolled back", all[i].Seq, all[i].RecordID)
		}
	}
}

// TestHorizonHoldsAtAnUnfinishedDrawer: on PostgreSQL, a transaction B takes
// its id after A's, draws seq 1 and stays open; A then draws seq 2 and
// commits. A reader must not read seq 2 (nor place a cursor past seq 1)
// until B ends, though A's id is below every running one.
func TestHorizonHoldsAtAnUnfinishedDrawer(t *testing.T) {
	t.Parallel()
	s := setupOrder(t, 4)
	ctx := context.Background()
	step := func(ch chan struct{}) { ch <- struct{}{} }
	aHasID, bDrew, aDone, bGo, bDone := make(chan struct{}), make(chan struct{}), make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		aDone <- s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO order_rows (id) VALUES ('a')"); err != nil {
				return err
			}
			step(aHasID)
			<-bDrew
			_, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "a", Message: changelog.Create})
			return err
		})
	}()
	go func() {
		<-aHasID
		bDone <- s.Tx(ctx, func(tx store.Tx) error {
			if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "b", Message: changelog.Create}); err != nil {
				return err
			}
			step(bDrew)
			<-bGo
			return nil
		})
	}()
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	read := func() (int64, []changelog.Change) {
		t.Helper()
		var head int64
		var changes []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) error {
			var err error
			if head, err = changelog.Head(ctx, q); err != nil {
				return err
			}
			changes, err = changelog.Read(ctx, q, 0, "", 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return head, changes
	}
	if head, changes := read(); head != 0 || len(changes) != 0 {
		t.Fatalf("with the first drawer open: head %d, changes %v; want 0 and none", head, changes)
	}
	close(bGo)
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	var changes []changelog.Change
	for len(changes) < 2 { // a read can stop short while others commit
		_, changes = read()
	}
	if len(changes) != 2 || changes[0].RecordID != "b" || changes[1].RecordID != "a" {
		t.Fatalf("after both committed: changes %v; want b then a", changes)
	}
}

// TestHorizonNeverBelowTheTrimPoint: a transaction X holds an id, drawing
// nothing, while changes commit and retention trims all but the newest;
// when X then draws, the changes after X's id are no longer safe to read,
// and the horizon stays at the trim point rather than going back to 0 (a
// delta token there would read as expired).
func TestHorizonNeverBelowTheTrimPoint(t *testing.T) {
	t.Parallel()
	s := setupOrder(t, 4)
	ctx := context.Background()
	head := func() int64 {
		t.Helper()
		var seq int64
		if err := s.Read(ctx, func(q store.Querier) error {
			var err error
			seq, err = changelog.Head(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	xHasID, xDraw, xDrew, xEnd, xDone := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		xDone <- s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO order_rows (id) VALUES ('x')"); err != nil {
				return err
			}
			close(xHasID)
			<-xDraw
			if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "x", Message: changelog.Create}); err != nil {
				return err
			}
			close(xDrew)
			<-xEnd
			return nil
		})
	}()
	var endX sync.Once
	end := func() error {
		var err error
		endX.Do(func() {
			select {
			case <-xDraw:
			default:
				close(xDraw)
			}
			close(xEnd)
			err = <-xDone
		})
		return err
	}
	defer end()
	<-xHasID
	for i := range 3 {
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: fmt.Sprint(i), Message: changelog.Create})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	headReaches(t, s, 3)                     // X, drawing nothing, holds no reader back
	for trimmed := int64(0); trimmed != 2; { // a prune trims below Head, which a read can see short
		if err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := changelog.Prune(ctx, tx, time.Now().Add(time.Hour), time.Time{}, 100); err != nil {
				return err
			}
			var err error
			trimmed, err = changelog.Trimmed(ctx, tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if trimmed > 2 {
			t.Fatalf("trimmed up to %d, want 2", trimmed)
		}
	}
	close(xDraw)
	<-xDrew
	if h := head(); h != 2 {
		t.Fatalf("head %d with X drawing, want the trim point 2", h)
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	headReaches(t, s, 4)
}
