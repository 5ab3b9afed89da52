// Package js runs inline JavaScript in an embedded sandbox (goja): Azure
// Functions style `module.exports = async function (context, ...)` modules for
// the function host, and code bodies for the workflow engine's JavaScriptCode
// action. The sandbox has no file, network, timer or module access; code runs
// under a time limit (the runtime is interrupted) and an approximate memory
// limit (the run is interrupted when the process heap grows past it while the
// code runs, and built-ins that would allocate past it are refused before they
// run; see limits.go). Values cross the boundary as JSON.
package js

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// Options bound what one run may use. Zero values take the defaults.
type Options struct {
	// Timeout stops code that runs longer (default 5s).
	Timeout time.Duration
	// MaxMemory stops code while the process heap has grown by more than this
	// many bytes since the run started (default 64 MiB). The measure is the
	// whole heap, so it is an approximation that concurrent runs share.
	MaxMemory uint64
	// MaxLogBytes caps the captured log (default 64 KiB); later lines are dropped
	// and one line says so.
	MaxLogBytes int
	// MaxCallStack caps recursion depth (default 1024 frames).
	MaxCallStack int
	// Grace is how long a built-in call may keep running after the run was
	// stopped before it is abandoned (default 1s).
	Grace time.Duration
	// MaxAbandoned is how many abandoned calls may still be running before
	// new runs are refused with ErrBusy (default 4).
	MaxAbandoned int
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = 64 << 20
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = 64 << 10
	}
	if o.MaxCallStack <= 0 {
		o.MaxCallStack = 1024
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	if o.MaxAbandoned <= 0 {
		o.MaxAbandoned = 4
	}
	return o
}

// Log is one line the code logged with context.log or console.log.
type Log struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // information, warning, error, trace
	Message string    `json:"message"`
}

// Errors a run can end with, besides a script error (*ScriptError).
var (
	ErrTimeout   = errors.New("the code ran longer than its time limit")
	ErrMemory    = errors.New("the code used more memory than its limit")
	ErrCancelled = errors.New("the run was cancelled")
	ErrPending   = errors.New("the code's promise never settled (the sandbox has no timers or I/O to wait for)")
	ErrBusy      = errors.New("the sandbox is still stopping earlier runs whose built-in calls did not return; try again later")
)

// ScriptError is an exception thrown by the code, or a syntax error.
type ScriptError struct {
	Message string
	Stack   string
}

func (e *ScriptError) Error() string { return e.Message }

// Sandbox runs code with one set of limits and caches compiled programs.
type Sandbox struct {
	opts      Options
	abandoned atomic.Int64
	mu        sync.Mutex
	cache     map[[32]byte]*goja.Program
	// warm holds, by module, runtimes whose last invocation of it ended
	// cleanly, with the module loaded: the next invocation takes one instead
	// of building a runtime, installing the limits and loading the module
	// again. It is Node.js's behaviour too: a module is loaded once per
	// worker, and what it keeps at its top level lasts between invocations.
	warm      map[*goja.Program][]*run
	warmCount int
}

// Bounds of the warm runtimes: per module (about the invocations one function
// runs at once) and in all.
const (
	maxWarmPerModule = 4
	maxWarm          = 32
)

// New returns a sandbox with opts.
func New(opts Options) *Sandbox {
	setRegexpTimeout()
	return &Sandbox{opts: opts.withDefaults(), cache: map[[32]byte]*goja.Program{}, warm: map[*goja.Program][]*run{}}
}

// Run is the workflow engine's JavaScriptCode action with default limits: code
// is a function body that sees `workflowContext` (input) and returns a value.
func Run(ctx context.Context, code string, input any) (any, []Log, error) {
	return New(Options{}).Run(ctx, code, input)
}

// Run executes code as the body of an async function with `workflowContext`
// bound to input, and returns what it returns (awaited when it is a promise).
func (s *Sandbox) Run(ctx context.Context, code string, input any) (any, []Log, error) {
	prog, err := s.compile("javascriptcode", "(async function (workflowContext) {\n"+code+"\n})")
	if err != nil {
		return nil, nil, err
	}
	r := s.newRun()
	var out any
	err = r.guard(ctx, func() error {
		fn, err := r.function(prog)
		if err != nil {
			return err
		}
		in, err := r.toJS(input)
		if err != nil {
			return err
		}
		v, err := fn(goja.Undefined(), in)
		if err != nil {
			return err
		}
		v, err = r.settle(v)
		if err != nil {
			return err
		}
		out, err = r.fromJS(v)
		return err
	})
	if err != nil {
		return nil, r.logs.snapshot(), err
	}
	return out, r.logs.snapshot(), nil
}

// Call is one invocation of a function module.
type Call struct {
	FunctionName string
	InvocationID string
	// Args are passed after context: the trigger's value first, then the other
	// input bindings, as Azure Functions does.
	Args []any
	// Bindings are the input bindings by name (context.bindings).
	Bindings    map[string]any
	BindingData map[string]any
	// Req is an HTTP trigger's request (context.req), nil for other triggers.
	Req any
	// Traceparent is the invocation's span (context.traceContext).
	Traceparent string
}

// Result is what a function module produced.
type Result struct {
	// Bindings are context.bindings after the run (inputs and outputs).
	Bindings map[string]any
	// Res is context.res (the HTTP response), nil when unset.
	Res any
	// Return is the resolved return value, or the value given to context.done.
	Return any
	Logs   []Log
}

// Function runs a CommonJS-style module whose module.exports is a function
// (context, ...args), possibly async. Both context.done(err, value) and a
// returned promise complete the invocation.
func (s *Sandbox) Function(ctx context.Context, code string, call Call) (Result, error) {
	prog, err := s.compile(call.FunctionName, "(function (module, exports) {\n"+code+"\n})")
	if err != nil {
		return Result{}, err
	}
	r := s.takeWarm(prog)
	var res Result
	err = r.guard(ctx, func() error {
		if r.entry == nil {
			wrapper, err := r.function(prog)
			if err != nil {
				return err
			}
			module := r.vm.NewObject()
			exports := r.vm.NewObject()
			_ = module.Set("exports", exports)
			if _, err := wrapper(goja.Undefined(), module, exports); err != nil {
				return err
			}
			entry, ok := goja.AssertFunction(module.Get("exports"))
			if !ok {
				return &ScriptError{Message: "module.exports is not a function"}
			}
			r.entry = entry
		}
		entry := r.entry
		cctx, done, err := r.context(call)
		if err != nil {
			return err
		}
		args := []goja.Value{cctx}
		for _, a := range call.Args {
			v, err := r.toJS(a)
			if err != nil {
				return err
			}
			args = append(args, v)
		}
		v, err := entry(goja.Undefined(), args...)
		if err != nil {
			return err
		}
		switch {
		case !done.called:
			if v, err = r.settle(v); err != nil {
				return err
			}
		case done.err != nil:
			return done.err
		default:
			v = done.value
		}
		if res.Return, err = r.fromJS(v); err != nil {
			return err
		}
		b, err := r.fromJS(cctx.Get("bindings"))
		if err != nil {
			return err
		}
		res.Bindings, _ = b.(map[string]any)
		if resv := cctx.Get("res"); resv != nil && !goja.IsUndefined(resv) && !goja.IsNull(resv) {
			if res.Res, err = r.fromJS(resv); err != nil {
				return err
			}
			if untouched(res.Res) {
				res.Res = nil
			}
		}
		return nil
	})
	if err != nil {
		return Result{Logs: r.logs.snapshot()}, err
	}
	res.Logs = r.logs.snapshot()
	s.keepWarm(prog, r)
	return res, nil
}

// takeWarm returns a warm runtime with module loaded, or a new one.
func (s *Sandbox) takeWarm(module *goja.Program) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.warm[module]
	if len(list) == 0 {
		return s.newRun()
	}
	r := list[len(list)-1]
	if len(list) == 1 {
		delete(s.warm, module)
	} else {
		s.warm[module] = list[:len(list)-1]
	}
	s.warmCount--
	r.logs = &logBuf{max: s.opts.MaxLogBytes}
	return r
}

// keepWarm keeps r, whose invocation of module ended cleanly, for the
// module's next invocation. A runtime that was interrupted, refused a call or
// failed is never kept: it may be in any state.
func (s *Sandbox) keepWarm(module *goja.Program, r *run) {
	if r.interrupted || r.refused.Load() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warmCount >= maxWarm || len(s.warm[module]) >= maxWarmPerModule {
		return
	}
	s.warm[module] = append(s.warm[module], r)
	s.warmCount++
}

func (s *Sandbox) compile(name, src string) (*goja.Program, error) {
	key := sha256.Sum256([]byte(name + "\x00" + src))
	s.mu.Lock()
	p, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := goja.Compile(name, src, false)
	if err != nil {
		return nil, &ScriptError{Message: "syntax error: " + err.Error()}
	}
	s.mu.Lock()
	if len(s.cache) > 1000 {
		clear(s.cache)
		clear(s.warm) // keyed by the programs just dropped
		s.warmCount = 0
	}
	s.cache[key] = p
	s.mu.Unlock()
	return p, nil
}

// run is one runtime: used once, or kept warm for its module's invocations
// (Sandbox.warm) while they end cleanly.
type run struct {
	sb   *Sandbox
	vm   *goja.Runtime
	opts Options
	logs *logBuf
	base uint64 // heap bytes when the run started
	// limited is set once the limits are installed (installLimits).
	limited bool
	// interrupted is set when the watchdog interrupted the runtime.
	interrupted bool
	// entry is the loaded module's exported function, on a runtime kept warm.
	entry goja.Callable
	// refused is the error of a built-in call refused by a limit; it ends the
	// run whatever the code did with the exception.
	refused atomic.Pointer[error]
	// parse is the unwrapped JSON.parse, for passing inputs in.
	parse goja.Callable
}

func (s *Sandbox) newRun() *run {
	vm := goja.New()
	vm.SetMaxCallStackSize(s.opts.MaxCallStack)
	r := &run{sb: s, vm: vm, opts: s.opts, logs: &logBuf{max: s.opts.MaxLogBytes}}
	console := vm.NewObject()
	for name, level := range map[string]string{"log": "information", "info": "information", "warn": "warning", "error": "error", "debug": "trace", "trace": "trace"} {
		_ = console.Set(name, r.logFunc(level))
	}
	_ = vm.Set("console", console)
	r.parse, _ = goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	// Nothing else is exposed: no require, no timers, no fs, no network.
	return r
}

type doneState struct {
	called bool
	err    error
	value  goja.Value
}

// context builds the Azure Functions context object.
func (r *run) context(call Call) (*goja.Object, *doneState, error) {
	vm := r.vm
	c := vm.NewObject()
	bindings, err := r.toJS(orEmpty(call.Bindings))
	if err != nil {
		return nil, nil, err
	}
	data, err := r.toJS(orEmpty(call.BindingData))
	if err != nil {
		return nil, nil, err
	}
	_ = c.Set("bindings", bindings)
	_ = c.Set("bindingData", data)
	if call.Req != nil {
		req, err := r.toJS(call.Req)
		if err != nil {
			return nil, nil, err
		}
		_ = c.Set("req", req)
	}
	_ = c.Set("invocationId", call.InvocationID)
	exec := vm.NewObject()
	_ = exec.Set("invocationId", call.InvocationID)
	_ = exec.Set("functionName", call.FunctionName)
	_ = c.Set("executionContext", exec)
	tc := vm.NewObject()
	if call.Traceparent != "" {
		_ = tc.Set("traceparent", call.Traceparent)
	} else {
		_ = tc.Set("traceparent", goja.Null())
	}
	_ = tc.Set("tracestate", goja.Null())
	_ = tc.Set("attributes", vm.NewObject())
	_ = c.Set("traceContext", tc)
	log := vm.ToValue(r.logFunc("information")).(*goja.Object)
	for name, level := range map[string]string{"info": "information", "warn": "warning", "error": "error", "verbose": "trace"} {
		_ = log.Set(name, r.logFunc(level))
	}
	_ = c.Set("log", log)
	done := &doneState{}
	_ = c.Set("done", func(fc goja.FunctionCall) goja.Value {
		if done.called {
			return goja.Undefined()
		}
		done.called = true
		if e := fc.Argument(0); !goja.IsUndefined(e) && !goja.IsNull(e) {
			done.err = &ScriptError{Message: e.String()}
		}
		done.value = fc.Argument(1)
		return goja.Undefined()
	})
	if call.Req != nil {
		res, err := r.premadeRes(c.Get("done"))
		if err != nil {
			return nil, nil, err
		}
		_ = c.Set("res", res)
	}
	return c, done, nil
}

// premadeResSource makes the context.res an HTTP-triggered v3 function
// finds, as Azure's Node.js worker gives it: headers and cookies to fill,
// status, setHeader/header/set, getHeader/get, removeHeader, type, json,
// send/end (which complete the invocation, as context.done does) and
// sendStatus. The methods live on its prototype, so the response read back
// holds only what the code set (also an assigned status).
const premadeResSource = `(function (done) {
	var proto = {
		status: function (code) { this.statusCode = code; return this; },
		setHeader: function (k, v) { this.headers[String(k).toLowerCase()] = v; return this; },
		getHeader: function (k) { return this.headers[String(k).toLowerCase()]; },
		removeHeader: function (k) { delete this.headers[String(k).toLowerCase()]; return this; },
		type: function (t) { return this.setHeader("content-type", t); },
		end: function (body) { if (body !== undefined) { this.body = body; } done(); return this; },
		sendStatus: function (code) { return this.status(code).end(); },
		json: function (body) { this.type("application/json"); return this.end(body); }
	};
	proto.send = proto.end;
	proto.header = proto.set = proto.setHeader;
	proto.get = proto.getHeader;
	var res = Object.create(proto);
	res.headers = {};
	res.cookies = [];
	return res;
})`

func (r *run) premadeRes(done goja.Value) (goja.Value, error) {
	prog, err := r.sb.compile("junction:context.res", premadeResSource)
	if err != nil {
		return nil, err
	}
	factory, err := r.function(prog)
	if err != nil {
		return nil, err
	}
	return factory(goja.Undefined(), done)
}

// untouched reports whether v, context.res read back, is the premade
// response as it was made: then the function did not answer through it.
func untouched(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return false
	}
	h, hok := m["headers"].(map[string]any)
	c, cok := m["cookies"].([]any)
	return hok && cok && len(h) == 0 && len(c) == 0
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (r *run) logFunc(level string) func(goja.FunctionCall) goja.Value {
	return func(fc goja.FunctionCall) goja.Value {
		parts := make([]string, len(fc.Arguments))
		for i, a := range fc.Arguments {
			parts[i] = r.display(a)
		}
		r.logs.add(level, strings.Join(parts, " "))
		return goja.Undefined()
	}
}

// display renders a logged value: strings as they are, objects as JSON.
func (r *run) display(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(o); !isFn && o.ClassName() != "Error" {
			if b, err := json.Marshal(o); err == nil {
				return string(b)
			}
		}
	}
	return v.String()
}

type logBuf struct {
	mu      sync.Mutex
	lines   []Log
	size    int
	max     int
	dropped bool
}

func (l *logBuf) snapshot() []Log {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Log(nil), l.lines...)
}

func (l *logBuf) add(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped {
		return
	}
	if l.size+len(msg) > l.max {
		l.dropped = true
		l.lines = append(l.lines, Log{Time: time.Now().UTC(), Level: "warning", Message: "log truncated: the invocation logged more than the limit"})
		return
	}
	l.size += len(msg)
	l.lines = append(l.lines, Log{Time: time.Now().UTC(), Level: level, Message: msg})
}

func (r *run) function(p *goja.Program) (goja.Callable, error) {
	v, err := r.vm.RunProgram(p)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(v)
	if !ok {
		return nil, errors.New("internal: wrapper is not a function")
	}
	return fn, nil
}

// settle resolves v when it is a promise. The job queue has already been
// drained when the outermost call returned, so a pending promise can never
// settle: nothing in the sandbox can wake it.
func (r *run) settle(v goja.Value) (goja.Value, error) {
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		return v, nil
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, r.thrown(p.Result())
	}
	return nil, ErrPending
}

func (r *run) thrown(v goja.Value) error {
	if o, ok := v.(*goja.Object); ok {
		msg := o.Get("message")
		stack := o.Get("stack")
		se := &ScriptError{Message: v.String()}
		if msg != nil && !goja.IsUndefined(msg) {
			name := o.Get("name")
			if name != nil && !goja.IsUndefined(name) {
				se.Message = name.String() + ": " + msg.String()
			}
		}
		if stack != nil && !goja.IsUndefined(stack) {
			se.Stack = stack.String()
		}
		return se
	}
	if v == nil {
		return &ScriptError{Message: "rejected"}
	}
	return &ScriptError{Message: v.String()}
}

// toJS turns a Go value into a plain JS value through JSON, so that the code
// sees ordinary objects and arrays.
func (r *run) toJS(v any) (goja.Value, error) {
	if v == nil {
		return goja.Null(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pass a value to the code: %w", err)
	}
	return r.parse(goja.Undefined(), r.vm.ToValue(string(b)))
}

// fromJS turns a JS value into JSON-shaped Go values (undefined becomes nil),
// through the sandbox's JSON.stringify so that the memory limit applies.
func (r *run) fromJS(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	stringify, _ := goja.AssertFunction(r.vm.Get("JSON").ToObject(r.vm).Get("stringify"))
	s, err := stringify(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return nil, nil
	}
	var out any
	if err := json.Unmarshal([]byte(s.String()), &out); err != nil {
		return nil, fmt.Errorf("read the code's result: %w", err)
	}
	return out, nil
}

type interrupt struct{ err error }

// guard runs fn under the time and memory limits and ctx, and maps the ways a
// run can end to errors. fn runs on its own goroutine so that the watchdog can
// give up on it: the interpreter notices an interrupt only between
// instructions, and a native call that does not return within the grace
// period after the interrupt is abandoned. The run then ends with the
// interrupt's error; the abandoned goroutine keeps its runtime (used by no one
// else) until the native call returns, which the limits on native calls bound
// (RegexpMatchTimeout for the slowest). At most MaxAbandoned such goroutines
// live per sandbox; while that many do, new runs are refused with ErrBusy.
func (r *run) guard(ctx context.Context, fn func() error) error {
	if r.sb.abandoned.Load() >= int64(r.opts.MaxAbandoned) {
		return ErrBusy
	}
	r.base = heapBytes()
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("the code crashed the sandbox: %v", p)
			}
			done <- err
		}()
		if !r.limited {
			if err = r.installLimits(); err != nil {
				return
			}
			r.limited = true
		}
		err = fn()
	}()
	err, abandoned := r.watch(ctx, done)
	if abandoned {
		r.sb.abandoned.Add(1)
		go func() {
			<-done
			r.sb.abandoned.Add(-1)
		}()
		return err
	}
	if p := r.refused.Load(); p != nil {
		return *p
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if in, ok := ie.Value().(interrupt); ok {
			return in.err
		}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return r.thrown(ex.Value())
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &ScriptError{Message: "RangeError: maximum call stack size exceeded"}
	}
	return err
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
var heapMu sync.Mutex

func heapBytes() uint64 {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return heapSample[0].Value.Uint64()
}

// watch waits for the run to end, interrupting it when ctx ends, the time
// limit passes or the heap grows past the memory limit. It reports abandoned
// when the run did not end within the grace period after the interrupt.
func (r *run) watch(ctx context.Context, done <-chan error) (err error, abandoned bool) {
	timer := time.NewTimer(r.opts.Timeout)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var cause error
	for cause == nil {
		select {
		case err := <-done:
			return err, false
		case <-ctx.Done():
			cause = ErrCancelled
		case <-timer.C:
			cause = ErrTimeout
		case <-tick.C:
			if h := heapBytes(); h > r.base && h-r.base > r.opts.MaxMemory {
				cause = ErrMemory
			}
		}
	}
	r.interrupted = true
	r.vm.Interrupt(interrupt{cause})
	grace := time.NewTimer(r.opts.Grace)
	defer grace.Stop()
	select {
	case err := <-done:
		return err, false
	case <-grace.C:
		return fmt.Errorf("%w; a built-in call did not return within %v of being stopped and was abandoned", cause, r.opts.Grace), true
	}
}
