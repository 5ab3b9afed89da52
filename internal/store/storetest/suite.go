package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/store"
)

// RunConformance runs every behaviour of the storage contract against stores
// made by open. Each driver's tests call it.
func RunConformance(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	setup := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		if err := s.Migrate(ctx, []store.Migration{{Component: "suite", Version: 1, Name: "items",
			SQL: "CREATE TABLE items (id TEXT PRIMARY KEY, n BIGINT NOT NULL, data " + s.Dialect().Blob() + ")"}}); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return s
	}
	count := func(t *testing.T, s store.Store) int {
		t.Helper()
		var n int
		if err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&n)
		}); err != nil {
			t.Fatalf("count: %v", err)
		}
		return n
	}

	insertItem := func(t *testing.T, s store.Store, id string) {
		t.Helper()
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES (?, 1)", id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("TxCommitsAndReadSeesIt", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n, data) VALUES (?, ?, ?)", "a", 1, []byte{0, 1, 2})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		var n int64
		err = s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT n, data FROM items WHERE id = ?", "a").Scan(&n, &data)
		})
		if err != nil || n != 1 || string(data) != "\x00\x01\x02" {
			t.Fatalf("read back n=%d data=%v err=%v", n, data, err)
		}
	})

	t.Run("ReadIsOneSnapshotAndEnds", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		insert := func(id string) { insertItem(t, s, id) }
		insert("first")
		// A row committed between two statements of one read is not seen
		// by the second.
		err := s.Read(ctx, func(q store.Querier) error {
			var before, after int
			if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&before); err != nil {
				return err
			}
			insert("during")
			if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&after); err != nil {
				return err
			}
			if before != 1 || after != 1 {
				t.Errorf("counts in one read: %d then %d, want 1 and 1", before, after)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Every read ends its snapshot: later reads, on whichever pooled
		// connection, see each commit made before them.
		for i := range 12 {
			if got, want := count(t, s), 2+i; got != want {
				t.Fatalf("read %d: count %d, want %d", i, got, want)
			}
			insert(fmt.Sprint("after", i))
		}
	})

	t.Run("ReadOneIsOneSnapshot", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		insert := func(id string) { insertItem(t, s, id) }
		insert("first")
		var n int
		if err := store.ReadOne(ctx, s, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&n)
		}); err != nil || n != 1 {
			t.Fatalf("a read of one statement: count %d, %v", n, err)
		}
		// A read that runs a second statement after all sees one snapshot
		// too: a row committed between its two statements is not seen by
		// the second.
		runs := 0
		var before, after int
		err := store.ReadOne(ctx, s, func(q store.Querier) error {
			runs++
			if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&before); err != nil {
				return err
			}
			if runs == 1 {
				insert(fmt.Sprint("during", runs))
			}
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM items").Scan(&after)
		})
		if err != nil || before != after {
			t.Fatalf("two statements in a read of one: counts %d then %d, %v", before, after, err)
		}
		if _, ok := s.(store.AutocommitReader); ok && runs != 2 {
			t.Errorf("two statements in a read of one ran it %d times, want 2 (once outside a transaction, once in one)", runs)
		}
	})

	t.Run("WriteOneIsOneStatement", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		_, autocommits := s.(store.AutocommitWriter)
		var after []string
		write := func(ids ...string) error {
			return store.WriteOne(ctx, s, func(tx store.Tx) error {
				tx.AfterCommit(func() { after = append(after, ids[0]) })
				for _, id := range ids {
					if _, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES (?, 1)", id); err != nil {
						return err
					}
				}
				return nil
			})
		}
		before := s.Stats()
		if err := write("one"); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if n := count(t, s); n != 1 || len(after) != 1 {
			t.Fatalf("a write of one statement: %d rows, after commit %v", n, after)
		}
		// On an AutocommitWriter no transaction is begun: the statement
		// commits by itself.
		if autocommits && (st.Autocommits-before.Autocommits != 1 || st.Transactions != before.Transactions || st.Commits-before.Commits != 1) {
			t.Errorf("a write of one statement outside a transaction: stats %+v, then %+v", before, st)
		}
		if !autocommits && st.Autocommits != 0 {
			t.Errorf("autocommits counted on a store that has none: %+v", st)
		}
		// A failed statement commits nothing and runs nothing after.
		if err := write("one"); !store.IsConflict(err) || len(after) != 1 {
			t.Fatalf("a write of one failed statement: %v, after commit %v", err, after)
		}
		// A second statement is refused without running; outside a
		// transaction the first is committed by then.
		if err := write("two", "three"); !errors.Is(err, store.ErrSecondStatement) || len(after) != 1 {
			t.Fatalf("two statements in a write of one: %v, after commit %v", err, after)
		}
		want := 1
		if autocommits {
			want = 2
		}
		var three int
		if err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM items WHERE id = 'three'").Scan(&three)
		}); err != nil || three != 0 {
			t.Fatalf("the refused statement ran: %d rows, %v", three, err)
		}
		if n := count(t, s); n != want {
			t.Fatalf("after two statements in a write of one: %d rows, want %d", n, want)
		}
	})

	t.Run("TxErrorRollsBackOnlyItself", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Tx(ctx, func(tx store.Tx) error {
					if _, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES (?, ?)", fmt.Sprint(i), i); err != nil {
						return err
					}
					if i%2 == 1 {
						return fmt.Errorf("refuse %d", i)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%2 == 1) != (err != nil) {
				t.Fatalf("tx %d: err=%v", i, err)
			}
		}
		if n := count(t, s); n != 20 {
			t.Fatalf("rows = %d, want 20", n)
		}
	})

	t.Run("UniqueViolationIsConflict", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		insert := func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES ('dup', 1)")
			return err
		}
		if err := s.Tx(ctx, insert); err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, insert); !store.IsConflict(err) {
			t.Fatalf("second insert: %v, want ErrConflict", err)
		}
	})

	t.Run("MissingRowIsNotFound", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		var n int64
		err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT n FROM items WHERE id = ?", "absent").Scan(&n)
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing row: err = %v, want store.ErrNotFound", err)
		}
		// The contract owns the error: database/sql's does not leak through.
		if errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("missing row: err = %v still matches sql.ErrNoRows", err)
		}
	})

	t.Run("NotNullViolationIsConstraint", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES (?, NULL)", "a")
			return err
		})
		if !errors.Is(err, store.ErrConstraint) || store.IsConflict(err) {
			t.Fatalf("null into NOT NULL: err = %v, want store.ErrConstraint", err)
		}
	})

	t.Run("CollectReadsEveryRow", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		if err := s.Tx(ctx, func(tx store.Tx) error {
			for i := 1; i <= 3; i++ {
				if _, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES (?, ?)", fmt.Sprint("k", i), i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var got []int64
		err := s.Read(ctx, func(q store.Querier) error {
			var err error
			got, err = store.Collect(ctx, q, func(r *sql.Rows) (int64, error) {
				var n int64
				return n, r.Scan(&n)
			}, "SELECT n FROM items ORDER BY n")
			return err
		})
		if err != nil || fmt.Sprint(got) != "[1 2 3]" {
			t.Fatalf("collect = %v, %v", got, err)
		}
		scanErr := errors.New("scan refused")
		err = s.Read(ctx, func(q store.Querier) error {
			_, err := store.Collect(ctx, q, func(*sql.Rows) (int64, error) { return 0, scanErr }, "SELECT n FROM items")
			return err
		})
		if !errors.Is(err, scanErr) {
			t.Fatalf("collect with a failing scan: err = %v", err)
		}
		err = s.Read(ctx, func(q store.Querier) error {
			_, err := store.Collect(ctx, q, func(*sql.Rows) (int64, error) { return 0, nil }, "SELECT nothing FROM no_such_table")
			return err
		})
		if err == nil {
			t.Fatal("collect over a failing query returned no error")
		}
	})

	t.Run("QueryValuesAreWhatScanGives", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n, data) VALUES ('a', 300, ?), ('b', -2, NULL), ('c', 1, ?)", []byte{0, 1, 2}, []byte{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// The values of each type a driver reads, with their nulls, as
		// database/sql's Scan into an *any gives them.
		query := "SELECT id, n, data, n * 1.5, n > 0, NULL FROM items ORDER BY id"
		if s.Dialect() == store.Postgres {
			query = `SELECT id, n, data, n * 1.5::float8, n > 0, NULL::bigint, n::int, n::smallint, (n * 0.5)::real,
				id::varchar AS v, 'é"\'::text, n::numeric / 4, '6f9619ff-8b86-d011-b42d-00c04fc964ff'::uuid,
				'{"a": [1, 2]}'::json, '{"a": 1}'::jsonb, '<a/>'::xml, '2020-01-02 03:04:05.123456+02'::timestamptz,
				'2020-01-02 03:04:05'::timestamp, '2020-01-02'::date, 42::oid, NULL::text, NULL::bytea
				FROM items ORDER BY id`
		}
		want := ScanAny(t, s, query)
		read := func(q store.Querier) ([][]any, error) {
			var got [][]any
			err := store.QueryValues(ctx, q, query, nil, func(row []any) error {
				got = append(got, slices.Clone(row))
				return nil
			})
			return got, err
		}
		for _, r := range []struct {
			name string
			read func(fn func(store.Querier) error) error
		}{
			{"in a read", func(fn func(store.Querier) error) error { return s.Read(ctx, fn) }},
			{"in a read of one statement", func(fn func(store.Querier) error) error { return store.ReadOne(ctx, s, fn) }},
		} {
			var got [][]any
			err := r.read(func(q store.Querier) (err error) {
				got, err = read(q)
				return err
			})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: QueryValues gave\n%#v, %v\nScan gives\n%#v", r.name, got, err, want)
			}
		}
		// fn's error ends the rows and is QueryValues' error.
		stop := errors.New("enough")
		rows := 0
		err := store.ReadOne(ctx, s, func(q store.Querier) error {
			return store.QueryValues(ctx, q, "SELECT id FROM items ORDER BY id", nil, func([]any) error { rows++; return stop })
		})
		if !errors.Is(err, stop) || rows != 1 {
			t.Errorf("QueryValues with fn failing on the first row: %v after %d rows", err, rows)
		}
		// The arguments are bound, and a statement that fails is an error.
		var ids []any
		err = store.ReadOne(ctx, s, func(q store.Querier) error {
			return store.QueryValues(ctx, q, "SELECT id FROM items WHERE n > ? ORDER BY id", []any{0}, func(row []any) error {
				ids = append(ids, row[0])
				return nil
			})
		})
		if err != nil || fmt.Sprint(ids) != "[a c]" {
			t.Errorf("QueryValues with an argument: %v, %v", ids, err)
		}
		err = store.ReadOne(ctx, s, func(q store.Querier) error {
			return store.QueryValues(ctx, q, "SELECT nothing FROM no_such_table", nil, func([]any) error { return nil })
		})
		if err == nil {
			t.Error("QueryValues of a failing statement returned no error")
		}
	})

	t.Run("PanicRollsBackAndReachesCaller", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		func() {
			defer func() {
				if v := recover(); v != "boom" {
					t.Fatalf("recovered %v, want boom", v)
				}
			}()
			_ = s.Tx(ctx, func(tx store.Tx) error {
				tx.Exec(ctx, "INSERT INTO items (id, n) VALUES ('p', 1)")
				panic("boom")
			})
		}()
		if n := count(t, s); n != 0 {
			t.Fatalf("rows after panic = %d", n)
		}
		// The store still works.
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES ('q', 1)")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ConcurrentIncrementsAreExact", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES ('c', 0)")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					if err := s.Tx(ctx, func(tx store.Tx) error {
						_, err := tx.Exec(ctx, "UPDATE items SET n = n + 1 WHERE id = 'c'")
						return err
					}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		var n int
		s.Read(ctx, func(q store.Querier) error { return q.QueryRow(ctx, "SELECT n FROM items WHERE id='c'").Scan(&n) })
		if n != 400 {
			t.Fatalf("n = %d, want 400", n)
		}
		if st := s.Stats(); st.Transactions < 401 || st.Commits == 0 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("MigrationsApplyOnceInOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var order []int
		migs := []store.Migration{
			{Component: "m", Version: 2, Name: "add", SQL: "ALTER TABLE m ADD COLUMN b TEXT",
				Func: func(ctx context.Context, tx store.Tx) error { order = append(order, 2); return nil }},
			{Component: "m", Version: 1, Name: "create", SQL: "CREATE TABLE m (a TEXT)",
				Func: func(ctx context.Context, tx store.Tx) error { order = append(order, 1); return nil }},
		}
		if err := s.Migrate(ctx, migs); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx, migs); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(order) != "[1 2]" {
			t.Fatalf("order %v", order)
		}
		applied, err := store.Applied(ctx, s)
		if err != nil || !applied["m/1"] || !applied["m/2"] || !applied["store/1"] {
			t.Fatalf("applied %v %v", applied, err)
		}
	})

	t.Run("SameMigrationTwiceAppliesOnce", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		m := store.Migration{Component: "shared", Version: 1, Name: "t", SQL: "CREATE TABLE shared_t (a TEXT)"}
		if err := s.Migrate(ctx, []store.Migration{m, m}); err != nil {
			t.Fatalf("the same migration declared by two consumers: %v", err)
		}
		other := m
		other.Name = "another"
		if err := s.Migrate(ctx, []store.Migration{m, other}); err == nil {
			t.Fatal("two different migrations with one version were accepted")
		}
	})

	t.Run("FailedMigrationChangesNothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		err := s.Migrate(ctx, []store.Migration{{Component: "bad", Version: 1, Name: "half",
			SQL: "CREATE TABLE half (a TEXT)", Func: func(context.Context, store.Tx) error { return errors.New("nope") }}})
		if err == nil {
			t.Fatal("want error")
		}
		applied, _ := store.Applied(ctx, s)
		if applied["bad/1"] {
			t.Fatal("failed migration recorded")
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, "CREATE TABLE half (a TEXT)"); return err }); err != nil {
			t.Fatalf("table of failed migration exists: %v", err)
		}
	})

	t.Run("LeaseLifecycle", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		l := s.Leases()
		a, err := l.Acquire(ctx, "job", "node-a", time.Minute)
		if err != nil || a.Token != 1 {
			t.Fatalf("acquire: %+v %v", a, err)
		}
		if _, err := l.Acquire(ctx, "job", "node-b", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("second owner: %v, want ErrLeaseHeld", err)
		}
		again, err := l.Acquire(ctx, "job", "node-a", time.Minute)
		if err != nil || again.Token != 1 {
			t.Fatalf("re-acquire by holder: %+v %v", again, err)
		}
		r, err := l.Renew(ctx, a, time.Minute)
		if err != nil || !r.Expires.After(time.Now().Add(50*time.Second)) {
			t.Fatalf("renew: %+v %v", r, err)
		}
		if err := l.Release(ctx, r); err != nil {
			t.Fatal(err)
		}
		b, err := l.Acquire(ctx, "job", "node-b", 300*time.Millisecond)
		if err != nil || b.Token != 2 {
			t.Fatalf("acquire after release: %+v %v", b, err)
		}
		if _, err := l.Renew(ctx, a, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("renew by former holder: %v, want ErrLeaseLost", err)
		}
		time.Sleep(400 * time.Millisecond)
		c, err := l.Acquire(ctx, "job", "node-c", time.Minute)
		if err != nil || c.Token != 3 {
			t.Fatalf("acquire after expiry: %+v %v", c, err)
		}
		if _, err := l.Renew(ctx, b, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("renew of expired lease: %v, want ErrLeaseLost", err)
		}
	})

	t.Run("LeaseRacingClaimersExclusive", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var mu sync.Mutex
		holders := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("w%d", w)
				for range 10 {
					lease, err := s.Leases().Acquire(ctx, "race", owner, time.Minute)
					if errors.Is(err, store.ErrLeaseHeld) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if prev, ok := holders[lease.Token]; ok && prev != owner {
						t.Errorf("token %d given to %s and %s", lease.Token, prev, owner)
					}
					holders[lease.Token] = owner
					mu.Unlock()
					s.Leases().Release(ctx, lease)
				}
			}()
		}
		wg.Wait()
		if len(holders) == 0 {
			t.Fatal("nobody acquired the lease")
		}
	})

	t.Run("HoldRunsUntilCancelled", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		hctx, cancel := context.WithCancel(ctx)
		started := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- s.Leases().Hold(hctx, "singleton", "a", 300*time.Millisecond, func(ctx context.Context) {
				close(started)
				<-ctx.Done()
			})
		}()
		<-started
		time.Sleep(500 * time.Millisecond) // past one ttl: Hold must have renewed
		if _, err := s.Leases().Acquire(ctx, "singleton", "b", time.Second); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("lease not kept alive: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Leases().Acquire(ctx, "singleton", "b", time.Second); err != nil {
			t.Fatalf("lease not released: %v", err)
		}
	})

	t.Run("HoldReportsWhatKeepsItFromTheLease", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if _, err := s.Leases().Acquire(ctx, "reported", "b", time.Minute); err != nil {
			t.Fatal(err)
		}
		hctx, cancel := context.WithCancel(ctx)
		reports := make(chan error, 100)
		done := make(chan error)
		go func() {
			done <- s.Leases().Hold(hctx, "reported", "a", 300*time.Millisecond, func(ctx context.Context) {
				t.Error("held a lease another owner holds")
			}, func(err error) {
				select {
				case reports <- err:
				default:
				}
			})
		}()
		// Another owner holding the lease is the normal wait, not an error; a
		// database that cannot answer is reported.
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "DROP TABLE junction_leases")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := <-reports
		if err == nil || errors.Is(err, store.ErrLeaseHeld) || !strings.Contains(err.Error(), `acquire lease "reported"`) {
			t.Fatalf("reported %v, want the failed acquire", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		close(reports)
		for err := range reports {
			if errors.Is(err, store.ErrLeaseHeld) {
				t.Fatalf("reported the normal wait: %v", err)
			}
		}
	})

	t.Run("NotifyAfterCommitOnly", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		sub := s.Listen("items")
		defer sub.Close()
		drain(sub)
		err := s.Tx(ctx, func(tx store.Tx) error {
			tx.Notify("items")
			return errors.New("rolled back")
		})
		if err == nil {
			t.Fatal("want error")
		}
		var after bool
		if err := s.Tx(ctx, func(tx store.Tx) error {
			tx.Notify("items")
			tx.AfterCommit(func() { after = true })
			_, err := tx.Exec(ctx, "INSERT INTO items (id, n) VALUES ('n', 1)")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !after {
			t.Fatal("AfterCommit did not run")
		}
		select {
		case <-sub.C:
		case <-time.After(5 * time.Second):
			t.Fatal("no notification after commit")
		}
	})

	t.Run("SubscriptionPollsAsFallback", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		sub := s.Listen("quiet")
		defer sub.Close()
		select {
		case <-sub.C:
		case <-time.After(5 * time.Second):
			t.Fatal("subscription never polled")
		}
	})

	t.Run("ClosedStoreRefuses", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		s.Close()
		if err := s.Tx(ctx, func(store.Tx) error { return nil }); err == nil {
			t.Fatal("Tx on closed store succeeded")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
	})
}

func drain(s *store.Subscription) {
	for {
		select {
		case <-s.C:
		default:
			return
		}
	}
}

// ScanAny reads the rows of query in a read of s, each value as
// database/sql's Scan into an *any gives it: what store.QueryValues is to
// give.
func ScanAny(t testing.TB, s store.Store, query string) [][]any {
	t.Helper()
	ctx := context.Background()
	var all [][]any
	if err := s.Read(ctx, func(q store.Querier) error {
		rows, err := q.Query(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			row := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			all = append(all, row)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	return all
}
