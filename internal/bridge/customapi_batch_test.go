package bridge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// batchOf is a $batch body of one changeset holding the given POSTs (path,
// JSON body), as "Execute batch operations using the Web API" writes one.
func batchOf(ops ...[2]string) string {
	var b strings.Builder
	b.WriteString("--batch_B1\r\nContent-Type: multipart/mixed; boundary=changeset_C1\r\n\r\n")
	for i, op := range ops {
		b.WriteString("--changeset_C1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " + string(rune('1'+i)) + "\r\n\r\n")
		b.WriteString("POST /api/data/v9.2/" + op[0] + " HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + op[1] + "\r\n")
	}
	b.WriteString("--changeset_C1--\r\n--batch_B1--\r\n")
	return b.String()
}

// batch posts a $batch body and answers the multipart response; anything but
// 200 fails the test.
func (j *junction) batch(body string) string {
	j.t.Helper()
	req, _ := http.NewRequest("POST", j.base+"/api/data/v9.2/$batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "multipart/mixed; boundary=batch_B1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		j.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		j.t.Fatalf("$batch: %d %s", res.StatusCode, out)
	}
	return string(out)
}

// contactsNamed counts the contacts whose lastname is name.
func (j *junction) contactsNamed(name string) int {
	return len(j.call("GET", "/api/data/v9.2/contacts?$select=lastname&$filter=lastname%20eq%20'"+name+"'", nil, 200)["value"].([]any))
}

// TestCustomAPIInAChangeset calls a Custom API whose function writes a row
// through its dataverse output binding inside a $batch changeset: the row
// commits with the changeset, and rolls back with it when a later
// operation of the changeset fails ("Execute batch operations using the Web
// API": a changeset succeeds or fails as a whole; "Create and use custom
// APIs": the main operation's plug-ins run in its transaction).
func TestCustomAPIInAChangeset(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/addcontact/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"},
			{"type": "dataverse", "direction": "out", "name": "contact", "entityName": "contacts", "mode": "create"},
			{"type": "http", "direction": "out", "name": "$return"}]}`,
		"functions/addcontact/index.js": `module.exports = async function (context, input) {
			context.bindings.contact = { lastname: input.Name };
			return { InTransaction: !!context.bindingData.transaction };
		};`,
	})
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := startWith(t, d, func(c *app.Config) { c.Project = dir })
			api := "/api/data/v9.2/"
			j.call("POST", api+"customapis", map[string]any{
				"uniquename": "sample_AddContact", "name": "AddContact", "bindingtype": 0, "isfunction": false, "implementation": "function:addcontact",
				"CustomAPIRequestParameters":  []any{map[string]any{"uniquename": "Name", "name": "Name", "type": 10, "isoptional": false}},
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "InTransaction", "name": "InTransaction", "type": 0}},
			}, 204)
			batch, count := j.batch, j.contactsNamed

			out := batch(batchOf([2]string{"sample_AddContact", `{"Name":"Committed"}`}, [2]string{"accounts", `{"name":"Fine"}`}))
			if !strings.Contains(out, `"InTransaction":true`) || !strings.Contains(out, "HTTP/1.1 204") {
				t.Fatalf("changeset: %s", out)
			}
			if count("Committed") != 1 {
				t.Fatal("the function's row did not commit with the changeset")
			}

			out = batch(batchOf([2]string{"sample_AddContact", `{"Name":"RolledBack"}`}, [2]string{"accounts", `{"nosuchcolumn":"x"}`}))
			if !strings.Contains(out, "HTTP/1.1 400") {
				t.Fatalf("failing changeset: %s", out)
			}
			if count("RolledBack") != 0 {
				t.Fatal("the function's row outlived the changeset that failed")
			}

			// Outside a changeset the function writes on its own.
			if got := j.call("POST", api+"sample_AddContact", map[string]any{"Name": "Alone"}, 200); got["InTransaction"] != false || count("Alone") != 1 {
				t.Fatalf("outside a changeset: %v", got)
			}
			// A token is good only while its call lasts.
			req, _ := http.NewRequest("GET", j.base+api+"contacts", nil)
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("X-Junction-Transaction", "0123")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 400 {
				t.Fatalf("unknown transaction: %d", res.StatusCode)
			}
		})
	}
}

// TestWorkflowCustomAPIInAChangeset calls a Custom API implemented by a
// workflow inside a $batch changeset: on PostgreSQL the run answers as it
// does outside one; on SQLite, where the changeset holds the only writer the
// run needs, the call is refused at once instead of waiting forever.
func TestWorkflowCustomAPIInAChangeset(t *testing.T) {
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
				"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Greeting", "name": "Greeting", "type": 10}},
			}, 204)
			req, _ := http.NewRequest("POST", j.base+api+"$batch", strings.NewReader(batchOf([2]string{"sample_FlowGreet", `{"Name":"Ada"}`})))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "multipart/mixed; boundary=batch_B1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want := `"Greeting":"Hello Ada"`
			if d == store.SQLite {
				want = "cannot run inside a $batch changeset on SQLite"
			}
			if res.StatusCode != 200 || !strings.Contains(string(out), want) {
				t.Fatalf("%d %s", res.StatusCode, out)
			}
		})
	}
}

// addContactWorkflow implements a Custom API by writing a contact through the
// Web API from an Http action that carries the changeset's transaction
// header from its Request trigger, then answering with a Response action.
const addContactWorkflow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {"method": "POST"}}},
    "actions": {
      "Add_contact": {"type": "Http", "runAfter": {}, "inputs": {"method": "POST", "uri": "BASE/api/data/v9.2/contacts",
        "headers": {"Authorization": "Bearer k", "Content-Type": "application/json",
          "X-Junction-Transaction": "@{triggerOutputs()?['headers']?['X-Junction-Transaction']}"},
        "body": {"lastname": "@{triggerBody()?['Name']}"}}},
      "Answer": {"type": "Response", "kind": "Http", "runAfter": {"Add_contact": ["Succeeded"]},
        "inputs": {"statusCode": 200, "body": {"Added": "@{triggerBody()?['Name']}"}}}
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

// TestWorkflowCustomAPIWritesRollBackWithTheChangeset calls, on PostgreSQL, a
// Custom API implemented by a workflow whose Http action writes a row in the
// changeset's transaction: the row commits with the changeset and rolls back
// with it when a later operation fails, as a Custom API's plug-in writes do
// ("Execute batch operations using the Web API", "Create and use custom
// APIs"). SQLite refuses the call (TestWorkflowCustomAPIInAChangeset).
func TestWorkflowCustomAPIWritesRollBackWithTheChangeset(t *testing.T) {
	t.Parallel()
	storetest.RequirePostgres(t)
	j := start(t, store.Postgres)
	j.call("PUT", "/admin/v1/workflows/add-contact", strings.ReplaceAll(addContactWorkflow, "BASE", j.base), 201)
	api := "/api/data/v9.2/"
	j.call("POST", api+"customapis", map[string]any{
		"uniquename": "sample_FlowAddContact", "name": "FlowAddContact", "bindingtype": 0, "isfunction": false, "implementation": "workflow:add-contact",
		"CustomAPIRequestParameters":  []any{map[string]any{"uniquename": "Name", "name": "Name", "type": 10, "isoptional": false}},
		"CustomAPIResponseProperties": []any{map[string]any{"uniquename": "Added", "name": "Added", "type": 10}},
	}, 204)
	batch, count := j.batch, j.contactsNamed
	out := batch(batchOf([2]string{"sample_FlowAddContact", `{"Name":"Committed"}`}, [2]string{"accounts", `{"name":"Fine"}`}))
	if !strings.Contains(out, `"Added":"Committed"`) || !strings.Contains(out, "HTTP/1.1 204") || count("Committed") != 1 {
		t.Fatalf("changeset that succeeds: %s (rows %d)", out, count("Committed"))
	}
	out = batch(batchOf([2]string{"sample_FlowAddContact", `{"Name":"RolledBack"}`}, [2]string{"accounts", `{"nosuchcolumn":"x"}`}))
	if !strings.Contains(out, "HTTP/1.1 400") {
		t.Fatalf("failing changeset: %s", out)
	}
	if n := count("RolledBack"); n != 0 {
		t.Fatalf("the workflow's row outlived the changeset that failed (%d rows)", n)
	}
}
