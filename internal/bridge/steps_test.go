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
// The message and its filters are the org's own rows, looked up by query as
// the Plugin Registration Tool does, a custom table's included.
func TestStepsPostToTheBrokerAndWebhooks(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			api := "/api/data/v9.2/"
			j.call("PUT", "/admin/v1/servicebus/queues/dataverse-accounts", map[string]any{"properties": map[string]any{}}, 201)
			const queue, hook = "0b6b1a50-0000-4000-8000-000000000004", "0b6b1a50-0000-4000-8000-000000000005"
			// A custom table made through the Web API gets its filters too.
			j.call("POST", api+"EntityDefinitions", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "new_Bank",
				"DisplayName": map[string]any{"LocalizedLabels": []any{map[string]any{"Label": "Bank", "LanguageCode": 1033}}},
				"Attributes":  []any{map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Name", "IsPrimaryName": true, "MaxLength": 100}}}, 204)
			// Looked up as the Plugin Registration Tool does: no sdkmessage
			// or sdkmessagefilter row is made by hand.
			one := func(path, id string) string {
				got := j.call("GET", api+path, nil, 200)["value"].([]any)
				if len(got) != 1 {
					t.Fatalf("%s: %v", path, got)
				}
				return got[0].(map[string]any)[id].(string)
			}
			create := one("sdkmessages?$select=sdkmessageid,name&$filter=name%20eq%20'Create'", "sdkmessageid")
			filter := func(table string) string {
				return one("sdkmessagefilters?$select=sdkmessagefilterid,primaryobjecttypecode&$filter=primaryobjecttypecode%20eq%20'"+table+
					"'%20and%20_sdkmessageid_value%20eq%20"+create+"%20and%20iscustomprocessingstepallowed%20eq%20true", "sdkmessagefilterid")
			}
			accounts, contacts, banks := filter("account"), filter("contact"), filter("new_bank")
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
			j.call("POST", api+"sdkmessageprocessingsteps", step("banks to the queue", banks, queue, 1), 204)

			j.call("POST", api+"accounts", map[string]any{"name": "Contoso"}, 204)
			m := j.receive("dataverse-accounts")
			var rc dataverse.RemoteExecutionContext
			if err := json.Unmarshal(m.Body, &rc); err != nil || rc.MessageName != "Create" || rc.PrimaryEntityName != "account" || rc.Mode != 1 ||
				m.Properties["http://schemas.microsoft.com/xrm/2011/Claims/RequestName"] != "Create" {
				t.Fatalf("message %s %v (%v)", m.Body, m.Properties, err)
			}
			j.call("POST", api+"new_banks", map[string]any{"new_name": "First"}, 204)
			m = j.receive("dataverse-accounts")
			if err := json.Unmarshal(m.Body, &rc); err != nil || rc.MessageName != "Create" || rc.PrimaryEntityName != "new_bank" {
				t.Fatalf("message %s (%v)", m.Body, err)
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
