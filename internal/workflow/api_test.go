package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

type srv struct {
	base string
}

func start(t *testing.T, project string, pg bool) *srv {
	t.Helper()
	d := store.SQLite
	if pg {
		d = store.Postgres
	}
	_, base := apptest.Start(t, d, func(c *app.Config) { c.Project = project })
	return &srv{base: base}
}

func (s *srv) do(t *testing.T, method, path, body string, admin bool) (int, map[string]any, http.Header) {
	t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = s.base + path
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if admin {
		req.Header.Set("Authorization", "Bearer k")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	if m == nil && len(data) > 0 {
		m = map[string]any{"raw": string(data)}
	}
	return resp.StatusCode, m, resp.Header
}

const orderFlow = `{
  "definition": {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {
      "manual": {
        "type": "Request", "kind": "Http",
        "inputs": {"schema": {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]}},
        "operationOptions": "EnableSchemaValidation"
      }
    },
    "actions": {
      "Total": {"type": "Compose", "inputs": "@mul(triggerBody()?['qty'], 3)", "runAfter": {}},
      "Response": {"type": "Response", "kind": "Http", "inputs": {"statusCode": 201, "headers": {"X-Total": "@{outputs('Total')}"}, "body": {"total": "@outputs('Total')", "q": "@triggerOutputs()?['queries']?['tag']"}}, "runAfter": {"Total": ["Succeeded"]}}
    },
    "outputs": {}
  },
  "kind": "Stateful"
}`

func TestManagementAndRequestTrigger(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprintf("postgres=%v", pg), func(t *testing.T) {
			t.Parallel()
			s := start(t, "", pg)
			// Bad definitions are refused with every problem and its path.
			code, body, _ := s.do(t, "PUT", "/admin/v1/workflows/orders", `{"definition":{"actions":{"A":{"type":"Compose","inputs":"@nope()","runAfter":{"B":["Succeeded"]}}}}}`, true)
			details, _ := body["error"].(map[string]any)["details"].([]any)
			if code != 400 || len(details) != 2 {
				t.Fatalf("PUT invalid: %d %v", code, body)
			}
			if code, _, _ := s.do(t, "GET", "/admin/v1/workflows/orders", "", true); code != 404 {
				t.Fatalf("a rejected PUT changed something: %d", code)
			}
			if code, _, _ := s.do(t, "PUT", "/admin/v1/workflows/orders", orderFlow, false); code != 401 {
				t.Fatalf("PUT without a key: %d", code)
			}
			if code, body, _ := s.do(t, "PUT", "/admin/v1/workflows/orders", orderFlow, true); code != 201 {
				t.Fatalf("PUT: %d %v", code, body)
			}
			code, cb, _ := s.do(t, "POST", "/admin/v1/workflows/orders/triggers/manual/listCallbackUrl", "", true)
			if code != 200 || cb["method"] != "POST" || !strings.HasSuffix(cb["basePath"].(string), "/api/orders/triggers/manual/invoke") {
				t.Fatalf("listCallbackUrl: %d %v", code, cb)
			}
			q := cb["queries"].(map[string]any)
			if q["sp"] != "/triggers/manual/run" || q["sv"] != "1.0" || q["sig"] == "" || q["api-version"] == nil {
				t.Fatalf("queries %v", q)
			}
			callback := cb["value"].(string)
			if !strings.Contains(callback, "sig=") {
				t.Fatalf("value %s", callback)
			}
			// A wrong signature is refused.
			wrong := strings.Replace(callback, "sig=", "sig=x", 1)
			if code, body, _ := s.do(t, "POST", wrong, `{"qty":1}`, false); code != 401 || body["error"].(map[string]any)["code"] != "DirectApiInvalidAuthorizationSignature" {
				t.Fatalf("wrong sig: %d %v", code, body)
			}
			// The schema is enforced.
			if code, body, _ := s.do(t, "POST", callback, `{"qty":"many"}`, false); code != 400 || body["error"].(map[string]any)["code"] != "TriggerInputSchemaMismatch" {
				t.Fatalf("schema: %d %v", code, body)
			}
			// A synchronous Response.
			code, body, hdr := s.do(t, "POST", callback+"&tag=blue", `{"qty":4}`, false)
			if code != 201 || body["total"] != float64(12) || body["q"] != "blue" || hdr.Get("X-Total") != "12" || hdr.Get("x-ms-workflow-run-id") == "" {
				t.Fatalf("invoke: %d %v %v", code, body, hdr)
			}
			runID := hdr.Get("x-ms-workflow-run-id")
			var run map[string]any
			for i := 0; i < 200; i++ {
				_, run, _ = s.do(t, "GET", "/admin/v1/workflows/orders/runs/"+runID, "", true)
				if run["status"] != "Running" {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if run["status"] != "Succeeded" || len(run["actions"].([]any)) != 2 {
				t.Fatalf("run: %v", run)
			}
			code, list, _ := s.do(t, "GET", "/admin/v1/workflows/orders/runs?status=Succeeded&trigger=manual", "", true)
			if code != 200 || len(list["value"].([]any)) != 1 {
				t.Fatalf("search: %d %v", code, list)
			}
			if code, _, _ := s.do(t, "GET", "/admin/v1/workflows/orders/runs?status=Bogus", "", true); code != 400 {
				t.Fatalf("bad status filter: %d", code)
			}
			// Resubmit: same trigger outputs, a new run that points at the original.
			code, rs, _ := s.do(t, "POST", "/admin/v1/workflows/orders/runs/"+runID+"/resubmit", "", true)
			if code != 202 || rs["originRunId"] != runID {
				t.Fatalf("resubmit: %d %v", code, rs)
			}
			for i := 0; i < 200; i++ {
				_, run, _ = s.do(t, "GET", "/admin/v1/workflows/orders/runs/"+rs["name"].(string), "", true)
				if run["status"] != "Running" {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if run["status"] != "Succeeded" || run["originRunId"] != runID {
				t.Fatalf("resubmitted run: %v", run)
			}
			// Logic Apps Standard's resubmit body names the action to
			// resubmit from (actionsToResubmit), as its management API does.
			code, rs, _ = s.do(t, "POST", "/admin/v1/workflows/orders/runs/"+runID+"/resubmit", `{"actionsToResubmit":[{"name":"Response"}]}`, true)
			if code != 202 || rs["originRunId"] != runID {
				t.Fatalf("resubmit from an action: %d %v", code, rs)
			}
			for _, body := range []string{`{"actionsToResubmit":[{"name":"Nowhere"}]}`, `{"actionsToResubmit":[{"name":"Total"},{"name":"Response"}]}`} {
				if code, rs, _ = s.do(t, "POST", "/admin/v1/workflows/orders/runs/"+runID+"/resubmit", body, true); code != 400 || !strings.Contains(fmt.Sprint(rs), "actionsToResubmit") {
					t.Fatalf("resubmit %s: %d %v", body, code, rs)
				}
			}
			// Cancel a waiting run.
			wait := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{"W":{"type":"Wait","inputs":{"interval":{"count":1,"unit":"Hour"}}}}}}`
			if code, body, _ := s.do(t, "PUT", "/admin/v1/workflows/slow", wait, true); code != 201 {
				t.Fatalf("PUT slow: %d %v", code, body)
			}
			_, cb, _ = s.do(t, "POST", "/admin/v1/workflows/slow/triggers/manual/listCallbackUrl", "", true)
			code, _, hdr = s.do(t, "POST", cb["value"].(string), `{}`, false)
			if code != 202 || hdr.Get("Location") == "" {
				t.Fatalf("async invoke: %d %v", code, hdr)
			}
			loc, _ := url.Parse(hdr.Get("Location"))
			if code, body, _ := s.do(t, "POST", loc.Path+"/cancel", "", true); code != 200 || body["status"] != "Cancelled" {
				t.Fatalf("cancel: %d %v", code, body)
			}
			if code, _, _ := s.do(t, "POST", loc.Path+"/cancel", "", true); code != 409 {
				t.Fatalf("second cancel: %d", code)
			}
			if code, _, _ := s.do(t, "DELETE", "/admin/v1/workflows/slow", "", true); code != 204 {
				t.Fatalf("delete: %d", code)
			}
		})
	}
}

func TestProjectLoading(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"version":"2.0","extensionBundle":{"id":"Microsoft.Azure.Functions.ExtensionBundle.Workflows","version":"[1.*, 2.0.0)"}}`)
	write("local.settings.json", `{"IsEncrypted":false,"Values":{"GREETING_TEXT":"hej","SB_CONN":"Endpoint=sb://local/"}}`)
	write("parameters.json", `{"greeting":{"type":"String","value":"@appsetting('GREETING_TEXT')"}}`)
	write("connections.json", `{"serviceProviderConnections":{"serviceBus":{"parameterValues":{"connectionString":"@appsetting('SB_CONN')"},"serviceProvider":{"id":"/serviceProviders/serviceBus"},"displayName":"bus"}}}`)
	write("hello/workflow.json", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{"R":{"type":"Response","inputs":{"statusCode":200,"body":"@{parameters('greeting')}, @{triggerBody()?['name']}"}}}},"kind":"Stateful"}`)
	s := start(t, dir, false)
	_, cb, _ := s.do(t, "POST", "/admin/v1/workflows/hello/triggers/manual/listCallbackUrl", "", true)
	code, body, _ := s.do(t, "POST", cb["value"].(string), `{"name":"Ada"}`, false)
	if code != 200 || body["raw"] != "hej, Ada" {
		t.Fatalf("%d %v", code, body)
	}
	// A missing app setting or connection is refused at load, with the file.
	write("broken/workflow.json", `{"definition":{"actions":{"S":{"type":"ServiceProvider","inputs":{"parameters":{},"serviceProviderConfiguration":{"connectionName":"nosuch","operationId":"send","serviceProviderId":"/serviceProviders/serviceBus"}}},
		"C":{"type":"Compose","inputs":"@appsetting('NOT_THERE_ANYWHERE')"}}},"kind":"Stateful"}`)
	_, err := app.New(context.Background(), app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "k", Project: dir})
	if err == nil || !strings.Contains(err.Error(), `broken/workflow.json: definition.actions.S.inputs.serviceProviderConfiguration.connectionName: the connection "nosuch" is not defined`) ||
		!strings.Contains(err.Error(), "appsetting('NOT_THERE_ANYWHERE'): the app setting is not set") {
		t.Fatalf("load error: %v", err)
	}
}

func TestRequestTriggerDetails(t *testing.T) {
	t.Parallel()
	s := start(t, "", false)
	doc := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","inputs":{"method":"GET","relativePath":"orders/{id}"}}},
		"actions":{"Fail":{"type":"Compose","inputs":"@div(1, 0)"},
		"R":{"type":"Response","inputs":{"statusCode":200,"body":"@triggerOutputs()?['relativePathParameters']?['id']"},"runAfter":{"Fail":["Succeeded"]}}}}}`
	if code, body, _ := s.do(t, "PUT", "/admin/v1/workflows/paths", doc, true); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	_, cb, _ := s.do(t, "POST", "/admin/v1/workflows/paths/triggers/manual/listCallbackUrl", "", true)
	if cb["method"] != "GET" || cb["relativePath"] != "orders/{id}" {
		t.Fatalf("%v", cb)
	}
	u, _ := url.Parse(cb["value"].(string))
	withPath := func(p string) string {
		v := *u
		v.Path += p
		return v.String()
	}
	if code, body, _ := s.do(t, "POST", withPath("/orders/7"), "", false); code != 400 || body["error"].(map[string]any)["code"] != "InvalidHttpMethod" {
		t.Fatalf("wrong method: %d %v", code, body)
	}
	if code, _, _ := s.do(t, "GET", withPath("/customers/7"), "", false); code != 404 {
		t.Fatalf("unmatched path: %d", code)
	}
	// The Response never runs: the caller gets 502 NoResponse with the run id.
	code, body, hdr := s.do(t, "GET", withPath("/orders/7"), "", false)
	if code != 502 || body["error"].(map[string]any)["code"] != "NoResponse" || hdr.Get("x-ms-workflow-run-id") == "" {
		t.Fatalf("no response: %d %v", code, body)
	}
	if code, _, _ := s.do(t, "POST", "/admin/v1/workflows/nosuch/triggers/manual/listCallbackUrl", "", true); code != 404 {
		t.Fatalf("unknown workflow: %d", code)
	}
	if code, body, _ := s.do(t, "GET", "/api/nosuch/triggers/manual/invoke?sig=x", "", false); code != 404 || body["error"].(map[string]any)["code"] != "WorkflowNotFound" {
		t.Fatalf("unknown workflow trigger: %d %v", code, body)
	}
	if code, body, _ := s.do(t, "GET", strings.Split(cb["value"].(string), "?")[0]+"/orders/7", "", false); code != 401 || body["error"].(map[string]any)["code"] != "DirectApiAuthorizationRequired" {
		t.Fatalf("no sig: %d %v", code, body)
	}
}

// A definition with a Microsoft-hosted connector action deploys over the API
// with a warning naming the action; running it fails with a clear error.
func TestPutWarnsOfHostedConnectors(t *testing.T) {
	t.Parallel()
	s := start(t, "", false)
	doc := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{
		"Send_an_email_(V2)":{"type":"ApiConnection","inputs":{"host":{"connection":{"name":"@parameters('$connections')['office365']['connectionId']"}},"method":"post","path":"/v2/Mail","body":{"To":"a@example.com"}}}}}}`
	code, body, _ := s.do(t, "PUT", "/admin/v1/workflows/mailer", doc, true)
	ws, _ := body["warnings"].([]any)
	if code != 201 || len(ws) != 1 || !strings.Contains(fmt.Sprint(ws[0]), `Microsoft-hosted connector "office365"`) {
		t.Fatalf("%d %v", code, body)
	}
	_, run, _ := s.do(t, "POST", "/admin/v1/workflows/mailer/triggers/manual/run", `{}`, true)
	ids, _ := run["runs"].([]any)
	if len(ids) != 1 {
		t.Fatalf("run: %v", run)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, r, _ := s.do(t, "GET", "/admin/v1/workflows/mailer/runs/"+ids[0].(string), "", true)
		if r["status"] == "Failed" {
			if !strings.Contains(fmt.Sprint(r["actions"]), "ConnectorNotAvailable") {
				t.Fatalf("run %v", r)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
