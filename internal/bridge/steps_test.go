package bridge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"junction/internal/dataverse"
	"junction/internal/store/storetest"
)

// TestStepsPostToTheBrokerAndWebhooks registers service endpoints and steps
// through the Web API, as the Plugin Registration Tool writes them (the
// serviceendpoint and sdkmessageprocessingstep table references): an
// asynchronous Create step on account to a queue of Junction's own broker
// ("Work with Microsoft Dataverse event data in your Azure Service Bus
// solution"), and a synchronous Create step on contact to a webhook that
// fails, which fails the create with Dataverse's error and writes nothing.
func TestStepsPostToTheBrokerAndWebhooks(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			api := "/api/data/v9.2/"
			j.call("PUT", "/admin/v1/servicebus/queues/dataverse-accounts", map[string]any{"properties": map[string]any{}}, 201)
			const create, accounts, contacts = "0b6b1a50-0000-4000-8000-000000000001", "0b6b1a50-0000-4000-8000-000000000002", "0b6b1a50-0000-4000-8000-000000000003"
			const queue, hook = "0b6b1a50-0000-4000-8000-000000000004", "0b6b1a50-0000-4000-8000-000000000005"
			j.call("POST", api+"sdkmessages", map[string]any{"sdkmessageid": create, "name": "Create"}, 204)
			j.call("POST", api+"sdkmessagefilters", map[string]any{"sdkmessagefilterid": accounts, "sdkmessageid@odata.bind": "/sdkmessages(" + create + ")", "primaryobjecttypecode": "account"}, 204)
			j.call("POST", api+"sdkmessagefilters", map[string]any{"sdkmessagefilterid": contacts, "sdkmessageid@odata.bind": "/sdkmessages(" + create + ")", "primaryobjecttypecode": "contact"}, 204)
			j.call("POST", api+"serviceendpoints", map[string]any{"serviceendpointid": queue, "name": "accounts queue", "contract": 2, "connectionmode": 1,
				"namespaceaddress": "sb://localhost/", "path": "dataverse-accounts", "solutionnamespace": "localhost", "messageformat": 2, "userclaim": 1,
				"authtype": 2, "saskeyname": "RootManageSharedAccessKey", "saskey": "unused"}, 204)
			failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
			t.Cleanup(failing.Close)
			j.call("POST", api+"serviceendpoints", map[string]any{"serviceendpointid": hook, "name": "contact hook", "contract": 8, "connectionmode": 1,
				"url": failing.URL, "authtype": 4, "authvalue": "key", "path": "", "solutionnamespace": "", "messageformat": 2, "userclaim": 1}, 204)
			step := func(name, filter, endpoint string, mode int) map[string]any {
				return map[string]any{"name": name, "stage": 40, "mode": mode, "rank": 1, "supporteddeployment": 0, "asyncautodelete": false,
					"sdkmessageid@odata.bind": "/sdkmessages(" + create + ")", "sdkmessagefilterid@odata.bind": "/sdkmessagefilters(" + filter + ")",
					"eventhandler_serviceendpoint@odata.bind": "/serviceendpoints(" + endpoint + ")"}
			}
			j.call("POST", api+"sdkmessageprocessingsteps", step("accounts to the queue", accounts, queue, 1), 204)
			j.call("POST", api+"sdkmessageprocessingsteps", step("contacts to the hook", contacts, hook, 0), 204)

			j.call("POST", api+"accounts", map[string]any{"name": "Contoso"}, 204)
			m := j.receive("dataverse-accounts")
			var rc dataverse.RemoteExecutionContext
			if err := json.Unmarshal(m.Body, &rc); err != nil || rc.MessageName != "Create" || rc.PrimaryEntityName != "account" || rc.Mode != 1 ||
				m.Properties["http://schemas.microsoft.com/xrm/2011/Claims/RequestName"] != "Create" {
				t.Fatalf("message %s %v (%v)", m.Body, m.Properties, err)
			}

			out := j.call("POST", api+"contacts", map[string]any{"lastname": "Never"}, 400)
			if e, _ := out["error"].(map[string]any); e["code"] != "0x80040265" {
				t.Fatalf("error %v", out)
			}
			if got := j.call("GET", api+"contacts?$filter=lastname%20eq%20'Never'", nil, 200); len(got["value"].([]any)) != 0 {
				t.Fatalf("the contact was written: %v", got)
			}
		})
	}
}
