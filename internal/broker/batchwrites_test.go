package broker_test

import (
	"fmt"
	"testing"

	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestBatchReceiveAndCompleteStatements: a batch received with peek-lock is
// locked in one statement, each message with its own token and delivery
// count; a batch of completes by lock token is one statement, and an item
// whose lock was lost (an unknown token, a token named twice, a message
// completed already) fails alone; a receive-and-delete batch is removed in
// one statement. Per message, each was a statement (a round trip to
// PostgreSQL).
func TestBatchReceiveAndCompleteStatements(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		c := storetest.NewCounting(s)
		tb := setup(t, c)
		tb.queue(t, "q", broker.Properties{MaxDeliveryCount: 5})
		msgs := make([]broker.Message, 40)
		for i := range msgs {
			msgs[i] = broker.Message{Body: fmt.Appendf(nil, "m%d", i)}
		}
		tb.send(t, "q", msgs...)
		writes := func() int {
			return c.Statements("UPDATE broker_messages") + c.Statements("DELETE FROM broker_messages")
		}

		c.Reset()
		got := tb.recv(t, "q", 20)
		if len(got) != 20 || writes() != 1 {
			t.Fatalf("received %d messages with %d writes, want 20 with 1", len(got), writes())
		}
		tokens := map[string]bool{}
		for _, m := range got {
			if m.LockToken == "" || tokens[m.LockToken] || m.DeliveryCount != 1 || m.LockedUntil.IsZero() {
				t.Fatalf("message %d: token %q (seen %v), delivery count %d, locked until %v",
					m.SequenceNumber, m.LockToken, tokens[m.LockToken], m.DeliveryCount, m.LockedUntil)
			}
			tokens[m.LockToken] = true
		}
		// The first message completed alone beforehand; the batch names it
		// again, names the second twice and a token nobody holds.
		if err := tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: got[0].LockToken}); err != nil {
			t.Fatal(err)
		}
		items := []broker.SettleItem{}
		for _, m := range got {
			items = append(items, broker.SettleItem{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: m.LockToken}})
		}
		items = append(items, items[1], broker.SettleItem{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: "nobody"}})
		c.Reset()
		results, err := tb.b.SettleBatch(tb.ctx, "q", items)
		if err != nil || writes() != 1 {
			t.Fatalf("settled with %d writes, want 1: %v", writes(), err)
		}
		for i, r := range results {
			lost := i == 0 || i >= len(got)
			if lost != (broker.KindOf(r.Err) == broker.KindLockLost) || (!lost && r.Err != nil) {
				t.Fatalf("settlement %d: %v, want lock lost %v", i, r.Err, lost)
			}
		}

		c.Reset()
		rest, err := tb.b.Receive(tb.ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 30})
		if err != nil || len(rest) != 20 || writes() != 1 {
			t.Fatalf("received and deleted %d messages with %d writes, want 20 with 1: %v", len(rest), writes(), err)
		}
		tb.none(t, "q")
	})
}
