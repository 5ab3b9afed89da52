package js

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// smallSandbox has a small memory limit so that the refusals are cheap; its
// time limit is long so that only memory can stop a run (a busy machine
// cannot turn a refusal into a timeout). The findings these tests reproduce
// were measured with the defaults: one call allocating 256 MiB against
// 64 MiB, repeat running 20 s against 10 s, a regular expression 55 s
// against 5 s.
func smallSandbox() *Sandbox {
	return New(Options{Timeout: time.Minute, MaxMemory: 8 << 20})
}

// runEnds runs code and fails the test when the run has not ended long after
// its limits (a hang guard, not a timing assertion).
func runEnds(t *testing.T, sb *Sandbox, code string) (any, error) {
	t.Helper()
	type result struct {
		out any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		out, _, err := sb.Run(context.Background(), code, nil)
		ch <- result{out, err}
	}()
	select {
	case r := <-ch:
		return r.out, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end within 30 s")
		return nil, nil
	}
}

func TestNativeCallsRefusedOverMemoryLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, call string
	}{
		{"repeat", `return "x".repeat(1 << 28).length;`, "String.prototype.repeat"},
		{"padStart", `return "x".padStart(1 << 28).length;`, "String.prototype.padStart"},
		{"padEnd", `return "x".padEnd(1 << 28).length;`, "String.prototype.padEnd"},
		{"fill", `return Array(1e7).fill(0).length;`, "Array.prototype.fill"},
		{"map over a sparse array", `const a = []; a.length = 1e7; return a.map(x => 1).length;`, "Array.prototype.map"},
		{"Array.from", `return Array.from({length: 1e7}).length;`, "Array.from"},
		{"typed array", `return new Uint8Array(1 << 28).length;`, "Uint8Array"},
		{"ArrayBuffer", `return new ArrayBuffer(1 << 28).byteLength;`, "ArrayBuffer"},
		{"join of shared strings", `const s = "x".repeat(1 << 15); return Array(1e4).fill(s).join("").length;`, "Array.prototype.join"},
		{"stringify of shared strings", `const s = "x".repeat(1 << 15); return JSON.stringify(Array(1e4).fill(s)).length;`, "JSON.stringify"},
		{"replace that multiplies", `return "x".repeat(1 << 16).replaceAll("x", "y".repeat(512)).length;`, "String.prototype.replaceAll"},
		{"walk of a long sparse array", `const a = []; a.length = 2 ** 32 - 1; return a.indexOf(1);`, "Array.prototype.indexOf"},
		{"forEach over a long sparse array", `const a = []; a.length = 1e9; a.forEach(x => x); return 1;`, "Array.prototype.forEach"},
		{"apply with a long array-like", `return Math.max.apply(null, {length: 1e7});`, "Function.prototype.apply"},
		{"Reflect.apply with a long array-like", `return Reflect.apply(Math.max, null, {length: 2 ** 32 - 1});`, "Reflect.apply"},
		{"array to string through +", "const s = \"x\".repeat(1 << 15); return (Array(1e4).fill(s) + \"\").length;", "Array.prototype.toString"},
		{"template literal of an array", "const s = \"x\".repeat(1 << 15); return `${Array(1e4).fill(s)}`.length;", "Array.prototype.toString"},
		{"unshift on a long sparse array", `const a = []; a.length = 1e9; a.unshift(1); return 1;`, "Array.prototype.unshift"},
		{"join of a long sparse array", `const a = []; a.length = 1e9; return a.join("").length;`, "Array.prototype.join"},
		{"caught refusal still ends the run", `try { return "x".repeat(1 << 28).length; } catch (e) { return "caught"; }`, "String.prototype.repeat"},
	}
	sb := smallSandbox()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := runEnds(t, sb, tc.code)
			var le *LimitError
			if !errors.As(err, &le) || !errors.Is(err, ErrMemory) {
				t.Fatalf("got %v, %v; want the call refused with ErrMemory", out, err)
			}
			if le.Call != tc.call || !strings.Contains(err.Error(), tc.call) {
				t.Fatalf("refused call %q (%v), want %q", le.Call, err, tc.call)
			}
		})
	}
}

func TestNativeCallsWithinLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		want       any
	}{
		{"repeat", `return "ab".repeat(1000).length;`, 2000.0},
		{"fill and join", `return Array(1000).fill("x").join("-").length;`, 1999.0},
		{"json round trip", `return JSON.parse(JSON.stringify({a: [1, {b: "c"}]})).a[1].b;`, "c"},
		{"json nested within depth", `return JSON.parse("[".repeat(500) + "]".repeat(500)).length;`, 1.0},
		{"json with brackets in strings", `return JSON.parse(JSON.stringify("[".repeat(5000))).length;`, 5000.0},
		{"typed array", `return new Uint8Array(16).length;`, 16.0},
		{"instanceof after wrapping", `return new Uint8Array(2) instanceof Uint8Array && new Uint8Array(4).subarray(1) instanceof Uint8Array;`, true},
		{"subclass of a wrapped constructor", `class B extends Uint8Array {}; const b = new B(3); return b instanceof B && b.length === 3;`, true},
		{"regexp with backreference", `return /(a)\1/.test("xaay");`, true},
		{"apply and Reflect", `return Math.max.apply(null, [1, 5, 2]) + Reflect.apply(Math.min, null, [4, 3]) + Reflect.construct(Date, [0]).getTime();`, 8.0},
		{"arrays as strings", "return String([1, [2, 3]]) + `${[4]}` + [5, 6];", "1,2,345,6"},
		{"walks of ordinary arrays", `const a = [3, 1, 2]; return a.indexOf(2) + a.reduce((s, x) => s + x, 0) + (a.includes(1) ? 1 : 0);`, 9.0},
	}
	sb := smallSandbox()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := runEnds(t, sb, tc.code)
			if err != nil || out != tc.want {
				t.Fatalf("got %v, %v; want %v", out, err, tc.want)
			}
		})
	}
}

func TestJSONParseDepthRefused(t *testing.T) {
	t.Parallel()
	_, err := runEnds(t, smallSandbox(), `return JSON.parse("[".repeat(10000) + "]".repeat(10000));`)
	if err == nil || !strings.Contains(err.Error(), "SyntaxError") || !strings.Contains(err.Error(), "nested deeper than 1000") {
		t.Fatalf("got %v, want a SyntaxError naming the depth limit", err)
	}
}

// TestNativeCallAbandoned reproduces a backtracking regular expression that
// runs far past the time limit inside one native call: the watchdog abandons
// the call and the run fails with ErrTimeout.
func TestNativeCallAbandoned(t *testing.T) {
	t.Parallel()
	// The memory limit is high so that only time can stop this run; the time
	// limit leaves the run time to reach the call on a busy machine.
	sb := New(Options{Timeout: time.Second, MaxMemory: 1 << 30, Grace: 200 * time.Millisecond, MaxAbandoned: 1})
	_, err := runEnds(t, sb, `return /^(?=(a+)+b)/.test("a".repeat(32));`)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "abandoned") {
		t.Fatalf("got %v, want ErrTimeout with the call abandoned", err)
	}
	// The abandoned call runs on (until the regular expression's own match
	// timeout, seconds away), so the sandbox refuses new runs meanwhile.
	if _, err := runEnds(t, sb, `return 1;`); !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want ErrBusy while the abandoned call runs", err)
	}
}
