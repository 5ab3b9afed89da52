package events_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestTwoNodesDeliverOnce runs two routers on one PostgreSQL schema: every
// event reaches every subscription exactly once.
func TestTwoNodesDeliverOnce(t *testing.T) {
	t.Parallel()
	st1, schema := storetest.OpenWith(t, store.Postgres, "")
	st2, _ := storetest.OpenWith(t, store.Postgres, schema)
	a := setup(t, st1, fastOptions())
	b := setup(t, st2, fastOptions())
	key, _ := a.topic("shared", events.SchemaEventGrid)
	rcs := []*receiver{newReceiver(t, "accept", nil), newReceiver(t, "accept", nil)}
	for i, rc := range rcs {
		a.subscribe("shared", fmt.Sprint("sub", i), map[string]any{"destination": webhook(rc.URL, map[string]any{"maxEventsPerBatch": 5})})
		a.waitState("shared", fmt.Sprint("sub", i), events.StateSucceeded)
	}
	const n = 400
	for i := 0; i < n; i += 100 {
		var batch []any
		for j := i; j < i+100; j++ {
			batch = append(batch, egEvent(fmt.Sprint("e", j), "T", "/s", map[string]any{"j": j}))
		}
		node := a
		if i%200 == 100 {
			node = b
		}
		if status, out := node.publishEG("shared", key, batch); status != 200 {
			t.Fatalf("publish: %d %s", status, out)
		}
	}
	for i, rc := range rcs {
		waitFor(t, fmt.Sprint("receiver ", i), func() bool { return countEvents(rc) >= n })
		waitFor(t, "deliveries drained", func() bool { return countRows(t, st1, "events_deliveries") == 0 })
		seen := map[string]int{}
		for _, d := range rc.notifications() {
			var evs []map[string]any
			json.Unmarshal(d.Body, &evs)
			for _, e := range evs {
				seen[e["id"].(string)]++
			}
		}
		if len(seen) != n {
			t.Fatalf("receiver %d saw %d distinct events, want %d", i, len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("receiver %d got %s %d times", i, id, c)
			}
		}
	}
}

func countEvents(rc *receiver) int {
	n := 0
	for _, d := range rc.notifications() {
		var evs []any
		json.Unmarshal(d.Body, &evs)
		n += len(evs)
	}
	return n
}
