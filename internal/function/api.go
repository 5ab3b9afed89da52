package function

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"junction/internal/console"
	"junction/internal/function/js"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// Component is the function host as an app component: it loads the project's
// functions folder and serves the triggers and the management API.
type Component struct {
	host *Host
	opts Config
}

// NewComponent returns the function host component; LoadProject gives it its
// functions.
func NewComponent(opts Config) *Component {
	return &Component{host: New(opts), opts: opts}
}

// Host returns the component's host (for wiring the broker and event router).
func (c *Component) Host() *Host { return c.host }

// Name implements app.Component.
func (c *Component) Name() string { return "functions" }

// Migrations implements app.Component.
func (c *Component) Migrations() []store.Migration { return Migrations() }

// Start implements app.Component.
func (c *Component) Start(ctx context.Context) error { return c.host.Start(ctx) }

// Stop implements app.Component.
func (c *Component) Stop(ctx context.Context) error { return c.host.Stop(ctx) }

// Validator checks a project's functions folder.
type Validator struct{}

// ValidateProject implements project.Validator.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	_, problems := Load(p)
	return problems
}

// ValidateProject implements project.Validator.
func (c *Component) ValidateProject(p *project.Project) []project.Problem {
	return Validator{}.ValidateProject(p)
}

// LoadProject implements app.ProjectLoader.
func (c *Component) LoadProject(ctx context.Context, p *project.Project) error {
	cfg, problems := Load(p)
	if errs := project.Problems(problems).Errors(); len(errs) > 0 {
		return errs
	}
	opts := c.opts
	if opts.Dir == "" && p.Root != "" && p.Exists(Folder) {
		// Custom handlers run from the folder on disk; the path must be
		// absolute because the process starts in it.
		if abs, err := filepath.Abs(filepath.Join(p.Root, Folder)); err == nil {
			opts.Dir = abs
		}
	}
	c.host.opts.Dir = opts.Dir
	if cfg.Node && len(cfg.Functions)+len(cfg.Failed) > 0 || cfg.Node && p.Exists(Folder+"/package.json") {
		if err := c.host.indexNode(ctx, cfg); err != nil {
			return err
		}
	}
	c.host.setConfig(cfg)
	return nil
}

var (
	invocationSchema = map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "function": map[string]any{"type": "string"}, "trigger": map[string]any{"type": "string"},
		"detail": map[string]any{"type": "string"}, "status": map[string]any{"type": "string", "enum": []string{StatusSucceeded, StatusFailed}},
		"started": map[string]any{"type": "string", "format": "date-time"}, "durationMs": map[string]any{"type": "number"},
		"logs":  map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		"error": map[string]any{"type": "string"}, "node": map[string]any{"type": "string"},
	}}
	functionSchema = map[string]any{"type": "object", "properties": map[string]any{
		"name": map[string]any{"type": "string"}, "trigger": map[string]any{"type": "object"}, "outputs": map[string]any{"type": "array"},
		"kind": map[string]any{"type": "string", "enum": []string{"javascript", "node", "customHandler"}}, "url": map[string]any{"type": "string"},
		"state": map[string]any{"type": "string", "enum": []string{"loaded", "error"}}, "error": map[string]any{"type": "string"},
		"disabled": map[string]any{"type": "boolean"}, "unwired": map[string]any{"type": "string"},
	}}
	keySchema = map[string]any{"type": "object", "properties": map[string]any{
		"name": map[string]any{"type": "string"}, "value": map[string]any{"type": "string", "description": "shown only when the key is created"},
		"created": map[string]any{"type": "string", "format": "date-time"},
	}}
	list = func(items map[string]any) map[string]any {
		return map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": items}}}
	}
)

// Routes implements app.Component.
func (c *Component) Routes() []server.Route {
	h := c.host
	op := server.Allow(server.RoleOperator)
	tag := "Functions"
	routes := []server.Route{
		{Method: "GET", Pattern: "/admin/v1/functions", Access: op, Handler: http.HandlerFunc(h.adminList),
			Doc: &server.Operation{Summary: "List the functions", Tag: tag, Response: list(functionSchema)}},
		{Method: "GET", Pattern: "/admin/v1/functions/{name}", Access: op, Handler: http.HandlerFunc(h.adminGet),
			Doc: &server.Operation{Summary: "Get a function", Tag: tag, Response: functionSchema}},
		{Method: "POST", Pattern: "/admin/v1/functions/{name}/invoke", Access: op, Handler: http.HandlerFunc(h.adminInvoke),
			Doc: &server.Operation{Summary: "Invoke a function with a given trigger value", Tag: tag,
				Request:  map[string]any{"type": "object", "properties": map[string]any{"input": map[string]any{"description": "the trigger binding's value"}}},
				Response: map[string]any{"type": "object"}}},
		{Method: "GET", Pattern: "/admin/v1/functions/{name}/invocations", Access: op, Handler: http.HandlerFunc(h.adminInvocations),
			Doc: &server.Operation{Summary: "List a function's invocations, newest first ($top, default 50, at most 1000)", Tag: tag, Response: list(invocationSchema)}},
		{Method: "GET", Pattern: "/admin/v1/functions/{name}/invocations/{id}", Access: op, Handler: http.HandlerFunc(h.adminInvocation),
			Doc: &server.Operation{Summary: "Get one invocation with its logs", Tag: tag, Response: invocationSchema}},
		{Method: "GET", Pattern: "/admin/v1/functions/{name}/keys", Access: server.AdminOnly, Handler: h.keysHandler(false, "list"),
			Doc: &server.Operation{Summary: "List a function's keys (names only)", Tag: tag, Response: list(keySchema)}},
		{Method: "POST", Pattern: "/admin/v1/functions/{name}/keys", Access: server.AdminOnly, Handler: h.keysHandler(false, "set"),
			Doc: &server.Operation{Summary: "Create or replace a function key; the value is generated when not given and shown once", Tag: tag, Status: http.StatusCreated,
				Request: map[string]any{"type": "object", "required": []string{"name"}, "properties": map[string]any{"name": map[string]any{"type": "string"}, "value": map[string]any{"type": "string", "minLength": 16}}}, Response: keySchema}},
		{Method: "DELETE", Pattern: "/admin/v1/functions/{name}/keys/{key}", Access: server.AdminOnly, Handler: h.keysHandler(false, "delete"),
			Doc: &server.Operation{Summary: "Delete a function key", Tag: tag, Status: http.StatusNoContent}},
		{Method: "GET", Pattern: "/admin/v1/function-host/keys", Access: server.AdminOnly, Handler: h.keysHandler(true, "list"),
			Doc: &server.Operation{Summary: "List the host keys, which open every function (names only)", Tag: tag, Response: list(keySchema)}},
		{Method: "POST", Pattern: "/admin/v1/function-host/keys", Access: server.AdminOnly, Handler: h.keysHandler(true, "set"),
			Doc: &server.Operation{Summary: "Create or replace a host key", Tag: tag, Status: http.StatusCreated,
				Request: map[string]any{"type": "object", "required": []string{"name"}, "properties": map[string]any{"name": map[string]any{"type": "string"}, "value": map[string]any{"type": "string", "minLength": 16}}}, Response: keySchema}},
		{Method: "DELETE", Pattern: "/admin/v1/function-host/keys/{key}", Access: server.AdminOnly, Handler: h.keysHandler(true, "delete"),
			Doc: &server.Operation{Summary: "Delete a host key", Tag: tag, Status: http.StatusNoContent}},
	}
	if len(h.http) > 0 {
		routes = append(routes, server.Route{Pattern: "/" + h.cfg.RoutePrefix + "/{path...}", Name: "function http trigger", Access: server.Open, Handler: http.HandlerFunc(h.serveHTTP),
			MaxBody: h.opts.MaxBody, TooLarge: func(w http.ResponseWriter, limit int64) {
				http.Error(w, fmt.Sprintf("the request body is larger than the limit of %d bytes", limit), http.StatusRequestEntityTooLarge)
			}})
	}
	for _, f := range h.funcs {
		if f.def.Trigger.Type == EventGridTrigger {
			routes = append(routes,
				server.Route{Pattern: "/runtime/webhooks/EventGrid", Name: "function event grid webhook", Access: server.Open, Handler: http.HandlerFunc(h.serveEventGrid)},
				server.Route{Pattern: "/runtime/webhooks/eventgrid", Name: "function event grid webhook", Access: server.Open, Handler: http.HandlerFunc(h.serveEventGrid)})
			break
		}
	}
	return routes
}

// FunctionInfo is a function as the management API shows it.
type FunctionInfo struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Trigger  Binding   `json:"trigger"`
	Outputs  []Binding `json:"outputs"`
	URL      string    `json:"url,omitempty"` // path of an HTTP trigger
	Disabled bool      `json:"disabled"`
	Unwired  string    `json:"unwired,omitempty"`
	// State is "loaded", or "error" for a function that could not be loaded
	// (Error says why) while the others run.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// Alerts tells the console's overview which functions could not be loaded.
func (c *Component) Alerts(context.Context) []console.Alert {
	var out []console.Alert
	for _, f := range c.host.cfg.Failed {
		out = append(out, console.Alert{Surface: "Functions", Severity: "warning", Title: "function " + f.Name + " is not loaded",
			Detail: f.Error + " (the other functions run)", Link: "#/functions"})
	}
	return out
}

// ReadyDetail names the functions that could not be loaded, for /readyz.
func (c *Component) ReadyDetail() string {
	failed := c.host.cfg.Failed
	if len(failed) == 0 {
		return ""
	}
	parts := make([]string, len(failed))
	for i, f := range failed {
		parts[i] = f.Name + ": " + f.Error
	}
	return fmt.Sprintf("%d function(s) not loaded, the others run: %s", len(failed), strings.Join(parts, "; "))
}

func (h *Host) info(d *Definition) FunctionInfo {
	fi := FunctionInfo{Name: d.Name, Kind: "javascript", Trigger: d.Trigger, Outputs: d.Outputs, Disabled: d.File.Disabled, Unwired: h.Unwired(d), State: "loaded"}
	if fi.Outputs == nil {
		fi.Outputs = []Binding{}
	}
	switch {
	case h.handler != nil:
		fi.Kind = "customHandler"
	case h.worker != nil:
		fi.Kind = "node"
	}
	if d.Route != nil {
		fi.URL = "/" + h.cfg.RoutePrefix + "/" + strings.Trim(d.Route.Template, "/")
	}
	return fi
}

func (h *Host) adminList(w http.ResponseWriter, r *http.Request) {
	out := []FunctionInfo{}
	for _, d := range h.cfg.Functions {
		out = append(out, h.info(d))
	}
	for _, f := range h.cfg.Failed {
		out = append(out, FunctionInfo{Name: f.Name, Outputs: []Binding{}, State: "error", Error: f.Error})
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (h *Host) lookup(w http.ResponseWriter, r *http.Request) *fn {
	f, ok := h.funcs[strings.ToLower(r.PathValue("name"))]
	if !ok {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no function named "+strconv.Quote(r.PathValue("name")))
		return nil
	}
	return f
}

func (h *Host) adminGet(w http.ResponseWriter, r *http.Request) {
	if f := h.lookup(w, r); f != nil {
		server.WriteJSON(w, http.StatusOK, h.info(f.def))
	}
}

func (h *Host) adminInvoke(w http.ResponseWriter, r *http.Request) {
	f := h.lookup(w, r)
	if f == nil {
		return
	}
	var body struct {
		Input any `json:"input"`
	}
	if !server.DecodeJSON(w, r, &body) {
		return
	}
	if reason := h.Unwired(f.def); reason != "" && f.def.Trigger.Type != ServiceBusTrigger {
		server.WriteError(w, http.StatusConflict, server.CodeConflict, "function "+f.def.Name+" cannot run here: "+reason)
		return
	}
	out := h.invoke(r.Context(), f, Trigger{Type: "manual", Detail: "management API", Value: body.Input})
	resp := map[string]any{"invocationId": out.InvocationID, "status": out.Status, "durationMs": float64(out.Duration.Microseconds()) / 1000, "logs": nonNilLogs(out.Logs)}
	if out.Err != nil {
		resp["error"] = out.Err.Error()
	}
	if out.Outputs != nil {
		resp["outputs"] = out.Outputs
	}
	if out.Response != nil {
		resp["response"] = map[string]any{"status": out.Response.Status, "headers": out.Response.Headers, "body": string(out.Response.Body)}
	}
	server.WriteJSON(w, http.StatusOK, resp)
}

func nonNilLogs(l []js.Log) []js.Log {
	if l == nil {
		return []js.Log{}
	}
	return l
}

func (h *Host) adminInvocations(w http.ResponseWriter, r *http.Request) {
	f := h.lookup(w, r)
	if f == nil {
		return
	}
	top := 50
	if s := r.URL.Query().Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			server.WriteFieldError(w, "$top", "$top must be a number from 1 to 1000")
			return
		}
		top = n
	}
	invs, err := h.Invocations(r.Context(), f.def.Name, top)
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "read invocations: "+err.Error())
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": invs})
}

func (h *Host) adminInvocation(w http.ResponseWriter, r *http.Request) {
	f := h.lookup(w, r)
	if f == nil {
		return
	}
	inv, err := h.GetInvocation(r.Context(), f.def.Name, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no invocation "+strconv.Quote(r.PathValue("id"))+" of function "+f.def.Name)
		return
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "read the invocation: "+err.Error())
		return
	}
	server.WriteJSON(w, http.StatusOK, inv)
}

var keyNameRE = nameRE

func (h *Host) keysHandler(host bool, action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope := HostScope
		if !host {
			f := h.lookup(w, r)
			if f == nil {
				return
			}
			scope = f.def.Name
		}
		switch action {
		case "list":
			keys, err := h.ListKeys(r.Context(), scope)
			if err != nil {
				server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
				return
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"value": keys})
		case "set":
			var body struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			}
			if !server.DecodeJSON(w, r, &body) {
				return
			}
			if !keyNameRE.MatchString(body.Name) {
				server.WriteFieldError(w, "name", "a key name starts with a letter and holds only letters, digits, _ and -")
				return
			}
			if body.Value != "" && len(body.Value) < 16 {
				server.WriteFieldError(w, "value", "a key value needs at least 16 characters")
				return
			}
			k, err := h.SetKey(r.Context(), scope, body.Name, body.Value)
			if err != nil {
				server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
				return
			}
			server.WriteJSON(w, http.StatusCreated, k)
		case "delete":
			ok, err := h.DeleteKey(r.Context(), scope, r.PathValue("key"))
			if err != nil {
				server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, err.Error())
				return
			}
			if !ok {
				server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no key named "+strconv.Quote(r.PathValue("key")))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
}
