package broker_test

import (
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// rows counts the broker's stored messages: active, dead-lettered and in all.
func (tb *bundle) rows(t *testing.T) (active, dead, all int) {
	t.Helper()
	err := tb.s.Read(tb.ctx, func(q store.Querier) error {
		return q.QueryRow(tb.ctx, `SELECT COALESCE(SUM(1 - dlq), 0), COALESCE(SUM(dlq), 0), COUNT(*) FROM broker_messages`).Scan(&active, &dead, &all)
	})
	if err != nil {
		t.Fatal(err)
	}
	return active, dead, all
}

// TestSettledMessagesLeaveNothing: a message settled any way (completed,
// received and deleted, fanned out to subscriptions and completed in each,
// sent to a topic no subscription wants, expired) leaves no row behind; a
// dead letter stays until it is purged.
func TestSettledMessagesLeaveNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		tb.send(t, "q", broker.Message{Body: []byte("complete me")}, broker.Message{Body: []byte("take me")}, broker.Message{Body: []byte("poison")})
		if err := tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: tb.one(t, "q").LockToken}); err != nil {
			t.Fatal(err)
		}
		if got, err := tb.b.Receive(tb.ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete}); err != nil || len(got) != 1 {
			t.Fatalf("receive and delete: %v %v", got, err)
		}
		if err := tb.b.DeadLetter(tb.ctx, "q", broker.Settlement{LockToken: tb.one(t, "q").LockToken, Reason: "Poison"}); err != nil {
			t.Fatal(err)
		}
		if active, dead, _ := tb.rows(t); active != 0 || dead != 1 {
			t.Fatalf("after settling: %d active rows, %d dead letters; want 0 and 1", active, dead)
		}

		if _, _, err := tb.b.PutTopic(tb.ctx, "t", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"a", "b"} {
			if _, _, err := tb.b.PutSubscription(tb.ctx, "t", sub, broker.Properties{}); err != nil {
				t.Fatal(err)
			}
		}
		tb.send(t, "t", broker.Message{Body: []byte("fan out")})
		if active, _, _ := tb.rows(t); active != 2 {
			t.Fatalf("%d active rows after a send to a topic of two subscriptions, want 2", active)
		}
		for _, sub := range []string{"t/subscriptions/a", "t/subscriptions/b"} {
			if err := tb.b.Complete(tb.ctx, sub, broker.Settlement{LockToken: tb.one(t, sub).LockToken}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := tb.b.PutTopic(tb.ctx, "nobody", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		tb.send(t, "nobody", broker.Message{Body: []byte("unwanted")})

		tb.queue(t, "short", broker.Properties{DefaultMessageTimeToLive: broker.Duration(time.Minute)})
		tb.send(t, "short", broker.Message{Body: []byte("expires")})
		tb.clk.Add(2 * time.Minute)
		if _, err := tb.b.Sweep(tb.ctx); err != nil {
			t.Fatal(err)
		}
		if active, dead, all := tb.rows(t); active != 0 || dead != 1 || all != 1 {
			t.Fatalf("after settling everything: %d active rows, %d dead letters, %d in all; want 0, 1, 1", active, dead, all)
		}
		if n, err := tb.b.PurgeDeadLetters(tb.ctx, "q"); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if _, _, all := tb.rows(t); all != 0 {
			t.Fatalf("%d rows after the purge", all)
		}
	})
}

// TestDeadLetterAgeCountsFromDeadLettering: a message enqueued long ago and
// dead-lettered now is young; its age counts from the first pruning pass
// that sees it, and a dead letter a receiver holds locked is left to it.
func TestDeadLetterAgeCountsFromDeadLettering(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		tb.send(t, "q", broker.Message{Body: []byte("old")}, broker.Message{Body: []byte("held")})
		tb.clk.Add(48 * time.Hour)
		for range 2 {
			if err := tb.b.DeadLetter(tb.ctx, "q", broker.Settlement{LockToken: tb.one(t, "q").LockToken}); err != nil {
				t.Fatal(err)
			}
		}
		ttl := 24 * time.Hour
		if n, err := tb.b.PruneDeadLetters(tb.ctx, tb.clk.Now().Add(-ttl), 10); err != nil || n != 0 {
			t.Fatalf("the first pass deleted %d (%v) dead letters enqueued two days ago but dead-lettered now", n, err)
		}
		tb.clk.Add(ttl + time.Minute)
		held := tb.one(t, "q/$deadletterqueue")
		if n, err := tb.b.PruneDeadLetters(tb.ctx, tb.clk.Now().Add(-ttl), 10); err != nil || n != 1 {
			t.Fatalf("a day on, the pass deleted %d (%v), want the one not locked", n, err)
		}
		if err := tb.b.Complete(tb.ctx, "q/$deadletterqueue", broker.Settlement{LockToken: held.LockToken}); err != nil {
			t.Fatalf("the locked dead letter was taken from its receiver: %v", err)
		}
		if _, _, all := tb.rows(t); all != 0 {
			t.Fatalf("%d rows left", all)
		}
	})
}
