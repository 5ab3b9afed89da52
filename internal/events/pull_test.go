package events_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

type receiveAnswer struct {
	Value []struct {
		BrokerProperties struct {
			LockToken     string `json:"lockToken"`
			DeliveryCount int    `json:"deliveryCount"`
		} `json:"brokerProperties"`
		Event map[string]any `json:"event"`
	} `json:"value"`
}

type settleAnswer struct {
	Succeeded []string `json:"succeededLockTokens"`
	Failed    []struct {
		LockToken string `json:"lockToken"`
		ErrorCode string `json:"errorCode"`
	} `json:"failedLockTokens"`
}

func TestPullDelivery(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		b.admin("PUT", "/topics/ns-orders", map[string]any{"properties": map[string]any{"inputSchema": events.SchemaCloudEvents, "kind": "Namespace"}}, 201)
		key := b.admin("POST", "/topics/ns-orders/listKeys", nil, 200)["key1"].(string)
		b.subscribe("ns-orders", "pull", map[string]any{"deliveryConfiguration": map[string]any{"deliveryMode": "Queue",
			"queue": map[string]any{"maxDeliveryCount": 2}}, "deadLetterDestination": map[string]any{"endpointType": "StorageBlob"}})
		// Pull needs a namespace topic.
		b.topic("plain", events.SchemaCloudEvents)
		b.admin("PUT", "/topics/plain/eventSubscriptions/pull", map[string]any{"properties": map[string]any{"deliveryConfiguration": map[string]any{"deliveryMode": "Queue"}}}, 400)

		auth := map[string]string{"Authorization": "SharedAccessKey " + key, "Content-Type": "application/cloudevents-batch+json"}
		status, out := b.do("POST", "/eventgrid/topics/ns-orders:publish?api-version=2024-06-01",
			`[{"specversion":"1.0","id":"a","source":"/s","type":"T"},{"specversion":"1.0","id":"b","source":"/s","type":"T"},{"specversion":"1.0","id":"c","source":"/s","type":"T"}]`, auth)
		if status != 200 {
			t.Fatalf("publish %d %s", status, out)
		}
		recv := func(q string) receiveAnswer {
			status, out := b.do("POST", "/eventgrid/topics/ns-orders/eventsubscriptions/pull:receive?api-version=2024-06-01&"+q, nil, auth)
			if status != 200 {
				t.Fatalf("receive %d %s", status, out)
			}
			var a receiveAnswer
			json.Unmarshal(out, &a)
			return a
		}
		settle := func(action string, tokens ...string) settleAnswer {
			status, out := b.do("POST", "/eventgrid/topics/ns-orders/eventsubscriptions/pull:"+action, map[string]any{"lockTokens": tokens}, auth)
			if status != 200 {
				t.Fatalf("%s %d %s", action, status, out)
			}
			var a settleAnswer
			json.Unmarshal(out, &a)
			return a
		}
		got := recv("maxEvents=3&maxWaitTime=1")
		if len(got.Value) != 3 || got.Value[0].Event["id"] != "a" || got.Value[0].BrokerProperties.DeliveryCount != 1 {
			t.Fatalf("received %+v", got)
		}
		// Locked events are not received again.
		if again := recv("maxEvents=3&maxWaitTime=0"); len(again.Value) != 0 {
			t.Fatalf("received locked events: %+v", again)
		}
		tokA, tokB, tokC := got.Value[0].BrokerProperties.LockToken, got.Value[1].BrokerProperties.LockToken, got.Value[2].BrokerProperties.LockToken
		// Partial success: one good token, one unknown.
		ack := settle("acknowledge", tokA, "not-a-token")
		if len(ack.Succeeded) != 1 || ack.Succeeded[0] != tokA || len(ack.Failed) != 1 || ack.Failed[0].LockToken != "not-a-token" || ack.Failed[0].ErrorCode == "" {
			t.Fatalf("acknowledge %+v", ack)
		}
		if again := settle("acknowledge", tokA); len(again.Failed) != 1 {
			t.Fatalf("acknowledging twice: %+v", again)
		}
		if r := settle("renewLock", tokB); len(r.Succeeded) != 1 {
			t.Fatalf("renewLock %+v", r)
		}
		if r := settle("release", tokB); len(r.Succeeded) != 1 {
			t.Fatalf("release %+v", r)
		}
		if r := settle("reject", tokC); len(r.Succeeded) != 1 {
			t.Fatalf("reject %+v", r)
		}
		status, out = b.do("POST", "/eventgrid/topics/ns-orders/eventsubscriptions/pull:release?releaseDelayInSeconds=7", map[string]any{"lockTokens": []string{"x"}}, auth)
		if status != 400 {
			t.Fatalf("bad release delay: %d %s", status, out)
		}
		// b comes back with delivery count 2, then its count is exhausted.
		got = recv("maxEvents=3&maxWaitTime=1")
		if len(got.Value) != 1 || got.Value[0].Event["id"] != "b" || got.Value[0].BrokerProperties.DeliveryCount != 2 {
			t.Fatalf("after release: %+v", got)
		}
		settle("release", got.Value[0].BrokerProperties.LockToken)
		if got = recv("maxEvents=3&maxWaitTime=0"); len(got.Value) != 0 {
			t.Fatalf("an event past maxDeliveryCount was received: %+v", got)
		}
		dls := b.admin("GET", "/topics/ns-orders/eventSubscriptions/pull/deadLetters", nil, 200)["value"].([]any)
		reasons := map[string]string{}
		for _, d := range dls {
			e := d.(map[string]any)["deadLetterEvent"].(map[string]any)
			reasons[e["id"].(string)] = e["deadletterreason"].(string)
		}
		if reasons["c"] != events.ReasonRejected || reasons["b"] != events.ReasonMaxCount {
			t.Fatalf("dead letters %v", reasons)
		}
		// Wrong key, unknown subscription.
		if status, _ := b.do("POST", "/eventgrid/topics/ns-orders/eventsubscriptions/pull:receive", nil, map[string]string{"Authorization": "SharedAccessKey nope"}); status != http.StatusUnauthorized {
			t.Fatalf("wrong key: %d", status)
		}
		if status, _ := b.do("POST", "/eventgrid/topics/ns-orders/eventsubscriptions/nope:receive", nil, auth); status != http.StatusNotFound {
			t.Fatalf("unknown subscription: %d", status)
		}
	})
}
