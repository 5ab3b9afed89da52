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
