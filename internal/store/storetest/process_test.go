package storetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"junction/internal/store"
)

// These tests run parts of themselves in child processes (the test binary
// re-executed with JUNCTION_STORETEST_CHILD set), to crash a writer with kill -9
// and to race lease claimers from two processes.

func TestMain(m *testing.M) {
	switch os.Getenv("JUNCTION_STORETEST_CHILD") {
	case "writer":
		os.Exit(childWriter())
	case "claimer":
		os.Exit(childClaimer())
	}
	os.Exit(m.Run())
}

var crashMigration = []store.Migration{{Component: "crash", Version: 1, Name: "acks",
	SQL: "CREATE TABLE acks (id TEXT PRIMARY KEY, payload TEXT NOT NULL)"}}

var claimMigration = []store.Migration{{Component: "claims", Version: 1, Name: "holdings",
	SQL: "CREATE TABLE holdings (owner TEXT NOT NULL, token BIGINT NOT NULL, started BIGINT NOT NULL, ended BIGINT NOT NULL)"}}

// openChild opens the store a child process was pointed at.
func openChild(ctx context.Context) (store.Store, error) {
	d := store.Dialect(os.Getenv("JUNCTION_STORETEST_DRIVER"))
	at := os.Getenv("JUNCTION_STORETEST_AT")
	t := &childTB{}
	defer func() { recover() }()
	s, _ := OpenWith(t, d, at)
	if t.failed != "" {
		return nil, errors.New(t.failed)
	}
	return s, nil
}

// childWriter writes rows from 8 goroutines forever and prints each id once its
// transaction is acknowledged, until it is killed.
func childWriter() int {
	ctx := context.Background()
	s, err := openChild(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.Migrate(ctx, crashMigration); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", w, i)
				err := s.Tx(ctx, func(tx store.Tx) error {
					_, err := tx.Exec(ctx, "INSERT INTO acks (id, payload) VALUES (?, ?)", id, strings.Repeat("x", 200))
					return err
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

// childClaimer races for one lease for a while, recording each holding period.
func childClaimer() int {
	ctx := context.Background()
	s, err := openChild(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	owner := os.Getenv("JUNCTION_STORETEST_OWNER")
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		lease, err := s.Leases().Acquire(ctx, "shared", owner, 200*time.Millisecond)
		if errors.Is(err, store.ErrLeaseHeld) {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		started := time.Now()
		time.Sleep(20 * time.Millisecond) // the "work" done under the lease
		ended := time.Now()
		// Only a holding that was still valid at its end counts: renewing proves it.
		if _, err := s.Leases().Renew(ctx, lease, 200*time.Millisecond); err != nil {
			continue
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO holdings (owner, token, started, ended) VALUES (?, ?, ?, ?)",
				owner, lease.Token, store.Micros(started), store.Micros(ended))
			return err
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.Leases().Release(ctx, lease)
	}
	s.Close()
	return 0
}

type childTB struct {
	testing.TB
	failed string
}

func (c *childTB) Helper()                   {}
func (c *childTB) Cleanup(func())            {}
func (c *childTB) TempDir() string           { return os.TempDir() }
func (c *childTB) Fatalf(f string, a ...any) { c.failed = fmt.Sprintf(f, a...); panic(c.failed) }
func (c *childTB) Skipf(f string, a ...any)  { c.failed = fmt.Sprintf(f, a...); panic(c.failed) }

func child(t *testing.T, role string, d store.Dialect, at string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JUNCTION_STORETEST_CHILD="+role, "JUNCTION_STORETEST_DRIVER="+string(d), "JUNCTION_STORETEST_AT="+at)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = &testWriter{t: t, prefix: role + ": "}
	return cmd
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestCrashLosesNoAcknowledgedWrite kills a writer with SIGKILL in the middle
// of a stream of transactions, reopens the store, and checks every write the
// writer was told had committed.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	for _, d := range Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, at := OpenWith(t, d, "")
			if err := s.Migrate(ctx, crashMigration); err != nil {
				t.Fatal(err)
			}
			s.Close()

			cmd := child(t, "writer", d, at)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var acked []string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				acked = append(acked, sc.Text())
				if len(acked) == 1500 {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
			cmd.Wait()
			if len(acked) < 1500 {
				t.Fatalf("writer died after %d acknowledged writes", len(acked))
			}

			s2, _ := OpenWith(t, d, at)
			stored := map[string]bool{}
			err := s2.Read(ctx, func(q store.Querier) error {
				rows, err := q.Query(ctx, "SELECT id FROM acks")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id string
					rows.Scan(&id)
					stored[id] = true
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range acked {
				if !stored[id] {
					t.Fatalf("acknowledged write %s lost (%d acknowledged, %d stored)", id, len(acked), len(stored))
				}
			}
			// The store is usable after the crash.
			if err := s2.Tx(ctx, func(tx store.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO acks (id, payload) VALUES ('after', '')")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if d == store.SQLite {
				var check string
				s2.Read(ctx, func(q store.Querier) error { return q.QueryRow(ctx, "PRAGMA integrity_check").Scan(&check) })
				if check != "ok" {
					t.Fatalf("integrity_check: %s", check)
				}
			}
			t.Logf("%d acknowledged before kill -9, %d stored after restart", len(acked), len(stored))
		})
	}
}

// TestLeaseExclusiveAcrossProcesses races two processes for one lease on one
// PostgreSQL database and checks no two holding periods overlap.
func TestLeaseExclusiveAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, schema := OpenWith(t, store.Postgres, "")
	if err := s.Migrate(ctx, claimMigration); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for _, owner := range []string{"proc-a", "proc-b"} {
		cmd := child(t, "claimer", store.Postgres, schema, "JUNCTION_STORETEST_OWNER="+owner)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("claimer failed: %v", err)
		}
	}
	type holding struct {
		owner          string
		token          int64
		started, ended int64
	}
	var hs []holding
	err := s.Read(ctx, func(q store.Querier) error {
		rows, err := q.Query(ctx, "SELECT owner, token, started, ended FROM holdings ORDER BY started")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h holding
			rows.Scan(&h.owner, &h.token, &h.started, &h.ended)
			hs = append(hs, h)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]int{}
	for i, h := range hs {
		owners[h.owner]++
		if i > 0 && h.started < hs[i-1].ended {
			t.Fatalf("holdings overlap: %+v and %+v", hs[i-1], h)
		}
	}
	if len(owners) != 2 {
		t.Fatalf("both processes should have held the lease at some point: %v", owners)
	}
	t.Logf("%d holdings, by owner %v", len(hs), owners)
}
