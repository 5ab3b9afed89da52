package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestConcurrentSettlementsFailAlone runs many settlements at once, from
// callers on two entities, so that they share group commits: each caller
// gets its own outcome (a lost lock, an unknown entity, a bad request fail
// only their caller), and every acknowledged complete is applied.
func TestConcurrentSettlementsFailAlone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		const n = 40
		var held []broker.Received
		for _, q := range []string{"a", "b"} {
			tb.queue(t, q, broker.Properties{})
			for i := 0; i < n; i++ {
				tb.send(t, q, broker.Message{Body: []byte(fmt.Sprint(q, i))})
			}
			held = append(held, tb.recv(t, q, n)...)
		}
		// The lock of a's first message is lost: its lock expires and the
		// message is received again under a new token.
		lost := held[0]
		tb.clk.Add(time.Minute + time.Second)
		again := tb.recv(t, "a", 2*n)
		if len(again) != n {
			t.Fatalf("received %d messages again", len(again))
		}
		// Every message of both queues was re-locked: use the new tokens.
		held = append(again, tb.recv(t, "b", 2*n)...)
		if len(held) != 2*n {
			t.Fatalf("holding %d messages, want %d", len(held), 2*n)
		}
		type call struct {
			path string
			s    broker.Settlement
			want broker.ErrorKind
		}
		var calls []call
		for i, m := range held {
			path := "a"
			if m.Entity != "a" {
				path = "b"
			}
			if i%4 == 3 {
				continue // left locked
			}
			calls = append(calls, call{path: path, s: broker.Settlement{LockToken: m.LockToken}})
		}
		calls = append(calls,
			call{path: "a", s: broker.Settlement{LockToken: lost.LockToken}, want: broker.KindLockLost},
			call{path: "b", s: broker.Settlement{LockToken: held[0].LockToken}, want: broker.KindLockLost}, // a's token on b
			call{path: "nope", s: broker.Settlement{LockToken: held[1].LockToken}, want: broker.KindEntityNotFound},
			call{path: "a", s: broker.Settlement{LockToken: held[2].LockToken, SequenceNumber: held[2].SequenceNumber + 1000}, want: broker.KindLockLost},
		)
		errs := make([]error, len(calls))
		var wg sync.WaitGroup
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = tb.b.Complete(tb.ctx, c.path, c.s)
			}()
		}
		wg.Wait()
		completed := 0
		for i, c := range calls {
			if c.want == 0 {
				// The tokens of held[1] and held[2] are also used by failing
				// calls; whichever ran, the right call completes.
				if errs[i] != nil {
					t.Fatalf("complete %d on %s: %v", i, c.path, errs[i])
				}
				completed++
				continue
			}
			wantKind(t, errs[i], c.want)
		}
		ca, _ := tb.b.Counts(tb.ctx, "a")
		cb, _ := tb.b.Counts(tb.ctx, "b")
		if left := ca.Active + cb.Active; int(left) != 2*n-completed {
			t.Fatalf("%d messages left after %d completes of %d, want %d", left, completed, 2*n, 2*n-completed)
		}
		// The messages left locked are still locked by their holders.
		for i := 3; i < len(held); i += 4 {
			m := held[i]
			if err := tb.b.Complete(tb.ctx, m.Entity, broker.Settlement{LockToken: m.LockToken}); err != nil {
				t.Fatalf("complete of a message left locked: %v", err)
			}
		}
	})
}

// TestReleaseReturnsPrefetchedMessages: messages claimed for a receiver that
// never got them (a front end's prefetch for a link that closed) can be
// received at once, without the delivery counting toward MaxDeliveryCount.
func TestReleaseReturnsPrefetchedMessages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{MaxDeliveryCount: 1})
		tb.queue(t, "other", broker.Properties{})
		tb.send(t, "q", broker.Message{Body: []byte("1")}, broker.Message{Body: []byte("2")}, broker.Message{Body: []byte("3")})
		got := tb.recv(t, "q", 3)
		if len(got) != 3 {
			t.Fatalf("prefetched %d messages, want 3", len(got))
		}
		// A release on another entity changes nothing.
		if err := tb.b.Release(tb.ctx, "other", got[1].LockToken); err != nil {
			t.Fatal(err)
		}
		tb.none(t, "q")
		if err := tb.b.Release(tb.ctx, "q", got[1].LockToken, got[2].LockToken, "unknown"); err != nil {
			t.Fatal(err)
		}
		back := tb.recv(t, "q", 3)
		if len(back) != 2 || string(back[0].Body) != "2" || string(back[1].Body) != "3" || back[0].DeliveryCount != 1 {
			t.Fatalf("after release: %+v", back)
		}
		// MaxDeliveryCount is 1: had the release counted, the next claim
		// would have dead-lettered them. The released tokens are dead.
		wantKind(t, tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: got[1].LockToken}), broker.KindLockLost)
		for _, m := range append(back, got[0]) {
			if err := tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: m.LockToken}); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := tb.b.Counts(tb.ctx, "q"); c.Total != 0 || c.DeadLetter != 0 {
			t.Fatalf("counts %+v", c)
		}
		err := tb.b.Release(tb.ctx, "nope", "x")
		wantKind(t, err, broker.KindEntityNotFound)
	})
}

// TestPrefetchedMessagesRedeliveredAfterNodeLoss: a node prefetches a batch
// (its claim a relaxed commit), completes part of it and is gone without
// releasing the rest. Another node on the same database finds the completed
// messages gone and the rest locked until their lock expires, then
// redelivered.
func TestPrefetchedMessagesRedeliveredAfterNodeLoss(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s1, at := storetest.OpenWith(t, d, "")
			n1 := setup(t, s1)
			n1.queue(t, "q", broker.Properties{})
			for i := 0; i < 10; i++ {
				n1.send(t, "q", broker.Message{Body: []byte(fmt.Sprint(i))})
			}
			got := n1.recv(t, "q", 8)
			if len(got) != 8 {
				t.Fatalf("prefetched %d", len(got))
			}
			for _, m := range got[:3] {
				if err := n1.b.Complete(n1.ctx, "q", broker.Settlement{LockToken: m.LockToken}); err != nil {
					t.Fatal(err)
				}
			}
			// Node 1 is gone: its store closes with nothing released.
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}
			s2, _ := storetest.OpenWith(t, d, at)
			n2 := &bundle{b: broker.New(broker.Config{Driver: sqlstorage.New(s2), Now: n1.clk.Now}), s: s2, clk: n1.clk, ctx: n1.ctx}
			free := n2.recv(t, "q", 10)
			if len(free) != 2 || string(free[0].Body) != "8" || string(free[1].Body) != "9" {
				t.Fatalf("before the locks expire, node 2 got %d messages", len(free))
			}
			for _, m := range free {
				if err := n2.b.Complete(n2.ctx, "q", broker.Settlement{LockToken: m.LockToken}); err != nil {
					t.Fatal(err)
				}
			}
			n2.clk.Add(time.Minute + time.Second)
			back := n2.recv(t, "q", 10)
			if len(back) != 5 {
				t.Fatalf("after the locks expired, node 2 got %d messages, want the 5 prefetched and not completed", len(back))
			}
			for i, m := range back {
				if want := fmt.Sprint(i + 3); string(m.Body) != want || m.DeliveryCount != 2 {
					t.Fatalf("redelivered %q with delivery count %d, want %q and 2", m.Body, m.DeliveryCount, want)
				}
			}
		})
	}
}
