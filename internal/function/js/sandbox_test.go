package js

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRunWorkflowCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code string
		in   any
		want any
	}{
		{"return value", `return workflowContext.trigger.outputs.body.n * 2;`, map[string]any{"trigger": map[string]any{"outputs": map[string]any{"body": map[string]any{"n": 21}}}}, 42.0},
		{"await", `const v = await Promise.resolve(3); return {sum: v + 1};`, nil, map[string]any{"sum": 4.0}},
		{"async helper", `async function f(x) { return x + "!"; } return await f("hi");`, nil, "hi!"},
		{"no return", `let x = 1;`, nil, nil},
		{"array", `return [1, "a", true, null];`, nil, []any{1.0, "a", true, nil}},
		{"regexp and json", `return JSON.parse('{"a":[1,2]}').a.map(x => String(x).replace(/1/, "one"));`, nil, []any{"one", "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := Run(context.Background(), tc.code, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	sb := New(Options{Timeout: 300 * time.Millisecond, MaxMemory: 16 << 20})
	tests := []struct {
		name string
		code string
		is   error
		msg  string
	}{
		{"throw", `throw new TypeError("bad input");`, nil, "TypeError: bad input"},
		{"reject", `await Promise.reject(new Error("nope"));`, nil, "Error: nope"},
		{"syntax", `return {;`, nil, "syntax error"},
		{"infinite loop", `while (true) {}`, ErrTimeout, ""},
		{"pending forever", `await new Promise(() => {});`, ErrPending, ""},
		{"recursion", `function f(n) { return f(n + 1) + 1; } return f(0);`, nil, "maximum call stack"},
		{"no require", `return require("fs");`, nil, "require is not defined"},
		{"no fetch", `return await fetch("http://127.0.0.1/");`, nil, "fetch is not defined"},
		{"no timers", `setTimeout(() => {}, 1);`, nil, "setTimeout is not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := sb.Run(context.Background(), tc.code, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %q, want it to contain %q", err, tc.msg)
			}
		})
	}
}

func TestRunMemoryLimit(t *testing.T) {
	t.Parallel()
	sb := New(Options{Timeout: time.Minute, MaxMemory: 16 << 20})
	_, _, err := sb.Run(context.Background(), `const a = []; for (let i = 0; ; i++) a.push("x".repeat(1024) + i);`, nil)
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("got %v, want %v", err, ErrMemory)
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, _, err := New(Options{Timeout: time.Minute}).Run(ctx, `for (;;) {}`, nil)
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("got %v", err)
	}
}

func TestFunctionModule(t *testing.T) {
	t.Parallel()
	sb := New(Options{})
	code := `
module.exports = async function (context, req) {
    context.log("got", req.query.name, {n: 1});
    context.log.warn("careful");
    console.error("from console");
    const greeting = await Promise.resolve("Hello, " + req.query.name);
    context.bindings.outQueue = {greeting: greeting, id: context.executionContext.invocationId};
    context.res = {status: 201, body: {greeting: greeting}, headers: {"X-Fn": context.executionContext.functionName}};
    return "done";
};`
	res, err := sb.Function(context.Background(), code, Call{
		FunctionName: "hello", InvocationID: "inv-1",
		Args:     []any{map[string]any{"query": map[string]any{"name": "Ada"}}},
		Bindings: map[string]any{"req": map[string]any{"query": map[string]any{"name": "Ada"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRes := map[string]any{"status": 201.0, "body": map[string]any{"greeting": "Hello, Ada"}, "headers": map[string]any{"X-Fn": "hello"}}
	if !reflect.DeepEqual(res.Res, wantRes) {
		t.Fatalf("res = %#v", res.Res)
	}
	if got := res.Bindings["outQueue"]; !reflect.DeepEqual(got, map[string]any{"greeting": "Hello, Ada", "id": "inv-1"}) {
		t.Fatalf("outQueue = %#v", got)
	}
	if res.Return != "done" {
		t.Fatalf("return = %#v", res.Return)
	}
	var lines []string
	for _, l := range res.Logs {
		lines = append(lines, l.Level+":"+l.Message)
	}
	want := []string{`information:got Ada {"n":1}`, "warning:careful", "error:from console"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("logs = %q", lines)
	}
}

func TestFunctionDoneStyle(t *testing.T) {
	t.Parallel()
	sb := New(Options{})
	res, err := sb.Function(context.Background(), `module.exports = function (context) { context.done(null, {ok: true}); };`, Call{FunctionName: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Return, map[string]any{"ok": true}) {
		t.Fatalf("return = %#v", res.Return)
	}
	_, err = sb.Function(context.Background(), `module.exports = function (context) { context.done("broken"); };`, Call{FunctionName: "f"})
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("err = %v", err)
	}
	_, err = sb.Function(context.Background(), `module.exports = 42;`, Call{FunctionName: "f"})
	if err == nil || !strings.Contains(err.Error(), "not a function") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogLimit(t *testing.T) {
	t.Parallel()
	_, logs, err := New(Options{MaxLogBytes: 100}).Run(context.Background(), `for (let i = 0; i < 100; i++) console.log("line " + i);`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) > 20 || !strings.Contains(logs[len(logs)-1].Message, "truncated") {
		t.Fatalf("logs = %v", logs)
	}
}

// A module is loaded once per warm runtime, as Node.js loads it once per
// worker: what it keeps at its top level lasts between invocations, a failed
// invocation's runtime is dropped (the next starts from a fresh load), each
// invocation has its own logs, and one function's globals never reach another.
func TestFunctionModuleStaysLoaded(t *testing.T) {
	t.Parallel()
	sb := New(Options{})
	counter := `let n = 0;
module.exports = async function (context, fail) {
  n++;
  context.log("call " + n);
  globalThis.leak = n;
  if (fail) throw new Error("failed at " + n);
  return n;
};`
	call := func(fail bool) (any, []Log, error) {
		res, err := sb.Function(context.Background(), counter, Call{FunctionName: "counter", Args: []any{fail}})
		return res.Return, res.Logs, err
	}
	for i, want := range []float64{1, 2, 3} {
		got, logs, err := call(false)
		if err != nil || got != want {
			t.Fatalf("call %d = %v, %v; want %v (the module's state kept)", i+1, got, err, want)
		}
		if len(logs) != 1 || logs[0].Message != fmt.Sprintf("call %v", want) {
			t.Fatalf("call %d logged %v, want only its own line", i+1, logs)
		}
	}
	if _, _, err := call(true); err == nil || !strings.Contains(err.Error(), "failed at 4") {
		t.Fatalf("failing call: %v", err)
	}
	if got, _, err := call(false); err != nil || got != 1.0 {
		t.Fatalf("after a failure = %v, %v; want 1 (a fresh load)", got, err)
	}
	other, err := sb.Function(context.Background(), `module.exports = async function () { return typeof globalThis.leak; };`, Call{FunctionName: "other"})
	if err != nil || other.Return != "undefined" {
		t.Fatalf("another function sees %v, %v; want undefined", other.Return, err)
	}
}

// A runtime interrupted by the time limit is never reused.
func TestFunctionTimedOutIsNotReused(t *testing.T) {
	t.Parallel()
	sb := New(Options{Timeout: 200 * time.Millisecond})
	code := `let n = 0;
module.exports = async function (context, spin) { n++; if (spin) { while (true) {} } return n; };`
	for i, spin := range []bool{false, true, false} {
		res, err := sb.Function(context.Background(), code, Call{FunctionName: "spin", Args: []any{spin}})
		switch {
		case spin && !errors.Is(err, ErrTimeout):
			t.Fatalf("call %d: %v, want a timeout", i+1, err)
		case !spin && (err != nil || res.Return != 1.0):
			t.Fatalf("call %d = %v, %v; want 1 (a fresh load each time)", i+1, res.Return, err)
		}
	}
}

func BenchmarkFunction(b *testing.B) {
	sb := New(Options{})
	code := `module.exports = async function (context, req) { context.res = {body: "hello " + req.query.name}; };`
	call := Call{FunctionName: "f", Args: []any{map[string]any{"query": map[string]any{"name": "x"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sb.Function(context.Background(), code, call); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRun(f *testing.F) {
	f.Add(`return 1`)
	f.Add(`throw 1`)
	f.Add(`await null; return {a: [1]}`)
	sb := New(Options{Timeout: 100 * time.Millisecond})
	f.Fuzz(func(t *testing.T, code string) {
		_, _, _ = sb.Run(context.Background(), code, map[string]any{"x": 1})
	})
}
