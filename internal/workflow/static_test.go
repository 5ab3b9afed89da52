package workflow

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/smtp"
)

// Microsoft Learn, "Test workflows with mock data in Azure Logic Apps"
// (test-logic-apps-mock-data-static-results): an action whose
// runtimeConfiguration.staticResult is Enabled returns the named entry of the
// definition's staticResults (status, outputs with statusCode as text)
// instead of calling its target; Disabled runs it for real.
// Microsoft-hosted connectors cannot run here: their actions deploy with a
// warning naming each one, and fail when they run unless a static result
// stands in.
func TestStaticResultsAndHostedConnectors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); fmt.Fprint(w, "real") }))
	t.Cleanup(srv.Close)
	b := setup(t, nil)
	doc := `{"definition":{
		"triggers":{"manual":{"type":"Request","kind":"Http"}},
		"staticResults":{
			"HTTP0":{"status":"Succeeded","outputs":{"statusCode":"200","headers":{"x":"1"},"body":{"mocked":true}}},
			"Send0":{"status":"Failed","outputs":{"statusCode":"503"},"error":{"code":"ServiceUnavailable","message":"down"}},
			"Mail0":{"status":"Succeeded","outputs":{"statusCode":"200","body":{"id":"m-1"}}}},
		"actions":{
			"Static_HTTP":{"type":"Http","inputs":{"method":"GET","uri":"http://192.0.2.1/never"},"runtimeConfiguration":{"staticResult":{"name":"HTTP0","staticResultOptions":"Enabled"}}},
			"Real_HTTP":{"type":"Http","inputs":{"method":"GET","uri":"` + srv.URL + `"},"runtimeConfiguration":{"staticResult":{"name":"HTTP0","staticResultOptions":"Disabled"}}},
			"Failing_static":{"type":"Http","inputs":{"method":"GET","uri":"http://192.0.2.1/never"},"runtimeConfiguration":{"staticResult":{"name":"send0","staticResultOptions":"Enabled"}}},
			"Send_an_email_(V2)":{"type":"ApiConnection","inputs":{"host":{"connection":{"name":"@parameters('$connections')['office365']['connectionId']"}},"method":"post","path":"/v2/Mail","body":{"To":"a@b.c"}},
				"runtimeConfiguration":{"staticResult":{"name":"Mail0","staticResultOptions":"Enabled"}}},
			"Post_message":{"type":"OpenApiConnection","inputs":{"host":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_teams","connectionName":"shared_teams","operationId":"PostMessageToConversation"},"parameters":{"body/messageBody":"hi"}},
				"runAfter":{"Send_an_email_(V2)":["Succeeded"]}},
			"Summary":{"type":"Compose","inputs":{"static":"@body('Static_HTTP')","code":"@outputs('Static_HTTP')['statusCode']","real":"@body('Real_HTTP')","mail":"@body('Send_an_email_(V2)')?['id']"},
				"runAfter":{"Static_HTTP":["Succeeded"],"Real_HTTP":["Succeeded"],"Failing_static":["Failed"],"Send_an_email_(V2)":["Succeeded"]}}}}}`
	l := b.deploy(t, "static", doc)
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "definition.actions.Post_message" || !strings.Contains(l.Warnings[0].Message, `Microsoft-hosted connector "teams"`) {
		t.Fatalf("warnings: %v", l.Warnings)
	}
	r := b.run(t, l, nil)
	if got := jsonOf(rec(r, "Summary").Outputs); got != `{"code":200,"mail":"m-1","real":"real","static":{"mocked":true}}` {
		t.Fatalf("summary %s (%v)", got, paths(r))
	}
	if calls.Load() != 1 {
		t.Fatalf("the target was called %d times; only the disabled static result calls it", calls.Load())
	}
	if f := rec(r, "Failing_static"); f.Status != StatusFailed || !strings.Contains(jsonOf(f.Error), "down") {
		t.Fatalf("failing static result: %s", jsonOf(f))
	}
	pm := rec(r, "Post_message")
	if pm.Status != StatusFailed || pm.Code != "ConnectorNotAvailable" || !strings.Contains(jsonOf(pm.Error), "The action 'Post_message' uses the Microsoft-hosted connector 'teams'") {
		t.Fatalf("hosted connector action: %s", jsonOf(pm))
	}
	// A static result that names nothing is refused at deploy.
	f, _ := ParseFile([]byte(def(`{"H":{"type":"Http","inputs":{"method":"GET","uri":"http://x"},"runtimeConfiguration":{"staticResult":{"name":"nope","staticResultOptions":"Enabled"}}}}`)))
	if ps := Validate(f.Definition, Environment{}).Error(); !strings.Contains(ps, `definition.actions.H.runtimeConfiguration.staticResult.name: the static result "nope" is not defined`) {
		t.Fatalf("problems: %s", ps)
	}
}

// A connector this node serves but whose operation it does not (Office 365
// mail maps to the SMTP connector, which sends with its own operation) is
// still Microsoft-hosted for that action.
func TestHostedOperationsOfServedConnectors(t *testing.T) {
	t.Parallel()
	reg := connector.NewRegistry()
	if err := reg.Register(smtp.New(nil)); err != nil {
		t.Fatal(err)
	}
	b := setup(t, nil, func(o *Config) { o.Connectors = reg })
	l := b.deploy(t, "mail", def(`{
		"Send_an_email_(V2)": {"type": "ApiConnection", "inputs": {"host": {"connection": {"name": "@parameters('$connections')['office365']['connectionId']"}}, "method": "post", "path": "/v2/Mail", "body": {}}},
		"Send_smtp": {"type": "OpenApiConnection", "inputs": {"host": {"apiId": "/providers/Microsoft.PowerApps/apis/shared_smtp", "connectionName": "shared_smtp", "operationId": "sendEmail"}, "parameters": {}}}}`))
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "definition.actions.Send_an_email_(V2)" || !strings.Contains(l.Warnings[0].Message, `connector "office365"`) {
		t.Fatalf("warnings %v", l.Warnings)
	}
}
