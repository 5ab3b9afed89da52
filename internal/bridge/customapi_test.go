package bridge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/store/storetest"
)

// TestCustomAPIRunsAFunction defines Custom APIs the way "Create a custom
// API using the Web API" does (a customapi row with its request parameters
// and response properties, deep-inserted in one POST) and calls them: an
// unbound action and a bound function implemented by JavaScript functions.
func TestCustomAPIRunsAFunction(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/greet/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"},
			{"type": "http", "direction": "out", "name": "$return"}]}`,
		"functions/greet/index.js": `module.exports = async function (context, input) {
			if (input.Name === "nobody") throw new Error("nobody cannot be greeted");
			return { Greeting: "Hello " + input.Name + (input.Excited ? "!" : ""), Ignored: 1 };
		};`,
		"functions/describe/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"},
			{"type": "http", "direction": "out", "name": "$return"}]}`,
		"functions/describe/index.js": `module.exports = async function (context, input) {
			return { Target: input.Target["@odata.id"] };
		};`,
	})
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := startWith(t, d, func(c *app.Config) { c.Project = dir })
			api := "/api/data/v9.2/"
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_Greet", "name": "Greet", "displayname": "Greet", "bindingtype": 0, "isfunction": false, "implementation": "function:greet",
				"CustomAPIRequestParameters": []any{
					map[string]any{"uniquename": "Name", "name": "Name", "displayname": "Name", "type": 10, "isoptional": false},
					map[string]any{"uniquename": "Excited", "name": "Excited", "displayname": "Excited", "type": 0, "isoptional": true}},
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Greeting", "name": "Greeting", "displayname": "Greeting", "type": 10}},
			}, 204)
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_Describe", "name": "Describe", "bindingtype": 1, "boundentitylogicalname": "account", "isfunction": true, "implementation": "function:describe",
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Target", "name": "Target", "type": 10}},
			}, 204)

			got := j.call("POST", api+"sample_Greet", map[string]any{"Name": "Ada", "Excited": true}, 200)
			if got["Greeting"] != "Hello Ada!" || got["@odata.context"] != j.base+api+"$metadata#Microsoft.Dynamics.CRM.sample_GreetResponse" || len(got) != 2 {
				t.Fatalf("sample_Greet: %v", got)
			}
			if e := j.call("POST", api+"sample_Greet", map[string]any{}, 400); !strings.Contains(e["error"].(map[string]any)["message"].(string), "required parameter Name") {
				t.Fatalf("missing parameter: %v", e)
			}
			if e := j.call("POST", api+"sample_Greet", map[string]any{"Name": "nobody"}, 400); e["error"].(map[string]any)["code"] != "0x80040265" ||
				!strings.Contains(e["error"].(map[string]any)["message"].(string), "nobody cannot be greeted") {
				t.Fatalf("throwing implementation: %v", e)
			}
			j.call("GET", api+"sample_Greet", nil, 405)

			j.call("POST", api+"accounts", map[string]any{"name": "Contoso"}, 204)
			accounts := j.call("GET", api+"accounts?$select=name", nil, 200)
			id := accounts["value"].([]any)[0].(map[string]any)["accountid"].(string)
			got = j.call("GET", api+"accounts("+id+")/Microsoft.Dynamics.CRM.sample_Describe()", nil, 200)
			if got["Target"] != "accounts("+id+")" {
				t.Fatalf("sample_Describe: %v", got)
			}
			j.call("GET", api+"contacts(00000000-0000-4000-8000-000000000001)/Microsoft.Dynamics.CRM.sample_Describe()", nil, 404)

			req, _ := http.NewRequest("GET", j.base+api+"$metadata", nil)
			req.Header.Set("Authorization", "Bearer k")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, want := range []string{`<Action Name="sample_Greet">`, `<Parameter Name="Excited" Type="Edm.Boolean"/>`, `<Function Name="sample_Describe" IsBound="true">`,
				`<ComplexType Name="sample_GreetResponse">`} {
				if !strings.Contains(string(body), want) {
					t.Errorf("$metadata lacks %s", want)
				}
			}
		})
	}
}

// greetWorkflow answers a Request trigger with a Response action, as a Logic
// Apps workflow called over HTTP does ("Receive and respond to inbound HTTPS
// calls", Learn); names starting with "x" are refused with a 400.
const greetWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"method": "POST"}}},
    "actions": {
      "Check": {
        "type": "If", "runAfter": {},
        "expression": {"and": [{"startsWith": ["@triggerBody()?['Name']", "x"]}]},
        "actions": {"Refuse": {"type": "Response", "kind": "Http", "runAfter": {},
          "inputs": {"statusCode": 400, "body": {"error": {"message": "@{concat(triggerBody()?['Name'], ' cannot be greeted')}"}}}}},
        "else": {"actions": {"Answer": {"type": "Response", "kind": "Http", "runAfter": {},
          "inputs": {"statusCode": 200, "body": {"Greeting": "@{concat('Hello ', triggerBody()?['Name'])}", "Caller": "@{triggerOutputs()?['headers']?['x-ms-dataverse-custom-api']}", "Target": "@{triggerBody()?['Target']?['@odata.id']}"}}}}}
      }
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

// TestCustomAPIRunsAWorkflow defines Custom APIs whose implementation is a
// workflow with a Request trigger and calls them; the expected responses are
// those "Create and use custom APIs" (Learn) gives for a Custom API: the
// response properties in a <uniquename>Response complex type, and a failing
// implementation as the 0x80040265 plug-in error.
func TestCustomAPIRunsAWorkflow(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			j.call("PUT", "/admin/v1/workflows/greet-flow", greetWorkflow, 201)
			api := "/api/data/v9.2/"
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_FlowGreet", "name": "FlowGreet", "bindingtype": 0, "isfunction": false, "implementation": "workflow:greet-flow",
				"CustomAPIRequestParameters":  []any{map[string]any{"uniquename": "Name", "name": "Name", "type": 10, "isoptional": false}},
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Greeting", "name": "Greeting", "type": 10}, map[string]any{"uniquename": "Caller", "name": "Caller", "type": 10}},
			}, 204)
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_FlowTarget", "name": "FlowTarget", "bindingtype": 1, "boundentitylogicalname": "account", "isfunction": false, "implementation": "workflow:greet-flow",
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Target", "name": "Target", "type": 10}},
			}, 204)
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_NoFlow", "name": "NoFlow", "bindingtype": 0, "implementation": "workflow:missing",
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Greeting", "name": "Greeting", "type": 10}},
			}, 204)

			tests := []struct {
				name, path string
				body       map[string]any
				status     int
				want       map[string]any
				code, msg  string
			}{
				{name: "answers the Response body", path: "sample_FlowGreet", body: map[string]any{"Name": "Ada"}, status: 200,
					want: map[string]any{"@odata.context": j.base + api + "$metadata#Microsoft.Dynamics.CRM.sample_FlowGreetResponse", "Greeting": "Hello Ada", "Caller": "sample_FlowGreet"}},
				{name: "a 400 Response is the plug-in error", path: "sample_FlowGreet", body: map[string]any{"Name": "xena"}, status: 400, code: "0x80040265", msg: "xena cannot be greeted"},
				{name: "required parameter", path: "sample_FlowGreet", body: map[string]any{}, status: 400, msg: "required parameter Name"},
				{name: "missing workflow", path: "sample_NoFlow", body: map[string]any{}, status: 500, code: "0x80040216", msg: "unexpected error"},
			}
			for _, tc := range tests {
				got := j.call("POST", api+tc.path, tc.body, tc.status)
				if tc.want != nil {
					if len(got) != len(tc.want) {
						t.Errorf("%s: %v", tc.name, got)
					}
					for k, v := range tc.want {
						if got[k] != v {
							t.Errorf("%s: %s = %v, want %v", tc.name, k, got[k], v)
						}
					}
					continue
				}
				e, _ := got["error"].(map[string]any)
				if msg, _ := e["message"].(string); !strings.Contains(msg, tc.msg) || (tc.code != "" && e["code"] != tc.code) {
					t.Errorf("%s: %v", tc.name, got)
				}
			}

			j.call("POST", api+"accounts", map[string]any{"name": "Contoso"}, 204)
			id := j.call("GET", api+"accounts?$select=name", nil, 200)["value"].([]any)[0].(map[string]any)["accountid"].(string)
			if got := j.call("POST", api+"accounts("+id+")/Microsoft.Dynamics.CRM.sample_FlowTarget", map[string]any{}, 200); got["Target"] != "accounts("+id+")" {
				t.Fatalf("bound: %v", got)
			}
		})
	}
}
