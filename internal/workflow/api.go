package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"junction/internal/expr"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// writeLogicError writes an error in Logic Apps' trigger endpoint format.
func writeLogicError(w http.ResponseWriter, status int, code, msg string) {
	server.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// DefaultMaxBody is the request trigger's body limit when Config.MaxBody
// sets none: Logic Apps' 100 MB message size.
const DefaultMaxBody = 100 << 20

func (e *Engine) maxBody() int64 { return cmp.Or(e.opt.MaxBody, DefaultMaxBody) }

// triggerTooLarge is Logic Apps' answer to a trigger body over the limit.
func triggerTooLarge(w http.ResponseWriter, limit int64) {
	writeLogicError(w, http.StatusRequestEntityTooLarge, "RequestTooLarge", fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit))
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// invoke serves a Request trigger's callback URL.
func (e *Engine) invoke(w http.ResponseWriter, r *http.Request) {
	name, trigger := r.PathValue("workflow"), r.PathValue("trigger")
	l, ok := e.lookup(r.Context(), name)
	if !ok {
		writeLogicError(w, http.StatusNotFound, "WorkflowNotFound", fmt.Sprintf("The workflow '%s' could not be found.", name))
		return
	}
	trigger, t := l.triggerNamed(trigger)
	if t == nil || !strings.EqualFold(t.Type, "Request") {
		writeLogicError(w, http.StatusNotFound, "TriggerNotFound", fmt.Sprintf("The workflow '%s' has no request trigger '%s'.", name, trigger))
		return
	}
	q := r.URL.Query()
	if q.Get("sig") == "" {
		writeLogicError(w, http.StatusUnauthorized, "DirectApiAuthorizationRequired", "The request must be authenticated with the 'sig' query parameter of the callback URL.")
		return
	}
	if !verify(l.SigKey, name, trigger, q.Get("sp"), q.Get("sv"), q.Get("sig")) || !strings.HasPrefix(q.Get("sp"), "/triggers/"+trigger+"/") {
		writeLogicError(w, http.StatusUnauthorized, "DirectApiInvalidAuthorizationSignature", "The provided callback URL signature is not valid.")
		return
	}
	in, _ := t.Inputs.(map[string]any)
	if m, _ := in["method"].(string); m != "" && !strings.EqualFold(m, r.Method) {
		writeLogicError(w, http.StatusBadRequest, "InvalidHttpMethod", fmt.Sprintf("The HTTP method for this request is not valid: expected '%s' and actual '%s'.", strings.ToUpper(m), r.Method))
		return
	}
	pathParams := map[string]any{}
	if rest := r.PathValue("path"); rest != "" || in["relativePath"] != nil {
		rp, _ := in["relativePath"].(string)
		params, ok := matchRelativePath(rp, rest)
		if !ok {
			writeLogicError(w, http.StatusNotFound, "TriggerPathNotMatched", fmt.Sprintf("The path '%s' does not match the trigger's relative path '%s'.", rest, rp))
			return
		}
		pathParams = params
	}
	data, err := server.ReadBody(r)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			triggerTooLarge(w, mb.Limit)
			return
		}
		writeLogicError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content cannot be read: "+err.Error())
		return
	}
	var body any
	if len(data) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case strings.Contains(ct, "json"):
			v, err := expr.DecodeJSONWithin(data, e.opt.JSON)
			if err != nil {
				writeLogicError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content is not valid JSON: "+err.Error())
				return
			}
			body = v
		case ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "xml") || ct == "application/x-www-form-urlencoded":
			body = string(data)
		default:
			body = expr.Binary(r.Header.Get("Content-Type"), data)
		}
	}
	if strings.Contains(strings.ToLower(t.OperationOptions), "enableschemavalidation") && in["schema"] != nil {
		if err := validateSchema(in["schema"], body); err != nil {
			writeLogicError(w, http.StatusBadRequest, "TriggerInputSchemaMismatch",
				fmt.Sprintf("The input body for trigger '%s' of type 'Request' did not match its schema definition. Error details: '%v'.", trigger, err))
			return
		}
	}
	headers := map[string]any{}
	for k := range r.Header {
		headers[k] = r.Header.Get(k)
	}
	queries := map[string]any{}
	for k := range q {
		switch k {
		case "sig", "sp", "sv", "api-version":
			continue
		}
		queries[k] = q.Get(k)
	}
	outputs := map[string]any{"headers": headers, "body": body, "queries": queries, "relativePathParameters": pathParams}
	// The runs are created with relaxed commits (store.Relaxed): the caller
	// is answered only after a durable commit that follows them, the
	// Response's or the run's end, or else after commitRuns.
	handles, err := e.Fire(store.Relaxed(r.Context()), l, trigger, outputs)
	if errors.Is(err, ErrTooManyWaitingRuns) && len(handles) == 0 {
		w.Header().Set("Retry-After", "10")
		writeLogicError(w, http.StatusTooManyRequests, "WorkflowRunsQueueLimitReached", "The workflow '"+name+"' has reached its limit of waiting runs; retry later.")
		return
	}
	if err != nil {
		e.log.Error("fire request trigger", "workflow", name, "err", err)
		writeLogicError(w, http.StatusInternalServerError, "TriggerFailed", err.Error())
		return
	}
	if len(handles) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	status := func(h *Handle) string {
		return baseURL(r) + "/admin/v1/workflows/" + url.PathEscape(name) + "/runs/" + h.ID
	}
	if l.hasResponse && len(handles) == 1 && !handles[0].Waiting {
		ctx, cancel := context.WithTimeout(r.Context(), e.opt.SyncTimeout)
		defer cancel()
		resp, err := handles[0].Response(ctx)
		setRunHeaders(w.Header(), name, handles[0])
		if resp == nil && !e.commitRuns(w, r, handles) {
			return
		}
		if err != nil {
			writeLogicError(w, http.StatusGatewayTimeout, "GatewayTimeout", fmt.Sprintf("The workflow run '%s' did not answer within %s; it keeps running.", handles[0].ID, e.opt.SyncTimeout))
			return
		}
		if resp == nil {
			writeLogicError(w, http.StatusBadGateway, "NoResponse", fmt.Sprintf("The workflow run '%s' ended without running a Response action.", handles[0].ID))
			return
		}
		writeResponse(w, resp)
		return
	}
	if !e.commitRuns(w, r, handles) {
		return
	}
	ids := make([]string, len(handles))
	for i, h := range handles {
		ids[i] = h.ID
	}
	setRunHeaders(w.Header(), name, handles[0])
	w.Header().Set("Location", status(handles[0]))
	w.WriteHeader(http.StatusAccepted)
	if len(ids) > 1 {
		_ = json.NewEncoder(w).Encode(map[string]any{"runs": ids})
	}
}

// commitRuns makes the runs a request trigger started durable before their
// ids are answered: they were created with relaxed commits, and a durable
// commit after them flushes them too (see store.Relaxed). It answers an
// error itself when that fails.
func (e *Engine) commitRuns(w http.ResponseWriter, r *http.Request, handles []*Handle) bool {
	if e.opt.Store == nil {
		return true
	}
	ids := make([]any, len(handles))
	for i, h := range handles {
		ids[i] = h.ID
	}
	err := e.opt.Store.Tx(context.WithoutCancel(r.Context()), func(tx store.Tx) error {
		_, err := tx.Exec(r.Context(), `UPDATE wf_runs SET lease_until = lease_until WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`, ids...)
		return err
	})
	if err != nil {
		e.log.Error("commit started runs", "workflow", handles[0].rs.l.Name, "err", err)
		writeLogicError(w, http.StatusInternalServerError, "TriggerFailed", err.Error())
		return false
	}
	return true
}

// setRunHeaders names the run a request trigger started, as Logic Apps
// answers a trigger call: its run id, workflow and client tracking id.
func setRunHeaders(h http.Header, workflow string, run *Handle) {
	h.Set("x-ms-workflow-run-id", run.ID)
	h.Set("x-ms-workflow-name", workflow)
	h.Set("x-ms-client-tracking-id", run.ClientTrackingID())
}

func writeResponse(w http.ResponseWriter, resp *Response) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	var data []byte
	switch b := resp.Body.(type) {
	case nil:
	case string:
		data = []byte(b)
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		if ct, bin, ok := expr.AsBinary(b); ok {
			data = bin
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", ct)
			}
			break
		}
		data, _ = json.Marshal(b)
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
}

var pathParam = regexp.MustCompile(`^\{([^{}]+)\}$`)

// matchRelativePath matches "orders/{id}" against "orders/42".
func matchRelativePath(pattern, path string) (map[string]any, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	out := map[string]any{}
	for i := range ps {
		if m := pathParam.FindStringSubmatch(ps[i]); m != nil {
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return nil, false
			}
			out[m[1]] = v
			continue
		}
		if !strings.EqualFold(ps[i], xs[i]) {
			return nil, false
		}
	}
	return out, true
}

// lookup finds a workflow, loading it from the store when another node
// deployed it.
func (e *Engine) lookup(ctx context.Context, name string) (*Loaded, bool) {
	if l, ok := e.Workflow(name); ok {
		if e.opt.Store == nil || !e.stale(ctx, l) {
			return l, true
		}
	}
	if e.opt.Store == nil {
		return nil, false
	}
	var hash, kind, key string
	err := e.opt.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT def_hash, kind, sig_key FROM wf_workflows WHERE name = ?`, name).Scan(&hash, &kind, &key)
	})
	if err != nil {
		return nil, false
	}
	l, err := e.version(ctx, name, hash)
	if err != nil {
		return nil, false
	}
	l.SigKey = key
	e.mu.Lock()
	e.workflows[name] = l
	e.mu.Unlock()
	return l, true
}

// stale reports whether another node deployed a newer definition; checked at
// most once a second per workflow.
func (e *Engine) stale(ctx context.Context, l *Loaded) bool {
	now := time.Now()
	e.mu.Lock()
	if e.checked == nil {
		e.checked = map[string]time.Time{}
	}
	if now.Sub(e.checked[l.Name]) < time.Second {
		e.mu.Unlock()
		return false
	}
	e.checked[l.Name] = now
	e.mu.Unlock()
	var hash string
	err := e.opt.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT def_hash FROM wf_workflows WHERE name = ?`, l.Name).Scan(&hash)
	})
	return err == nil && hash != l.Hash
}

// Routes are the trigger endpoints and the management API.
func (e *Engine) Routes() []server.Route {
	op := server.Allow(server.RoleOperator)
	tag := "Workflows"
	wfSchema := map[string]any{"type": "object", "description": "a workflow.json: {\"definition\": {...}, \"kind\": \"Stateful\"}"}
	return []server.Route{
		{Pattern: "/api/{workflow}/triggers/{trigger}/invoke", Name: "workflow trigger", Access: server.Open, Handler: http.HandlerFunc(e.invoke),
			MaxBody: e.maxBody(), TooLarge: triggerTooLarge},
		{Pattern: "/api/{workflow}/triggers/{trigger}/invoke/{path...}", Name: "workflow trigger path", Access: server.Open, Handler: http.HandlerFunc(e.invoke),
			MaxBody: e.maxBody(), TooLarge: triggerTooLarge},
		{Method: "GET", Pattern: "/admin/v1/workflows", Access: op, Handler: http.HandlerFunc(e.apiList),
			Doc: &server.Operation{Summary: "List workflows", Tag: tag}},
		{Method: "GET", Pattern: "/admin/v1/workflows/{name}", Access: op, Handler: http.HandlerFunc(e.apiGet),
			Doc: &server.Operation{Summary: "Get a workflow and its definition", Tag: tag}},
		{Method: "PUT", Pattern: "/admin/v1/workflows/{name}", Access: server.AdminOnly, Handler: http.HandlerFunc(e.apiPut), MaxBody: 16 << 20,
			Doc: &server.Operation{Summary: "Create or replace a workflow", Description: "The body is a workflow.json (Logic Apps Standard), a Power Automate export or a bare definition. Every problem is reported with its JSON path.", Tag: tag, Request: wfSchema}},
		{Method: "DELETE", Pattern: "/admin/v1/workflows/{name}", Access: server.AdminOnly, Handler: http.HandlerFunc(e.apiDelete),
			Doc: &server.Operation{Summary: "Delete a workflow (its run history stays until retention)", Tag: tag, Status: http.StatusNoContent}},
		{Method: "POST", Pattern: "/admin/v1/workflows/{name}/triggers/{trigger}/listCallbackUrl", Access: op, Handler: http.HandlerFunc(e.apiCallback),
			Doc: &server.Operation{Summary: "Get the signed callback URL of a Request trigger", Tag: tag}},
		{Method: "POST", Pattern: "/admin/v1/workflows/{name}/triggers/{trigger}/run", Access: op, Handler: http.HandlerFunc(e.apiRunTrigger),
			Doc: &server.Operation{Summary: "Fire a trigger now; the body becomes the trigger body", Tag: tag, Status: http.StatusAccepted}},
		{Method: "GET", Pattern: "/admin/v1/workflows/{name}/runs", Access: op, Handler: http.HandlerFunc(e.apiRuns),
			Doc: &server.Operation{Summary: "Search the run history", Description: "Query: status, trigger, clientTrackingId, trackedProperty (name:value), from, to (RFC 3339 start time range), top, skipToken.", Tag: tag}},
		{Method: "GET", Pattern: "/admin/v1/workflows/{name}/runs/{id}", Access: op, Handler: http.HandlerFunc(e.apiRun),
			Doc: &server.Operation{Summary: "Get a run with every action's inputs, outputs, error and retry history", Tag: tag}},
		{Method: "POST", Pattern: "/admin/v1/workflows/{name}/runs/{id}/cancel", Access: op, Handler: http.HandlerFunc(e.apiCancel),
			Doc: &server.Operation{Summary: "Cancel a running run", Tag: tag}},
		{Method: "POST", Pattern: "/admin/v1/workflows/{name}/runs/{id}/resubmit", Access: op, Handler: http.HandlerFunc(e.apiResubmit),
			Doc: &server.Operation{Summary: "Resubmit a run, whole or from an action ({\"fromAction\": \"Name\"} or Logic Apps' {\"actionsToResubmit\": [{\"name\": \"Name\"}]})", Tag: tag, Status: http.StatusAccepted,
				Request: map[string]any{"type": "object", "properties": map[string]any{"fromAction": map[string]any{"type": "string"},
					"actionsToResubmit": map[string]any{"type": "array", "maxItems": 1, "items": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}}}}},
	}
}

func workflowView(l *Loaded, withDef bool) map[string]any {
	triggers := []map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(l.Def.Triggers)) {
		t := l.Def.Triggers[name]
		triggers = append(triggers, map[string]string{"name": name, "type": t.Type, "kind": t.Kind})
	}
	v := map[string]any{"name": l.Name, "kind": l.Kind, "version": l.Hash, "triggers": triggers}
	if withDef {
		v["definition"] = l.Def
	}
	return v
}

func (e *Engine) apiList(w http.ResponseWriter, r *http.Request) {
	list := e.Workflows()
	out := make([]any, 0, len(list))
	for _, l := range sortLoaded(list) {
		out = append(out, workflowView(l, false))
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func sortLoaded(l []*Loaded) []*Loaded {
	m := map[string]*Loaded{}
	for _, x := range l {
		m[x.Name] = x
	}
	out := make([]*Loaded, 0, len(l))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func (e *Engine) apiGet(w http.ResponseWriter, r *http.Request) {
	l, ok := e.lookup(r.Context(), r.PathValue("name"))
	if !ok {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no workflow named "+r.PathValue("name"))
		return
	}
	server.WriteJSON(w, http.StatusOK, workflowView(l, true))
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

func (e *Engine) apiPut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName.MatchString(name) {
		server.WriteFieldError(w, "name", "a workflow name has 1 to 80 letters, digits, '-', '_' or '.', starting with a letter or digit")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		server.WriteError(w, http.StatusRequestEntityTooLarge, server.CodeTooLarge, "the workflow is larger than the limit")
		return
	}
	f, err := ParseFile(data)
	if err != nil {
		pr := project.JSONProblem("", data, nil, err)
		if pr.Line > 0 {
			pr.Message = fmt.Sprintf("line %d, column %d: %s", pr.Line, pr.Column, pr.Message)
		}
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, "invalid workflow: "+pr.Message)
		return
	}
	e.mu.RLock()
	p := e.project
	e.mu.RUnlock()
	l, err := e.Compile(name, f, p)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			server.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "InvalidDefinition",
				"message": fmt.Sprintf("the definition has %d problem(s):\n%s", len(ps), ps.Error()), "details": ps}})
			return
		}
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, err.Error())
		return
	}
	_, existed := e.Workflow(name)
	if err := e.Deploy(r.Context(), l, "api"); err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	view := workflowView(l, true)
	if len(l.Warnings) > 0 {
		view["warnings"] = l.Warnings
	}
	server.WriteJSON(w, status, view)
}

func (e *Engine) apiDelete(w http.ResponseWriter, r *http.Request) {
	found, err := e.Remove(r.Context(), r.PathValue("name"))
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
		return
	}
	if !found {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no workflow named "+r.PathValue("name"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) apiCallback(w http.ResponseWriter, r *http.Request) {
	name, trig := r.PathValue("name"), r.PathValue("trigger")
	if _, ok := e.lookup(r.Context(), name); !ok {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no workflow named "+name)
		return
	}
	e.setBase(baseURL(r))
	cb, err := e.CallbackURL(name, trig)
	if err != nil {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, fmt.Sprintf("the workflow %s has no Request trigger named %s", name, trig))
		return
	}
	server.WriteJSON(w, http.StatusOK, cb)
}

func (e *Engine) apiRunTrigger(w http.ResponseWriter, r *http.Request) {
	name, trig := r.PathValue("name"), r.PathValue("trigger")
	l, ok := e.lookup(r.Context(), name)
	var t *Trigger
	if ok {
		trig, t = l.triggerNamed(trig)
	}
	if t == nil {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, fmt.Sprintf("no trigger %s in workflow %s", trig, name))
		return
	}
	data, _ := io.ReadAll(r.Body)
	var body any
	if len(data) > 0 {
		v, err := expr.DecodeJSON(data)
		if err != nil {
			server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, "the body must be JSON: "+err.Error())
			return
		}
		body = v
	}
	hs, err := e.Fire(r.Context(), l, trig, map[string]any{"headers": map[string]any{}, "body": body})
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
		return
	}
	ids := []string{}
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	server.WriteJSON(w, http.StatusAccepted, map[string]any{"runs": ids})
}

func runView(r *Run) map[string]any {
	v := map[string]any{"name": r.ID, "workflow": r.Workflow, "status": r.Status, "startTime": fmtTime(r.StartTime),
		"trigger": r.Trigger, "clientTrackingId": r.ClientTrackingID,
		// As a Logic Apps run shows it (properties.correlation).
		"correlation": map[string]any{"clientTrackingId": r.ClientTrackingID}}
	if p, ok := r.Trigger["parent"]; ok {
		v["parentRun"] = p // the run whose Workflow action started this one
	}
	if r.EndTime != nil {
		v["endTime"] = fmtTime(*r.EndTime)
	}
	if r.OriginRunID != "" {
		v["originRunId"] = r.OriginRunID
	}
	if r.Trace != "" {
		v["traceparent"] = r.Trace
	}
	if r.Error != nil {
		v["error"] = r.Error
	}
	if r.Outputs != nil {
		v["outputs"] = r.Outputs
	}
	if r.Actions != nil {
		actions := make([]any, 0, len(r.Actions))
		for _, a := range r.Actions {
			actions = append(actions, a)
		}
		v["actions"] = actions
		vars := map[string]any{}
		for k, x := range r.variables {
			if !strings.HasPrefix(k, "\x00") {
				// Variables are matched ignoring case; they are shown as
				// their InitializeVariable declared them.
				if name, ok := r.variables["\x00name:"+k].(string); ok {
					k = name
				}
				vars[k] = x
			}
		}
		v["variables"] = vars
	}
	return v
}

func (e *Engine) apiRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := RunFilter{Workflow: r.PathValue("name"), Status: q.Get("status"), Trigger: q.Get("trigger"), ClientTrackingID: q.Get("clientTrackingId"), After: q.Get("skipToken")}
	for field, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(field); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				server.WriteFieldError(w, field, field+" must be an RFC 3339 time such as 2024-05-01T00:00:00Z")
				return
			}
			*dst = t
		}
	}
	if s := q.Get("trackedProperty"); s != "" {
		name, val, ok := strings.Cut(s, ":")
		if !ok || name == "" {
			server.WriteFieldError(w, "trackedProperty", "trackedProperty is name:value, such as orderId:42")
			return
		}
		var v any = val
		if j, err := expr.DecodeJSON([]byte(val)); err == nil {
			if _, isObj := j.(map[string]any); !isObj {
				v = j
			}
		}
		f.Tracked = &TrackedFilter{Name: name, Value: v}
	}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 250 {
			server.WriteFieldError(w, "top", "top must be 1..250")
			return
		}
		f.Top = n
	}
	if f.Status != "" {
		switch f.Status {
		case StatusRunning, StatusWaiting, StatusSucceeded, StatusFailed, StatusCancelled, StatusTimedOut:
		default:
			server.WriteFieldError(w, "status", "status must be Running, Waiting, Succeeded, Failed, Cancelled or TimedOut")
			return
		}
	}
	if e.opt.Store == nil {
		server.WriteJSON(w, http.StatusOK, map[string]any{"value": []any{}})
		return
	}
	runs, err := searchRuns(r.Context(), e.opt.Store, f)
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
		return
	}
	out := make([]any, 0, len(runs))
	for _, run := range runs {
		out = append(out, runView(run))
	}
	resp := map[string]any{"value": out}
	top := f.Top
	if top == 0 {
		top = 50
	}
	if len(runs) == top {
		next := *r.URL
		qq := next.Query()
		qq.Set("skipToken", runs[len(runs)-1].ID)
		next.RawQuery = qq.Encode()
		resp["nextLink"] = baseURL(r) + next.RequestURI()
	}
	server.WriteJSON(w, http.StatusOK, resp)
}

func (e *Engine) getRun(w http.ResponseWriter, r *http.Request, actions bool) (*Run, bool) {
	if e.opt.Store == nil {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no run history on this node")
		return nil, false
	}
	run, err := loadRun(r.Context(), e.opt.Store, r.PathValue("id"), actions)
	if err != nil || run.Workflow != r.PathValue("name") {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, fmt.Sprintf("no run %s of workflow %s", r.PathValue("id"), r.PathValue("name")))
		return nil, false
	}
	return run, true
}

func (e *Engine) apiRun(w http.ResponseWriter, r *http.Request) {
	run, ok := e.getRun(w, r, true)
	if !ok {
		return
	}
	server.WriteJSON(w, http.StatusOK, runView(run))
}

func (e *Engine) apiCancel(w http.ResponseWriter, r *http.Request) {
	run, ok := e.getRun(w, r, false)
	if !ok {
		return
	}
	if err := e.Cancel(r.Context(), run.ID); err != nil {
		server.WriteError(w, http.StatusConflict, server.CodeConflict, err.Error())
		return
	}
	run, _ = loadRun(r.Context(), e.opt.Store, run.ID, false)
	server.WriteJSON(w, http.StatusOK, runView(run))
}

// Cancel stops a running run on whichever node runs it.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	var n int64
	err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE wf_runs SET status = ?, end_time = ?, error = ?, owner = '' WHERE id = ? AND status IN (?, ?)`,
			StatusCancelled, store.Micros(e.opt.Now()), encode(map[string]any{"code": "Cancelled", "message": "The run was cancelled."}), id, StatusRunning, StatusWaiting)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("the run %s is not running", id)
	}
	if rs, ok := e.localRun(id); ok {
		rs.abort(true)
	}
	return nil
}

func (e *Engine) apiResubmit(w http.ResponseWriter, r *http.Request) {
	run, ok := e.getRun(w, r, true)
	if !ok {
		return
	}
	// Logic Apps Standard's own resubmit API names the action as
	// {"actionsToResubmit": [{"name": "X"}]}; both forms are read.
	var req struct {
		FromAction        string `json:"fromAction"`
		ActionsToResubmit []struct {
			Name string `json:"name"`
		} `json:"actionsToResubmit"`
	}
	if r.ContentLength != 0 {
		if !server.DecodeJSON(w, r, &req) {
			return
		}
	}
	field, from := "fromAction", req.FromAction
	if len(req.ActionsToResubmit) > 0 {
		field = "actionsToResubmit"
		if len(req.ActionsToResubmit) > 1 || req.FromAction != "" {
			server.WriteFieldError(w, field, "name one action to resubmit from")
			return
		}
		from = req.ActionsToResubmit[0].Name
	}
	h, err := e.Resubmit(r.Context(), run, from)
	if err != nil {
		server.WriteFieldError(w, field, err.Error())
		return
	}
	w.Header().Set("Location", baseURL(r)+"/admin/v1/workflows/"+url.PathEscape(run.Workflow)+"/runs/"+h.ID)
	server.WriteJSON(w, http.StatusAccepted, map[string]any{"name": h.ID, "originRunId": run.ID})
}

// Resubmit starts a new run with the same trigger outputs. With fromAction
// (a top-level action), the results of the actions that do not depend on it
// are carried over and the run continues from that action.
func (e *Engine) Resubmit(ctx context.Context, run *Run, fromAction string) (*Handle, error) {
	l, err := e.version(ctx, run.Workflow, run.defHash)
	if err != nil {
		return nil, err
	}
	outs, _ := run.Trigger["outputs"].(map[string]any)
	o := StartOptions{Trigger: triggerName(run), Outputs: outs, OriginRunID: run.ID}
	if fromAction != "" {
		rerun, chain, ok := rerunFrom(l.Def.Actions, fromAction)
		if !ok {
			return nil, fmt.Errorf("the workflow %s has no action %q", run.Workflow, fromAction)
		}
		for _, rec := range run.Actions {
			if !rerunsRecord(rec.Path, rerun, chain) {
				cp := *rec
				o.Records = append(o.Records, &cp)
			}
		}
		o.Variables = run.variables
	}
	return e.StartRun(ctx, l, o)
}

// rerunFrom is what resubmitting from an action runs again: the action and
// every action after it in its set, and, for each container around it
// (chain, outermost first), the container and every action after it in its
// own set. ok is false when there is no such action.
func rerunFrom(top map[string]*Action, from string) (rerun, chain map[string]bool, ok bool) {
	parents := map[string][]string{}
	indexParents(top, nil, parents)
	name, found := foldName(parents, from)
	if !found {
		return nil, nil, false
	}
	rerun, chain = map[string]bool{}, map[string]bool{}
	// Walk up: the action in its set, then each container in its set.
	cur := name
	for {
		anc := parents[cur]
		set := top
		if len(anc) > 0 {
			set = childSetHolding(findAction(top, anc[len(anc)-1]), cur)
		}
		for n := range downstream(set, cur) {
			rerun[n] = true
		}
		if len(anc) == 0 {
			break
		}
		cur = anc[len(anc)-1]
		chain[cur] = true
	}
	return rerun, chain, true
}

// childSetHolding is the nested set of container c that holds action name.
func childSetHolding(c *Action, name string) map[string]*Action {
	if c == nil {
		return nil
	}
	for _, s := range c.Children() {
		if _, ok := s.Actions[name]; ok {
			return s.Actions
		}
	}
	return nil
}

// rerunsRecord tells whether a record of the earlier run is run again: its
// action reruns, or it lies inside a container that reruns whole (one that
// is not around the action resubmitted from).
func rerunsRecord(path string, rerun, chain map[string]bool) bool {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if j := strings.IndexByte(seg, '#'); j >= 0 {
			seg = seg[:j]
		}
		own := i == len(segs)-1
		if rerun[seg] && (own || !chain[seg]) {
			return true
		}
	}
	return false
}

// downstream is the action and every action that runs after it, transitively.
func downstream(set map[string]*Action, from string) map[string]bool {
	out := map[string]bool{from: true}
	for changed := true; changed; {
		changed = false
		for name, a := range set {
			if out[name] || a == nil {
				continue
			}
			for pred := range a.RunAfter {
				if out[pred] {
					out[name], changed = true, true
					break
				}
			}
		}
	}
	return out
}
