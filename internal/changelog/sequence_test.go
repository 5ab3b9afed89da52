package changelog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestWritersCommitInParallel: a writer whose transaction stays open after
// its append does not hold another writer's commit back, and the change
// committed first is numbered first, whichever appended first.
func TestWritersCommitInParallel(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	b := setupCursors(t, s)
	ctx := context.Background()
	appended, secondDone, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	parallel := make(chan bool, 1) // whether the second writer committed while the first was open
	go func() {
		err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "first", Message: changelog.Create}); err != nil {
				return err
			}
			close(appended)
			select {
			case <-secondDone:
				parallel <- true
				<-release
			case <-time.After(20 * time.Second): // the second writer is stuck behind this one
				parallel <- false
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-appended
	if err := s.Tx(ctx, func(tx store.Tx) error {
		_, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "second", Message: changelog.Create})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	close(secondDone)
	if !<-parallel {
		t.Fatal("the second writer's commit waited for the first writer's transaction")
	}
	// The second change is readable while the first writer is still open.
	reader := b.open("reader", 0)
	got := b.next(reader, "")
	close(release)
	if len(got) != 1 || got[0].RecordID != "second" {
		t.Fatalf("while the first writer is open: %+v, want the second change alone", got)
	}
	waitFor(t, func() bool { return len(b.next(reader, "")) == 2 })
	got = b.next(reader, "")
	if got[0].RecordID != "second" || got[1].RecordID != "first" || got[0].Seq >= got[1].Seq {
		t.Fatalf("numbered %s at %d and %s at %d, want second before first (commit order)", got[0].RecordID, got[0].Seq, got[1].RecordID, got[1].Seq)
	}
}

// waitFor polls cond until it holds, failing the test after a long while.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestSequencedReadersNeverSkip: many writers commit in parallel, their
// transactions of different lengths (some held open, some rolled back),
// while readers follow the log with cursors, each the way one of
// Junction's readers does (in the transaction that advances, or in a
// snapshot of its own before advancing; numbering first and waiting, or
// only when nobody else is). Every reader reads every committed change
// exactly once, in position order, and no change of a rolled-back
// transaction; a transaction committed before another began is numbered
// before it.
func TestSequencedReadersNeverSkip(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	setupCursors(t, s)
	ctx := context.Background()

	type written struct {
		ids        []string
		start, end int64 // ticks: before the transaction began, after it committed
	}
	var tick atomic.Int64
	var mu sync.Mutex
	var committed []written
	rolledBack := map[string]bool{}
	const writers, perWriter = 12, 25
	var writing sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perWriter {
				var ids []string
				rollback := rng.IntN(5) == 0
				hold := time.Duration(rng.IntN(4)) * time.Duration(rng.IntN(15)) * time.Millisecond
				start := tick.Add(1)
				err := s.Tx(ctx, func(tx store.Tx) error {
					ids = ids[:0]
					for k := range 1 + rng.IntN(3) {
						id := fmt.Sprintf("%d-%d-%d", w, i, k)
						if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: id, Message: changelog.Update}); err != nil {
							return err
						}
						ids = append(ids, id)
					}
					time.Sleep(hold)
					if rollback {
						return errRolledBack
					}
					return nil
				})
				end := tick.Add(1)
				mu.Lock()
				switch {
				case errors.Is(err, errRolledBack):
					for _, id := range ids {
						rolledBack[id] = true
					}
				case err != nil:
					t.Error(err)
				default:
					committed = append(committed, written{ids: append([]string(nil), ids...), start: start, end: end})
				}
				mu.Unlock()
			}
		}()
	}
	go func() { writing.Wait(); done.Store(true) }()

	type reader struct {
		name     string
		snapshot bool // reads in a snapshot of its own, then advances
		wait     bool // Sequence rather than TrySequence
	}
	readers := []reader{{"in-tx", false, false}, {"snapshot", true, false}, {"waiting", false, true}, {"snapshot-waiting", true, true}}
	seen := make([][]changelog.Change, len(readers))
	var reading sync.WaitGroup
	for r, rd := range readers {
		reading.Add(1)
		go func() {
			defer reading.Done()
			for {
				finished := done.Load() // read first: an empty batch after it is the end
				number := changelog.TrySequence
				if rd.wait || finished {
					number = changelog.Sequence
				}
				if err := number(ctx, s); err != nil {
					t.Error(err)
					return
				}
				var batch []changelog.Change
				read := func(q store.Querier) error {
					c, err := changelog.GetCursor(ctx, q, rd.name)
					if errors.Is(err, store.ErrNotFound) {
						c = &changelog.Cursor{Name: rd.name}
					} else if err != nil {
						return err
					}
					batch, err = c.Next(ctx, q, "", 1+rand.IntN(9))
					return err
				}
				advance := func(tx store.Tx) error {
					c, err := changelog.OpenCursorAt(ctx, tx, rd.name, 0)
					if err == nil && len(batch) > 0 {
						err = c.Advance(ctx, tx, batch[len(batch)-1].Seq)
					}
					return err
				}
				var err error
				if rd.snapshot {
					if err = s.Read(ctx, read); err == nil {
						err = s.Tx(ctx, advance)
					}
				} else {
					err = s.Tx(ctx, func(tx store.Tx) error {
						if err := read(tx); err != nil {
							return err
						}
						return advance(tx)
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
				seen[r] = append(seen[r], batch...)
				if len(batch) == 0 && finished {
					return
				}
			}
		}()
	}
	reading.Wait()

	want := 0
	for _, w := range committed {
		want += len(w.ids)
	}
	if want == 0 || len(rolledBack) == 0 {
		t.Fatalf("%d changes committed, %d rolled back: the test needs both", want, len(rolledBack))
	}
	pos := map[string]int64{}
	for r, rd := range readers {
		got := map[string]int64{}
		for i, c := range seen[r] {
			if i > 0 && c.Seq <= seen[r][i-1].Seq {
				t.Fatalf("reader %s: position %d after %d", rd.name, c.Seq, seen[r][i-1].Seq)
			}
			if rolledBack[c.RecordID] {
				t.Fatalf("reader %s read %s, appended by a rolled-back transaction", rd.name, c.RecordID)
			}
			if _, dup := got[c.RecordID]; dup {
				t.Fatalf("reader %s read %s twice", rd.name, c.RecordID)
			}
			got[c.RecordID] = c.Seq
		}
		if len(got) != want {
			t.Fatalf("reader %s read %d changes, %d were committed", rd.name, len(got), want)
		}
		for id, p := range got {
			if r > 0 && pos[id] != p {
				t.Fatalf("change %s: reader %s read it at %d, reader %s at %d", id, rd.name, p, readers[0].name, pos[id])
			}
			pos[id] = p
		}
	}
	// Positions follow commit order: a transaction committed before
	// another began has the smaller positions.
	for _, a := range committed {
		for _, b := range committed {
			if a.end < b.start && pos[a.ids[len(a.ids)-1]] >= pos[b.ids[0]] {
				t.Fatalf("%v committed before %v began but is numbered after it", a.ids, b.ids)
			}
		}
	}
	t.Logf("%d changes committed by %d transactions, %d rolled back", want, len(committed), len(rolledBack))
}

var errRolledBack = errors.New("rolled back")

// TestPositionsMigration: changes appended before positions keep their
// sequence numbers as positions, so a cursor placed before stays where it
// was, and a change appended after is numbered after every one of them.
func TestPositionsMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		before := migrationsBefore(7)
		if err := s.Migrate(ctx, before); err != nil {
			t.Fatal(err)
		}
		b := &cursorBundle{t: t, s: s, tx: func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }}
		b.appendN("account", 4)
		if err := b.tx(func(tx store.Tx) error {
			_, err := changelog.OpenCursorAt(ctx, tx, "old", 2)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		b.appendN("contact", 1)
		all := b.next(&changelog.Cursor{}, "")
		if len(all) != 5 {
			t.Fatalf("%d changes, want 5", len(all))
		}
		for i, c := range all[:4] {
			if c.Seq != int64(i+1) {
				t.Fatalf("change %d appended before the migration at position %d", i+1, c.Seq)
			}
		}
		if all[4].Table != "contact" || all[4].Seq <= 4 {
			t.Fatalf("the change appended after the migration: %+v", all[4])
		}
		if got := b.next(b.open("old", -1), ""); len(got) != 3 || got[0].Seq != 3 {
			t.Fatalf("the cursor placed before the migration reads %+v", got)
		}
	})
}
