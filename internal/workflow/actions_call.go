package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"junction/internal/connector"
	"junction/internal/expr"
)

// attempt is one try of a call action.
type attempt struct {
	status     int
	outputs    any
	err        error
	retryAfter time.Duration
	retry      bool // the failure may pass if tried again
}

// withRetries runs try under the action's retry policy, recording history.
func (c *call) withRetries(ctx context.Context, policy RetryPolicy, try func(ctx context.Context) attempt) attempt {
	var res attempt
	for n := 0; ; n++ {
		start := c.rs.e.opt.Now().UTC()
		res = try(ctx)
		if res.err == nil || !res.retry || policy.Type == "none" || n >= policy.Count || ctx.Err() != nil {
			return res
		}
		entry := map[string]any{"startTime": fmtTime(start), "endTime": fmtTime(c.rs.e.opt.Now().UTC()),
			"code": codeOf(res), "error": map[string]any{"code": codeOf(res), "message": res.err.Error()}}
		c.rec.RetryHistory = append(c.rec.RetryHistory, entry)
		if err := c.rs.e.sleep(ctx, policy.delay(n+1, res.retryAfter)); err != nil {
			return attempt{err: err}
		}
	}
}

func codeOf(a attempt) string {
	if a.status > 0 {
		return httpCode(a.status)
	}
	var ae *actionError
	if errors.As(a.err, &ae) {
		return ae.Code
	}
	return "ServiceUnavailable"
}

func (c *call) retryPolicy(in map[string]any) (RetryPolicy, error) {
	p, err := parseRetryPolicy(in["retryPolicy"])
	if err != nil {
		return p, failf("InvalidTemplate", "%v", err)
	}
	return p, nil
}

func actResponse(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	resp := &Response{StatusCode: 200, Headers: map[string]string{}, Body: m["body"]}
	if sc, ok := m["statusCode"]; ok {
		switch x := sc.(type) {
		case int64:
			resp.StatusCode = int(x)
		case string:
			var n int
			if _, err := fmt.Sscanf(x, "%d", &n); err != nil {
				return failf("InvalidTemplate", "The statusCode '%s' is not a number", x)
			}
			resp.StatusCode = n
		}
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return failf("InvalidTemplate", "The statusCode %d is not valid", resp.StatusCode)
	}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, v := range h {
			resp.Headers[k] = expr.ToString(v)
		}
	}
	c.rec.Outputs = map[string]any{"statusCode": int64(resp.StatusCode), "headers": m["headers"], "body": resp.Body}
	c.rs.mu.Lock()
	dup := c.rs.responding
	c.rs.responding = true
	c.rs.mu.Unlock()
	if dup {
		return failf("ActionResponseAlreadySent", "A response was already sent for this run; only one Response action may run")
	}
	c.rs.run.response = resp
	// The caller is answered once the Response's record is committed: what
	// it was told is durable.
	c.answer = func() { c.rs.respOnce.Do(func() { c.rs.respCh <- resp }) }
	return nil
}

// actWorkflow calls a child workflow through its trigger and waits for its
// Response (or, without one, its start: 202). The child is named by
// host.workflow.id (Logic Apps; a resource id's last segment is the name) or
// host.workflowReferenceName (a Power Automate child flow). The child run's
// trigger carries the parent's tracking headers and a link to the parent
// run; the action's outputs carry the child's run id.
func actWorkflow(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	host, _ := m["host"].(map[string]any)
	name := childWorkflowName(host)
	child, ok := c.rs.e.childWorkflow(name)
	if !ok {
		return failf("WorkflowNotFound", "The workflow '%s' called by action '%s' does not exist", name, c.name)
	}
	headers := map[string]any{}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, v := range h {
			headers[k] = v
		}
	}
	run := c.rs.run
	for k, v := range map[string]any{"x-ms-workflow-name": c.rs.l.Name, "x-ms-workflow-run-id": run.ID,
		"x-ms-workflow-operation-name": c.name, "x-ms-client-tracking-id": run.ClientTrackingID, "x-ms-workflow-run-tracking-id": run.ClientTrackingID} {
		if _, set := headers[k]; !set {
			headers[k] = v
		}
	}
	outputs := map[string]any{"headers": headers, "body": m["body"]}
	trig, _ := host["triggerName"].(string)
	parent := map[string]any{"workflow": c.rs.l.Name, "runId": run.ID, "action": c.rec.Path}
	h, err := c.rs.e.StartRun(ctx, child, StartOptions{Trigger: trig, Outputs: outputs, ClientTrackingID: run.ClientTrackingID, Mocks: c.rs.childMocks(), Parent: parent})
	if err != nil {
		return failf("WorkflowStartFailed", "Could not start the workflow '%s': %v", child.Name, err)
	}
	var resp *Response
	if child.hasResponse {
		resp, err = h.Response(ctx)
		if err != nil {
			return err
		}
	}
	if resp == nil {
		c.rec.Outputs = map[string]any{"statusCode": int64(202), "headers": map[string]any{"x-ms-workflow-run-id": h.ID, "x-ms-workflow-name": child.Name}, "body": nil}
		return nil
	}
	hdr := map[string]any{"x-ms-workflow-run-id": h.ID, "x-ms-workflow-name": child.Name}
	for k, v := range resp.Headers {
		hdr[k] = v
	}
	c.rec.Outputs = map[string]any{"statusCode": int64(resp.StatusCode), "headers": hdr, "body": resp.Body}
	if resp.StatusCode >= 400 {
		return failf(httpCode(resp.StatusCode), "The workflow '%s' answered %d", child.Name, resp.StatusCode)
	}
	return nil
}

// childWorkflowName reads the called workflow from a Workflow action's host.
func childWorkflowName(host map[string]any) string {
	if ref, ok := host["workflowReferenceName"].(string); ok && ref != "" {
		return ref
	}
	wf, _ := host["workflow"].(map[string]any)
	name, _ := wf["id"].(string)
	// Logic Apps Consumption puts a resource id here; the last segment is the name.
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// childWorkflow finds a workflow by name, or by the flow name a Power
// Automate export carries (its "name", the id child flow actions use), both
// ignoring case as Azure resource names are (Microsoft's azure-devops-sample
// calls its EventProcessor workflow as "eventprocessor").
func (e *Engine) childWorkflow(ref string) (*Loaded, bool) {
	if l, ok := e.Workflow(ref); ok {
		return l, true
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, l := range e.workflows {
		if strings.EqualFold(l.Name, ref) || (l.FlowName != "" && strings.EqualFold(l.FlowName, ref)) {
			return l, true
		}
	}
	return nil, false
}

func (rs *runState) childMocks() map[string]*Mock {
	if rs.mocks == nil {
		return nil
	}
	return map[string]*Mock{}
}

func actJavaScript(ctx context.Context, c *call) error {
	in := c.inputs()
	code, _ := in["code"].(string)
	c.rec.Inputs = map[string]any{"code": code}
	if c.rs.e.opt.JS == nil {
		return failf("JavaScriptNotAvailable", "No JavaScript sandbox is configured on this node; JavaScriptCode actions cannot run")
	}
	wctx := map[string]any{"trigger": c.rs.run.Trigger, "workflow": map[string]any{"name": c.rs.l.Name, "run": map[string]any{"name": c.rs.run.ID}}}
	actions := map[string]any{}
	c.rs.mu.Lock()
	for _, rec := range c.rs.records {
		actions[rec.Name] = recordObject(rec)
	}
	c.rs.mu.Unlock()
	wctx["actions"] = actions
	out, err := c.rs.e.opt.JS.RunJS(ctx, code, wctx)
	if err != nil {
		return failf("InlineCodeScriptRuntimeFailure", "The inline code failed: %v", err)
	}
	c.rec.Outputs = map[string]any{"body": expr.Normalize(out)}
	return nil
}

// connectorName maps a service provider id or managed API id to a connector
// registered in the connector registry.
func connectorName(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	id = strings.ToLower(strings.TrimPrefix(strings.ToLower(id), "shared_"))
	switch id {
	case "commondataserviceforapps", "commondataservice", "dynamicscrmonline", "dataverse":
		return "dataverse"
	case "servicebus", "azureservicebus":
		return "servicebus"
	case "eventgrid", "eventgridpublisher", "azureeventgrid", "azureeventgridpublish":
		return "events"
	case "sftpwithssh", "sftp":
		return "sftp"
	case "smtp", "office365":
		return "smtp"
	}
	return id
}

// actConnector dispatches ServiceProvider, OpenApiConnection and
// ApiConnection actions to the connector registry.
func actConnector(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	var connName, opID, connectorID string
	params := map[string]any{}
	switch strings.ToLower(c.a.Type) {
	case "serviceprovider":
		cfg, _ := m["serviceProviderConfiguration"].(map[string]any)
		connName, _ = cfg["connectionName"].(string)
		opID, _ = cfg["operationId"].(string)
		connectorID, _ = cfg["serviceProviderId"].(string)
		if p, ok := m["parameters"].(map[string]any); ok {
			params = p
		}
	default:
		host, _ := m["host"].(map[string]any)
		connName = connectionNameOf(host)
		opID, _ = host["operationId"].(string)
		connectorID, _ = host["apiId"].(string)
		if p, ok := m["parameters"].(map[string]any); ok {
			params = unflatten(p)
		}
		if opID == "" {
			// ApiConnection: the operation is the method and path.
			method, _ := m["method"].(string)
			path, _ := m["path"].(string)
			opID = strings.ToUpper(method) + " " + path
			for k, v := range m {
				if k != "host" {
					params[k] = v
				}
			}
		}
	}
	conn, ok := c.rs.l.Connections[connName]
	if u, _ := conn.Values[runtimeURLKey].(string); ok && u != "" && strings.EqualFold(c.a.Type, "ApiConnection") {
		return c.callRuntimeURL(ctx, m, u, conn.Values[runtimeAuthKey])
	}
	if !ok {
		conn = connector.Connection{Name: connName, Connector: connectorName(connectorID)}
	}
	if conn.Connector == "" {
		conn.Connector = connectorName(connectorID)
	}
	reg := c.rs.e.opt.Connectors
	if reg == nil {
		return failf("ConnectorNotFound", "No connectors are registered on this node")
	}
	policy, err := c.retryPolicy(m)
	if err != nil {
		return err
	}
	_, op, _ := reg.Lookup(conn.Connector, opID)
	jctx, join := c.offerJoin(ctx)
	res := c.withRetries(jctx, policy, func(ctx context.Context) attempt {
		if join != nil {
			join.Defer(nil)
		}
		out, err := reg.Invoke(ctx, conn, opID, params)
		return opAttempt(op, out, err)
	})
	if join != nil && res.err == nil {
		c.effect = join.Deferred()
	}
	if min := paginationMinimum(c.a); min > 0 && res.err == nil && op != nil && op.Paging != nil {
		// A paged operation (x-ms-pageable) read page by page, as Logic
		// Apps reads a connector action with a pagination policy.
		shape := pageShape{items: op.Paging.Items(), links: []string{op.Paging.NextLinkName}, keep: op.Paging.NextLinkName}
		res = c.paginate(ctx, res, min, shape, func(ctx context.Context, link string) attempt {
			return c.withRetries(ctx, policy, func(ctx context.Context) attempt {
				out, err := reg.NextPage(ctx, conn, opID, link)
				return opAttempt(op, out, err)
			})
		})
	}
	if res.err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *actionError
		if errors.As(res.err, &ae) {
			return ae
		}
		code := "ServiceProviderActionFailed"
		if res.status > 0 {
			code = httpCode(res.status)
			c.rec.Outputs = map[string]any{"statusCode": int64(res.status)}
		}
		return failf(code, "%v", res.err)
	}
	c.rec.Outputs = res.outputs
	return nil
}

// opAttempt makes one call of connector operation op an attempt: its
// outputs are the operation's HTTP response ({"statusCode", "headers",
// "body"}) for a Response operation, else {"statusCode": 200, "body": result}.
func opAttempt(op *connector.Operation, out any, err error) attempt {
	if err != nil {
		var ce *connector.Error
		a := attempt{err: err}
		if errors.As(err, &ce) {
			a.status, a.retry = ce.Status, ce.Retryable || retryable(ce.Status)
		}
		if errors.Is(err, connector.ErrUnknownConnector) || errors.Is(err, connector.ErrUnknownOperation) {
			a.err = failf("ConnectorNotFound", "%v", err)
		}
		return a
	}
	out = expr.Normalize(out)
	if op != nil && op.Response {
		if m, ok := out.(map[string]any); ok {
			status, _ := wholeNumber(m["statusCode"])
			return attempt{status: int(status), outputs: m}
		}
	}
	return attempt{status: 200, outputs: map[string]any{"statusCode": int64(200), "body": out}}
}

// unflatten turns Power Automate's "item/name" parameter keys into nested
// objects: {"item": {"name": ...}}.
func unflatten(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		parts := strings.Split(k, "/")
		cur := out
		for i, part := range parts {
			if i == len(parts)-1 {
				cur[part] = v
				break
			}
			next, ok := cur[part].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[part] = next
			}
			cur = next
		}
	}
	return out
}

// callRuntimeURL makes an ApiConnection action's request to its managed
// connection's runtime URL, as Logic Apps Standard does: the action's
// method, path, queries, headers and body, with the connection's
// authentication (Raw: "Authorization: <scheme> <parameter>").
func (c *call) callRuntimeURL(ctx context.Context, m map[string]any, runtimeURL string, auth any) error {
	req := map[string]any{"method": m["method"], "uri": strings.TrimRight(runtimeURL, "/") + "/" + strings.TrimLeft(expr.ToString(m["path"]), "/")}
	for _, k := range []string{"queries", "body", "retryPolicy"} {
		if v, ok := m[k]; ok && v != nil {
			req[k] = v
		}
	}
	headers := map[string]any{}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, v := range h {
			headers[k] = v
		}
	}
	if a, ok := auth.(map[string]any); ok && strings.EqualFold(expr.ToString(a["type"]), "Raw") {
		v := expr.ToString(a["value"])
		if v == "" {
			v = strings.TrimSpace(expr.ToString(a["scheme"]) + " " + expr.ToString(a["parameter"]))
		}
		headers["Authorization"] = v
	}
	req["headers"] = headers
	return c.httpCall(ctx, req, c.rs.e.opt.HTTPClient)
}
