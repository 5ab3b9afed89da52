package changelog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// cursorBundle is a store with the change log's tables.
type cursorBundle struct {
	t  *testing.T
	s  store.Store
	tx func(fn func(tx store.Tx) error) error
}

func setupCursors(t *testing.T, s store.Store) *cursorBundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
		t.Fatal(err)
	}
	return &cursorBundle{t: t, s: s, tx: func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }}
}

// appendN appends n changes of table in one transaction.
func (b *cursorBundle) appendN(table string, n int) {
	b.t.Helper()
	ctx := context.Background()
	if err := b.tx(func(tx store.Tx) error {
		for i := range n {
			if _, err := changelog.Append(ctx, tx, changelog.Change{Table: table, RecordID: fmt.Sprint(i), Message: changelog.Create}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.t.Fatal(err)
	}
}

// migrationsBefore are the change log's migrations before version.
func migrationsBefore(version int) []store.Migration {
	var out []store.Migration
	for _, m := range changelog.Migrations() {
		if m.Version < version {
			out = append(out, m)
		}
	}
	return out
}

// sequence numbers what was committed, as a reader does before it reads.
func (b *cursorBundle) sequence() {
	b.t.Helper()
	if err := changelog.Sequence(context.Background(), b.s); err != nil {
		b.t.Fatal(err)
	}
}

func (b *cursorBundle) open(name string, at int64) *changelog.Cursor {
	b.t.Helper()
	b.sequence()
	var c *changelog.Cursor
	if err := b.tx(func(tx store.Tx) error {
		var err error
		if at < 0 {
			c, err = changelog.OpenCursor(context.Background(), tx, name)
		} else {
			c, err = changelog.OpenCursorAt(context.Background(), tx, name, at)
		}
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return c
}

func (b *cursorBundle) next(c *changelog.Cursor, table string) []changelog.Change {
	b.t.Helper()
	b.sequence()
	var out []changelog.Change
	if err := b.s.Read(context.Background(), func(q store.Querier) error {
		var err error
		out, err = c.Next(context.Background(), q, table, 1000)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return out
}

func (b *cursorBundle) minPosition() int64 {
	b.t.Helper()
	b.sequence()
	var n int64
	if err := b.s.Read(context.Background(), func(q store.Querier) error {
		var err error
		n, err = changelog.MinPosition(context.Background(), q)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return n
}

func TestCursorPlacedAtHead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupCursors(t, s)
		ctx := context.Background()
		var head int64
		s.Read(ctx, func(q store.Querier) error {
			var err error
			head, err = changelog.Head(ctx, q)
			return err
		})
		if head != 0 {
			t.Fatalf("empty log's head %d", head)
		}
		b.appendN("account", 3)
		c := b.open("late", -1)
		if c.Seq != 3 || c.Lost || c.Name != "late" || c.UpdatedAt.IsZero() {
			t.Fatalf("new cursor %+v, want at the head (3)", c)
		}
		b.appendN("account", 1)
		b.appendN("contact", 1)
		if got := b.next(c, ""); len(got) != 2 || got[0].Seq != 4 || got[1].Seq != 5 {
			t.Fatalf("after the head: %+v", got)
		}
		if got := b.next(c, "contact"); len(got) != 1 || got[0].Table != "contact" {
			t.Fatalf("one table: %+v", got)
		}
		// Opening an existing cursor does not move it to the head.
		if again := b.open("late", -1); again.Seq != 3 {
			t.Fatalf("reopened at %d", again.Seq)
		}
		if again := b.open("late", 0); again.Seq != 3 {
			t.Fatalf("reopened with a position at %d", again.Seq)
		}
		if from := b.open("early", 0); len(b.next(from, "")) != 5 {
			t.Fatal("a cursor at 0 does not read the whole log")
		}
		err := s.Read(ctx, func(q store.Querier) error {
			_, err := changelog.GetCursor(ctx, q, "none")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing cursor: %v", err)
		}
	})
}

// TestCursorReaderNeverSkips: writers append concurrently, some several
// changes per transaction, while one reader follows the log with a cursor,
// advancing it in the transaction that reads; the reader sees every change
// once, in sequence order, with no gap, whatever order the transactions
// commit in.
func TestCursorReaderNeverSkips(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupCursors(t, s)
		ctx := context.Background()
		var writing sync.WaitGroup
		var done atomic.Bool
		for w := range 6 {
			writing.Add(1)
			go func() {
				defer writing.Done()
				for i := range 20 {
					err := s.Tx(ctx, func(tx store.Tx) error {
						for k := range 1 + i%3 {
							if _, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: fmt.Sprintf("%d-%d-%d", w, i, k), Message: changelog.Update}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		go func() { writing.Wait(); done.Store(true) }()
		var seen []int64
		for {
			finished := done.Load() // read before the batch: an empty batch after it means the end
			b.sequence()
			var batch []changelog.Change
			err := s.Tx(ctx, func(tx store.Tx) error {
				c, err := changelog.OpenCursorAt(ctx, tx, "follower", 0)
				if err != nil {
					return err
				}
				if batch, err = c.Next(ctx, tx, "", 7); err != nil || len(batch) == 0 {
					return err
				}
				return c.Advance(ctx, tx, batch[len(batch)-1].Seq)
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range batch {
				seen = append(seen, c.Seq)
			}
			if len(batch) == 0 && finished {
				break
			}
		}
		var all []changelog.Change
		s.Read(ctx, func(q store.Querier) error {
			var err error
			all, err = changelog.Read(ctx, q, 0, "", 10_000)
			return err
		})
		if len(all) != 6*(7*1+7*2+6*3) {
			t.Fatalf("the log has %d changes, want %d", len(all), 6*(7*1+7*2+6*3))
		}
		if len(seen) != len(all) {
			t.Fatalf("the reader saw %d of %d changes", len(seen), len(all))
		}
		for i := range all {
			if seen[i] != all[i].Seq {
				t.Fatalf("change %d: the reader saw seq %d where the log has %d", i, seen[i], all[i].Seq)
			}
		}
	})
}

// TestCursorConcurrentConsumers: several consumers share one cursor and
// handle changes in the transaction that advances it; the cursor's check
// makes each change handled exactly once, though consumers read the same
// position at the same time.
func TestCursorConcurrentConsumers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupCursors(t, s)
		ctx := context.Background()
		if err := s.Migrate(ctx, []store.Migration{{Component: "cursortest", Version: 1, Name: "handled",
			SQL: "CREATE TABLE handled (seq BIGINT NOT NULL)"}}); err != nil {
			t.Fatal(err)
		}
		const total = 120
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total / 4 {
				b.appendN("account", 4)
			}
		}()
		var moved atomic.Int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := changelog.TrySequence(ctx, s); err != nil {
						t.Error(err)
						return
					}
					var handled int64
					err := s.Tx(ctx, func(tx store.Tx) error {
						c, err := changelog.OpenCursorAt(ctx, tx, "shared", 0)
						if err != nil {
							return err
						}
						batch, err := c.Next(ctx, tx, "", 5)
						if err != nil || len(batch) == 0 {
							handled = c.Seq
							return err
						}
						for _, ch := range batch {
							if _, err := tx.Exec(ctx, "INSERT INTO handled (seq) VALUES (?)", ch.Seq); err != nil {
								return err
							}
						}
						handled = batch[len(batch)-1].Seq
						return c.Advance(ctx, tx, handled)
					})
					if errors.Is(err, changelog.ErrCursorMoved) {
						moved.Add(1)
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					if handled == total {
						return
					}
				}
			}()
		}
		wg.Wait()
		var n, distinct int64
		s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*), COUNT(DISTINCT seq) FROM handled").Scan(&n, &distinct)
		})
		if n != total || distinct != total {
			t.Fatalf("handled %d changes (%d distinct), want each of %d once", n, distinct, total)
		}
		t.Logf("%d advances refused as moved", moved.Load())
	})
}

func TestCursorLostAndMinPosition(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupCursors(t, s)
		ctx := context.Background()
		b.appendN("account", 6)
		if got := b.minPosition(); got != 6 {
			t.Fatalf("no cursors: minimum %d, want the head 6", got)
		}
		slow, fast := b.open("slow", 2), b.open("fast", 5)
		if got := b.minPosition(); got != 2 {
			t.Fatalf("minimum %d, want 2", got)
		}
		if err := b.tx(func(tx store.Tx) error { return changelog.MarkLost(ctx, tx, "slow") }); err != nil {
			t.Fatal(err)
		}
		if got := b.minPosition(); got != 5 {
			t.Fatalf("with slow lost: minimum %d, want 5", got)
		}
		// The reader's earlier view is stale: its advance is refused, and
		// reading the cursor again shows the loss.
		err := b.tx(func(tx store.Tx) error { return slow.Advance(ctx, tx, 3) })
		if !errors.Is(err, changelog.ErrCursorMoved) {
			t.Fatalf("advance of a cursor marked lost since: %v", err)
		}
		slow = b.open("slow", -1)
		if !slow.Lost || slow.Seq != 2 {
			t.Fatalf("reread: %+v", slow)
		}
		var listed []changelog.Cursor
		s.Read(ctx, func(q store.Querier) error {
			var err error
			listed, err = changelog.Cursors(ctx, q)
			return err
		})
		if len(listed) != 2 || listed[0].Name != "fast" || listed[1].Name != "slow" || !listed[1].Lost || listed[0].Lost {
			t.Fatalf("cursors: %+v", listed)
		}
		// Advancing acknowledges the loss.
		if err := b.tx(func(tx store.Tx) error { return slow.Advance(ctx, tx, 4) }); err != nil {
			t.Fatal(err)
		}
		if slow.Lost || slow.Seq != 4 || b.open("slow", -1).Lost {
			t.Fatalf("after advancing: %+v", slow)
		}
		if got := b.minPosition(); got != 4 {
			t.Fatalf("minimum %d, want 4", got)
		}
		// A second advance from the same view moves on; a stale copy is refused.
		stale := *fast
		if err := b.tx(func(tx store.Tx) error { return fast.Advance(ctx, tx, 6) }); err != nil {
			t.Fatal(err)
		}
		if err := b.tx(func(tx store.Tx) error { return stale.Advance(ctx, tx, 6) }); !errors.Is(err, changelog.ErrCursorMoved) {
			t.Fatalf("stale advance: %v", err)
		}
		if err := b.tx(func(tx store.Tx) error { return fast.Advance(ctx, tx, 1) }); err == nil {
			t.Fatal("a cursor moved back")
		}
		if err := b.tx(func(tx store.Tx) error { return changelog.MarkLost(ctx, tx, "none") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("mark a missing cursor: %v", err)
		}
		// A rolled-back advance leaves the cursor where it was.
		_ = b.tx(func(tx store.Tx) error {
			if err := fast.Advance(ctx, tx, 6); err != nil {
				return err
			}
			return errors.New("rolled back")
		})
		if got := b.open("fast", -1); got.Seq != 6 {
			t.Fatalf("after a rollback: %d", got.Seq)
		}
	})
}

// TestCursorsMoveFromReadersTables: the positions the event router and the
// row triggers kept in tables of their own move into the cursors' table.
func TestCursorsMoveFromReadersTables(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		before := migrationsBefore(3)
		if err := s.Migrate(ctx, append(before, store.Migration{Component: "legacy", Version: 1, Name: "readers' cursors",
			SQL: `CREATE TABLE events_cursors (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
				CREATE TABLE bridge_cursors (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
				INSERT INTO events_cursors (name, seq) VALUES ('changelog', 41);
				INSERT INTO bridge_cursors (name, seq) VALUES ('rowtrigger:phone-sync/When_a_row_is_modified', 17)`})); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		var got []changelog.Cursor
		s.Read(ctx, func(q store.Querier) error {
			var err error
			got, err = changelog.Cursors(ctx, q)
			return err
		})
		if len(got) != 2 || got[0].Name != "events" || got[0].Seq != 41 || got[1].Name != "rowtrigger:phone-sync/When_a_row_is_modified" || got[1].Seq != 17 {
			t.Fatalf("moved cursors: %+v", got)
		}
		err := s.Read(ctx, func(q store.Querier) error {
			_, err := q.Exec(ctx, "SELECT 1 FROM bridge_cursors")
			return err
		})
		if err == nil {
			t.Fatal("bridge_cursors is still there")
		}
	})
}

// TestNextHeaders checks that a cursor's headers are its changes without
// their images and changed columns.
func TestNextHeaders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupCursors(t, s)
		ctx := context.Background()
		if err := b.tx(func(tx store.Tx) error {
			_, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "a1", Message: changelog.Update,
				Changed: []string{"name"}, Before: map[string]any{"name": "A"}, After: map[string]any{"name": "B"},
				CorrelationID: "c1", UserID: "u1", Trace: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c := b.open("headers", 0)
		full := b.next(c, "")
		var heads []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) error {
			var err error
			heads, err = c.NextHeaders(ctx, q, 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(full) != 1 || len(heads) != 1 {
			t.Fatalf("changes %+v, headers %+v", full, heads)
		}
		want := full[0]
		want.Changed, want.Before, want.After = nil, nil, nil
		if got := heads[0]; fmt.Sprint(got) != fmt.Sprint(want) || got.Trace == "" || got.At.IsZero() {
			t.Errorf("header %+v, want %+v", got, want)
		}
	})
}
