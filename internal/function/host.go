// Package function is Junction's function host, in the Azure Functions model:
// a function app folder (host.json and one folder per function with
// function.json) whose functions are triggered by HTTP requests, timers
// (NCRONTAB, fired once across nodes), Service Bus messages and Event Grid
// events, and write to output bindings (HTTP response, Service Bus, Event Grid,
// Dataverse rows). Function code is either inline JavaScript run in the
// embedded sandbox of package js, or a custom handler: an executable in any
// language that the host starts, health-checks, restarts and stops, and that
// speaks the custom handler protocol over HTTP. Every invocation is recorded
// (trigger, status, duration, logs, error) and served by the management API
// under /admin/v1/functions.
package function

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"junction/internal/trace"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/function/js"
	"junction/internal/lifecycle"
	"junction/internal/outbound"
	"junction/internal/secrets"
	"junction/internal/server"
	"junction/internal/store"
)

// Authenticator checks Junction API keys, which work as the master key of
// admin-level HTTP triggers.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (server.Principal, bool)
}

// Config is what a Host is built from. Messages, Sender, Publisher and Rows
// connect the host to the broker, the event router and the Dataverse tables;
// functions whose trigger or outputs need a missing one are loaded but report
// themselves unwired.
type Config struct {
	Store  store.Store
	Keys   Authenticator
	Logger *slog.Logger
	NodeID string
	// Dir is the function app's folder on disk, where custom handler executables
	// are found; empty when the project is not on disk.
	Dir string
	// Getenv resolves app settings (connection names, topic endpoints)
	// under the secrets rule (see package secrets); default: none resolve.
	Getenv func(string) string
	// Environ gives a custom handler's process its environment from the
	// server's; default: the server's without Junction's own settings.
	Environ   func([]string) []string
	Messages  MessageSource
	Sender    MessageSender
	Publisher EventPublisher
	Rows      RowWriter
	// HTTPClient makes output bindings' calls (default: a client that dials
	// through the default outbound policy).
	HTTPClient *http.Client
	Registerer prometheus.Registerer
	// NodePath is the node executable of Node.js function apps; default
	// node on PATH.
	NodePath string
	// DataDir is Junction's data folder, where the Node.js worker script is
	// written; default a temporary folder.
	DataDir string
	// Now is the clock of timer triggers; default time.Now.
	Now func() time.Time
	// NotFound answers requests under the route prefix that no function
	// serves; default a plain 404.
	NotFound http.Handler
	// Reserved are paths another surface owns though they are under the
	// route prefix (the Web API's /api/data/): no function serves them, not
	// even one whose route takes every path; NotFound answers them. A
	// reserved path ending in / covers the paths below it and itself
	// without the slash.
	Reserved []string
	// MaxBody caps HTTP trigger request bodies in bytes (0: the server's
	// default, server.DefaultMaxBody).
	MaxBody int64
	// Tracer records invocations' spans (nil: none).
	Tracer *trace.Recorder
	// App is the function app to host (nil: an empty one, until the
	// component's LoadProject gives it the project's).
	App *App
}

// Host runs one function app.
type Host struct {
	opts    Config
	log     *slog.Logger
	cfg     *App
	sandbox *js.Sandbox
	handler *customHandler
	worker  *customHandler // the Node.js worker of a Node.js app
	getenv  func(string) string
	history *history
	funcs   map[string]*fn // by lower-cased name
	http    []*fn          // HTTP-triggered, in match order
	httpSem chan struct{}
	pending chan struct{}
	metrics *metrics
	// committer is the message source when it also sends the serviceBus
	// outputs, so that both commit with the complete.
	committer Committer

	mu      sync.Mutex // serialises Start and Stop
	workers lifecycle.Group
}

type fn struct {
	def *Definition
	sem chan struct{}
}

// New builds a host for opts.App.
func New(opts Config) *Host {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Environ == nil {
		opts.Environ = (*secrets.Resolver)(nil).Environ
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = (*outbound.Policy)(nil).Client(30 * time.Second)
	}
	if opts.NodeID == "" {
		opts.NodeID = newID()
	}
	h := &Host{opts: opts, log: opts.Logger.With("component", "functions"), funcs: map[string]*fn{}}
	h.metrics = newMetrics(opts.Registerer)
	h.history = newHistory(opts.Store, opts.NodeID, h.log)
	if c, ok := opts.Messages.(Committer); ok && opts.Sender != nil && reflect.TypeOf(c).Comparable() && any(opts.Sender) == any(c) {
		h.committer = c
	}
	h.setConfig(opts.App)
	return h
}

func (h *Host) setConfig(cfg *App) {
	if cfg == nil {
		cfg = &App{RoutePrefix: "api", Timeout: 5 * time.Minute}
	}
	h.cfg = cfg
	mem := 64
	if j := cfg.Host.Junction; j != nil && j.JavaScriptMaxMemoryMB > 0 {
		mem = j.JavaScriptMaxMemoryMB
	}
	h.sandbox = js.New(js.Options{Timeout: cfg.Timeout, MaxMemory: uint64(mem) << 20})
	perFn := 100
	if c := cfg.Host.Concurrency; c != nil && c.MaximumFunctionConcurrency > 0 {
		perFn = c.MaximumFunctionConcurrency
	}
	maxHTTP := cfg.HTTP.MaxConcurrentRequests
	if maxHTTP <= 0 {
		maxHTTP = 100
	}
	maxPending := cfg.HTTP.MaxOutstandingRequests
	if maxPending <= 0 {
		maxPending = 200
	}
	if maxPending < maxHTTP {
		maxPending = maxHTTP
	}
	h.httpSem = make(chan struct{}, maxHTTP)
	h.pending = make(chan struct{}, maxPending)
	h.funcs = map[string]*fn{}
	h.http = nil
	for _, d := range cfg.Functions {
		f := &fn{def: d, sem: make(chan struct{}, perFn)}
		h.funcs[strings.ToLower(d.Name)] = f
		if d.Route != nil {
			h.http = append(h.http, f)
		}
	}
	// More literal segments first, then longer templates: the most specific
	// route wins, as ASP.NET routing does.
	sort.SliceStable(h.http, func(i, j int) bool {
		a, b := h.http[i].def.Route, h.http[j].def.Route
		if a.literals() != b.literals() {
			return a.literals() > b.literals()
		}
		return len(a.segs) > len(b.segs)
	})
	h.getenv = h.opts.Getenv
	if len(cfg.Settings) > 0 {
		// local.settings.json Values are the app's own settings.
		settings, fallback := cfg.Settings, h.opts.Getenv
		h.getenv = func(k string) string {
			if v, ok := settings[k]; ok {
				return v
			}
			return fallback(k)
		}
	}
	h.handler, h.worker = nil, nil
	if ch := cfg.Host.CustomHandler; ch != nil {
		h.handler = newCustomHandler(ch, h.opts.Dir, h.opts.Environ, h.log)
	} else if cfg.Node {
		h.worker = h.newNodeWorker()
	}
}

// App returns the loaded function app.
func (h *Host) App() *App { return h.cfg }

// Start starts the custom handler process, the timers and the message
// receivers. Starting a running host does nothing.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.workers.Start(ctx) {
		return nil
	}
	runCtx := h.workers.Context()
	h.history.start(ctx)
	fail := func(err error) error {
		h.stop(ctx)
		return err
	}
	if h.handler != nil && len(h.cfg.Functions) > 0 {
		if err := h.handler.start(runCtx); err != nil {
			return fail(err)
		}
	}
	if h.worker != nil && len(h.cfg.Functions) > 0 {
		if err := h.worker.start(runCtx); err != nil {
			return fail(err)
		}
	}
	for _, f := range h.funcs {
		if f.def.File.Disabled {
			continue
		}
		switch f.def.Trigger.Type {
		case TimerTrigger:
			h.workers.Go(func(ctx context.Context) { h.runTimer(ctx, f) })
		case ServiceBusTrigger:
			if why := h.triggerUnwired(f.def); why != "" {
				h.log.Warn("function not wired", "function", f.def.Name, "why", why)
				continue
			}
			h.workers.Go(func(ctx context.Context) { h.receive(ctx, f) })
		}
	}
	return nil
}

// Stop stops timers and receivers, waits for running invocations' bookkeeping,
// stops the custom handler and flushes the invocation history, within ctx's
// deadline. Safe to call twice or without Start.
func (h *Host) Stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.workers.Running() {
		return nil
	}
	return h.stop(ctx)
}

// stop stops what Start started; the caller holds mu.
func (h *Host) stop(ctx context.Context) error {
	errs := []error{h.workers.Stop(ctx)}
	if h.handler != nil {
		errs = append(errs, h.handler.stop(ctx))
	}
	if h.worker != nil {
		errs = append(errs, h.worker.stop(ctx))
	}
	errs = append(errs, h.history.stop(ctx))
	return errors.Join(errs...)
}

// Function returns the named function's definition.
func (h *Host) Function(name string) (*Definition, bool) {
	f, ok := h.funcs[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return f.def, true
}

// triggerUnwired says why a function's trigger cannot fire in this
// Junction, or "".
func (h *Host) triggerUnwired(d *Definition) string {
	if d.Trigger.Type != ServiceBusTrigger {
		return ""
	}
	if h.opts.Messages == nil {
		return "serviceBusTrigger: no Service Bus message source is connected"
	}
	if _, ok := h.opts.Messages.(SessionSource); d.Trigger.IsSessionsEnabled && !ok {
		return "serviceBusTrigger: isSessionsEnabled, and the message source connected serves no sessions"
	}
	return ""
}

// Unwired says why a function cannot run in this Junction, or "".
func (h *Host) Unwired(d *Definition) string {
	if why := h.triggerUnwired(d); why != "" {
		return why
	}
	for _, o := range d.Outputs {
		switch {
		case o.Type == ServiceBusOutput && h.opts.Sender == nil:
			return "serviceBus output: no Service Bus sender is connected"
		case o.Type == DataverseOutput && h.opts.Rows == nil:
			return "dataverse output: no row writer is connected"
		}
	}
	return ""
}

// Trigger is what started an invocation.
type Trigger struct {
	Type   string // httpTrigger, timerTrigger, serviceBusTrigger, eventGridTrigger, manual
	Detail string // e.g. "GET /api/hello", the message id, the occurrence
	// Value is the trigger binding's value (the request object, timer info,
	// message body, event).
	Value       any
	BindingData map[string]any
	// Trace is the traceparent the trigger arrived with (a message's
	// Diagnostic-Id, an event's traceparent); empty: the context's span.
	Trace string
	// request is the raw HTTP request, for forwarding to a custom handler.
	request *http.Request
	writer  http.ResponseWriter
	body    []byte
	params  map[string]string
}

// Outcome is the result of one invocation.
type Outcome struct {
	InvocationID string
	Status       string // Succeeded or Failed
	Duration     time.Duration
	// Outputs holds the output bindings by name ("$return" for the return value).
	Outputs  map[string]any
	Response *HTTPResponse // the http output, when the function has one
	Logs     []js.Log
	Err      error
	// forwarded is set when a custom handler wrote the HTTP response itself.
	forwarded bool
	started   time.Time
	// held are the serviceBus outputs kept back to commit with the
	// triggering message's complete.
	held []Output
	// span is the invocation's span: the held outputs are sent in it.
	span string
}

// Invocation statuses.
const (
	StatusSucceeded = "Succeeded"
	StatusFailed    = "Failed"
)

// ErrBusy is returned when a function's concurrency limit is reached and the
// caller's context ends before a slot frees.
var ErrBusy = errors.New("the function is at its concurrency limit")

// Invoke runs a function by name for a trigger (used by the event router,
// the broker and the management API's manual invocation).
func (h *Host) Invoke(ctx context.Context, name string, t Trigger) (*Outcome, error) {
	f, ok := h.funcs[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("function %q: %w", name, errNoFunction)
	}
	return h.invoke(ctx, f, t), nil
}

var errNoFunction = errors.New("no such function")

func (h *Host) invoke(ctx context.Context, f *fn, t Trigger) *Outcome {
	out := h.run(ctx, f, t, false)
	h.finish(f, t, out)
	return out
}

// run runs an invocation and delivers its outputs. With holdSend, the
// serviceBus outputs are kept in out.held for the caller to send with the
// complete of the triggering message. Recording it is the caller's (finish).
func (h *Host) run(ctx context.Context, f *fn, t Trigger, holdSend bool) *Outcome {
	out := &Outcome{InvocationID: newID(), started: time.Now()}
	ctx, span := h.opts.Tracer.BeginFrom(ctx, t.Trace, "Functions", "function "+f.def.Name)
	span.Kind(trace.KindConsumer).Set("junction.function", f.def.Name).Set("junction.invocation_id", out.InvocationID).
		Set("junction.trigger", t.Type)
	out.span = span.Context().String()
	defer func() {
		out.Duration = time.Since(out.started)
		span.End(out.Err)
	}()
	if f.def.File.Disabled {
		out.Err = errors.New("the function is disabled")
		return out
	}
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		out.Err = ErrBusy
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	switch {
	case h.handler != nil:
		h.runCustom(ctx, f, t, out)
	case h.worker != nil:
		h.runNode(ctx, f, t, out)
	default:
		h.runJS(ctx, f, t, out)
	}
	if out.Err != nil || out.forwarded {
		return out
	}
	out.Err = h.deliver(ctx, f, out, holdSend)
	return out
}

// finish counts an invocation in the metrics, logs a failure and hands its
// record to the history writer.
func (h *Host) finish(f *fn, t Trigger, out *Outcome) {
	rec := recordOf(f, t, out)
	h.observe(f, out)
	h.history.record(rec)
}

func (h *Host) observe(f *fn, out *Outcome) {
	h.metrics.observe(f.def.Name, out)
	if out.Err != nil {
		h.log.Info("function failed", "function", f.def.Name, "invocation", out.InvocationID, "err", out.Err)
	}
}

// recordOf settles out's status and returns the invocation's history record.
func recordOf(f *fn, t Trigger, out *Outcome) invocationRecord {
	if out.Status == "" {
		out.Status = StatusSucceeded
		if out.Err != nil {
			out.Status = StatusFailed
		}
	}
	return invocationRecord{
		ID: out.InvocationID, Function: f.def.Name, Trigger: t.Type, Detail: t.Detail,
		Status: out.Status, Started: out.started, Duration: out.Duration, Logs: out.Logs, Error: errText(out.Err),
	}
}

func (h *Host) runJS(ctx context.Context, f *fn, t Trigger, out *Outcome) {
	trigName := f.def.Trigger.Name
	value := t.Value
	if f.def.Trigger.Type == TimerTrigger {
		value = camelKeys(value) // isPastDue, scheduleStatus, as Azure gives JavaScript
	}
	bindings := map[string]any{trigName: value}
	var req any
	if f.def.Trigger.Type == HTTPTrigger {
		req = value
	}
	// bindingData keys are camelCase in JavaScript, with sys and invocationId.
	data, _ := camelKeys(t.BindingData).(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	data["invocationId"] = out.InvocationID
	data["sys"] = map[string]any{"methodName": f.def.Name, "utcNow": time.Now().UTC().Format(time.RFC3339Nano), "randGuid": newID()}
	res, err := h.sandbox.Function(ctx, f.def.Code, js.Call{
		FunctionName: f.def.Name, InvocationID: out.InvocationID,
		Args: []any{value}, Bindings: bindings, BindingData: data, Req: req, Traceparent: trace.Parent(ctx),
	})
	out.Logs = res.Logs
	if err != nil {
		out.Err = err
		return
	}
	out.Outputs = map[string]any{}
	for _, o := range f.def.Outputs {
		switch {
		case o.Name == "$return":
			out.Outputs[o.Name] = res.Return
		case o.Type == HTTPOutput && res.Res != nil:
			out.Outputs[o.Name] = res.Res
		default:
			if v, ok := res.Bindings[o.Name]; ok {
				out.Outputs[o.Name] = v
			} else if o.Type == HTTPOutput && res.Return != nil {
				out.Outputs[o.Name] = res.Return
			}
		}
	}
	out.Outputs["$return"] = res.Return
}

// camelKeys lower-cases the first letter of every object key, deeply, as
// Azure's JavaScript worker presents trigger metadata.
func camelKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if k != "" {
				k = strings.ToLower(k[:1]) + k[1:]
			}
			out[k] = camelKeys(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = camelKeys(val)
		}
		return out
	}
	return v
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

type metrics struct {
	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_function_invocations_total", Help: "Function invocations by function and status."}, []string{"function", "status"}),
		duration:    prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "junction_function_duration_seconds", Help: "Function invocation duration.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"function"}),
	}
	if reg != nil {
		reg.MustRegister(m.invocations, m.duration)
	}
	return m
}

func (m *metrics) observe(name string, o *Outcome) {
	m.invocations.WithLabelValues(name, o.Status).Inc()
	m.duration.WithLabelValues(name).Observe(o.Duration.Seconds())
}
