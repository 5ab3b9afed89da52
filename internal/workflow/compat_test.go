package workflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"junction/internal/expr"
	"junction/internal/project"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Microsoft Learn, "Schema reference guide for trigger and action types in
// Azure Logic Apps" (logic-apps-workflow-actions-triggers) and the Power
// Automate designer: actions are referenced by name in runAfter and in
// body()/outputs()/actions()/result()/items(); the runtime matches those names
// ignoring case, and exported flows rely on it (a designer rename changes the
// case of the key but not of every reference).
func TestActionReferencesIgnoreCase(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	l := b.deploy(t, "refs", def(`{
		"Get_Order": {"type": "Compose", "inputs": {"id": 7, "lines": [1, 2]}},
		"Try_Scope": {"type": "Scope", "actions": {"Inner": {"type": "Compose", "inputs": "x"}}, "runAfter": {"get_order": ["SUCCEEDED"]}},
		"For_Each_Line": {"type": "Foreach", "foreach": "@body('GET_ORDER')?['lines']", "runAfter": {"TRY_SCOPE": ["Succeeded"]},
			"actions": {"Line": {"type": "Compose", "inputs": "@mul(items('for_each_line'), 10)"}}},
		"Summary": {"type": "Compose", "runAfter": {"for each line": ["Succeeded"]}, "inputs": {
			"id": "@outputs('get_order')?['id']",
			"status": "@actions('Get_order')?['status']",
			"inner": "@result('try scope')[0]?['name']",
			"loop": "@actions('for_each_line')?['status']"}}
	}`))
	r := b.run(t, l, nil)
	if r.Status != StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, jsonOf(r.Error))
	}
	if got := jsonOf(rec(r, "Summary").Outputs); got != `{"id":7,"inner":"Inner","loop":"Succeeded","status":"Succeeded"}` {
		t.Fatalf("summary = %s", got)
	}
	if got := jsonOf(rec(r, "For_Each_Line#1/Line").Outputs); got != "20" {
		t.Fatalf("line 1 = %s", got)
	}
	// Trigger names too: firing, the callback URL and a test's trigger.
	if hs, err := b.e.Fire(context.Background(), l, "MANUAL", map[string]any{"headers": map[string]any{}}); err != nil || len(hs) != 1 {
		t.Fatalf("fire MANUAL: %v", err)
	} else if r, err := hs[0].Wait(context.Background()); err != nil || r.Trigger["name"] != "manual" {
		t.Fatalf("run of MANUAL: %v %v", err, r.Trigger["name"])
	}
	if cb, err := b.e.CallbackURL("refs", "Manual"); err != nil || !strings.Contains(cb.Value, "/triggers/manual/") {
		t.Fatalf("callback: %v %+v", err, cb)
	}
	// The validator resolves the same names and still refuses unknown ones.
	f, _ := ParseFile([]byte(def(`{"A": {"type": "Compose", "inputs": "@body('a')"}, "B": {"type": "Compose", "inputs": "@body('nobody')", "runAfter": {"a": ["Succeeded"]}}}`)))
	ps := Validate(f.Definition, Environment{}).Error()
	if !strings.Contains(ps, "body('nobody') refers to an action that does not exist") || strings.Contains(ps, "body('a')") || strings.Contains(ps, "runAfter") {
		t.Fatalf("problems: %s", ps)
	}
}

// Power Automate writes "required": [] in the schema of every manual (button)
// trigger; Logic Apps accepts it though draft-04 wants at least one name.
// Schema problems name the definition's JSON path, not a file of the server.
func TestTriggerSchemasAsPublished(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, schema string
		want         []string // problems; none when empty
	}{
		{"empty required (Power Automate button)", `{"type":"object","properties":{"text":{"title":"Input","type":"string","x-ms-content-hint":"TEXT"}},"required":[]}`, nil},
		{"nested empty required", `{"type":"object","properties":{"a":{"type":"object","properties":{},"required":[]}}}`, nil},
		{"bad type", `{"type":"objekt"}`, []string{"definition.triggers.manual.inputs.schema.type: invalid JSON schema: value must be one of"}},
		{"bad nested type", `{"type":"object","properties":{"qty":{"type":"int"}}}`, []string{"definition.triggers.manual.inputs.schema.properties.qty.type: invalid JSON schema:"}},
		{"required not a list", `{"type":"object","required":"qty"}`, []string{"definition.triggers.manual.inputs.schema.required: invalid JSON schema:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFile([]byte(`{"definition":{"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{"schema":` + c.schema + `}}},"actions":{}}}`))
			if err != nil {
				t.Fatal(err)
			}
			text := Validate(f.Definition, Environment{}).Error()
			if strings.Contains(text, "file:") || strings.Contains(text, "urn:") {
				t.Fatalf("the problem names a server path: %s", text)
			}
			if len(c.want) == 0 && text != "" {
				t.Fatalf("refused: %s", text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Fatalf("problems %q lack %q", text, w)
				}
			}
		})
	}
	// ParseJson validates with the same leniency at run time.
	b := setup(t, nil)
	l := b.deploy(t, "pj", def(`{"P":{"type":"ParseJson","inputs":{"content":"@triggerBody()","schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":[]}}}}`))
	if r := b.run(t, l, map[string]any{"a": 1}); r.Status != StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, jsonOf(r.Error))
	}
}

// Files that start with a UTF-8 byte order mark (Microsoft's sample files
// have one) are read as if it were not there, and recurrences written with
// numeric strings, as Logic Apps accepts them, are read as numbers.
func TestLenientProjectFiles(t *testing.T) {
	t.Parallel()
	bom := "\xef\xbb\xbf"
	fsys := fstest.MapFS{
		"host.json":                  {Data: []byte(bom + `{"version":"2.0"}`)},
		"parameters.json":            {Data: []byte(bom + `{"who":{"type":"String","value":"Ada"}}`)},
		"local.settings.json":        {Data: []byte(bom + `{"IsEncrypted":false,"Values":{"X":"1"}}`)},
		"connections.json":           {Data: []byte(bom + `{"managedApiConnections":{}}`)},
		"daily/workflow.json":        {Data: []byte(bom + `{"definition":{"triggers":{"Recurrence":{"type":"Recurrence","recurrence":{"frequency":"Day","interval":"1","schedule":{"hours":["6", 18],"minutes":"30"},"timeZone":"W. Europe Standard Time"}}},"actions":{"C":{"type":"Compose","inputs":"@parameters('who')"}}},"kind":"Stateful"}`)},
		"daily/tests/a.test.json":    {Data: []byte(bom + `{"trigger":{"name":"Recurrence","outputs":{}},"expect":{"status":"Succeeded","actions":{"C":{"outputs":"Ada"}}}}`)},
		"Artifacts/Maps/Name.liquid": {Data: []byte(bom + `{{content.name | Upcase}}`)},
	}
	p, problems := project.Open(fsys, ".")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	pf, ps := ReadProject(p, func(string) (string, bool) { return "", false })
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if pf.Project.Maps["Name.liquid"] != "{{content.name | Upcase}}" {
		t.Fatalf("maps %v", pf.Project.Maps)
	}
	rec := pf.Workflows["daily"].Definition.Triggers["Recurrence"].Recurrence
	if rec.Interval != 1 || jsonOf(rec.Schedule.Hours) != "[6,18]" || jsonOf(rec.Schedule.Minutes) != "[30]" {
		t.Fatalf("recurrence %s", jsonOf(rec))
	}
	if ps := ValidateProject(p, func(string) (string, bool) { return "", false }, nil); len(ps) > 0 {
		t.Fatal(ps)
	}
	sched, err := newSchedule(rec)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 10, 7, 0, 0, 0, time.UTC) // 08:00 in Amsterdam
	if got := sched.next(from, from); !got.Equal(time.Date(2024, 1, 10, 17, 30, 0, 0, time.UTC)) {
		t.Fatalf("next = %v", got)
	}
	// What Logic Apps refuses stays refused.
	for _, bad := range []string{`"interval":"often"`, `"interval":"1.5"`, `"interval":1,"schedule":{"hours":["six"]}`} {
		if _, err := ParseFile([]byte(`{"definition":{"triggers":{"R":{"type":"Recurrence","recurrence":{"frequency":"Day",` + bad + `}}}}}`)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// The test file with a BOM runs too.
	results, err := RunTests(context.Background(), p, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results[0].Failures) > 0 {
		t.Fatalf("results %s", jsonOf(results))
	}
}

// Variables are matched ignoring case (Microsoft Learn, "Create variables to
// store and manage values in Azure Logic Apps": names are case-insensitive)
// and shown in run details as InitializeVariable declared them.
func TestRunDetailsKeepVariableNames(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		l := b.deploy(t, "vars", def(`{
			"Init": {"type": "InitializeVariable", "inputs": {"variables": [{"name": "OrderTotal", "type": "integer", "value": 1}, {"name": "customerName", "type": "string", "value": "a"}]}},
			"Inc": {"type": "IncrementVariable", "inputs": {"name": "ordertotal", "value": 2}, "runAfter": {"Init": ["Succeeded"]}},
			"Out": {"type": "Compose", "inputs": "@variables('ORDERTOTAL')", "runAfter": {"Inc": ["Succeeded"]}}
		}`))
		r := b.run(t, l, nil)
		stored, err := loadRun(context.Background(), s, r.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonOf(runView(stored)["variables"]); got != `{"OrderTotal":3,"customerName":"a"}` {
			t.Fatalf("variables %s", got)
		}
		if got := jsonOf(rec(r, "Out").Outputs); got != "3" {
			t.Fatalf("out %s", got)
		}
	})
}

// Power Automate: "Run a Child Flow" (type Workflow, host.workflowReferenceName
// naming the child flow of the same solution) waits for the child's "Respond
// to a PowerApp or flow" (a Response); Logic Apps names the child by
// host.workflow.id. The child run records its parent, and the parent's action
// outputs carry the child's run id (Microsoft Learn, "Create child flows",
// power-automate/create-child-flows; Logic Apps "Call workflows":
// logic-apps-http-endpoint).
func TestChildFlows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		child := `{"name": "6a1b0c57-2d2f-4a53-9a7e-0c0fe1a00001", "properties": {"displayName": "Child", "definition": {
			"triggers": {"manual": {"type": "Request", "kind": "Button", "inputs": {"schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": []}}}},
			"actions": {"Respond_to_a_PowerApp_or_flow": {"type": "Response", "kind": "PowerApp", "inputs": {"statusCode": 200,
				"body": {"upper": "@{toUpper(triggerBody()?['text'])}", "caller": "@{triggerOutputs()?['headers']?['x-ms-workflow-name']}"}}}}}}}`
		f, err := ParseFile([]byte(child))
		if err != nil || f.FlowName != "6a1b0c57-2d2f-4a53-9a7e-0c0fe1a00001" {
			t.Fatalf("%v %+v", err, f)
		}
		l, err := b.e.Compile("child-flow", f, Project{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
			t.Fatal(err)
		}
		parent := b.deploy(t, "parent", def(`{
			"Run_a_Child_Flow": {"type": "Workflow", "inputs": {"host": {"workflowReferenceName": "6a1b0c57-2d2f-4a53-9a7e-0c0fe1a00001"}, "body": {"text": "hi"}}},
			"By_name": {"type": "Workflow", "inputs": {"host": {"workflow": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/workflows/child-flow"}, "triggerName": "manual"}, "body": {"text": "yo"}}},
			"Out": {"type": "Compose", "inputs": ["@body('Run_a_Child_Flow')", "@body('By_name')?['upper']"], "runAfter": {"Run_a_Child_Flow": ["Succeeded"], "By_name": ["Succeeded"]}}}`))
		r := b.run(t, parent, nil)
		if got := jsonOf(rec(r, "Out").Outputs); got != `[{"caller":"parent","upper":"HI"},"YO"]` {
			t.Fatalf("out %s (%s)", got, jsonOf(r.Error))
		}
		childID, _ := rec(r, "Run_a_Child_Flow").Outputs.(map[string]any)["headers"].(map[string]any)["x-ms-workflow-run-id"].(string)
		cr, err := loadRun(context.Background(), s, childID, false)
		if err != nil {
			t.Fatalf("child run %q: %v", childID, err)
		}
		view := runView(cr)
		if got := jsonOf(view["parentRun"]); got != `{"action":"Run_a_Child_Flow","runId":"`+r.ID+`","workflow":"parent"}` || cr.ClientTrackingID != r.ClientTrackingID {
			t.Fatalf("child run %s links to %s, tracking %s/%s", cr.Workflow, got, cr.ClientTrackingID, r.ClientTrackingID)
		}
		// A reference to no workflow is refused when the project is known.
		f2, _ := ParseFile([]byte(def(`{"W": {"type": "Workflow", "inputs": {"host": {"workflowReferenceName": "nope"}}}}`)))
		if ps := Validate(f2.Definition, Environment{Workflows: map[string]bool{"child-flow": true}}).Error(); !strings.Contains(ps, `the workflow "nope" does not exist`) {
			t.Fatalf("problems %s", ps)
		}
	})
}

// Microsoft Learn, "Change waiting runs limit" (logic-apps-workflow-actions-
// triggers#change-waiting-runs-limit): when the trigger's concurrency limit
// is reached, at most maximumWaitingRuns runs wait; a further one is refused
// (a Request trigger answers 429).
func TestMaximumWaitingRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		url, _ := heldServer(t)
		b := setup(t, s)
		l := b.deploy(t, "queue", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","runtimeConfiguration":{"concurrency":{"runs":1,"maximumWaitingRuns":1}}}},
			"actions":{"Slow":{"type":"Http","inputs":{"method":"GET","uri":"`+url+`","retryPolicy":{"type":"none"}}}}}}`)
		var got []string
		for i := 0; i < 3; i++ {
			h, err := b.e.StartRun(context.Background(), l, StartOptions{})
			switch {
			case errors.Is(err, ErrTooManyWaitingRuns):
				got = append(got, "refused")
			case err != nil:
				t.Fatal(err)
			case h.Waiting:
				got = append(got, "waiting")
			default:
				got = append(got, "running")
			}
		}
		if strings.Join(got, " ") != "running waiting refused" {
			t.Fatalf("runs: %v", got)
		}
	})
	f, _ := ParseFile([]byte(`{"definition":{"triggers":{"manual":{"type":"Request","runtimeConfiguration":{"concurrency":{"maximumWaitingRuns":500}}}}}}`))
	if ps := Validate(f.Definition, Environment{}).Error(); !strings.Contains(ps, "maximumWaitingRuns: must be between 1 and 100") {
		t.Fatalf("problems %s", ps)
	}
}

// Microsoft Learn, "Get more data, items, or records by using pagination in
// Azure Logic Apps" (logic-apps-exceed-default-page-size-with-pagination):
// with runtimeConfiguration.paginationPolicy.minimumItemCount the action
// follows the next-page links until it has at least that many items.
func TestHttpPagination(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("p")
		w.Header().Set("Content-Type", "application/json")
		switch p {
		case "", "1":
			fmt.Fprint(w, `{"value":[1,2],"@odata.count":6,"@odata.nextLink":"/pages?p=2"}`)
		case "2":
			fmt.Fprint(w, `{"value":[3,4],"@odata.nextLink":"`+"http://"+r.Host+`/pages?p=3"}`)
		case "3":
			fmt.Fprint(w, `{"value":[5,6]}`)
		}
	}))
	t.Cleanup(srv.Close)
	b := setup(t, nil)
	cases := []struct {
		policy, want string
	}{
		{``, `{"@odata.count":6,"@odata.nextLink":"/pages?p=2","value":[1,2]}`},
		{`,"runtimeConfiguration":{"paginationPolicy":{"minimumItemCount":3}}`, `{"@odata.count":6,"nextLink":"` + srv.URL + `/pages?p=3","value":[1,2,3,4]}`},
		{`,"runtimeConfiguration":{"paginationPolicy":{"minimumItemCount":1000}}`, `{"@odata.count":6,"value":[1,2,3,4,5,6]}`},
	}
	for _, c := range cases {
		l := b.deploy(t, "pages", def(`{"Get":{"type":"Http","inputs":{"method":"GET","uri":"`+srv.URL+`/pages"}`+c.policy+`}}`))
		r := b.run(t, l, nil)
		if got := jsonOf(rec(r, "Get").Outputs.(map[string]any)["body"]); got != c.want {
			t.Errorf("%s: %s, want %s", c.policy, got, c.want)
		}
	}
}

// junction test mocks any action or the trigger by name (ignoring case, as
// the runtime matches names): a trigger mock's outputs are the trigger's.
func TestOfflineTestsMockTriggersAndActionsByName(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"w/workflow.json": {Data: []byte(`{"definition":{"triggers":{"When_a_row_is_added":{"type":"Request","kind":"Http"}},
			"actions":{"Get_Item":{"type":"Http","inputs":{"method":"GET","uri":"http://192.0.2.1/x"}},
				"Out":{"type":"Compose","inputs":["@triggerBody()?['id']","@body('get item')?['x']"],"runAfter":{"Get_Item":["Succeeded"]}}}}}`)},
		"w/tests/t.test.json": {Data: []byte(`{"trigger":{},"mocks":{"when_a_row_is_added":{"outputs":{"body":{"id":7}}},"GET_ITEM":{"outputs":{"statusCode":200,"body":{"x":"y"}}}},
			"expect":{"status":"Succeeded","actions":{"Out":{"outputs":[7,"y"]}}}}`)},
		"w/tests/typo.test.json": {Data: []byte(`{"trigger":{},"mocks":{"Get_Itme":{}},"expect":{"status":"Succeeded"}}`)},
	}
	p, problems := project.Open(fsys, ".")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	results, err := RunTests(context.Background(), p, func(string) (string, bool) { return "", false })
	if err != nil || len(results) != 2 {
		t.Fatalf("%v %v", err, results)
	}
	for _, r := range results {
		switch {
		case strings.HasSuffix(r.File, "t.test.json") && len(r.Failures) > 0:
			t.Errorf("%s: %v", r.File, r.Failures)
		case strings.HasSuffix(r.File, "typo.test.json") && (len(r.Failures) == 0 || !strings.Contains(r.Failures[0], `no action or trigger "Get_Itme"`)):
			t.Errorf("%s: %v", r.File, r.Failures)
		}
	}
}

// Microsoft Learn, workflow-definition-language-functions-reference:
// triggerMultipartBody(index) is the body of one part of a multipart trigger
// body; triggerFormDataValue reads multipart/form-data fields too.
func TestTriggerMultipartBody(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	body := "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"n\":1}\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--XyZ--\r\n"
	l := b.deploy(t, "multi", def(`{"Parts":{"type":"Compose","inputs":["@triggerMultipartBody(0)","@triggerMultipartBody(1)?['n']","@triggerMultipartBody(2)","@triggerFormDataValue('note')","@triggerFormDataMultiValues('meta')"]},
		"Out_of_range":{"type":"Compose","inputs":"@triggerMultipartBody(3)"}}`))
	ctx := context.Background()
	h, err := b.e.StartRun(ctx, l, StartOptions{Outputs: map[string]any{"headers": map[string]any{}, "body": expr.Binary("multipart/form-data; boundary=XyZ", []byte(body))}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(rec(r, "Parts").Outputs); got != `["hello",1,{"$content":"AAE=","$content-type":"application/octet-stream"},"hello",["{\"n\":1}"]]` {
		t.Fatalf("parts %s (%s)", got, jsonOf(rec(r, "Parts").Error))
	}
	if e := jsonOf(rec(r, "Out_of_range").Error); !strings.Contains(e, "has 3 parts") {
		t.Fatalf("out of range: %s", e)
	}
}

// Microsoft Learn, "View workflow status and run history in Azure Logic
// Apps" (view-workflow-status-run-history, Standard workflows: resubmit a run
// from an action): the chosen action and the actions after it run again, the
// actions before it keep their results. For an action inside a scope or a
// loop that means the action, what runs after it in its set, and its
// containers; what ran before it inside them keeps its results. (The
// management API names the action as {"actionsToResubmit": [{"name": ...}]},
// Microsoft Tech Community "API Guide: Resubmitting from a specific Action in
// Logic Apps Standard"; TestManagementAndRequestTrigger sends that form.)
func TestResubmitFromNestedAction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		doc := func(fix string) string {
			return def(`{
			"Try":{"type":"Scope","actions":{
				"Stamp":{"type":"Compose","inputs":"@guid()"},
				"Check":{"type":"Compose","inputs":"@div(10, ` + fix + `)","runAfter":{"Stamp":["Succeeded"]}},
				"Join":{"type":"Compose","inputs":"@concat(outputs('Stamp'), '/', string(outputs('Check')))","runAfter":{"Check":["Succeeded"]}}}},
			"Loop":{"type":"Foreach","foreach":"@createArray(1, 2)","operationOptions":"Sequential","actions":{
				"Mark":{"type":"Compose","inputs":"@guid()"},
				"Each":{"type":"Compose","inputs":"@div(items('Loop'), ` + fix + `)","runAfter":{"Mark":["Succeeded"]}}}},
			"After":{"type":"Compose","inputs":"@outputs('Join')","runAfter":{"Try":["Succeeded"],"Loop":["Succeeded"]}}}`)
		}
		l := b.deploy(t, "nested", doc("triggerBody()?['d']"))
		first := b.run(t, l, map[string]any{"d": 0})
		if first.Status != StatusFailed {
			t.Fatalf("first run %s", first.Status)
		}
		stored, err := loadRun(context.Background(), s, first.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		fixed := b.deploy(t, "nested", doc("add(triggerBody()?['d'], 5)"))
		resubmit := func(from string) *Run {
			cp := *stored
			cp.defHash = fixed.Hash
			h, err := b.e.Resubmit(context.Background(), &cp, from)
			if err != nil {
				t.Fatal(err)
			}
			r, err := h.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		// From inside the scope: the loop keeps its failure, the scope is fixed.
		r := resubmit("check")
		stamp := rec(first, "Try/Stamp").Outputs.(string)
		if rec(r, "Try/Stamp").Outputs != stamp || rec(r, "Try/Join").Outputs != stamp+"/2" || rec(r, "Try").Status != StatusSucceeded ||
			rec(r, "Loop#0/Each").Status != StatusFailed {
			t.Fatalf("from Check: %v", paths(r))
		}
		// From inside the loop: each iteration keeps its Mark and reruns Each.
		r = resubmit("Each")
		if rec(r, "Loop#1/Mark").Outputs != rec(first, "Loop#1/Mark").Outputs || rec(r, "Loop#1/Each").Status != StatusSucceeded ||
			rec(r, "Loop").Status != StatusSucceeded || rec(r, "Try/Check").Status != StatusFailed {
			t.Fatalf("from Each: %v", paths(r))
		}
		if _, err := b.e.Resubmit(context.Background(), stored, "Nowhere"); err == nil {
			t.Fatal("an unknown action was accepted")
		}
	})
}

// Microsoft Learn, "Create cross-environment parameters for workflow inputs
// in Azure Logic Apps" (Standard): connections.json takes values from
// parameters.json as "@parameters('name')", such as a managed connection's
// authentication; a parameter that is not defined is a problem of
// connections.json.
func TestConnectionsReadParameters(t *testing.T) {
	t.Parallel()
	conns := `{"managedApiConnections":{"azureblob":{"api":{"id":"/subscriptions/@appsetting('SUB')/managedApis/azureblob"},
		"connectionRuntimeUrl":"@appsetting('URL')","authentication":"@parameters('blob_auth')"}}}`
	params := `{"blob_auth":{"type":"object","value":{"type":"Raw","scheme":"Key","parameter":"@appsetting('KEY')"}}}`
	env := func(n string) (string, bool) {
		v, ok := map[string]string{"URL": "https://hub.example/apim/azureblob/1", "KEY": "k"}[n]
		return v, ok
	}
	for _, tc := range []struct{ params, auth, problem string }{
		{params, `{"parameter":"k","scheme":"Key","type":"Raw"}`, ""},
		{`{}`, `null`, `connections.json: managedApiConnections.azureblob.authentication: the parameter "blob_auth" is not defined in parameters.json`},
	} {
		p, problems := project.Open(fstest.MapFS{"connections.json": {Data: []byte(conns)}, "parameters.json": {Data: []byte(tc.params)}}, ".")
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		pf, ps := ReadProject(p, env)
		if got := jsonOf(pf.Connections["azureblob"].Values[runtimeAuthKey]); got != tc.auth || pf.Connections["azureblob"].Connector != "azureblob" {
			t.Errorf("authentication %s, want %s", got, tc.auth)
		}
		if got := fmt.Sprint(ps); (tc.problem == "") != (len(ps) == 0) || !strings.Contains(got, tc.problem) {
			t.Errorf("problems %s, want %q", got, tc.problem)
		}
	}
}
