package function

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"junction/internal/trace"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/function/js"
)

// workerScript is Junction's Node.js language worker (worker/worker.js): it
// loads v3 and v4 apps as Azure's Node.js worker does and answers the host's
// invocations over HTTP on 127.0.0.1. It is written to the data folder when
// the host first needs it.
//
//go:embed worker/worker.js
var workerScript []byte

// nodeSetting names where the node executable is configured, for messages.
const nodeSetting = "JUNCTION_FUNCTIONS_NODE"

// nodeBinary finds the node executable: the configured one, else node on PATH.
func (h *Host) nodeBinary() (string, error) {
	if h.opts.NodePath != "" {
		p, err := exec.LookPath(h.opts.NodePath)
		if err != nil {
			return "", fmt.Errorf("the function app is a Node.js app, and the configured node %q cannot be run (%v); fix %s", h.opts.NodePath, err, nodeSetting)
		}
		return p, nil
	}
	p, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("the function app is a Node.js app (FUNCTIONS_WORKER_RUNTIME node or a package.json), and no node executable is on PATH; install Node.js 18 or later, or set %s", nodeSetting)
	}
	return p, nil
}

var workerFileMu sync.Mutex

// workerFile writes the embedded worker to the data folder (or a temporary
// folder without one) and returns its path.
func (h *Host) workerFile() (string, error) {
	workerFileMu.Lock()
	defer workerFileMu.Unlock()
	dir := h.opts.DataDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "junction-node-worker")
	}
	dir = filepath.Join(dir, "functions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("the Node.js worker: %w", err)
	}
	file := filepath.Join(dir, "worker.js")
	if cur, err := os.ReadFile(file); err == nil && bytes.Equal(cur, workerScript) {
		return file, nil
	}
	tmp, err := os.CreateTemp(dir, "worker-*.js")
	if err != nil {
		return "", fmt.Errorf("the Node.js worker: %w", err)
	}
	_, werr := tmp.Write(workerScript)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("the Node.js worker: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", fmt.Errorf("the Node.js worker: %w", err)
	}
	return file, nil
}

// passedEnv are the variables of Junction's own environment that the worker
// inherits; everything else it sees is the app's settings.
var passedEnv = map[string]bool{"PATH": true, "HOME": true, "TMPDIR": true, "LANG": true, "TZ": true,
	"NODE_OPTIONS": true, "NODE_EXTRA_CA_CERTS": true, "NODE_PATH": true, "HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true}

// nodeEnv is the worker's environment: a few process variables (of those the
// secrets rule passes to child processes), the app settings
// (local.settings.json Values, as process.env) and the worker's own.
func (h *Host) nodeEnv(cfg *App, extra ...string) []string {
	var env []string
	for _, kv := range h.opts.Environ(os.Environ()) {
		if k, _, ok := strings.Cut(kv, "="); ok && passedEnv[k] {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(cfg.Settings))
	for k := range cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+cfg.Settings[k])
	}
	if cfg.Settings["FUNCTIONS_WORKER_RUNTIME"] == "" {
		env = append(env, "FUNCTIONS_WORKER_RUNTIME=node")
	}
	env = append(env, "JUNCTION_FUNCTION_APP_DIR="+h.opts.Dir)
	return append(env, extra...)
}

// nodeIndex is what the worker reports after loading the app.
type nodeIndex struct {
	Functions []struct {
		Name     string            `json:"name"`
		Model    string            `json:"model"`
		Bindings []json.RawMessage `json:"bindings"`
	} `json:"functions"`
	Errors []struct {
		Function string `json:"function"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// indexNode loads the app once in a Node.js worker to learn its functions:
// those the v4 model registers in code, and the v3 scripts that fail to load.
// Functions that fail are listed in cfg.Failed; the others run.
func (h *Host) indexNode(ctx context.Context, cfg *App) error {
	if h.opts.Dir == "" {
		return errors.New("a Node.js function app must be on disk (the project folder)")
	}
	node, err := h.nodeBinary()
	if err != nil {
		return err
	}
	script, err := h.workerFile()
	if err != nil {
		return err
	}
	out, err := os.CreateTemp("", "junction-index-*.json")
	if err != nil {
		return err
	}
	out.Close()
	defer os.Remove(out.Name())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, "index", out.Name())
	cmd.Dir = h.opts.Dir
	cmd.Env = h.nodeEnv(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("load the Node.js function app: %v: %s", err, snippet(stderr.Bytes()))
	}
	raw, err := os.ReadFile(out.Name())
	if err != nil {
		return err
	}
	var idx nodeIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return fmt.Errorf("the Node.js worker's index: %w", err)
	}
	return cfg.applyIndex(&idx)
}

// applyIndex adds the v4 functions to cfg and moves the functions that
// failed to load to cfg.Failed.
func (cfg *App) applyIndex(idx *nodeIndex) error {
	failed := map[string]string{}
	var appErrors []string
	for _, e := range idx.Errors {
		if e.Function == "" {
			appErrors = append(appErrors, e.Message)
			continue
		}
		failed[strings.ToLower(e.Function)] = e.Message
	}
	seenRoutes := map[string]string{}
	kept := cfg.Functions[:0]
	for _, d := range cfg.Functions {
		if msg, ok := failed[strings.ToLower(d.Name)]; ok {
			cfg.Failed = append(cfg.Failed, FailedFunction{Name: d.Name, Error: msg})
			continue
		}
		if d.Route != nil {
			seenRoutes[d.Route.Shape()] = d.Name
		}
		kept = append(kept, d)
	}
	cfg.Functions = kept
	for _, f := range idx.Functions {
		if f.Model != "v4" {
			continue
		}
		d, problem := cfg.v4Definition(f.Name, f.Bindings)
		if problem == "" && d.Route != nil {
			if other, ok := seenRoutes[d.Route.Shape()]; ok {
				problem = fmt.Sprintf("route %q is already served by function %q", d.Route.Template, other)
			}
		}
		if problem == "" {
			if _, dup := cfg.find(f.Name); dup {
				problem = "a function.json function has the same name"
			}
		}
		if problem != "" {
			cfg.Failed = append(cfg.Failed, FailedFunction{Name: f.Name, Error: problem})
			continue
		}
		if d.Route != nil {
			seenRoutes[d.Route.Shape()] = d.Name
		}
		cfg.Functions = append(cfg.Functions, d)
	}
	if len(appErrors) > 0 && len(cfg.Functions) == 0 {
		return fmt.Errorf("the Node.js function app did not load: %s", strings.Join(appErrors, "; "))
	}
	for _, msg := range appErrors {
		cfg.Failed = append(cfg.Failed, FailedFunction{Name: "(app)", Error: msg})
	}
	return nil
}

func (cfg *App) find(name string) (*Definition, bool) {
	for _, d := range cfg.Functions {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return nil, false
}

// v4Definition turns a function registered with app.http/app.timer/... into
// a definition, checked as function.json bindings are.
func (cfg *App) v4Definition(name string, raw []json.RawMessage) (*Definition, string) {
	d := &Definition{Name: name, Dir: Folder, Model: "v4"}
	if !nameRE.MatchString(name) {
		return d, fmt.Sprintf("function name %q must start with a letter and hold only letters, digits, _ and -", name)
	}
	for i, r := range raw {
		var b Binding
		if err := json.Unmarshal(r, &b); err != nil {
			return d, fmt.Sprintf("bindings[%d]: %v", i, err)
		}
		if !triggerTypes[b.Type] && !outputTypes[b.Type] {
			return d, fmt.Sprintf("%s binding %q: %s", b.Direction, b.Name, unsupportedBinding(b.Type))
		}
		d.File.Bindings = append(d.File.Bindings, b)
	}
	var problems []string
	cfg.checkFunction(d, "", func(_ string, format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	})
	return d, strings.Join(problems, "; ")
}

// nodeWorker starts the long-running worker under the host's supervisor.
func (h *Host) newNodeWorker() *customHandler {
	c := newSupervised(h.log.With("worker", "node"))
	c.what = "the Node.js worker"
	c.resolve = func() (string, []string, string, error) {
		node, err := h.nodeBinary()
		if err != nil {
			return "", nil, "", err
		}
		script, err := h.workerFile()
		if err != nil {
			return "", nil, "", err
		}
		return node, []string{script, "serve"}, h.opts.Dir, nil
	}
	// The worker answers only calls that carry this token, so that other
	// local processes cannot invoke functions through its port.
	c.token = newID()
	cfg := h.cfg
	c.environ = func(port int) []string {
		return h.nodeEnv(cfg, "JUNCTION_WORKER_PORT="+strconv.Itoa(port), "JUNCTION_WORKER_TOKEN="+c.token)
	}
	return c
}

// nodeRequest is one invocation as the worker receives it.
type nodeRequest struct {
	InvocationID string         `json:"invocationId"`
	Function     string         `json:"function"`
	Trigger      nodeTrigger    `json:"trigger"`
	Value        any            `json:"value,omitempty"`
	HTTP         *nodeHTTP      `json:"http,omitempty"`
	BindingData  map[string]any `json:"bindingData,omitempty"`
	// Traceparent is the invocation's span, the function's traceContext.
	Traceparent string `json:"traceparent,omitempty"`
}

type nodeTrigger struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// nodeHTTP is an HTTP request as the worker receives it.
type nodeHTTP struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
	Query   map[string][]string `json:"query"`
	Params  map[string]string   `json:"params"`
	Body    []byte              `json:"body64"`
}

// nodeResult is the worker's answer.
type nodeResult struct {
	Outputs map[string]any `json:"outputs"`
	HTTP    map[string]struct {
		Status  int                 `json:"status"`
		Headers map[string][]string `json:"headers"`
		Body    []byte              `json:"body64"`
	} `json:"http"`
	ReturnValue any      `json:"returnValue"`
	Logs        []js.Log `json:"logs"`
	Error       *struct {
		Message string `json:"message"`
		Stack   string `json:"stack"`
	} `json:"error"`
}

func (h *Host) runNode(ctx context.Context, f *fn, t Trigger, out *Outcome) {
	c := h.worker
	req := nodeRequest{InvocationID: out.InvocationID, Function: f.def.Name,
		Trigger: nodeTrigger{Type: f.def.Trigger.Type, Name: f.def.Trigger.Name}, BindingData: t.BindingData, Traceparent: trace.Parent(ctx)}
	switch {
	case t.request != nil:
		r := t.request
		req.HTTP = &nodeHTTP{Method: r.Method, URL: absoluteURL(r), Headers: r.Header, Query: r.URL.Query(), Params: t.params, Body: t.body}
	case f.def.Trigger.Type == HTTPTrigger:
		req.HTTP = manualHTTP(h.cfg.RoutePrefix, f.def, t.Value)
	default:
		req.Value = t.Value
	}
	body, err := json.Marshal(req)
	if err != nil {
		out.Err = fmt.Errorf("encode the invocation: %w", err)
		return
	}
	base, release, err := c.acquire(ctx)
	if err != nil {
		out.Err = h.nodeErr(ctx, err)
		return
	}
	// An invocation that ran out of time leaves its work running in the
	// worker: the worker is restarted once nothing else runs on it.
	timedOut := false
	defer func() { release(timedOut) }()
	resp, err := c.post(ctx, base, "invoke", out.InvocationID, body)
	if err != nil {
		timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		if ctx.Err() == nil {
			c.forget(base)
		}
		out.Err = h.nodeErr(ctx, fmt.Errorf("the Node.js worker did not answer (it exited or is restarting): %w", err))
		return
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		out.Err = h.nodeErr(ctx, fmt.Errorf("read the Node.js worker's answer: %w", err))
		return
	}
	var res nodeResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil {
		out.Err = fmt.Errorf("the Node.js worker answered %s: %s", resp.Status, snippet(raw))
		return
	}
	out.Logs = res.Logs
	if res.Error != nil {
		out.Err = &js.ScriptError{Message: res.Error.Message, Stack: res.Error.Stack}
		return
	}
	out.Outputs = map[string]any{}
	for _, o := range f.def.Outputs {
		if o.Type == HTTPOutput {
			if r, ok := res.HTTP[o.Name]; ok {
				hdr := http.Header{}
				for k, vs := range r.Headers {
					for _, v := range vs {
						hdr.Add(k, v)
					}
				}
				out.Outputs[o.Name] = &HTTPResponse{Status: r.Status, Headers: hdr, Body: r.Body}
			}
			continue
		}
		if o.Name == "$return" {
			out.Outputs[o.Name] = res.ReturnValue
		} else if v, ok := res.Outputs[o.Name]; ok {
			out.Outputs[o.Name] = v
		}
	}
	if _, ok := out.Outputs["$return"]; !ok && res.ReturnValue != nil {
		out.Outputs["$return"] = res.ReturnValue
	}
}

// nodeErr names a timeout as functionTimeout.
func (h *Host) nodeErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the function ran longer than functionTimeout (%s)", h.cfg.Timeout)
	}
	return err
}

// manualHTTP builds a request for a management API invocation of an HTTP
// function from {method, query, headers, body, params}.
func manualHTTP(prefix string, d *Definition, v any) *nodeHTTP {
	m, _ := v.(map[string]any)
	r := &nodeHTTP{Method: "GET", Headers: map[string][]string{}, Query: map[string][]string{}, Params: map[string]string{}}
	if s, ok := m["method"].(string); ok && s != "" {
		r.Method = strings.ToUpper(s)
	}
	if q, ok := m["query"].(map[string]any); ok {
		for k, v := range q {
			r.Query[k] = []string{fmt.Sprint(v)}
		}
	}
	if hs, ok := m["headers"].(map[string]any); ok {
		for k, v := range hs {
			r.Headers[k] = []string{fmt.Sprint(v)}
		}
	}
	if ps, ok := m["params"].(map[string]any); ok {
		for k, v := range ps {
			r.Params[k] = fmt.Sprint(v)
		}
	}
	switch b := m["body"].(type) {
	case nil:
	case string:
		r.Body = []byte(b)
	default:
		r.Body, _ = json.Marshal(b)
		r.Headers["content-type"] = []string{"application/json"}
	}
	p := d.Name
	if d.Route != nil {
		p = strings.Trim(d.Route.Template, "/")
	}
	u := url.URL{Scheme: "http", Host: "localhost", Path: path.Join("/", prefix, p), RawQuery: url.Values(r.Query).Encode()}
	r.URL = u.String()
	return r
}
