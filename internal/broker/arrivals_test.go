package broker_test

import (
	"maps"
	"testing"

	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestArrived: each message counts where it lands (a topic's copies in
// their subscriptions, a forwarded one in its target); a send that is
// rolled back counts nowhere.
func TestArrived(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "orders", broker.Properties{})
		tb.queue(t, "inbox", broker.Properties{ForwardTo: "orders"})
		if _, _, err := tb.b.PutTopic(tb.ctx, "events", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"billing", "audit"} {
			if _, _, err := tb.b.PutSubscription(tb.ctx, "events", sub, broker.Properties{}); err != nil {
				t.Fatal(err)
			}
		}
		tb.send(t, "orders", broker.Message{Body: []byte("1")}, broker.Message{Body: []byte("2")})
		tb.send(t, "inbox", broker.Message{Body: []byte("3")})
		tb.send(t, "events", broker.Message{Body: []byte("4")})
		// A batch whose second message is over the queue's limit is rolled
		// back whole: its first message counts nowhere.
		tb.queue(t, "small", broker.Properties{MaxMessageSizeInKilobytes: 1})
		if _, err := tb.b.Send(tb.ctx, "small", broker.Message{Body: []byte("5")}, broker.Message{Body: make([]byte, 2048)}); err == nil {
			t.Fatal("a 2 KiB message was accepted by a 1 KiB queue")
		}
		want := map[string]int64{"orders": 3, "events/subscriptions/billing": 1, "events/subscriptions/audit": 1}
		if got := tb.b.Arrived(); !maps.Equal(got, want) {
			t.Fatalf("arrived %v, want %v", got, want)
		}
	})
}
