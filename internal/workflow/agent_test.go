package workflow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"junction/internal/project"
)

// scriptedModel is an OpenAI-compatible chat-completions server that answers
// with the scripted replies in turn and keeps the requests it got.
// It serves an OpenAI-compatible API under /v1 and Azure OpenAI's deployment
// route.
type scriptedModel struct {
	mu      sync.Mutex
	replies []string
	got     []map[string]any
	auth    []string
	apiKeys []string
	urls    []string
}

func (m *scriptedModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	azure := strings.HasPrefix(r.URL.Path, "/openai/deployments/") && strings.HasSuffix(r.URL.Path, "/chat/completions") && r.URL.Query().Get("api-version") != ""
	if (r.URL.Path != "/v1/chat/completions" && !azure) || r.Method != http.MethodPost {
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	data, _ := io.ReadAll(r.Body)
	var req map[string]any
	_ = json.Unmarshal(data, &req)
	m.got = append(m.got, req)
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	m.apiKeys = append(m.apiKeys, r.Header.Get("api-key"))
	m.urls = append(m.urls, r.URL.RequestURI())
	if len(m.got) > len(m.replies) {
		http.Error(w, `{"error":{"message":"out of script"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":`+m.replies[len(m.got)-1]+`}]}`)
}

// TestAgentLoop follows Microsoft Learn "Workflows that work with AI agents
// and models in Azure Logic Apps" (agent-workflows-concepts): the agent sends
// its instructions and the prompt with its tools to the model, runs the tool
// the model chooses (the tool's actions, with the model's arguments as
// agentParameters()), gives the result back and ends with the model's answer.
func TestAgentLoop(t *testing.T) {
	t.Parallel()
	agentDef := func(options string) string {
		return def(`{
		"Weather_agent": {"type": "Agent", "limit": {"count": 5}, "operationOptions": "` + options + `",
			"inputs": {"parameters": {"deploymentId": "gpt-test", "agentModelType": "AzureOpenAI",
				"messages": [{"role": "System", "content": "You report the weather."}, {"role": "User", "content": "@{triggerBody()?['question']}"}]},
				"modelConfigurations": {"model1": {"referenceName": "agent"}}},
			"tools": {"Get_weather": {"description": "Gets the weather of a city",
				"agentParameterSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
				"actions": {"Forecast": {"type": "Compose", "inputs": {"city": "@agentParameters('city')", "sky": "@if(equals(agentParameters('city'), 'Oslo'), 'snow', 'sun')"}}}}}},
		"Answer": {"type": "Compose", "inputs": "@outputs('Weather_agent')?['lastAssistantMessage']", "runAfter": {"Weather_agent": ["Succeeded"]}}}`)
	}
	never := []string{
		`{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`,
		`{"role":"assistant","content":"Still looking.","tool_calls":[{"id":"b","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`,
		`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`,
		`{"role":"assistant","tool_calls":[{"id":"d","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`,
		`{"role":"assistant","tool_calls":[{"id":"e","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`,
		`{"role":"assistant","content":"too late"}`}
	cases := []struct {
		name    string
		options string
		replies []string
		status  string
		answer  string
		calls   int
	}{
		{"tool call then answer", "", []string{
			`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"Get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}`,
			`{"role":"assistant","content":"It snows in Oslo."}`}, StatusSucceeded, "It snows in Oslo.", 2},
		{"answer at once", "", []string{`{"role":"assistant","content":"Ask me about a city."}`}, StatusSucceeded, "Ask me about a city.", 1},
		// The designer offers FailWhenLimitsReached for the Agent action
		// (agentloop.ts settings.operationOptions): without it, reaching
		// limit.count ends the loop and the action succeeds.
		{"limit reached", "", never, StatusSucceeded, "Still looking.", 5},
		{"limit reached, FailWhenLimitsReached", "FailWhenLimitsReached", never, StatusFailed, "", 5},
		{"model fails", "", nil, StatusFailed, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			model := &scriptedModel{replies: tc.replies}
			srv := httptest.NewServer(model)
			t.Cleanup(srv.Close)
			b := setup(t, nil, func(o *Config) { o.HTTPClient = srv.Client() })
			f, err := ParseFile([]byte(agentDef(tc.options)))
			if err != nil {
				t.Fatal(err)
			}
			l, err := b.e.Compile("agent", f, Project{Agents: map[string]AgentConnection{"agent": {Endpoint: srv.URL + "/v1/", Key: "sk-test"}}})
			if err != nil {
				t.Fatal(err)
			}
			r := b.run(t, l, map[string]any{"question": "Weather in Oslo?"})
			ag := rec(r, "Weather_agent")
			if ag == nil || ag.Status != tc.status {
				t.Fatalf("agent record %s", jsonOf(ag))
			}
			if len(model.got) != tc.calls {
				t.Fatalf("model called %d times, want %d", len(model.got), tc.calls)
			}
			first := model.got[0]
			if first["model"] != "gpt-test" || model.auth[0] != "Bearer sk-test" {
				t.Errorf("first request model %v auth %q", first["model"], model.auth[0])
			}
			if got := jsonOf(first["messages"]); got != `[{"content":"You report the weather.","role":"system"},{"content":"Weather in Oslo?","role":"user"}]` {
				t.Errorf("first messages %s", got)
			}
			if got := jsonOf(first["tools"]); !strings.Contains(got, `"name":"Get_weather"`) || !strings.Contains(got, `"required":["city"]`) {
				t.Errorf("tools %s", got)
			}
			if tc.status != StatusSucceeded {
				return
			}
			if got := jsonOf(rec(r, "Answer").Outputs); got != jsonOf(tc.answer) {
				t.Errorf("answer %s, want %q", got, tc.answer)
			}
			if tc.calls == 2 {
				// The tool's result went back to the model with the call's id.
				msgs := jsonOf(model.got[1]["messages"])
				if !strings.Contains(msgs, `{"content":"{\"Forecast\":{\"city\":\"Oslo\",\"sky\":\"snow\"}}","role":"tool","tool_call_id":"call_1"}`) {
					t.Errorf("second request's messages lack the tool result: %s", msgs)
				}
				if fc := rec(r, "Weather_agent#0/Forecast"); fc == nil || fc.Status != StatusSucceeded {
					t.Errorf("tool action record %s", jsonOf(fc))
				}
			}
		})
	}
}

// The Agent action's inputs as the designer writes them (Azure/LogicAppsUX
// standard/manifest/agentloop.ts: deploymentId, agentModelType defaulting to
// AzureOpenAI, agentModelSettings.agentChatCompletionSettings maxTokens,
// temperature, topP, frequencyPenalty, presencePenalty): the settings go to
// the model as chat-completions options, and an Azure OpenAI resource
// endpoint (as connections.json agentConnections stores it) is called at its
// deployment with the api-key header.
func TestAgentModelSettingsAndAzureOpenAI(t *testing.T) {
	t.Parallel()
	const agent = `{"Agent": {"type": "Agent", "inputs": {"parameters": {"deploymentId": "gpt-4.1-mini", "agentModelType": "AzureOpenAI",
		"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
		"agentModelSettings": {"deploymentModelProperties": {"name": "gpt-4.1-mini", "format": "OpenAI", "version": "2025-04-14"},
			"agentChatCompletionSettings": {"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "frequencyPenalty": 0.5}}},
		"modelConfigurations": {"model1": {"referenceName": "agent"}}}}}`
	cases := []struct {
		name, path, url, model, bearer string
	}{
		{"Azure OpenAI resource", "", "/openai/deployments/gpt-4.1-mini/chat/completions?api-version=2024-10-21", "", ""},
		{"Azure OpenAI resource, trailing slash", "/", "/openai/deployments/gpt-4.1-mini/chat/completions?api-version=2024-10-21", "", ""},
		{"OpenAI-compatible base URL", "/v1", "/v1/chat/completions", "gpt-4.1-mini", "Bearer sk-azure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			model := &scriptedModel{replies: []string{`{"role":"assistant","content":"Hello."}`}}
			srv := httptest.NewServer(model)
			t.Cleanup(srv.Close)
			b := setup(t, nil, func(o *Config) { o.HTTPClient = srv.Client() })
			f, err := ParseFile([]byte(def(agent)))
			if err != nil {
				t.Fatal(err)
			}
			l, err := b.e.Compile("agent", f, Project{Agents: map[string]AgentConnection{"agent": {Endpoint: srv.URL + tc.path, Key: "sk-azure"}}})
			if err != nil {
				t.Fatal(err)
			}
			r := b.run(t, l, nil)
			if r.Status != StatusSucceeded || len(model.got) != 1 {
				t.Fatalf("%s %v %d calls", r.Status, paths(r), len(model.got))
			}
			if model.urls[0] != tc.url || model.apiKeys[0] != "sk-azure" || model.auth[0] != tc.bearer {
				t.Errorf("called %s with api-key %q and authorization %q, want %s", model.urls[0], model.apiKeys[0], model.auth[0], tc.url)
			}
			req := model.got[0]
			if req["max_tokens"] != 100.0 || req["temperature"] != 0.2 || req["top_p"] != 0.9 || req["frequency_penalty"] != 0.5 || req["presence_penalty"] != nil {
				t.Errorf("settings %s", jsonOf(req))
			}
			if m, _ := req["model"].(string); m != tc.model {
				t.Errorf("model %q, want %q", m, tc.model)
			}
			if got := rec(r, "Agent").Outputs.(map[string]any)["lastAssistantMessage"]; got != "Hello." {
				t.Errorf("lastAssistantMessage %v", got)
			}
		})
	}
}

// TestAgentConnections reads connections.json agentConnections as Logic Apps
// Standard writes them (Microsoft Learn agent-workflows-concepts: the agent's
// model connection), the key through an app setting (the secrets resolver).
func TestAgentConnections(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"host.json":        {Data: []byte(`{"version":"2.0"}`)},
		"connections.json": {Data: []byte(`{"agentConnections":{"agent":{"displayName":"model","type":"model","endpoint":"@appsetting('agent_endpoint')","authentication":{"type":"Key","key":"@appsetting('agent_key')"}}}}`)},
	}
	settings := map[string]string{"agent_endpoint": "http://127.0.0.1:1/v1", "agent_key": "sk-secret"}
	cases := []struct {
		name    string
		env     map[string]string
		want    AgentConnection
		problem string
	}{
		{"resolved", settings, AgentConnection{Endpoint: "http://127.0.0.1:1/v1", Key: "sk-secret"}, ""},
		{"key missing", map[string]string{"agent_endpoint": "http://x"}, AgentConnection{Endpoint: "http://x"}, `agentConnections.agent.authentication.key: the app setting "agent_key" is not set`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, problems := project.Open(fsys, ".")
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			pf, ps := ReadProject(p, func(n string) (string, bool) { v, ok := tc.env[n]; return v, ok })
			if got := pf.Project.Agents["agent"]; got != tc.want {
				t.Errorf("connection %+v, want %+v", got, tc.want)
			}
			if got := fmt.Sprint(ps); (tc.problem == "") != (len(ps) == 0) || !strings.Contains(got, tc.problem) {
				t.Errorf("problems %s, want %q", got, tc.problem)
			}
		})
	}
}

// Microsoft Learn, create-autonomous-agent-workflows and
// create-conversational-agent-workflows: an autonomous agent workflow is
// written with kind Agentic, a conversational one with kind Agent (its chat
// trigger talks with a person through the run, which Junction does not
// serve).
func TestAgentWorkflowKinds(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]string{"Agentic": "", "Stateful": "", "Stateless": "", "Agent": "kind Agent (a conversational agent workflow",
		"Durable": `kind must be Stateful, Stateless or Agentic, not "Durable"`} {
		fsys := fstest.MapFS{"w/workflow.json": {Data: []byte(`{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{}},"kind":"` + kind + `"}`)}}
		p, problems := project.Open(fsys, ".")
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		got := fmt.Sprint(ValidateProject(p, nil, nil))
		if (want == "") != (got == "[]") || !strings.Contains(got, want) {
			t.Errorf("kind %s: %s, want %q", kind, got, want)
		}
	}
}
