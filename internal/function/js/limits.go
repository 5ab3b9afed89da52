package js

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// The interpreter checks its interrupt flag only between instructions, so a
// single native call (String.prototype.repeat, Array.prototype.fill, a
// backtracking regular expression, JSON.parse) could run for seconds and
// allocate gigabytes before the watchdog's interrupt took effect. The sandbox
// closes that gap three ways:
//
//   - the built-ins whose result grows with an argument or with the size of
//     their receiver are wrapped: before the original runs, the wrapper
//     estimates what it will allocate and refuses the call (ending the run
//     with ErrMemory) when the estimate does not fit in what is left of the
//     memory limit;
//   - JSON.parse refuses text nested deeper than MaxJSONDepth, and the
//     backtracking regular-expression engine (used for patterns with
//     backreferences or lookaround; the others run on Go's linear-time
//     engine) stops a match after RegexpMatchTimeout;
//   - the watchdog that interrupts the runtime gives a native call a grace
//     period to return and otherwise abandons it (see Sandbox.guard).

// RegexpMatchTimeout bounds one match of the backtracking engine. The engine
// reads it when a pattern is compiled and it is process-wide, so it is a
// constant rather than an option; a match that runs out of time counts as no
// match, and by then the run's own time limit has usually ended the run.
const RegexpMatchTimeout = 10 * time.Second

// MaxJSONDepth is the deepest nesting JSON.parse accepts in sandboxed code.
const MaxJSONDepth = 1000

// checkFloor is the estimate below which a wrapped call is not checked: small
// results are covered by the watchdog's heap sampling.
const checkFloor = 64 << 10

var regexpTimeoutOnce sync.Once

func setRegexpTimeout() {
	regexpTimeoutOnce.Do(func() { regexp2.DefaultMatchTimeout = RegexpMatchTimeout })
}

// LimitError is a native call refused because its result would not fit in the
// run's memory limit. It matches ErrMemory with errors.Is.
type LimitError struct {
	Call     string // the built-in, e.g. "String.prototype.repeat"
	Estimate uint64 // bytes the call would allocate, estimated
	Limit    uint64 // the run's memory limit in bytes
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %v (the call would allocate about %d bytes; the limit is %d bytes)", e.Call, ErrMemory, e.Estimate, e.Limit)
}

func (e *LimitError) Unwrap() error { return ErrMemory }

// Per-element and per-character costs used by the estimates: goja keeps
// strings as UTF-16 when they are not ASCII and array elements as interface
// values, and dense arrays grow by doubling.
const (
	bytesPerChar    = 2
	bytesPerElement = 64
)

// prelude replaces the growing built-ins with wrappers that call __limit
// (name, estimated bytes) first. The originals stay reachable only through
// the closure, so code cannot call around the check.
var prelude = `(function (limit) {
  "use strict";
  const apply = Reflect.apply, construct = Reflect.construct, get = Reflect.get;
  const len = (v) => { const n = Number(v); return n > 0 && n !== Infinity ? Math.floor(n) : 0; };
  const slen = (s) => (s === undefined || s === null) ? 0 : String(s).length;
  function wrap(obj, name, label, estimate) {
    const orig = obj[name];
    if (typeof orig !== "function") return;
    obj[name] = function (...args) { limit(label, estimate(this, args)); return apply(orig, this, args); };
  }
  const S = String.prototype, A = Array.prototype, E = ` + strconv.Itoa(bytesPerElement) + `, C = ` + strconv.Itoa(bytesPerChar) + `;
  wrap(S, "repeat", "String.prototype.repeat", (t, a) => slen(t) * len(a[0]) * C);
  wrap(S, "padStart", "String.prototype.padStart", (t, a) => len(a[0]) * C);
  wrap(S, "padEnd", "String.prototype.padEnd", (t, a) => len(a[0]) * C);
  wrap(S, "concat", "String.prototype.concat", (t, a) => a.reduce((n, s) => n + slen(s), slen(t)) * C);
  const replaceEstimate = (t, a) => typeof a[1] === "string" ? slen(t) * (a[1].length + 1) * C : slen(t) * E;
  wrap(S, "replace", "String.prototype.replace", replaceEstimate);
  wrap(S, "replaceAll", "String.prototype.replaceAll", replaceEstimate);
  wrap(S, "split", "String.prototype.split", (t) => slen(t) * E);
  for (const name of ["fill", "map", "filter", "slice", "splice", "flat", "flatMap", "reverse", "sort", "copyWithin", "toSorted", "toReversed", "toSpliced", "with"]) {
    wrap(A, name, "Array.prototype." + name, (t) => len(t && t.length) * E);
  }
  // The methods that only walk an array allocate nothing, but a sparse array
  // can be 2^32-1 long and the walk is uninterruptible: an array too long to
  // be dense within the memory limit (8 bytes an element) is refused.
  for (const name of ["indexOf", "lastIndexOf", "includes", "find", "findIndex", "findLast", "findLastIndex", "forEach", "some", "every", "reduce", "reduceRight", "shift", "unshift"]) {
    wrap(A, name, "Array.prototype." + name, (t) => len(t && t.length) * 8);
  }
  // An argument list is built whole from an array-like's length before the
  // call: f.apply(null, {length: 1e7}) allocated 228 MiB.
  const argsEstimate = (list) => (list !== null && typeof list === "object" ? len(list.length) : 0) * E;
  wrap(Function.prototype, "apply", "Function.prototype.apply", (t, a) => argsEstimate(a[1]));
  wrap(Reflect, "apply", "Reflect.apply", (t, a) => argsEstimate(a[2]));
  wrap(Reflect, "construct", "Reflect.construct", (t, a) => argsEstimate(a[1]));
  wrap(A, "concat", "Array.prototype.concat", (t, a) => a.reduce((n, x) => n + (Array.isArray(x) ? len(x.length) : 1), len(t && t.length)) * E);
  wrap(A, "join", "Array.prototype.join", (t, a) => limit.joinSize(t, a[0] === undefined ? "," : String(a[0])));
  // String(array), array + "" and template literals join through toString.
  wrap(A, "toString", "Array.prototype.toString", (t) => limit.joinSize(t, ","));
  wrap(A, "toLocaleString", "Array.prototype.toLocaleString", (t) => limit.joinSize(t, ","));
  wrap(Array, "from", "Array.from", (t, a) => len(a[0] && a[0].length) * E);
  for (const name of ["keys", "values", "entries"]) {
    wrap(Object, name, "Object." + name, (t, a) => (a[0] && typeof a[0] === "object" && "length" in a[0] ? len(a[0].length) : 0) * E);
  }
  wrap(JSON, "stringify", "JSON.stringify", (t, a) => limit.jsonSize(a[0], a[2]));
  const parse = JSON.parse;
  Object.defineProperty(JSON, "parse", { value: function parse_(text, reviver) {
    const s = String(text);
    if (!limit.jsonDepth(s)) throw new SyntaxError("JSON.parse: the text is nested deeper than " + limit.maxJSONDepth + " levels");
    limit("JSON.parse", s.length * E);
    return reviver === undefined ? apply(parse, JSON, [s]) : apply(parse, JSON, [s, reviver]);
  }, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(JSON.parse, "name", { value: "parse" });
  // One handler serves every constructor: it reads the element size and the
  // name from the target, so installing costs one proxy per constructor.
  const typed = {
    construct(target, args, nt) {
      if (typeof args[0] === "number") limit(target.name, len(args[0]) * (target.BYTES_PER_ELEMENT || 1));
      return construct(target, args, nt === globalThis[target.name] ? target : nt);
    },
    get(target, key) { return key === Symbol.hasInstance ? (v) => v instanceof target : get(target, key); },
  };
  for (const name of ["ArrayBuffer", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
    if (typeof globalThis[name] === "function") globalThis[name] = new Proxy(globalThis[name], typed);
  }
})`

var preludeProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("junction-limits", prelude, true)
})

// installLimits wraps the growing built-ins of r's runtime.
func (r *run) installLimits() error {
	v, err := r.vm.RunProgram(preludeProgram())
	if err != nil {
		return fmt.Errorf("install the sandbox limits: %w", err)
	}
	install, _ := goja.AssertFunction(v)
	limit := r.vm.ToValue(r.limitCheck).(*goja.Object)
	_ = limit.Set("joinSize", r.joinSize)
	_ = limit.Set("jsonSize", r.jsonSize)
	_ = limit.Set("jsonDepth", r.jsonDepth)
	_ = limit.Set("maxJSONDepth", MaxJSONDepth)
	_, err = install(goja.Undefined(), limit)
	return err
}

// limitCheck is __limit(name, bytes): it ends the run when bytes more would
// take the heap past the memory limit.
func (r *run) limitCheck(call goja.FunctionCall) goja.Value {
	est := call.Argument(1).ToFloat()
	if est < checkFloor {
		return goja.Undefined()
	}
	used := uint64(0)
	if h := heapBytes(); h > r.base {
		used = h - r.base
	}
	if est+float64(used) > float64(r.opts.MaxMemory) {
		r.refuse(&LimitError{Call: call.Argument(0).String(), Estimate: uint64(est), Limit: r.opts.MaxMemory})
	}
	return goja.Undefined()
}

// refuse ends the run with err: the interrupt makes it uncatchable (the code's
// catch blocks never run), and the thrown RangeError unwinds the native call.
func (r *run) refuse(err error) {
	r.refused.Store(&err)
	r.vm.Interrupt(interrupt{err})
	panic(r.vm.NewGoError(err))
}

// joinSize estimates Array.prototype.join's result: the lengths of the string
// elements, a number's worth for the others, and the separators. It stops
// counting once the estimate is over the limit.
func (r *run) joinSize(call goja.FunctionCall) goja.Value {
	o, ok := call.Argument(0).(*goja.Object)
	if !ok {
		return r.vm.ToValue(0)
	}
	sep := uint64(len(call.Argument(1).String()))
	n := o.Get("length").ToInteger()
	// Every element costs the call some work, even a hole: an array longer
	// than the limit in bytes is refused without walking it.
	if n < 0 || uint64(n) > r.opts.MaxMemory/8 {
		return r.vm.ToValue(uint64(max(n, 0)) * 8)
	}
	var size uint64
	for i := int64(0); i < n && size <= r.opts.MaxMemory; i++ {
		size += sep*bytesPerChar + 1
		switch v := o.Get(strconv.FormatInt(i, 10)).(type) {
		case goja.String:
			size += uint64(v.Length()) * bytesPerChar
		case nil:
		default:
			if goja.IsUndefined(v) || goja.IsNull(v) {
				continue
			}
			size += 24 * bytesPerChar
		}
	}
	return r.vm.ToValue(size)
}

// jsonSize estimates JSON.stringify's output by walking the value, stopping
// once the estimate is over the limit (so the walk itself is bounded).
func (r *run) jsonSize(call goja.FunctionCall) goja.Value {
	indent := uint64(0)
	switch sp := call.Argument(1).(type) {
	case goja.String:
		indent = uint64(min(sp.Length(), 10))
	case nil:
	default:
		if !goja.IsUndefined(sp) && !goja.IsNull(sp) {
			indent = uint64(min(max(sp.ToInteger(), 0), 10))
		}
	}
	var size uint64
	seen := map[*goja.Object]bool{}
	var walk func(v goja.Value, depth uint64)
	walk = func(v goja.Value, depth uint64) {
		if size > r.opts.MaxMemory {
			return
		}
		size += indent * depth
		switch v := v.(type) {
		case goja.String:
			size += uint64(v.Length())*bytesPerChar + 2
		case *goja.Object:
			if seen[v] {
				return // JSON.stringify reports the cycle itself
			}
			seen[v] = true
			defer delete(seen, v)
			if _, isFn := goja.AssertFunction(v); isFn {
				return
			}
			if v.ClassName() == "Array" {
				n := v.Get("length").ToInteger()
				for i := int64(0); i < n && size <= r.opts.MaxMemory; i++ {
					size++
					walk(v.Get(strconv.FormatInt(i, 10)), depth+1)
				}
				return
			}
			for _, k := range v.Keys() {
				if size > r.opts.MaxMemory {
					return
				}
				size += uint64(len(k))*bytesPerChar + 4
				walk(v.Get(k), depth+1)
			}
		default:
			size += 24
		}
	}
	walk(call.Argument(0), 0)
	return r.vm.ToValue(size)
}

// jsonDepth reports whether JSON text is nested no deeper than MaxJSONDepth,
// so that deeper text is refused before the parser recurses into it.
func (r *run) jsonDepth(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > MaxJSONDepth {
				return r.vm.ToValue(false)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return r.vm.ToValue(true)
}
