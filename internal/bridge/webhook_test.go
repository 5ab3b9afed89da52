package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"junction/internal/server"
	"junction/internal/store/storetest"
)

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
			// message would come first.
			if m := j.receive("phone-changes"); string(m.Body) != "Contoso: 555-0100" {
				t.Fatalf("phone message %q: the forged change fired", m.Body)
			}
			if c, _ := j.broker().Counts(context.Background(), "phone-changes"); c.Active != 0 {
				t.Fatalf("more messages than the real change: %+v", c)
			}
		})
	}
}
