package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"junction/internal/expr"
)

// AgentConnection is one connections.json agentConnections entry: the
// OpenAI-compatible chat-completions endpoint an Agent action talks to and
// its API key (authentication.key, usually @appsetting(...) resolved through
// the secrets resolver).
type AgentConnection struct {
	Endpoint string
	Key      string
}

// agentMaxIterations bounds an agent loop without limit.count.
const agentMaxIterations = 100

// maxAgentReply bounds what is read of one model reply.
const maxAgentReply = 16 << 20

// chatMessage is a chat-completions message.
type chatMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// actAgent runs Logic Apps' "Agent" action (Microsoft Learn "Workflows that
// work with AI agents and models in Azure Logic Apps",
// agent-workflows-concepts; the designer's agent loop manifest in
// Azure/LogicAppsUX, standard/manifest/agentloop.ts, names the inputs): the
// agent loop sends the conversation (inputs.parameters.messages, the model
// named by deploymentId, agentModelSettings.agentChatCompletionSettings) with
// the agent's tools to the model of the agent connection named by
// inputs.modelConfigurations.*.referenceName; each tool call the model asks
// for runs that tool's nested actions, whose outputs go back to the model,
// until the model answers without a tool call. limit.count bounds the
// iterations (model calls); reaching it ends the loop, and fails the action
// only with the FailWhenLimitsReached operation option. The outputs carry
// lastAssistantMessage (read as outputs('Agent')?['lastAssistantMessage'] in
// Microsoft's samples) and the whole conversation (messages).
func actAgent(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	params, _ := m["parameters"].(map[string]any)
	conn, err := c.agentConnection(m)
	if err != nil {
		return err
	}
	var msgs []chatMessage
	list, _ := params["messages"].([]any)
	for i, x := range list {
		mm, _ := x.(map[string]any)
		role := strings.ToLower(expr.ToString(mm["role"]))
		if role == "" {
			return failf("InvalidTemplate", "The message %d of the Agent action '%s' has no role", i, c.name)
		}
		content := expr.ToString(mm["content"])
		msgs = append(msgs, chatMessage{Role: role, Content: &content})
	}
	if len(msgs) == 0 {
		return failf("InvalidTemplate", "The Agent action '%s' needs inputs.parameters.messages", c.name)
	}
	tools := c.agentTools()
	limit := int64(agentMaxIterations)
	if c.a.Limit != nil && c.a.Limit.Count != nil {
		v, err := c.resolve(c.a.Limit.Count)
		if err != nil {
			return err
		}
		n, ok := v.(int64)
		if !ok || n < 1 {
			return failf("InvalidTemplate", "The limit count of action '%s' must be a positive integer", c.name)
		}
		limit = n
	}
	target := chatTarget(conn, params)
	settings := chatSettings(params)
	calls := 0
	last := ""
	for it := int64(0); it < limit; it++ {
		reply, err := c.chat(ctx, conn, target, settings, msgs, tools)
		if err != nil {
			return err
		}
		msgs = append(msgs, reply)
		if reply.Content != nil && *reply.Content != "" {
			last = *reply.Content
		}
		if len(reply.ToolCalls) == 0 {
			c.rec.Outputs = map[string]any{"lastAssistantMessage": last, "messages": agentTranscript(msgs)}
			return nil
		}
		for _, tc := range reply.ToolCalls {
			out, err := c.runTool(ctx, calls, tc)
			if err != nil {
				return err
			}
			calls++
			msgs = append(msgs, chatMessage{Role: "tool", Content: &out, ToolCallID: tc.ID})
		}
	}
	c.rec.Outputs = map[string]any{"lastAssistantMessage": last, "messages": agentTranscript(msgs)}
	if strings.Contains(strings.ToLower(c.a.OperationOptions), "failwhenlimitsreached") {
		return failf("AgentLoopLimitExceeded", "The Agent action '%s' reached its limit of %d model calls without a final answer", c.name, limit)
	}
	return nil
}

// azureOpenAIVersion is the api-version of Azure OpenAI's chat completions
// (the generally available one).
const azureOpenAIVersion = "2024-10-21"

// chatEndpoint is where an agent's model answers: the chat completions URL
// and the model to name in the request (none for an Azure deployment).
// An Azure deployment takes the key as api-key only (a bearer header there
// is read as a Microsoft Entra token).
type chatEndpoint struct {
	url, model string
	azure      bool
}

// chatTarget is the URL of the model's chat completions and the model name
// to send. An Azure OpenAI resource (agentModelType AzureOpenAI, the
// designer's default, with the resource's endpoint as Logic Apps stores it:
// no path) is called at its deployment, /openai/deployments/{deploymentId}/
// chat/completions?api-version=; any other endpoint is an OpenAI-compatible
// base URL (such as https://api.example.com/v1) with /chat/completions and
// the model in the body.
func chatTarget(conn AgentConnection, params map[string]any) (t chatEndpoint) {
	model := expr.ToString(params["deploymentId"])
	base := strings.TrimRight(conn.Endpoint, "/")
	typ := expr.ToString(params["agentModelType"])
	if u, err := url.Parse(base); err == nil && strings.Trim(u.Path, "/") == "" && model != "" && (typ == "" || strings.EqualFold(typ, "AzureOpenAI")) {
		t.url = base + "/openai/deployments/" + url.PathEscape(model) + "/chat/completions?api-version=" + azureOpenAIVersion
		t.azure = true
		return t
	}
	t.url, t.model = base+"/chat/completions", model
	return t
}

// chatSettings are the chat-completions options of
// agentModelSettings.agentChatCompletionSettings, by their API names.
func chatSettings(params map[string]any) map[string]any {
	ms, _ := params["agentModelSettings"].(map[string]any)
	cs, _ := ms["agentChatCompletionSettings"].(map[string]any)
	out := map[string]any{}
	for from, to := range map[string]string{"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p",
		"frequencyPenalty": "frequency_penalty", "presencePenalty": "presence_penalty"} {
		if v, ok := cs[from]; ok && v != nil {
			out[to] = v
		}
	}
	return out
}

func (c *call) agentConnection(m map[string]any) (AgentConnection, error) {
	ref := ""
	if mc, ok := m["modelConfigurations"].(map[string]any); ok {
		for _, k := range sortedKeys(mc) {
			if x, ok := mc[k].(map[string]any); ok {
				if ref = expr.ToString(x["referenceName"]); ref != "" {
					break
				}
			}
		}
	}
	if ref == "" {
		return AgentConnection{}, failf("InvalidTemplate", "The Agent action '%s' needs inputs.modelConfigurations with the referenceName of an agent connection", c.name)
	}
	conn, ok := c.rs.l.Agents[ref]
	if !ok {
		for k, v := range c.rs.l.Agents {
			if strings.EqualFold(k, ref) {
				conn, ok = v, true
			}
		}
	}
	if !ok || conn.Endpoint == "" {
		return AgentConnection{}, failf("ConnectionNotFound", "The agent connection '%s' of action '%s' is not defined (with an endpoint) in connections.json agentConnections", ref, c.name)
	}
	return conn, nil
}

// agentTools are the chat-completions tool definitions of the agent's tools.
func (c *call) agentTools() []any {
	var out []any
	for _, name := range sortedKeys(c.a.Tools) {
		t := c.a.Tools[name]
		if t == nil {
			continue
		}
		schema := t.AgentParameterSchema
		if schema == nil {
			schema = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out = append(out, map[string]any{"type": "function", "function": map[string]any{
			"name": name, "description": t.Description, "parameters": schema}})
	}
	return out
}

// chat sends the conversation to the model and returns its reply message.
func (c *call) chat(ctx context.Context, conn AgentConnection, target chatEndpoint, settings map[string]any, msgs []chatMessage, tools []any) (chatMessage, error) {
	req := map[string]any{"messages": msgs}
	for k, v := range settings {
		req[k] = v
	}
	if target.model != "" {
		req["model"] = target.model
	}
	if len(tools) > 0 {
		req["tools"] = tools
	}
	body, err := json.Marshal(req)
	if err != nil {
		return chatMessage{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target.url, bytes.NewReader(body))
	if err != nil {
		return chatMessage{}, failf("InvalidUri", "The endpoint '%s' of the agent connection of action '%s' is not a URL", conn.Endpoint, c.name)
	}
	hr.Header.Set("Content-Type", "application/json")
	if conn.Key != "" {
		hr.Header.Set("api-key", conn.Key) // Azure OpenAI's header
		if !target.azure {
			hr.Header.Set("Authorization", "Bearer "+conn.Key)
		}
	}
	resp, err := c.rs.e.opt.HTTPClient.Do(hr)
	if err != nil {
		return chatMessage{}, failf("AgentModelUnavailable", "The Agent action '%s' could not reach its model: %v", c.name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAgentReply))
	if err != nil {
		return chatMessage{}, failf("AgentModelUnavailable", "The Agent action '%s' could not read its model's reply: %v", c.name, err)
	}
	if resp.StatusCode >= 300 {
		return chatMessage{}, failf("AgentModelError", "The model of Agent action '%s' answered %d: %s", c.name, resp.StatusCode, truncate(string(data), 1000))
	}
	var cr struct {
		Choices []struct {
			Message chatMessage `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(data, &cr); err != nil || len(cr.Choices) == 0 {
		return chatMessage{}, failf("AgentModelError", "The model of Agent action '%s' answered with no chat-completions choice: %s", c.name, truncate(string(data), 1000))
	}
	msg := cr.Choices[0].Message
	if msg.Role == "" {
		msg.Role = "assistant"
	}
	return msg, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// runTool runs the tool a model's tool call names, as iteration n of the
// agent, and returns what goes back to the model: the outputs of the tool's
// actions by name, as JSON.
func (c *call) runTool(ctx context.Context, n int, tc chatToolCall) (string, error) {
	name, tool := "", (*Tool)(nil)
	for k, t := range c.a.Tools {
		if k == tc.Function.Name || (tool == nil && strings.EqualFold(k, tc.Function.Name)) {
			name, tool = k, t
		}
	}
	if tool == nil {
		// Told back to the model, as the model may correct itself.
		return fmt.Sprintf(`{"error":"there is no tool named %q"}`, tc.Function.Name), nil
	}
	args := map[string]any{}
	if strings.TrimSpace(tc.Function.Arguments) != "" {
		var v any
		if err := json.Unmarshal([]byte(tc.Function.Arguments), &v); err != nil {
			return fmt.Sprintf(`{"error":"the arguments of the call of tool %q are not JSON: %s"}`, name, strings.ReplaceAll(err.Error(), `"`, `'`)), nil
		}
		if mm, ok := expr.Normalize(v).(map[string]any); ok {
			args = mm
		}
	}
	f := &frame{parent: c.f, loop: c.name, index: n, args: args}
	st, err := c.rs.runSet(ctx, tool.Actions, f)
	if err != nil {
		return "", err
	}
	if st == StatusFailed {
		return "", failf("ActionFailed", "The tool '%s' of Agent action '%s' failed (tool call %d)", name, c.name, n)
	}
	out := map[string]any{}
	sc := c.rs.scope(f)
	for _, an := range sortedKeys(tool.Actions) {
		if v, err := sc.Workflow("outputs", []any{an}); err == nil {
			out[an] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// agentParameter answers agentParameters(name) inside an Agent's tool.
func (s *evalScope) agentParameter(name string) (any, error) {
	for f := s.f; f != nil; f = f.parent {
		if f.args != nil {
			if v, ok := f.args[name]; ok {
				return v, nil
			}
			keys := make([]string, 0, len(f.args))
			for k := range f.args {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("the agent parameter '%s' was not passed by the model (it passed: %s)", name, strings.Join(keys, ", "))
		}
	}
	return nil, fmt.Errorf("agentParameters() can only be used in the actions of an Agent's tool")
}

// agentTranscript is the conversation as the run records it.
func agentTranscript(msgs []chatMessage) []any {
	out := make([]any, 0, len(msgs))
	for _, m := range msgs {
		e := map[string]any{"role": m.Role}
		if m.Content != nil {
			e["content"] = *m.Content
		}
		if len(m.ToolCalls) > 0 {
			var tcs []any
			for _, tc := range m.ToolCalls {
				tcs = append(tcs, map[string]any{"id": tc.ID, "name": tc.Function.Name, "arguments": tc.Function.Arguments})
			}
			e["toolCalls"] = tcs
		}
		if m.ToolCallID != "" {
			e["toolCallId"] = m.ToolCallID
		}
		out = append(out, e)
	}
	return out
}
