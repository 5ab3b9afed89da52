package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestSendGroupSize: a group write of sends takes at most maxSendGroup
// sends and, past its first, at most maxSendGroupBytes of bodies, so that
// large messages (a MaxMessageSize well above the default) never make one
// statement larger than PostgreSQL takes (1 GB a message).
func TestSendGroupSize(t *testing.T) {
	t.Parallel()
	calls := func(n, size int) []*sendCall {
		out, body := make([]*sendCall, n), make([]byte, size) // one body, shared
		for i := range out {
			out[i] = &sendCall{m: &Message{Body: body}}
		}
		return out
	}
	for _, c := range []struct {
		n, size, want int
	}{
		{1, 0, 1},
		{maxSendGroup + 10, 10, maxSendGroup},
		{100, maxSendGroupBytes / 4, 4},
		{3, maxSendGroupBytes * 2, 1},
		{3, maxSendGroupBytes/2 + 1, 1},
	} {
		if got := sendGroupSize(calls(c.n, c.size)); got != c.want {
			t.Errorf("%d pending sends of %d bytes: a group of %d, want %d", c.n, c.size, got, c.want)
		}
	}
	amqp := calls(3, maxSendGroupBytes/4)
	for _, c := range amqp {
		c.m.AMQPBody = c.m.Body
	}
	if got := sendGroupSize(amqp); got != 2 {
		t.Errorf("sends over AMQP, their bodies kept twice: a group of %d, want 2", got)
	}
}

// TestQueuedSendsTakenWhenTheWriterComes: on SQLite a group write of sends
// takes its group when the store's writer comes to it, so the sends that
// arrive while the writer is busy with another transaction are written in
// one transaction with the first, not the first alone and the rest after.
func TestQueuedSendsTakenWhenTheWriterComes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t, store.SQLite)
	b := queueCached(t, s, nil)
	release := holdWriter(s)
	before := s.Stats().Transactions
	const senders = 16
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Send(ctx, "q", Message{Body: fmt.Appendf(nil, "%d", g)}); err != nil {
				t.Error(err)
			}
		}()
	}
	waitPending(t, b, senders)
	release()
	wg.Wait()
	if n := s.Stats().Transactions - before; n != 2 {
		t.Fatalf("%d transactions committed: the busy one and %d for %d sends, want 1", n, n-1, senders)
	}
	got, err := b.Peek(ctx, "q", 0, 2*senders)
	if err != nil || len(got) != senders {
		t.Fatalf("%d messages stored, %v; want %d", len(got), err, senders)
	}
}

// TestGroupedSendsAnsweredWhenTheWritePanics: a panic while a group write
// of sends runs (here the broker's clock) reaches each sender of the group
// on its own goroutine, as it would from a transaction of its own; none is
// left waiting and none is told its message was stored.
func TestGroupedSendsAnsweredWhenTheWritePanics(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var broken atomic.Bool
		b := queueCached(t, s, func() time.Time {
			if broken.Load() {
				panic("clock broken")
			}
			return time.Now()
		})
		const senders = 8
		release := func() {}
		if !b.s.WritesAlone() {
			// The writer is held until every send waits, so that they are
			// written as one group.
			release = holdWriter(s)
		}
		broken.Store(true)
		var mu sync.Mutex
		var panicked, failed, stored int
		var wg sync.WaitGroup
		for g := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if v := recover(); v != nil {
						mu.Lock()
						panicked++
						mu.Unlock()
					}
				}()
				_, err := b.Send(ctx, "q", Message{Body: fmt.Appendf(nil, "%d", g)})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
				} else {
					stored++
				}
			}()
		}
		if !b.s.WritesAlone() {
			waitPending(t, b, senders)
		}
		release()
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("after a panic in the group write: %d senders panicked, %d failed, %d stored, %d left waiting",
				panicked, failed, stored, senders-panicked-failed-stored)
		}
		broken.Store(false)
		if stored != 0 || panicked != senders {
			t.Errorf("%d senders panicked, %d failed, %d told stored; want all %d panicked", panicked, failed, stored, senders)
		}
		if got, err := b.Peek(ctx, "q", 0, 2*senders); err != nil || len(got) != 0 {
			t.Fatalf("%d messages stored, %v; want none", len(got), err)
		}
	})
}

// TestGroupedSendCancelledWhileWaiting: a send whose context ends while it
// waits for a group write (every write in flight busy) is not written and
// its caller is told so; the sends before it are written and acknowledged.
func TestGroupedSendCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var gated atomic.Bool
		entered, open := make(chan struct{}, maxSendWrites), make(chan struct{})
		b := queueCached(t, s, func() time.Time {
			if gated.Load() {
				entered <- struct{}{}
				<-open
			}
			return time.Now()
		})
		// Every group write that may run at once is held in the clock.
		writes := 1
		if b.s.WritesAlone() {
			writes = maxSendWrites
		}
		gated.Store(true)
		var wg sync.WaitGroup
		for g := range writes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.Send(ctx, "q", Message{Body: fmt.Appendf(nil, "held %d", g)}); err != nil {
					t.Error(err)
				}
			}()
			<-entered
		}
		gated.Store(false)
		sendCtx, cancel := context.WithCancel(ctx)
		cancelled := make(chan error, 1)
		go func() {
			_, err := b.Send(sendCtx, "q", Message{Body: []byte("cancelled")})
			cancelled <- err
		}()
		waitPending(t, b, 1)
		cancel()
		close(open)
		wg.Wait()
		select {
		case err := <-cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("the cancelled send: %v, want %v", err, context.Canceled)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the cancelled send left waiting")
		}
		got, err := b.Peek(ctx, "q", 0, 10)
		if err != nil || len(got) != writes {
			t.Fatalf("%d messages stored, %v; want the %d held", len(got), err, writes)
		}
		for _, m := range got {
			if string(m.Body) == "cancelled" {
				t.Fatal("the cancelled send's message was stored")
			}
		}
	})
}

// queueCached returns a broker over s, with the clock now (nil: time.Now),
// and its queue "q", which its entity cache holds.
func queueCached(t *testing.T, s store.Store, now func() time.Time) *Broker {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
		t.Fatal(err)
	}
	b := New(Config{Driver: sqlstorage.New(s), Now: now})
	if _, _, err := b.PutQueue(ctx, "q", Properties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Peek(ctx, "q", 0, 1); err != nil {
		t.Fatal(err)
	}
	return b
}

// holdWriter keeps the store's writer busy with a transaction until the
// returned function is called.
func holdWriter(s store.Store) (release func()) {
	busy, held := make(chan struct{}), make(chan struct{})
	go s.Tx(context.Background(), func(store.Tx) error {
		close(busy)
		<-held
		return nil
	})
	<-busy
	return func() { close(held) }
}

// waitPending waits until n sends wait for a group write to take them.
func waitPending(t *testing.T, b *Broker, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b.queuedSends.mu.Lock()
		got := len(b.queuedSends.pending)
		b.queuedSends.mu.Unlock()
		b.sends.mu.Lock()
		got += len(b.sends.pending)
		b.sends.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sends waiting, want %d", got, n)
		}
	}
}
