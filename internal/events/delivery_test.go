package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestHandshake(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key, _ := b.topic("hands", events.SchemaEventGrid)
		cases := []struct {
			name, mode, schema, want string
		}{
			{"eg-accept", "accept", events.SchemaEventGrid, events.StateSucceeded},
			{"eg-refuse", "refuse", events.SchemaEventGrid, events.StateFailed},
			{"eg-late", "late", events.SchemaEventGrid, events.StateSucceeded},
			{"eg-wait", "wait", events.SchemaEventGrid, events.StateAwaitingManual},
			{"ce-accept", "accept", events.SchemaCloudEvents, events.StateSucceeded},
			{"ce-refuse", "refuse", events.SchemaCloudEvents, events.StateFailed},
		}
		rcs := map[string]*receiver{}
		for _, c := range cases {
			rc := newReceiver(t, c.mode, nil)
			rcs[c.name] = rc
			b.subscribe("hands", c.name, map[string]any{"destination": webhook(rc.URL, nil), "eventDeliverySchema": c.schema})
		}
		for _, c := range cases {
			b.waitState("hands", c.name, c.want)
		}
		if status, out := b.publishEG("hands", key, []any{egEvent("e1", "T", "/s", 1)}); status != 200 {
			t.Fatalf("publish: %d %s", status, out)
		}
		for _, name := range []string{"eg-accept", "eg-late", "ce-accept"} {
			waitFor(t, name+" delivery", func() bool { return len(rcs[name].notifications()) == 1 })
		}
		// The CloudEvents handshake is an OPTIONS with the origin.
		first := rcs["ce-accept"].got[0]
		if first.Method != "OPTIONS" || first.Header.Get("WebHook-Request-Origin") != events.ValidationOrigin {
			t.Fatalf("CloudEvents handshake was %s %v", first.Method, first.Header)
		}
		// Nothing reaches endpoints that did not validate.
		time.Sleep(200 * time.Millisecond)
		for _, name := range []string{"eg-refuse", "eg-wait", "ce-refuse"} {
			if n := len(rcs[name].notifications()); n != 0 {
				t.Errorf("%s got %d deliveries before validating", name, n)
			}
		}
		// A wrong validation link validates nothing.
		status, _ := b.do("GET", "/eventgrid/validate?topic=hands&subscription=eg-wait&code=wrong", nil, nil)
		if status != 404 {
			t.Fatalf("wrong validation code: %d", status)
		}
		// The waiting endpoint validates late with the link and then gets the event.
		var code struct {
			Data struct{ ValidationURL string } `json:"data"`
		}
		var evs []json.RawMessage
		json.Unmarshal(rcs["eg-wait"].got[0].Body, &evs)
		json.Unmarshal(evs[0], &code)
		resp, err := http.Get(code.Data.ValidationURL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("validation URL: %v %v", err, resp)
		}
		waitFor(t, "delivery after late validation", func() bool { return len(rcs["eg-wait"].notifications()) == 1 })
	})
}

func TestDeliveryHeadersSignatureAndBatching(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key, _ := b.topic("orders", events.SchemaEventGrid)
		single := newReceiver(t, "accept", nil)
		batched := newReceiver(t, "accept", nil)
		ce := newReceiver(t, "accept", nil)
		b.subscribe("orders", "single", map[string]any{"destination": webhook(single.URL, map[string]any{
			"deliveryAttributeMappings": []any{
				map[string]any{"name": "x-static", "type": "Static", "properties": map[string]any{"value": "hello"}},
				map[string]any{"name": "x-region", "type": "Dynamic", "properties": map[string]any{"sourceField": "data.region"}},
			}})})
		b.subscribe("orders", "batched", map[string]any{"destination": webhook(batched.URL, map[string]any{"maxEventsPerBatch": 3})})
		b.subscribe("orders", "cloud", map[string]any{"destination": webhook(ce.URL, nil), "eventDeliverySchema": events.SchemaCloudEvents})
		for _, s := range []string{"single", "batched", "cloud"} {
			b.waitState("orders", s, events.StateSucceeded)
		}
		var batch []any
		for i := range 7 {
			batch = append(batch, egEvent(fmt.Sprint("e", i), "Orders.Created", fmt.Sprint("/orders/", i), map[string]any{"region": "eu", "n": i}))
		}
		if status, out := b.publishEG("orders", key, batch); status != 200 {
			t.Fatalf("publish: %d %s", status, out)
		}
		waitFor(t, "single deliveries", func() bool { return len(single.notifications()) == 7 })
		waitFor(t, "ce deliveries", func() bool { return len(ce.notifications()) == 7 })
		waitFor(t, "batched deliveries", func() bool {
			n := 0
			for _, d := range batched.notifications() {
				var evs []any
				json.Unmarshal(d.Body, &evs)
				n += len(evs)
			}
			return n == 7
		})
		secrets := b.admin("POST", "/topics/orders/eventSubscriptions/single/listSigningSecrets", nil, 200)["secrets"].([]any)
		for _, d := range single.notifications() {
			h := d.Header
			if h.Get("aeg-subscription-name") != "SINGLE" || h.Get("aeg-delivery-count") != "0" || h.Get("aeg-metadata-version") != "1" ||
				h.Get("aeg-data-version") != "1.0" || h.Get("x-static") != "hello" || h.Get("x-region") != "eu" {
				t.Fatalf("headers %v", h)
			}
			if !events.VerifyWebhook(h, d.Body, secrets[0].(string)) {
				t.Fatalf("signature %q does not verify", h.Get("webhook-signature"))
			}
			if events.VerifyWebhook(h, append(d.Body, ' '), secrets[0].(string)) {
				t.Fatal("a changed body still verifies")
			}
			var evs []map[string]any
			if err := json.Unmarshal(d.Body, &evs); err != nil || len(evs) != 1 || evs[0]["topic"] != "/eventgrid/topics/orders" || evs[0]["metadataVersion"] != "1" {
				t.Fatalf("body %s", d.Body)
			}
		}
		for _, d := range batched.notifications() {
			var evs []any
			json.Unmarshal(d.Body, &evs)
			if len(evs) > 3 {
				t.Fatalf("batch of %d events exceeds maxEventsPerBatch 3", len(evs))
			}
		}
		for _, d := range ce.notifications() {
			var m map[string]any
			if err := json.Unmarshal(d.Body, &m); err != nil || m["specversion"] != "1.0" || m["type"] != "Orders.Created" ||
				d.Header.Get("Content-Type") != "application/cloudevents+json; charset=utf-8" {
				t.Fatalf("CloudEvents delivery %s %v", d.Body, d.Header)
			}
		}
		// Rotating the secret signs with both until the next rotation.
		rotated := b.admin("POST", "/topics/orders/eventSubscriptions/single/rotateSigningSecret", nil, 200)["secrets"].([]any)
		if len(rotated) != 2 || rotated[1] != secrets[0] {
			t.Fatalf("rotated secrets %v", rotated)
		}
		b.publishEG("orders", key, []any{egEvent("after", "Orders.Created", "/o", map[string]any{"region": "us"})})
		waitFor(t, "delivery after rotation", func() bool { return len(single.notifications()) == 8 })
		last := single.notifications()[7]
		if !events.VerifyWebhook(last.Header, last.Body, rotated[0].(string)) || !events.VerifyWebhook(last.Header, last.Body, rotated[1].(string)) {
			t.Fatalf("after rotation both secrets must verify: %q", last.Header.Get("webhook-signature"))
		}
	})
}

func TestRetryLadderAndDeadLetters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key, _ := b.topic("flaky", events.SchemaEventGrid)
		// Fails three times with 500, then accepts.
		flaky := newReceiver(t, "accept", func(n int) int {
			if n < 3 {
				return 500
			}
			return 200
		})
		alwaysDown := newReceiver(t, "accept", func(int) int { return 503 })
		badRequest := newReceiver(t, "accept", func(int) int { return 400 })
		dl := map[string]any{"endpointType": "StorageBlob", "properties": map[string]any{"blobContainerName": "dl"}}
		b.subscribe("flaky", "flaky", map[string]any{"destination": webhook(flaky.URL, nil)})
		b.subscribe("flaky", "down", map[string]any{"destination": webhook(alwaysDown.URL, nil), "deadLetterDestination": dl,
			"retryPolicy": map[string]any{"maxDeliveryAttempts": 4}})
		b.subscribe("flaky", "bad", map[string]any{"destination": webhook(badRequest.URL, nil), "deadLetterDestination": dl})
		for _, s := range []string{"flaky", "down", "bad"} {
			b.waitState("flaky", s, events.StateSucceeded)
		}
		b.publishEG("flaky", key, []any{egEvent("e1", "T", "/s", map[string]any{"v": 1})})
		waitFor(t, "flaky delivered", func() bool { return len(flaky.notifications()) == 4 })
		got := flaky.notifications()
		// The gaps follow the ladder (10 s, 30 s, 1 min at scale 1/1000), never shorter.
		for i, want := range []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond} {
			if gap := got[i+1].At.Sub(got[i].At); gap < want {
				t.Errorf("retry %d came after %v, before the ladder's %v", i+1, gap, want)
			}
			if c := got[i+1].Header.Get("aeg-delivery-count"); c != strconv.Itoa(i+1) {
				t.Errorf("retry %d has aeg-delivery-count %s", i+1, c)
			}
		}
		waitFor(t, "down dead-lettered", func() bool {
			return len(b.admin("GET", "/topics/flaky/eventSubscriptions/down/deadLetters", nil, 200)["value"].([]any)) == 1
		})
		if n := len(alwaysDown.notifications()); n != 4 {
			t.Errorf("the down endpoint got %d attempts, want maxDeliveryAttempts 4", n)
		}
		rec := b.admin("GET", "/topics/flaky/eventSubscriptions/down/deadLetters", nil, 200)["value"].([]any)[0].(map[string]any)
		dle := rec["deadLetterEvent"].(map[string]any)
		if dle["deadLetterReason"] != events.ReasonMaxAttempts || dle["deliveryAttempts"] != float64(4) || dle["lastDeliveryOutcome"] != "Busy" ||
			dle["lastHttpStatusCode"] != float64(503) || dle["id"] != "e1" || dle["publishTime"] == nil || dle["lastDeliveryAttemptTime"] == nil {
			t.Fatalf("dead letter %v", dle)
		}
		waitFor(t, "bad dead-lettered at once", func() bool {
			return len(b.admin("GET", "/topics/flaky/eventSubscriptions/bad/deadLetters", nil, 200)["value"].([]any)) == 1
		})
		if n := len(badRequest.notifications()); n != 1 {
			t.Errorf("a 400 endpoint got %d attempts; 400 is never retried", n)
		}
		bad := b.admin("GET", "/topics/flaky/eventSubscriptions/bad/deadLetters", nil, 200)["value"].([]any)[0].(map[string]any)["deadLetterEvent"].(map[string]any)
		if bad["deadLetterReason"] != events.ReasonNonRetry || bad["lastHttpStatusCode"] != float64(400) {
			t.Fatalf("bad dead letter %v", bad)
		}
		// The failing endpoint is being delayed.
		status := b.admin("GET", "/topics/flaky/eventSubscriptions/down/deliveryStatus", nil, 200)
		if status["consecutiveFailures"].(float64) < 4 || status["deadLettered"] != float64(1) {
			t.Fatalf("delivery status %v", status)
		}
		// Replay: the endpoint recovers, the dead letter is delivered and gone.
		b.subscribe("flaky", "bad2", map[string]any{"destination": webhook(flaky.URL, nil)}) // unrelated subscription is unaffected
		b.admin("PUT", "/topics/flaky/eventSubscriptions/bad", map[string]any{"properties": map[string]any{
			"destination": webhook(flaky.URL, nil), "deadLetterDestination": dl}}, 200)
		b.waitState("flaky", "bad", events.StateSucceeded)
		before := len(flaky.notifications())
		if n := b.admin("POST", "/topics/flaky/eventSubscriptions/bad/deadLetters/replay", map[string]any{}, 200)["replayed"]; n != float64(1) {
			t.Fatalf("replayed %v", n)
		}
		waitFor(t, "replayed delivery", func() bool { return len(flaky.notifications()) == before+1 })
		if n := len(b.admin("GET", "/topics/flaky/eventSubscriptions/bad/deadLetters", nil, 200)["value"].([]any)); n != 0 {
			t.Fatalf("%d dead letters left after replay", n)
		}
	})
}

func TestTimeToLiveAndNoDeadLetterDestination(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		opts := fastOptions()
		opts.TimeScale = 0.0002 // 1 minute of time to live = 12 ms; the ladder's 10 s = 2 ms
		b := setup(t, st, opts)
		key, _ := b.topic("ttl", events.SchemaEventGrid)
		down := newReceiver(t, "accept", func(int) int { return 500 })
		b.subscribe("ttl", "ttl", map[string]any{"destination": webhook(down.URL, nil), "retryPolicy": map[string]any{"eventTimeToLiveInMinutes": 1},
			"deadLetterDestination": map[string]any{"endpointType": "StorageBlob"}})
		b.subscribe("ttl", "drop", map[string]any{"destination": webhook(down.URL, nil), "retryPolicy": map[string]any{"maxDeliveryAttempts": 2}})
		// An endpoint that never validates: its events still expire.
		silent := newReceiver(t, "wait", nil)
		b.subscribe("ttl", "silent", map[string]any{"destination": webhook(silent.URL, nil), "retryPolicy": map[string]any{"eventTimeToLiveInMinutes": 1},
			"deadLetterDestination": map[string]any{"endpointType": "StorageBlob"}})
		b.waitState("ttl", "ttl", events.StateSucceeded)
		b.waitState("ttl", "drop", events.StateSucceeded)
		b.waitState("ttl", "silent", events.StateAwaitingManual)
		b.publishEG("ttl", key, []any{egEvent("e1", "T", "/s", nil)})
		waitFor(t, "ttl dead letter", func() bool {
			v := b.admin("GET", "/topics/ttl/eventSubscriptions/ttl/deadLetters", nil, 200)["value"].([]any)
			return len(v) == 1 && v[0].(map[string]any)["deadLetterEvent"].(map[string]any)["deadLetterReason"] == events.ReasonTTL
		})
		waitFor(t, "silent expired", func() bool {
			v := b.admin("GET", "/topics/ttl/eventSubscriptions/silent/deadLetters", nil, 200)["value"].([]any)
			return len(v) == 1 && v[0].(map[string]any)["deadLetterEvent"].(map[string]any)["deadLetterReason"] == events.ReasonTTL
		})
		if n := len(silent.notifications()); n != 0 {
			t.Fatalf("an unvalidated endpoint got %d deliveries", n)
		}
		waitFor(t, "drop finished", func() bool { return countRows(t, st, "events_deliveries") == 0 })
		if n := len(b.admin("GET", "/topics/ttl/eventSubscriptions/drop/deadLetters", nil, 200)["value"].([]any)); n != 0 {
			t.Fatalf("a subscription without a dead-letter destination kept %d dead letters", n)
		}
	})
}

func TestDispatchers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key, _ := b.topic("grants", events.SchemaEventGrid)
		// No dispatcher for queues yet: a clear error, nothing stored.
		status, out := b.do("PUT", "/admin/v1/eventgrid/topics/grants/eventSubscriptions/queue", map[string]any{"properties": map[string]any{
			"destination": map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{"resourceId": "approvals"}}}},
			map[string]string{"Authorization": "Bearer " + adminKey})
		if status != 400 || !json.Valid(out) || !contains(out, "no dispatcher is registered for endpoint type ServiceBusQueue") {
			t.Fatalf("unregistered dispatcher: %d %s", status, out)
		}
		var mu sync.Mutex
		var got []string
		var calls atomic.Int32
		b.r.RegisterDispatcher(events.EndpointServiceBusQueue, events.DispatcherFunc(func(ctx context.Context, target string, evs []events.Event) error {
			if calls.Add(1) == 1 {
				return fmt.Errorf("queue busy")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, e := range evs {
				got = append(got, target+":"+e.ID)
			}
			return nil
		}))
		b.subscribe("grants", "queue", map[string]any{"destination": map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{"resourceId": "approvals"}}})
		b.publishEG("grants", key, []any{egEvent("g1", "T", "/s", nil)})
		waitFor(t, "dispatched", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
		if got[0] != "approvals:g1" || calls.Load() != 2 {
			t.Fatalf("dispatched %v after %d calls", got, calls.Load())
		}
	})
}

func contains(b []byte, s string) bool {
	return json.Valid(b) && len(s) > 0 && stringContains(string(b), s)
}

func stringContains(a, b string) bool {
	for i := 0; i+len(b) <= len(a); i++ {
		if a[i:i+len(b)] == b {
			return true
		}
	}
	return false
}

func TestSubscriptionBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		b.topic("strict", events.SchemaEventGrid)
		cases := []struct {
			name   string
			body   string
			target string
		}{
			{"bad operator", `{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"http://127.0.0.1:1/"}},
				"filter":{"advancedFilters":[{"operatorType":"Regex","key":"data.a","values":["x"]}]}}}`, "properties.filter.advancedFilters[0].operatorType"},
			{"bad url", `{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"ftp://x"}}}}`, "properties.destination.properties.endpointUrl"},
			{"batch too big", `{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"http://x/","maxEventsPerBatch":5001}}}}`, "properties.destination.properties.maxEventsPerBatch"},
			{"attempts", `{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"http://x/"}},"retryPolicy":{"maxDeliveryAttempts":31}}}`, "properties.retryPolicy.maxDeliveryAttempts"},
			{"ttl", `{"properties":{"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"http://x/"}},"retryPolicy":{"eventTimeToLiveInMinutes":1441}}}`, "properties.retryPolicy.eventTimeToLiveInMinutes"},
			{"unknown field", `{"properties":{"destinationn":{}}}`, ""},
			{"pull on custom topic", `{"properties":{"deliveryConfiguration":{"deliveryMode":"Queue"}}}`, "properties.deliveryConfiguration.deliveryMode"},
		}
		for _, c := range cases {
			status, out := b.do("PUT", "/admin/v1/eventgrid/topics/strict/eventSubscriptions/sub1", c.body, map[string]string{"Authorization": "Bearer " + adminKey})
			var e struct {
				Error struct{ Code, Target string } `json:"error"`
			}
			json.Unmarshal(out, &e)
			if status != 400 || e.Error.Target != c.target {
				t.Errorf("%s: %d %s", c.name, status, out)
			}
		}
		b.admin("GET", "/topics/strict/eventSubscriptions/sub1", nil, 404)
		b.admin("PUT", "/topics/nope/eventSubscriptions/sub1", map[string]any{"properties": map[string]any{"destination": webhook("http://x/", nil)}}, 404)
		b.admin("PUT", "/topics/strict", map[string]any{"properties": map[string]any{"inputSchema": "Custom"}}, 400)
		b.admin("DELETE", "/topics/records", nil, 400)
	})
}

// TestSubscriptionBatchesInPublishOrder: a node runs several delivery rounds
// at once, each for its own share of the subscriptions, so every
// subscription still gets its batches one after the other in publish order,
// over many rounds. Subscriptions made before lanes existed get theirs when
// the router starts.
func TestSubscriptionBatchesInPublishOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key, _ := b.topic("orders", events.SchemaEventGrid)
		var rcs []*receiver
		for i := range 8 {
			rc := newReceiver(t, "accept", nil)
			rcs = append(rcs, rc)
			name := fmt.Sprint("sub", i)
			b.subscribe("orders", name, map[string]any{"destination": webhook(rc.URL, map[string]any{"maxEventsPerBatch": 5})})
			b.waitState("orders", name, events.StateSucceeded)
		}
		ctx := context.Background()
		lanes := func() (zero, distinct int) {
			seen := map[int64]bool{}
			if err := st.Read(ctx, func(q store.Querier) error {
				rows, err := q.Query(ctx, "SELECT lane FROM events_subscriptions WHERE topic = 'orders'")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var lane int64
					if err := rows.Scan(&lane); err != nil {
						return err
					}
					if lane == 0 {
						zero++
					}
					seen[lane] = true
				}
				return rows.Err()
			}); err != nil {
				t.Fatal(err)
			}
			return zero, len(seen)
		}
		if zero, distinct := lanes(); zero != 0 || distinct < 2 {
			t.Fatalf("lanes of new subscriptions: %d unassigned, %d distinct", zero, distinct)
		}
		// As if made before lanes existed: the next start assigns them.
		b.r.Stop(ctx)
		if err := st.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE events_subscriptions SET lane = 0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if zero, distinct := lanes(); zero != 0 || distinct < 2 {
			t.Fatalf("lanes after a restart: %d unassigned, %d distinct", zero, distinct)
		}
		const requests, per = 4, 200 // 800 events, 6,400 deliveries: many rounds of at most 512
		for r := range requests {
			var batch []any
			for i := range per {
				n := r*per + i
				batch = append(batch, egEvent(fmt.Sprint("e", n), "Orders.Created", fmt.Sprint("/orders/", n), map[string]any{"n": n}))
			}
			if status, out := b.publishEG("orders", key, batch); status != 200 {
				t.Fatalf("publish: %d %s", status, out)
			}
		}
		for i, rc := range rcs {
			var ids []string
			waitFor(t, fmt.Sprint("deliveries to sub", i), func() bool {
				ids = ids[:0]
				for _, d := range rc.notifications() {
					var evs []struct{ ID string }
					json.Unmarshal(d.Body, &evs)
					for _, e := range evs {
						ids = append(ids, e.ID)
					}
				}
				return len(ids) >= requests*per
			})
			for n, id := range ids {
				if id != fmt.Sprint("e", n) {
					t.Fatalf("sub%d got %s as its event %d (of %d): out of publish order", i, id, n, len(ids))
				}
			}
		}
	})
}
