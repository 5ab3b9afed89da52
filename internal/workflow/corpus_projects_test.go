package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/expr"
	"junction/internal/project"
)

// projectRun runs one workflow of a published project with the inputs its
// documentation gives. An agent's model is a local OpenAI-compatible server
// that answers with the scripted replies (model), following the steps the
// sample's instructions and README describe.
type projectRun struct {
	workflow string
	body     any
	model    []string          // the model's replies, in turn
	response string            // the Response body, as compact JSON
	actions  map[string]string // record path -> status
	check    func(t *testing.T, r *Run, m *scriptedModel)
}

// toolCall is a scripted model reply that calls one tool.
func toolCall(id, name string, args any) string {
	a, _ := json.Marshal(args)
	b, _ := json.Marshal(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
		map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": string(a)}}}})
	return string(b)
}

// answer is a scripted model reply that ends the agent loop.
func answer(text string) string {
	b, _ := json.Marshal(map[string]any{"role": "assistant", "content": text})
	return string(b)
}

// toolResult is what the agent gave back to the model for tool call id, from
// the request the model got after it.
func toolResult(t *testing.T, m *scriptedModel, id string) map[string]any {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, req := range m.got {
		msgs, _ := req["messages"].([]any)
		for _, x := range msgs {
			msg, _ := x.(map[string]any)
			if msg["role"] == "tool" && msg["tool_call_id"] == id {
				var out map[string]any
				if err := json.Unmarshal([]byte(msg["content"].(string)), &out); err != nil {
					t.Fatalf("tool result %s is not JSON: %v", id, err)
				}
				return out
			}
		}
	}
	t.Fatalf("no tool result for %s", id)
	return nil
}

// childBody is the body a Workflow action of a tool got from the workflow it
// called, in the tool result.
func childBody(t *testing.T, result map[string]any, action string) any {
	t.Helper()
	out, _ := result[action].(map[string]any)
	if out == nil {
		t.Fatalf("the tool result has no %s: %s", action, jsonOf(result))
	}
	return out["body"]
}

// Every project of the corpus (a folder of workflows with connections.json,
// as Logic Apps Standard lays it out) validates and deploys as a whole; the
// runnable workflows run with their documented inputs and outputs.
func TestPublishedProjects(t *testing.T) {
	t.Parallel()
	// The JSON remediation sample's README gives each incident's repaired
	// JSON; the malformed incidents are those its Load_incident_json tool
	// returns.
	incidents := []struct{ caseID, raw, repaired string }{
		{"incident-missing-field", `{"incidentId":"INC-9001","priority":3,"details":{"description":"System outage"}}`,
			`{"customerId":"UNKNOWN","details":{"description":"System outage"},"incidentId":"INC-9001","priority":3}`},
		{"incident-wrong-type", `{"incidentId":"INC-9002","customerId":"CUST-456","priority":"2","details":{"description":"Database slowdown"}}`,
			`{"customerId":"CUST-456","details":{"description":"Database slowdown"},"incidentId":"INC-9002","priority":2}`},
		{"incident-field-standardization", `{"id":"INC-9004","cust_id":"CUST-101","prio":3,"details":{"desc":"Login errors"}}`,
			`{"customerId":"CUST-101","details":{"description":"Login errors"},"incidentId":"INC-9004","priority":3}`},
		{"incident-partial-object", `{"incidentId":"INC-9005","customerId":"CUST-202","priority":2,"details":null}`,
			`{"customerId":"CUST-202","details":{"description":"No details provided"},"incidentId":"INC-9005","priority":2}`},
	}
	remediation := []projectRun{}
	for _, in := range incidents {
		remediation = append(remediation,
			projectRun{workflow: "JsonRepairEngine", body: map[string]any{"caseId": in.caseID, "payload": in.raw},
				response: `{"changes":["normalized customerId","normalized priority","normalized details"],"repaired":` + in.repaired + `}`},
			projectRun{workflow: "SchemaValidator", body: map[string]any{"payload": in.repaired, "schemaPath": "data/schema/incident.schema.json"},
				response: `{"isValid":true,"violations":[null,null,null,null,null]}`})
	}
	// The README's first case, through the agent: load, repair, validate,
	// format, then the documented report.
	report := "CASE ID: incident-missing-field\nSTATUS: SUCCESS\nCHANGES APPLIED:\n- Added missing field 'customerId' with value 'UNKNOWN'\nVALIDATION: PASSED\nREPAIRED JSON:\n" +
		`{"incidentId":"INC-9001","customerId":"UNKNOWN","priority":3,"details":{"description":"System outage"}}`
	remediation = append(remediation, projectRun{workflow: "JsonRemediationAgent", body: map[string]any{"caseId": "incident-missing-field"},
		model: []string{
			toolCall("c1", "Load_incident_json", map[string]any{"caseId": "incident-missing-field"}),
			toolCall("c2", "Repair_json", map[string]any{"caseId": "incident-missing-field", "rawPayload": incidents[0].raw}),
			toolCall("c3", "Validate_schema", map[string]any{"repairedPayload": incidents[0].repaired}),
			toolCall("c4", "Format_response", map[string]any{"caseId": "incident-missing-field", "cleanedPayload": incidents[0].repaired}),
			answer(report)},
		response: jsonOf(report),
		actions:  map[string]string{"Json_Remediation_Agent": "Succeeded", "Json_Remediation_Agent#1/Call_JsonRepairEngine": "Succeeded"},
		check: func(t *testing.T, r *Run, m *scriptedModel) {
			if got := toolResult(t, m, "c1")["Load_Incident_Data"]; got != incidents[0].raw {
				t.Errorf("loaded %v", got)
			}
			if got := jsonOf(childBody(t, toolResult(t, m, "c2"), "Call_JsonRepairEngine").(map[string]any)["repaired"]); got != incidents[0].repaired {
				t.Errorf("repaired %s", got)
			}
			if got := childBody(t, toolResult(t, m, "c3"), "Call_SchemaValidator").(map[string]any)["isValid"]; got != true {
				t.Errorf("validation %v", got)
			}
			// The model got the request summary the definition composes.
			if first := jsonOf(m.got[0]["messages"]); !strings.Contains(first, `Process incident case: {\"caseId\":\"incident-missing-field\"`) {
				t.Errorf("first messages %s", first)
			}
		}})

	// The loan sample's README, scenario 4 (human escalation): the agent
	// reads the policy, the bank history, the risk profile, checks the
	// vehicle, waits for the (simulated) review and sends the approval.
	luxury := map[string]any{"applicationId": "APP-LUXURY-REVIEW-004", "name": "Applicant D", "email": "applicant.d@example.com", "loanAmount": 80000,
		"vehicleMake": "Ferrari", "vehicleModel": "F8 Tributo", "salary": 120000, "employmentYears": 4}
	loan := []projectRun{
		{workflow: "GetSpecialVehicles", body: map[string]any{"make": "ferrari"}, response: `{"make":"Ferrari","riskFactor":2.5}`},
		{workflow: "GetSpecialVehicles", body: map[string]any{"make": "Honda"}, response: `{"category":"Standard","make":"Honda","riskFactor":1}`},
		{workflow: "LoanApprovalAgent", body: luxury, model: []string{
			toolCall("p", "Get_loan_approval_policy", map[string]any{}),
			toolCall("h", "Get_customers_bank_history", map[string]any{"applicationId": "APP-LUXURY-REVIEW-004"}),
			toolCall("r", "Get_applicants_risk_profile", map[string]any{"loanAmount": 80000, "annualSalary": 120000, "employmentYears": 4}),
			toolCall("v", "Get_special_vehicles", map[string]any{"make": "Ferrari"}),
			toolCall("w", "Wait_for_Human_Review", map[string]any{"aireview": "Luxury vehicle and loan above $50k", "loanamount": "80000", "riskprofile": "Medium"}),
			toolCall("e", "Send_Customer_Email", map[string]any{"email": "applicant.d@example.com", "name": "Applicant D", "decision": "APPROVED",
				"creditScore": 750, "loanAmount": 80000, "monthlyPayment": 266.67}),
			answer("The application APP-LUXURY-REVIEW-004 was approved after human review; the email was sent.")},
			actions: map[string]string{"Loan_Agent": "Succeeded", "Loan_post_processing_steps": "Succeeded",
				"Loan_Agent#3/Call_GetSpecialVehicles_Workflow": "Succeeded", "Loan_Agent#4/Simulate_Human_Review": "Succeeded"},
			check: func(t *testing.T, r *Run, m *scriptedModel) {
				if got := jsonOf(childBody(t, toolResult(t, m, "h"), "Call_GetCustomerHistory_Workflow")); got != `{"accountAge":"5+ years","averageBalance":15000,"paymentHistory":"Excellent","yearsWithBank":5}` {
					t.Errorf("bank history %s", got)
				}
				if got := jsonOf(childBody(t, toolResult(t, m, "v"), "Call_GetSpecialVehicles_Workflow")); got != `{"make":"Ferrari","riskFactor":2.5}` {
					t.Errorf("vehicle %s", got)
				}
				// Approve if credit >= 700 and no bankruptcies: 750 and 0.
				if got := toolResult(t, m, "w")["Simulate_Human_Review"].(map[string]any)["decision"]; got != "APPROVED" {
					t.Errorf("review %v", got)
				}
				if got := toolResult(t, m, "e")["Send_Email"].(map[string]any)["subject"]; got != "Auto Loan Application - Approved" {
					t.Errorf("email subject %v", got)
				}
				post := rec(r, "Loan_post_processing_steps")
				if post.Outputs.(map[string]any)["statusCode"] != int64(200) {
					t.Errorf("post-processing %s", jsonOf(post))
				}
			}},
		// Scenario 3 (auto-rejection: low credit, short employment,
		// bankruptcy): the facts reach the model in the summary.
		{workflow: "LoanApprovalAgent", body: map[string]any{"applicationId": "APP-AUTO-REJECT-003", "name": "Applicant C", "email": "applicant.c@example.com",
			"loanAmount": 30000, "vehicleMake": "Honda", "vehicleModel": "Accord", "salary": 45000, "employmentYears": 0.5},
			model:   []string{answer("REJECTED")},
			actions: map[string]string{"Loan_Agent": "Succeeded", "Application_Summary": "Succeeded"},
			check: func(t *testing.T, r *Run, m *scriptedModel) {
				s := rec(r, "Application_Summary").Outputs.(map[string]any)
				if s["CreditScore"] != int64(580) || s["Bankruptcies"] != int64(1) || s["EmploymentStability"] != "Limited" || s["RiskTier"] != "Medium" {
					t.Errorf("summary %s", jsonOf(s))
				}
				if first := jsonOf(m.got[0]["messages"]); !strings.Contains(first, `\"CreditScore\":580`) {
					t.Errorf("the model did not get the summary: %s", first)
				}
			}},
	}

	// The product return sample's README: ORD001 (defective) refunds 150,
	// ORD004 (opened electronics, changed mind) refunds 96 after the 20%
	// restocking fee; ORD002 is opened perishable goods, ORD005 unknown.
	returns := []projectRun{
		{workflow: "CalculateRefund", body: map[string]any{"orderTotal": 150, "reason": "defective", "category": "electronics", "condition": "unopened"},
			check: func(t *testing.T, r *Run, _ *scriptedModel) {
				if got := r.response.Body.(map[string]any)["refundAmount"]; got != int64(150) {
					t.Errorf("refund %v", got)
				}
			}},
		{workflow: "CalculateRefund", body: map[string]any{"orderTotal": 120, "reason": "changed_mind", "category": "electronics", "condition": "opened"},
			check: func(t *testing.T, r *Run, _ *scriptedModel) {
				b := r.response.Body.(map[string]any)
				if b["refundAmount"] != 96.0 || b["explanation"] != "Refund minus 20% restocking fee for opened electronics" {
					t.Errorf("refund %s", jsonOf(b))
				}
			}},
		{workflow: "GetOrderHistory", body: map[string]any{"orderId": "ORD002"}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if b := r.response.Body.(map[string]any); b["category"] != "perishable" || b["condition"] != "opened" {
				t.Errorf("ORD002 %s", jsonOf(b))
			}
		}},
		{workflow: "GetOrderHistory", body: map[string]any{"orderId": "ORD005"}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if b := r.response.Body.(map[string]any); b["customerId"] != "UNKNOWN" || b["price"] != int64(0) {
				t.Errorf("ORD005 %s", jsonOf(b))
			}
		}},
		{workflow: "ProductReturnAgent", body: map[string]any{"orderId": "ORD004", "customerId": "CUST001", "reason": "changed_mind",
			"description": "Found a better price elsewhere", "imageData": "https://example.com/images/ORD004-opened.jpg"},
			model: []string{
				toolCall("o", "Get_order_details", map[string]any{"orderId": "ORD004"}),
				toolCall("f", "Calculate_refund", map[string]any{"orderTotal": 120, "reason": "changed_mind", "category": "electronics", "condition": "opened"}),
				answer("ORDER ID: ORD004\nDECISION: APPROVED\nREFUND AMOUNT: $96\nREASON: opened electronics, 20% restocking fee")},
			actions: map[string]string{"Product_Return_Agent": "Succeeded"},
			check: func(t *testing.T, r *Run, m *scriptedModel) {
				if got := childBody(t, toolResult(t, m, "o"), "Call_GetOrderHistory_Workflow").(map[string]any)["price"]; got != 120.0 {
					t.Errorf("order price %v", got)
				}
				if got := childBody(t, toolResult(t, m, "f"), "Call_CalculateRefund_Workflow").(map[string]any)["refundAmount"]; got != 96.0 {
					t.Errorf("refund %v", got)
				}
			}},
	}
	incidentID := regexp.MustCompile(`^INC\d{6}$`)
	repair := []projectRun{
		{workflow: "GetWorkOrder", body: map[string]any{"trackingId": "WO-12345"}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if b := r.response.Body.(map[string]any); b["failureType"] != "schema_validation_error" || b["payload"].(map[string]any)["amount"] != "250.00" {
				t.Errorf("WO-12345 %s", jsonOf(b))
			}
		}},
		{workflow: "GetFixPlan", body: map[string]any{"failureType": "timeout_config"}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if b := jsonOf(r.response.Body); !strings.Contains(b, "Increase API timeout from 30s to 300s") {
				t.Errorf("fix plan %s", b)
			}
		}},
		{workflow: "GetApproval", body: map[string]any{"trackingId": "WO-12345"}, response: `"APPROVED"`},
		{workflow: "GetApproval", body: map[string]any{"trackingId": "WO-67890"}, response: `"DENIED"`},
		{workflow: "GetApproval", body: map[string]any{"trackingId": "WO-11111"}, response: `"APPROVED"`},
		{workflow: "ResubmitWorkOrder", body: map[string]any{"trackingId": "WO-12345", "payload": map[string]any{"amount": 250}}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if b := r.response.Body.(map[string]any); b["status"] != "resubmitted" || b["trackingId"] != "WO-12345" {
				t.Errorf("resubmit %s", jsonOf(b))
			}
		}},
		{workflow: "LogToITSM", body: map[string]any{"trackingId": "WO-67890", "action": "denied"}, check: func(t *testing.T, r *Run, _ *scriptedModel) {
			if id, _ := r.response.Body.(map[string]any)["incidentId"].(string); !incidentID.MatchString(id) {
				t.Errorf("incident id %q", id)
			}
		}},
	}
	// The managed connections of the projects, at their connectionRuntimeUrl.
	type hubCall struct{ method, uri, auth, body string }
	var hubMu sync.Mutex
	var hub []hubCall
	apihub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		hubMu.Lock()
		hub = append(hub, hubCall{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), string(data)})
		hubMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Id":"JTJmYmxvYnMlMmZ4","Name":"x","Path":"/blobs/x"}`)
	}))
	t.Cleanup(apihub.Close)
	settings := map[string]map[string]string{
		"ms-devops-sample": {"BLOB_CONNECTION_RUNTIMEURL": apihub.URL + "/apim/azureblob/0a1b2c", "azureblob-connectionKey": "blob-key", "storage-account-name": "sacb34ucffd7en6"},
	}
	devops := []projectRun{{workflow: "EventTrigger", actions: map[string]string{"Invoke_a_workflow_in_this_workflow_app": "Succeeded"},
		check: func(t *testing.T, r *Run, _ *scriptedModel) {
			// The README: the run adds a new blob to the storage account.
			hubMu.Lock()
			defer hubMu.Unlock()
			if len(hub) != 1 {
				t.Fatalf("%d calls to the blob connection", len(hub))
			}
			c := hub[0]
			u, _ := url.Parse(c.uri)
			if c.method != "POST" || u.Path != "/apim/azureblob/0a1b2c/v2/datasets/sacb34ucffd7en6/files" || u.Query().Get("folderPath") != "/blobs" ||
				u.Query().Get("name") == "" || c.auth != "Key blob-key" || c.body != "demo content" {
				t.Errorf("blob created with %+v", c)
			}
			if out := rec(r, "Invoke_a_workflow_in_this_workflow_app").Outputs.(map[string]any); out["statusCode"] != int64(200) {
				t.Errorf("child answered %s", jsonOf(out))
			}
		}}}
	runs := map[string][]projectRun{
		"ms-devops-sample":              devops,
		"labs-json-remediation-agent":   remediation,
		"labs-loan-agent":               loan,
		"labs-product-return-agent":     returns,
		"labs-transaction-repair-tools": repair,
	}
	dirs, _ := filepath.Glob("testdata/corpus/*")
	n := 0
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, workflowFile)); err == nil {
			continue // one workflow: TestPublishedDefinitions
		}
		name := filepath.Base(dir)
		n++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if src, err := os.ReadFile(filepath.Join(dir, "SOURCE")); err != nil || !strings.Contains(string(src), "repository: ") || !strings.Contains(string(src), "commit: ") {
				t.Fatalf("SOURCE must name the repository, path and commit: %v", err)
			}
			model := &scriptedModel{}
			srv := httptest.NewServer(model)
			t.Cleanup(srv.Close)
			// The agent connection is the Azure OpenAI resource of the
			// samples' local.settings.json, served by the local model.
			set := map[string]string{"agent_openAIEndpoint": srv.URL + "/", "agent_ResourceID": "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a"}
			for k, v := range settings[name] {
				set[k] = v
			}
			env := func(n string) (string, bool) { v, ok := set[n]; return v, ok }
			p, problems := project.Open(os.DirFS(dir), ".")
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			if ps := ValidateProject(p, env, nil); len(ps) > 0 {
				t.Fatalf("validate: %v", ps)
			}
			pf, ps := ReadProject(p, env)
			if len(ps) > 0 || len(pf.Workflows) < 2 {
				t.Fatalf("read: %v, %d workflows", ps, len(pf.Workflows))
			}
			b := setup(t, nil, func(o *Config) { o.AppSetting = env })
			loaded := map[string]*Loaded{}
			for wf, f := range pf.Workflows {
				l, err := b.e.Compile(wf, f, pf.Project)
				if err != nil {
					t.Fatalf("deploy %s: %v", wf, err)
				}
				if err := b.e.Deploy(context.Background(), l, "corpus"); err != nil {
					t.Fatal(err)
				}
				if len(l.Warnings) > 0 {
					t.Errorf("%s: warnings %v", wf, l.Warnings)
				}
				loaded[wf] = l
			}
			for i, c := range runs[name] {
				l := loaded[c.workflow]
				if l == nil {
					t.Fatalf("run %d: no workflow %s", i, c.workflow)
				}
				model.mu.Lock()
				model.replies, model.got, model.urls, model.apiKeys, model.auth = c.model, nil, nil, nil, nil
				model.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				h, err := b.e.StartRun(ctx, l, StartOptions{Outputs: map[string]any{"headers": map[string]any{}, "body": expr.Normalize(c.body)}})
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				r, err := h.Wait(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != StatusSucceeded {
					t.Fatalf("run %d (%s): %s %s\n%v", i, c.workflow, r.Status, jsonOf(r.Error), paths(r))
				}
				if c.response != "" && (r.response == nil || jsonOf(r.response.Body) != c.response) {
					t.Errorf("run %d (%s): response %s, want %s", i, c.workflow, jsonOf(r.response), c.response)
				}
				for path, st := range c.actions {
					if a := rec(r, path); a == nil || a.Status != st {
						t.Errorf("run %d: %s: %s, want %s (records %v)", i, path, jsonOf(a), st, paths(r))
					}
				}
				if len(c.model) > 0 && len(model.got) != len(c.model) {
					t.Errorf("run %d: the model was called %d times, want %d", i, len(model.got), len(c.model))
				}
				for _, u := range model.urls {
					// The samples' Azure OpenAI deployment, by its deploymentId.
					if !strings.HasPrefix(u, "/openai/deployments/gpt-5-mini/chat/completions?api-version=") {
						t.Errorf("run %d: the model was called at %s", i, u)
					}
				}
				if c.check != nil {
					c.check(t, r, model)
				}
			}
		})
	}
	if n < 5 {
		t.Fatalf("%d projects in the corpus", n)
	}
}
