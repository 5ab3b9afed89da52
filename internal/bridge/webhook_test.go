package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/server"
	"junction/internal/store/storetest"
)

// tryReceive waits up to wait for one message on path and completes it.
func (j *junction) tryReceive(path string, wait time.Duration) (broker.Received, bool) {
	j.t.Helper()
	b := j.broker()
	got, err := b.Receive(context.Background(), path, broker.ReceiveOptions{Mode: broker.PeekLock, Wait: wait})
	if err != nil {
		j.t.Fatal(err)
	}
	if len(got) == 0 {
		return broker.Received{}, false
	}
	if err := b.Complete(context.Background(), path, broker.Settlement{LockToken: got[0].LockToken}); err != nil {
		j.t.Fatal(err)
	}
	return got[0], true
}

// remoteUpdate is what a Dataverse webhook posts for an account whose phone
// changed.
func remoteUpdate(requestID, phone string) string {
	return fmt.Sprintf(`{"MessageName":"Update","PrimaryEntityName":"account","PrimaryEntityId":"475b158c-541c-e511-80d3-3863bb347ba8",
		"RequestId":%q,"InputParameters":[{"key":"Target","value":{"__type":"Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
		"Attributes":[{"key":"name","value":"Contoso"},{"key":"telephone1","value":%q}],"Id":"475b158c-541c-e511-80d3-3863bb347ba8","LogicalName":"account"}}],
		"PreEntityImages":[],"PostEntityImages":[],"UserId":"9f6e2d1c-8b7a-e611-80fa-5065f38a1b01","OperationCreatedOn":"\/Date(1506409448000)\/"}`, requestID, phone)
}

// TestForgedRecordChange is issue 17's finding 4: a sender key posting a
// record change to /webhooks/dataverse is refused and fires no workflow; the
// records topic's key, the key made for it, is accepted and fires it.
func TestForgedRecordChange(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			j.call("PUT", "/admin/v1/servicebus/queues/phone-changes", map[string]any{"properties": map[string]any{}}, 201)
			j.call("PUT", "/admin/v1/workflows/phone-sync", phoneWorkflow, 201)
			// The trigger starts at the end of the log once it runs: a change
			// of Junction's own that fires it shows it is listening.
			deadline := time.Now().Add(30 * time.Second)
			for n := 0; ; n++ { // the first PATCH creates the row, the next ones update it
				j.call("PATCH", "/api/data/v9.2/accounts(0f1e2d3c-0000-4000-8000-00000000aaaa)", map[string]any{"name": "Warm", "telephone1": fmt.Sprintf("555-%04d", n)}, 204)
				if _, ok := j.tryReceive("phone-changes", time.Second); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the row trigger never fired")
				}
			}
			_, sender, err := j.a.Keys().Create(context.Background(), "erp", server.RoleSender)
			if err != nil {
				t.Fatal(err)
			}
			post := func(query string, hdr map[string]string, body string) int {
				req, _ := http.NewRequest("POST", j.base+"/webhooks/dataverse"+query, bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-ms-dynamics-organization", "contoso.crm.dynamics.com")
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			if s := post("", map[string]string{"Authorization": "Bearer " + sender}, remoteUpdate("forged", "555-FORGED")); s != http.StatusUnauthorized {
				t.Fatalf("sender key: %d, want 401", s)
			}
			key := j.call("POST", "/admin/v1/eventgrid/topics/records/listKeys", nil, 200)["key1"].(string)
			if s := post("?code="+url.QueryEscape(key), nil, remoteUpdate("real", "555-0100")); s != http.StatusOK {
				t.Fatalf("records topic key: %d, want 200", s)
			}
			// Changes fire in log order: had the forged one been appended, its
			// message would come before the real one.
			for {
				m := j.receive("phone-changes")
				switch body := string(m.Body); {
				case body == "Contoso: 555-0100":
					if c, _ := j.broker().Counts(context.Background(), "phone-changes"); c.Active != 0 {
						t.Fatalf("messages after the real change: %+v", c)
					}
					return
				case strings.HasPrefix(body, "Warm: "): // a late warm-up
				default:
					t.Fatalf("phone message %q: the forged change fired", body)
				}
			}
		})
	}
}
