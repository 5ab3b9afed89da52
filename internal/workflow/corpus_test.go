package workflow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"junction/internal/connector"
	"junction/internal/connector/dataverse"
	"junction/internal/expr"
	"junction/internal/project"
)

// corpusCase runs one published definition of testdata/corpus (each folder
// names its source in SOURCE) with the inputs and outputs its documentation
// gives.
type corpusCase struct {
	body     any               // trigger body
	settings map[string]string // app settings
	params   map[string]any    // parameters.json values
	status   string            // run status
	actions  map[string]string // record path -> status
	response string            // the Response body, as text
	code     int               // the Response status code
	mocks    map[string]*Mock  // offline-test mocks, by action name
	check    func(t *testing.T, r *Run)
	times    int // runs (for definitions that draw random numbers)
}

// Every definition of the corpus deploys; the runnable ones run.
func TestPublishedDefinitions(t *testing.T) {
	t.Parallel()
	const resourceGroups = `{"value": [{"id": "/subscriptions/someSubscription/resourceGroups/someResourceGroup1", "name": "someResourceGroup1"}]}`
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Microsoft's MockHttpHost in TestCases.cs answers with StringContent.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if strings.HasPrefix(r.URL.Path, "/apim/arm/") {
			// The managed "arm" connection at its connectionRuntimeUrl.
			if r.URL.Path != "/apim/arm/foobar/subscriptions/someSubscription/resourcegroups" || r.URL.Query().Get("x-ms-api-version") != "2016-06-01" ||
				r.Header.Get("Authorization") != "Key foobar" || r.Method != "GET" {
				http.Error(w, "unexpected "+r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization"), http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, resourceGroups)
			return
		}
		fmt.Fprint(w, "Mocked Http Response")
	}))
	t.Cleanup(mock.Close)
	runs := map[string][]corpusCase{
		// LogicAppsSampleTestFramework TestCases.cs RequestResponse.
		"ms-test-requestresponse": {{status: "Succeeded", code: 200, response: "Hello from Logic Apps!", actions: map[string]string{"Compose": "Succeeded"}}},
		// TestCases.cs HttpAction.
		"ms-test-httpaction": {{settings: map[string]string{"httpuri": mock.URL}, status: "Succeeded", code: 200, response: "Mocked Http Response",
			actions: map[string]string{"HTTP": "Succeeded"}}},
		"gallery-request-response": {{status: "Succeeded", code: 200, response: ""}},
		// TestCases.cs ApiConnectionAction: connections.json names the arm
		// connection's runtime URL and key through app settings.
		"ms-test-apiconnectionaction": {{settings: map[string]string{"arm-connectionRuntimeUrl": mock.URL + "/apim/arm/foobar", "arm-connectionKey": "foobar"},
			status: "Succeeded", code: 200, response: resourceGroups, actions: map[string]string{"List_resource_groups": "Succeeded"}}},
		"pnp-try-catch-finally": {{status: "Succeeded", actions: map[string]string{"Try": "Succeeded", "Catch": "Skipped", "Finally": "Succeeded"}}},
		// LogicAppsTemplates: the templates' manifests describe them.
		"templates-receive-request-send-response": {{status: "Succeeded", code: 200, response: ""}},
		"labs-workspace-stateful1":                {{status: "Succeeded", code: 200, response: "Hello world"}},
		// "If any errors occur, the workflow uses the 'Scope' action to
		// catch and process those errors, which then terminates the workflow
		// with a detailed error message."
		"templates-try-catch": {
			{status: "Succeeded", actions: map[string]string{"Try": "Succeeded", "Try/Business_Logic": "Succeeded", "Catch": "Skipped"}},
			{mocks: map[string]*Mock{"Business_Logic": {Status: "Failed", Error: map[string]any{"code": "BadRequest", "message": "the order is invalid"}}},
				check: func(t *testing.T, r *Run) {
					if f, term := rec(r, "Catch/Format_Errors"), rec(r, "Catch/Terminate"); r.Status != StatusFailed || f == nil || f.Status != StatusSucceeded || term == nil || term.Status != StatusSucceeded {
						t.Fatalf("%s %v", r.Status, paths(r))
					}
					msg := jsonOf(r.Error)
					if !strings.Contains(msg, "One or more errors occurred while processing messages") || !strings.Contains(msg, `\"action\":\"Business_Logic\"`) ||
						!strings.Contains(msg, "the order is invalid") || !strings.Contains(msg, `"code":"500"`) {
						t.Errorf("run error %s", msg)
					}
				}}},
		// "This workflow sends outbound requests to endpoints ... triggered
		// by an HTTP request": the trigger names the URI and the content, the
		// Method parameter the method; the response is the endpoint's body.
		"templates-tool-call-uri-http": {{params: map[string]any{"Method_#workflowname#": "POST"},
			body:   map[string]any{"HTTP_URI": mock.URL + "/orders", "HTTP_request_content": "ping"},
			status: "Succeeded", code: 200, response: "Mocked Http Response", actions: map[string]string{"HTTP": "Succeeded"}}},
		// The README: the Scope in the loop fails on an exception (Actual_work
		// divides by rand(0, 5), which may be 0), the loop stops at once and
		// the flow terminates Failed; it terminates Succeeded when the work
		// is done (the quotient is 1); after 5 rounds of neither it fails.
		"pnp-do-until-exception": {{times: 12, check: func(t *testing.T, r *Run) {
			done, failedAt, rounds := false, -1, 0
			for _, a := range r.Actions {
				var i int
				if n, _ := fmt.Sscanf(a.Path, "Do_until#%d/", &i); n == 1 && i+1 > rounds {
					rounds = i + 1
				}
				switch {
				case strings.HasSuffix(a.Path, "/Set_'Do_Until_Status'_to_Complete") && a.Status == "Succeeded":
					done = true
				case strings.HasSuffix(a.Path, "/Scope/Actual_work") && a.Status == "Failed":
					fmt.Sscanf(a.Path, "Do_until#%d/", &failedAt)
				}
			}
			if failedAt >= 0 && failedAt != rounds-1 {
				t.Errorf("the loop went on after the exception in round %d (%d rounds)", failedAt, rounds)
			}
			if want := map[bool]string{true: "Succeeded", false: "Failed"}[done]; r.Status != want || rounds > 5 {
				t.Errorf("done=%v after %d rounds: run %s", done, rounds, r.Status)
			}
		}}},
	}
	// The Graph sample pages through users: the first page comes from a
	// custom connector, the next from an Http call to the nextLink, and
	// Set_Skip_Token_variable only works because if() evaluates just the
	// branch it takes (substring of "Stop" would fail).
	page1 := map[string]any{"value": []any{map[string]any{"displayName": "Ada"}}, "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=X1"}
	page2 := map[string]any{"value": []any{map[string]any{"displayName": "Grace"}}}
	runs["pnp-graph-api-in-power-bi"] = []corpusCase{{
		mocks: map[string]*Mock{"Get_Organization_Users": {Outputs: map[string]any{"statusCode": 200, "body": page1}},
			"Get_Organization_Users_-_Skip_Token": {Outputs: map[string]any{"statusCode": 200, "body": page2}}},
		status: "Succeeded", code: 200, response: jsonOf([]any{map[string]any{"Items": page1}, map[string]any{"Items": page2}}),
		actions: map[string]string{"Do_until#0/Find_text_position": "Succeeded", "Do_until#1/Set_Next_Link_variable": "Failed",
			"Do_until#1/Set_Next_Link_variable_-_No_Paging_Available": "Succeeded", "Do_until#1/Set_Skip_Token_variable": "Succeeded"}}}
	// Definitions that need a Microsoft-hosted connector deploy with a
	// warning for each such action or trigger.
	hosted := map[string]bool{"gallery-cancel-runs-by-tracking-id": true, "gallery-service-bus-sessions": true,
		"gallery-sharepoint-attachments": true, "github-sample-eventprocessor": true, "pnp-notify-last-working-day": true,
		"pnp-graph-api-in-power-bi": true, "pnp-name-pronunciation": true, "arc-ratings-workflow": true, "pnp-planner-flagged-email": true,
		"pnp-teams-invites-graph": true, "gallery-service-bus-peek-lock": true, "gallery-scheduler-recurrence-queue": true,
		"gallery-mailchimp-sharepoint": true, "gallery-daily-reminders": true, "pnp-sharepoint-item-permissions": true}
	dirs, err := filepath.Glob("testdata/corpus/*")
	if err != nil || len(dirs) < 10 {
		t.Fatalf("corpus: %v, %d definitions", err, len(dirs))
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if _, err := os.Stat(filepath.Join(dir, workflowFile)); err != nil {
			continue // a project of several workflows: TestPublishedProjects
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if src, err := os.ReadFile(filepath.Join(dir, "SOURCE")); err != nil || !strings.Contains(string(src), "repository: ") || !strings.Contains(string(src), "commit: ") {
				t.Fatalf("SOURCE must name the repository, path and commit: %v", err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "workflow.json"))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFile(data)
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{}
			for _, c := range runs[name] {
				for k, v := range c.settings {
					settings[k] = v
				}
			}
			// Junction serves Dataverse itself (with the operations of the
			// real connector); the other connectors of these definitions are
			// Microsoft-hosted.
			reg := connector.NewRegistry()
			if err := reg.Register(dataverse.New(nil, nil, nil)); err != nil {
				t.Fatal(err)
			}
			b := setup(t, nil, func(o *Config) {
				o.AppSetting = func(n string) (string, bool) { v, ok := settings[n]; return v, ok }
				o.Connectors = reg
			})
			proj := Project{Parameters: map[string]any{}}
			for _, c := range runs[name] {
				for k, v := range c.params {
					proj.Parameters[k] = v
				}
			}
			if conns, err := os.ReadFile(filepath.Join(dir, "connections.json")); err == nil {
				p, problems := project.Open(fstest.MapFS{"connections.json": {Data: conns}, name + "/workflow.json": {Data: data}}, ".")
				if len(problems) > 0 {
					t.Fatal(problems)
				}
				pf, ps := ReadProject(p, func(n string) (string, bool) { v, ok := settings[n]; return v, ok })
				if len(ps) > 0 {
					t.Fatal(ps)
				}
				for k, v := range proj.Parameters {
					pf.Project.Parameters[k] = v
				}
				proj = pf.Project
			}
			l, err := b.e.Compile(name, f, proj)
			if err != nil {
				t.Fatalf("deploy: %v", err)
			}
			if err := b.e.Deploy(context.Background(), l, "corpus"); err != nil {
				t.Fatal(err)
			}
			if hosted[name] != (len(l.Warnings) > 0) {
				t.Errorf("warnings %v; want some: %v", l.Warnings, hosted[name])
			}
			for _, w := range l.Warnings {
				if !strings.HasPrefix(w.Path, "definition.") {
					t.Errorf("warning without its path: %v", w)
				}
			}
			var all []corpusCase
			for _, c := range runs[name] {
				for i := 0; i < max(c.times, 1); i++ {
					all = append(all, c)
				}
			}
			for _, c := range all {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				h, err := b.e.StartRun(ctx, l, StartOptions{Outputs: map[string]any{"headers": map[string]any{}, "body": expr.Normalize(c.body)}, Mocks: c.mocks})
				if err != nil {
					t.Fatal(err)
				}
				var resp *Response
				if l.hasResponse {
					if resp, err = h.Response(ctx); err != nil {
						t.Fatal(err)
					}
				}
				r, err := h.Wait(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if c.check != nil {
					c.check(t, r)
					continue
				}
				if r.Status != c.status {
					t.Fatalf("run %s, want %s: %s\n%v", r.Status, c.status, jsonOf(r.Error), paths(r))
				}
				for path, st := range c.actions {
					if a := rec(r, path); a == nil || a.Status != st {
						t.Errorf("%s: %s, want %s (records %v)", path, jsonOf(a), st, paths(r))
					}
				}
				if c.code != 0 {
					if resp == nil || resp.StatusCode != c.code || expr.ToString(resp.Body) != c.response {
						t.Errorf("response %s, want %d %q", jsonOf(resp), c.code, c.response)
					}
				}
			}
		})
	}
}
