package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func countRows(t testing.TB, st store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPublishAuthAndErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		key1, key2 := b.topic("orders", events.SchemaEventGrid)
		ceKey, _ := b.topic("grants", events.SchemaCloudEvents)
		// A subscription that takes everything, so that stored events are visible
		// as deliveries; its receiver never validates so nothing is delivered.
		rc := newReceiver(t, "wait", nil)
		b.subscribe("orders", "all", map[string]any{"destination": webhook(rc.URL, nil)})
		b.subscribe("grants", "all", map[string]any{"destination": webhook(rc.URL, nil), "eventDeliverySchema": events.SchemaEventGrid})
		good := []any{egEvent("1", "Orders.Created", "/orders/1", map[string]any{"n": 1})}
		endpoint := b.url + "/eventgrid/topics/orders/api/events?api-version=2018-01-01"
		sas, err := events.SASToken(endpoint, key2, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		expired, _ := events.SASToken(endpoint, key1, time.Now().Add(-time.Minute))
		otherTopic, _ := events.SASToken(b.url+"/eventgrid/topics/grants/api/events", key1, time.Now().Add(time.Hour))
		bigData := strings.Repeat("x", events.MaxRequestSize)
		many := make([]any, events.MaxBatchEvents+1)
		for i := range many {
			many[i] = egEvent(fmt.Sprint(i), "t", "s", nil)
		}
		cases := []struct {
			name    string
			path    string
			body    any
			hdr     map[string]string
			status  int
			code    string
			stored  int
			message string
		}{
			{"aeg-sas-key key1", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-key": key1}, 200, "", 1, ""},
			{"aeg-sas-key key2", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-key": key2}, 200, "", 1, ""},
			{"aeg-sas-token", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-token": sas}, 200, "", 1, ""},
			{"SharedAccessKey", "/eventgrid/topics/orders/api/events", good, map[string]string{"Authorization": "SharedAccessKey " + key1}, 200, "", 1, ""},
			{"bearer api key", "/eventgrid/topics/orders/api/events", good, map[string]string{"Authorization": "Bearer " + adminKey}, 200, "", 1, ""},
			{"wrong key", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-key": ceKey}, 401, "Unauthorized", 0, ""},
			{"no key", "/eventgrid/topics/orders/api/events", good, nil, 401, "Unauthorized", 0, ""},
			{"expired token", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-token": expired}, 401, "Unauthorized", 0, ""},
			{"token for another topic", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-token": otherTopic}, 401, "Unauthorized", 0, ""},
			{"tampered token", "/eventgrid/topics/orders/api/events", good, map[string]string{"aeg-sas-token": strings.Replace(sas, "e=", "e=1", 1)}, 401, "Unauthorized", 0, ""},
			{"bad bearer", "/eventgrid/topics/orders/api/events", good, map[string]string{"Authorization": "Bearer nope"}, 401, "Unauthorized", 0, ""},
			{"unknown topic", "/eventgrid/topics/nope/api/events", good, map[string]string{"aeg-sas-key": key1}, 404, "NotFound", 0, ""},
			{"malformed json", "/eventgrid/topics/orders/api/events", "[{", map[string]string{"aeg-sas-key": key1}, 400, "BadRequest", 0, "not valid JSON"},
			{"missing subject", "/eventgrid/topics/orders/api/events", []any{map[string]any{"id": "1", "eventType": "t", "eventTime": time.Now().Format(time.RFC3339)}},
				map[string]string{"aeg-sas-key": key1}, 400, "BadRequest", 0, "'subject'"},
			{"bad time", "/eventgrid/topics/orders/api/events", []any{map[string]any{"id": "1", "subject": "s", "eventType": "t", "eventTime": "yesterday"}},
				map[string]string{"aeg-sas-key": key1}, 400, "BadRequest", 0, "eventTime"},
			{"one bad event rejects the batch", "/eventgrid/topics/orders/api/events", []any{good[0], map[string]any{"id": "2"}},
				map[string]string{"aeg-sas-key": key1}, 400, "BadRequest", 0, ""},
			{"oversize request", "/eventgrid/topics/orders/api/events", []any{egEvent("1", "t", "s", bigData)}, map[string]string{"aeg-sas-key": key1}, 413, "RequestEntityTooLarge", 0, ""},
			{"too many events", "/eventgrid/topics/orders/api/events", many, map[string]string{"aeg-sas-key": key1}, 413, "RequestEntityTooLarge", 0, "5000"},
			{"cloudevent to event grid topic", "/eventgrid/topics/orders/api/events", `{"specversion":"1.0","id":"1","source":"/x","type":"t"}`,
				map[string]string{"aeg-sas-key": key1, "Content-Type": "application/cloudevents+json"}, 400, "BadRequest", 0, "Event Grid schema"},
			{"ce structured", "/eventgrid/topics/grants/api/events", `{"specversion":"1.0","id":"1","source":"/x","type":"t","data":{"a":1}}`,
				map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/cloudevents+json; charset=utf-8"}, 200, "", 1, ""},
			{"ce batch via :publish", "/eventgrid/topics/grants:publish?api-version=2024-06-01",
				`[{"specversion":"1.0","id":"1","source":"/x","type":"t"},{"specversion":"1.0","id":"2","source":"/x","type":"t","data_base64":"AAE="}]`,
				map[string]string{"Authorization": "SharedAccessKey " + ceKey, "Content-Type": "application/cloudevents-batch+json; charset=utf-8"}, 200, "", 2, ""},
			{"ce binary", "/eventgrid/topics/grants/api/events", `{"amount":5}`,
				map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "b1", "ce-source": "/bin", "ce-type": "t", "ce-subject": "a%20b"}, 200, "", 1, ""},
			{"ce missing source", "/eventgrid/topics/grants/api/events", `{"specversion":"1.0","id":"1","type":"t"}`,
				map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/cloudevents+json"}, 400, "BadRequest", 0, "'source'"},
			{"ce binary missing type", "/eventgrid/topics/grants/api/events", `{}`,
				map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "b1", "ce-source": "/bin"}, 400, "BadRequest", 0, "'type'"},
			{"ce wrong specversion", "/eventgrid/topics/grants/api/events", `{"specversion":"0.3","id":"1","source":"/x","type":"t"}`,
				map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/cloudevents+json"}, 400, "BadRequest", 0, "specversion"},
			{"unknown :action", "/eventgrid/topics/grants:nope", `[]`, map[string]string{"aeg-sas-key": ceKey}, 404, "NotFound", 0, ""},
			{"system topic", "/eventgrid/topics/records/api/events", `[]`, map[string]string{"Authorization": "Bearer " + adminKey, "Content-Type": "application/cloudevents-batch+json"}, 400, "BadRequest", 0, "system topic"},
		}
		for _, tc := range cases {
			before := countRows(t, st, "events_deliveries")
			status, out := b.do("POST", tc.path, tc.body, tc.hdr)
			if status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.status, out)
				continue
			}
			if tc.code != "" {
				var e struct {
					Error struct {
						Code    string `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if err := json.Unmarshal(out, &e); err != nil || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.message) {
					t.Errorf("%s: error body %s, want code %s containing %q", tc.name, out, tc.code, tc.message)
				}
			}
			if got := countRows(t, st, "events_deliveries") - before; got != tc.stored {
				t.Errorf("%s: %d deliveries queued, want %d", tc.name, got, tc.stored)
			}
		}
	})
}

func TestDecodeCloudEventModes(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "x")
	h.Set("ce-source", "/s")
	h.Set("ce-type", "t")
	h.Set("ce-myext", "v%2Fw")
	evs, err := events.DecodeCloudEvents(h, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	ce := evs[0].CloudEvent()
	if ce["data"] == nil || string(ce["data"].(json.RawMessage)) != `"hello"` || ce["myext"] != "v/w" || ce["datacontenttype"] != "text/plain" {
		t.Fatalf("binary text event rendered as %v", ce)
	}
	h.Set("Content-Type", "application/octet-stream")
	evs, err = events.DecodeCloudEvents(h, []byte{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if ce := evs[0].CloudEvent(); ce["data_base64"] != "AAEC" {
		t.Fatalf("binary bytes rendered as %v", ce)
	}
	// An Event Grid event delivered as a CloudEvent keeps its attributes.
	eg, err := events.DecodeEventGrid([]byte(`[{"id":"1","subject":"/a","eventType":"T","eventTime":"2024-01-02T03:04:05Z","dataVersion":"2","data":{"x":1}}]`), "orders")
	if err != nil {
		t.Fatal(err)
	}
	ce = eg[0].CloudEvent()
	if ce["source"] != "/eventgrid/topics/orders" || ce["type"] != "T" || ce["subject"] != "/a" || ce["time"] != "2024-01-02T03:04:05Z" {
		t.Fatalf("Event Grid event as CloudEvent: %v", ce)
	}
	g := eg[0].EventGrid()
	if g["topic"] != "/eventgrid/topics/orders" || g["metadataVersion"] != "1" || g["dataVersion"] != "2" {
		t.Fatalf("Event Grid rendering: %v", g)
	}
}

func TestSASTokenFormat(t *testing.T) {
	t.Parallel()
	// The expiry is written the .NET way, as the SDKs and the service do.
	tok, err := events.SASToken("https://t.example/api/events?apiVersion=2018-01-01", "AAAA", time.Date(2020, 6, 5, 12, 9, 3, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tok, "&e=6%2F5%2F2020%2012%3A09%3A03%20PM&s=") {
		t.Fatalf("token %s", tok)
	}
}
