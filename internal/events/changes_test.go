package events_test

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"junction/internal/changelog"
	"junction/internal/events"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestChangeFeed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		rc := newReceiver(t, "accept", nil)
		b.subscribe(events.RecordsTopic, "accounts", map[string]any{"destination": webhook(rc.URL, nil),
			"filter": map[string]any{"subjectBeginsWith": "/tables/account/"}})
		b.waitState(events.RecordsTopic, "accounts", events.StateSucceeded)
		ctx := context.Background()
		const n = 30
		for i := range n {
			table := "account"
			if i%3 == 2 {
				table = "contact"
			}
			err := st.Tx(ctx, func(tx store.Tx) error {
				_, err := changelog.Append(ctx, tx, changelog.Change{Table: table, RecordID: fmt.Sprintf("id-%d", i%4), Message: changelog.Update,
					Changed: []string{"name"}, Before: map[string]any{"name": "old"}, After: map[string]any{"name": fmt.Sprint("v", i)},
					CorrelationID: "corr", UserID: "user"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		want := 20 // the account changes
		waitFor(t, "change events", func() bool { return len(rc.notifications()) >= want })
		got := rc.notifications()
		if len(got) != want {
			t.Fatalf("%d deliveries, want %d", len(got), want)
		}
		ids := map[string]bool{}
		var seqs []float64
		for _, d := range got {
			var m map[string]any
			if err := json.Unmarshal(d.Body, &m); err != nil {
				t.Fatalf("delivery %s: %v", d.Body, err)
			}
			data := m["data"].(map[string]any)
			if m["type"] != "Junction.Records.Update" || !strings.HasPrefix(m["subject"].(string), "/tables/account/id-") ||
				data["table"] != "account" || data["messageName"] != "Update" || data["correlationId"] != "corr" || data["userId"] != "user" ||
				data["before"].(map[string]any)["name"] != "old" {
				t.Fatalf("change event %s", d.Body)
			}
			if ids[m["id"].(string)] {
				t.Fatalf("event id %s delivered twice", m["id"])
			}
			ids[m["id"].(string)] = true
			if m["id"] != events.ChangeEventID(int64(data["sequence"].(float64))) {
				t.Fatalf("event id %s is not derived from sequence %v", m["id"], data["sequence"])
			}
			seqs = append(seqs, data["sequence"].(float64))
		}
		// Publishing is exactly once: a second pass over the log publishes nothing.
		// The cursor reaches the end of the log (the changes of other tables
		// may still be in flight when the account events have arrived).
		var cursor int64
		waitFor(t, "the cursor at the end of the log", func() bool {
			st.Read(ctx, func(q store.Querier) error {
				return q.QueryRow(ctx, `SELECT seq FROM junction_changelog_cursors WHERE name = 'events'`).Scan(&cursor)
			})
			return cursor == n
		})
		if got := rc.notifications(); len(got) != want {
			t.Fatalf("%d deliveries after the whole log was read, want %d", len(got), want)
		}
		_ = seqs
	})
}

func TestDataverseWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		rc := newReceiver(t, "accept", nil)
		b.subscribe(events.RecordsTopic, "crm", map[string]any{"destination": webhook(rc.URL, nil)})
		b.waitState(events.RecordsTopic, "crm", events.StateSucceeded)
		key := b.admin("POST", "/topics/records/listKeys", nil, 200)["key1"].(string)
		body, err := os.ReadFile(filepath.Join("testdata", "remote-execution-context-update.json"))
		if err != nil {
			t.Fatal(err)
		}
		hdr := map[string]string{"x-ms-dynamics-organization": "contoso.crm.dynamics.com", "x-ms-dynamics-entity-name": "account",
			"x-ms-dynamics-request-name": "Update"}
		if status, _ := b.do("POST", "/webhooks/dataverse", body, hdr); status != 401 {
			t.Fatalf("no key: %d", status)
		}
		if status, _ := b.do("POST", "/webhooks/dataverse?code=wrong", body, hdr); status != 401 {
			t.Fatalf("wrong key: %d", status)
		}
		// An API key is not a webhook key, whatever its role: a sender key
		// must not forge an org's record changes.
		for _, role := range []server.Role{server.RoleSender, server.RoleOperator, server.RoleAdmin} {
			_, secret, err := b.keys.Create(context.Background(), "k-"+string(role), role)
			if err != nil {
				t.Fatal(err)
			}
			if status, out := b.do("POST", "/webhooks/dataverse", body, map[string]string{"Authorization": "Bearer " + secret}); status != 401 {
				t.Fatalf("%s bearer key: %d %s", role, status, out)
			}
		}
		if status, out := b.do("POST", "/webhooks/dataverse", "{not json", map[string]string{events.WebhookKeyHeader: key}); status != 400 {
			t.Fatalf("bad body: %d %s", status, out)
		}
		if n := countRows(t, st, "junction_changes"); n != 0 {
			t.Fatalf("rejected requests appended %d changes", n)
		}
		// A rolled-back append: on PostgreSQL the id it drew is never a
		// position, so the change below has an id that differs from its
		// position.
		_ = st.Tx(context.Background(), func(tx store.Tx) error {
			changelog.Append(context.Background(), tx, changelog.Change{Table: "account", RecordID: "ghost", Message: changelog.Delete})
			return errors.New("rolled back")
		})
		status, out := b.do("POST", "/webhooks/dataverse?code="+url.QueryEscape(key), body, hdr)
		var first map[string]any
		if status != 200 || json.Unmarshal(out, &first) != nil {
			t.Fatalf("webhook: %d %s", status, out)
		}
		// Dataverse retrying the same request (same RequestId) appends
		// nothing, and is answered with the same event.
		if status, out := b.do("POST", "/webhooks/dataverse?code="+url.QueryEscape(key), body, hdr); status != 200 || !strings.Contains(string(out), `"duplicate":true`) ||
			!strings.Contains(string(out), `"eventId":"`+first["eventId"].(string)+`"`) {
			t.Fatalf("webhook retry: %d %s (first %v)", status, out, first)
		}
		if n := countRows(t, st, "junction_changes"); n != 1 {
			t.Fatalf("%d changes after a retried webhook, want 1", n)
		}
		var source string
		if err := st.Read(context.Background(), func(q store.Querier) error {
			return q.QueryRow(context.Background(), "SELECT source FROM junction_changes").Scan(&source)
		}); err != nil || source != "contoso.crm.dynamics.com" {
			t.Fatalf("the org's change has source %q (%v), want the org", source, err)
		}
		hdr[events.WebhookKeyHeader] = key
		hdr["x-ms-dynamics-msg-size-exceeded"] = "true"
		small := `{"MessageName":"Delete","PrimaryEntityName":"account","PrimaryEntityId":"7C1A9D0E-0000-0000-0000-000000000001",
			"InputParameters":[{"key":"Target","value":{"__type":"EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts","Id":"7c1a9d0e-0000-0000-0000-000000000001","LogicalName":"account","Name":null}}],
			"PreEntityImages":[],"PostEntityImages":[],"UserId":"u1","InitiatingUserId":"u1","CorrelationId":"c2","OperationCreatedOn":"\/Date(1506409448000)\/"}`
		if status, out := b.do("POST", "/webhooks/dataverse", small, hdr); status != 200 {
			t.Fatalf("webhook (header key): %d %s", status, out)
		}
		waitFor(t, "Dataverse change events", func() bool { return len(rc.notifications()) == 2 })
		var upd, del map[string]any
		json.Unmarshal(rc.notifications()[0].Body, &upd)
		json.Unmarshal(rc.notifications()[1].Body, &del)
		if upd["type"] != "Junction.Records.Update" { // ordering is not guaranteed
			upd, del = del, upd
		}
		if upd["id"] != first["eventId"] || upd["data"].(map[string]any)["sequence"] != first["sequence"] {
			t.Fatalf("the webhook answered event %v (sequence %v); the event published is %v (sequence %v)",
				first["eventId"], first["sequence"], upd["id"], upd["data"].(map[string]any)["sequence"])
		}
		d := upd["data"].(map[string]any)
		after := d["after"].(map[string]any)
		if upd["source"] != "contoso.crm.dynamics.com" || upd["subject"] != "/tables/account/"+d["id"].(string) || d["messageName"] != "Update" ||
			after["creditlimit"] != float64(5000) || after["industrycode"] != float64(3) || after["name"] != "Contoso Ltd" ||
			after["modifiedon"] != "2017-09-26T06:44:08Z" || after["primarycontactid"].(map[string]any)["logicalName"] != "contact" ||
			d["before"].(map[string]any)["name"] != "Contoso" || d["correlationId"] != "b7e2c5a1-1111-2222-3333-444455556666" {
			t.Fatalf("update event %s", rc.notifications()[0].Body)
		}
		if len(d["changedColumns"].([]any)) != 5 {
			t.Fatalf("changed columns %v", d["changedColumns"])
		}
		dd := del["data"].(map[string]any)
		if dd["messageName"] != "Delete" || dd["id"] != "7c1a9d0e-0000-0000-0000-000000000001" || dd["after"] != nil || del["time"] != "2017-09-26T07:04:08Z" {
			t.Fatalf("delete event %s", rc.notifications()[1].Body)
		}
	})
}

func TestProjectFile(t *testing.T) {
	t.Parallel()
	good := `topics:
  - name: grants
    properties: {inputSchema: CloudEventSchemaV1_0}
    eventSubscriptions:
      - name: finance
        properties:
          destination: {endpointType: WebHook, properties: {endpointUrl: "http://127.0.0.1:1/hook", maxEventsPerBatch: 10}}
          filter:
            includedEventTypes: [Grant.Approved]
            advancedFilters:
              - {operatorType: NumberGreaterThan, key: data.amount, value: 1000}
              - {operatorType: NumberInRange, key: data.score, values: [[1, 5]]}
          retryPolicy: {maxDeliveryAttempts: 5}
  - name: records
    eventSubscriptions:
      - name: audit
        properties:
          destination: {endpointType: WebHook, properties: {endpointUrl: "http://127.0.0.1:1/audit"}}
`
	cases := map[string]string{
		"unknown field":   "topics:\n  - name: grants\n    propertiez: {}\n",
		"bad schema":      "topics:\n  - name: grants\n    properties: {inputSchema: Nope}\n",
		"bad filter":      "topics:\n  - name: grants\n    eventSubscriptions:\n      - name: s1\n        properties:\n          destination: {endpointType: WebHook, properties: {endpointUrl: 'http://x/'}}\n          filter: {advancedFilters: [{operatorType: Nope, key: a}]}\n",
		"no destination":  "topics:\n  - name: grants\n    eventSubscriptions:\n      - name: s1\n        properties: {}\n",
		"duplicate topic": "topics:\n  - name: grants\n  - name: grants\n",
		"pull on custom":  "topics:\n  - name: grants\n    eventSubscriptions:\n      - name: s1\n        properties: {deliveryConfiguration: {deliveryMode: Queue}}\n",
	}
	for name, doc := range cases {
		p, problems := project.Open(fstest.MapFS{events.ProjectFile: {Data: []byte(doc)}}, "proj")
		if len(problems) == 0 {
			problems = p.Validate(events.Validator{})
		}
		if len(problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
	p, problems := project.Open(fstest.MapFS{events.ProjectFile: {Data: []byte(good)}}, "proj")
	if problems = append(problems, p.Validate(events.Validator{})...); len(problems) > 0 {
		t.Fatalf("good project: %v", problems)
	}
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		if err := b.r.LoadProject(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		sub := b.admin("GET", "/topics/grants/eventSubscriptions/finance", nil, 200)["properties"].(map[string]any)
		if sub["eventDeliverySchema"] != events.SchemaCloudEvents || sub["origin"] != "project" ||
			sub["filter"].(map[string]any)["advancedFilters"].([]any)[0].(map[string]any)["value"] != float64(1000) {
			t.Fatalf("loaded subscription %v", sub)
		}
		b.admin("GET", "/topics/records/eventSubscriptions/audit", nil, 200)
	})
}

// TestExternalSource: a change an org posted never carries Junction's own
// source, whatever the org header and body say.
func TestExternalSource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ org, body, want string }{
		{"contoso.crm.dynamics.com", ``, "contoso.crm.dynamics.com"},
		{"", `,"OrganizationName":"contoso"`, "contoso"},
		{"", ``, "dataverse-webhook"},
		{"junction", ``, "dataverse-webhook:junction"},
		{"", `,"OrganizationName":"Junction"`, "dataverse-webhook:Junction"},
		{"/junction", ``, "dataverse-webhook:/junction"},
	} {
		body := `{"MessageName":"Update","PrimaryEntityName":"account","PrimaryEntityId":"7c1a9d0e-0000-0000-0000-000000000001"` + c.body + `}`
		ch, err := events.DataverseChange([]byte(body), c.org)
		if err != nil {
			t.Fatalf("%q %s: %v", c.org, body, err)
		}
		if ch.Source != c.want {
			t.Errorf("org %q body %s: source %q, want %q", c.org, c.body, ch.Source, c.want)
		}
	}
}

// TestChangeFeedWithoutSubscribers: with nobody subscribed to the records
// topic the feed still moves its cursor to the end of the log (the events
// are dropped, as Event Grid drops events nobody listens to); changes after
// a subscription arrive, each once, and none from before it.
func TestChangeFeedWithoutSubscribers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		ctx := context.Background()
		appendN := func(from, n int) {
			for i := from; i < from+n; i++ {
				err := st.Tx(ctx, func(tx store.Tx) error {
					_, err := changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: fmt.Sprintf("id-%d", i), Message: changelog.Create,
						Changed: []string{"name"}, After: map[string]any{"name": fmt.Sprint("v", i), "fax": nil}})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		cursorAt := func(want int64) {
			t.Helper()
			var cursor int64
			waitFor(t, fmt.Sprint("the cursor at ", want), func() bool {
				st.Read(ctx, func(q store.Querier) error {
					return q.QueryRow(ctx, `SELECT seq FROM junction_changelog_cursors WHERE name = 'events'`).Scan(&cursor)
				})
				return cursor == want
			})
		}
		appendN(0, 250) // more than one batch of the feed
		cursorAt(250)
		rc := newReceiver(t, "accept", nil)
		b.subscribe(events.RecordsTopic, "accounts", map[string]any{"destination": webhook(rc.URL, nil)})
		b.waitState(events.RecordsTopic, "accounts", events.StateSucceeded)
		appendN(250, 5)
		waitFor(t, "change events", func() bool { return len(rc.notifications()) >= 5 })
		cursorAt(255)
		got := rc.notifications()
		if len(got) != 5 {
			t.Fatalf("%d deliveries, want 5", len(got))
		}
		for _, d := range got {
			var m struct {
				Data struct {
					ID    string         `json:"id"`
					After map[string]any `json:"after"`
				} `json:"data"`
			}
			if err := json.Unmarshal(d.Body, &m); err != nil {
				t.Fatal(err)
			}
			var i int
			if _, err := fmt.Sscanf(m.Data.ID, "id-%d", &i); err != nil || i < 250 || m.Data.After["name"] != fmt.Sprint("v", i) {
				t.Errorf("delivered %s", d.Body)
			}
			if _, ok := m.Data.After["fax"]; !ok {
				t.Errorf("after image without its null column: %s", d.Body)
			}
		}
	})
}

// TestChangeEventID: a change's event id is the version 5 style UUID of its
// position, the same id every time (a redelivered event keeps its id).
func TestChangeEventID(t *testing.T) {
	t.Parallel()
	reference := func(seq int64) string {
		h := sha1.Sum([]byte(fmt.Sprintf("junction/changelog/%d", seq)))
		h[6] = (h[6] & 0x0f) | 0x50
		h[8] = (h[8] & 0x3f) | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	}
	for _, seq := range []int64{0, 1, 42, 1 << 40, math.MaxInt64, -7} {
		if got, want := events.ChangeEventID(seq), reference(seq); got != want {
			t.Errorf("ChangeEventID(%d) = %s, want %s", seq, got, want)
		}
	}
}
