package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"junction/internal/jsonvalue"
)

// Scope supplies what an expression can see beyond the function library: the
// workflow functions (trigger, body, actions, item, variables, parameters,
// appsetting, result, workflow, ...) and the clock.
type Scope interface {
	// Workflow calls the workflow function name with evaluated arguments.
	Workflow(name string, args []any) (any, error)
	// Now is the current time; tests and offline runs fix it.
	Now() time.Time
}

// EvalError is an evaluation failure, worded as Logic Apps words them.
type EvalError struct {
	Expr string
	Msg  string
}

func (e *EvalError) Error() string {
	if e.Expr == "" {
		return e.Msg
	}
	return fmt.Sprintf("the template language expression '%s' cannot be evaluated: %s", truncate(e.Expr, 200), e.Msg)
}

type callErr struct{ msg string }

func (e *callErr) Error() string { return e.msg }

func errf(format string, args ...any) error { return &callErr{msg: fmt.Sprintf(format, args...)} }

// Eval evaluates a parsed expression.
func Eval(n Node, s Scope) (any, error) {
	v, err := eval(n, s)
	if err != nil {
		if _, ok := err.(*EvalError); ok {
			return nil, err
		}
		return nil, &EvalError{Expr: String(n), Msg: err.Error()}
	}
	return v, nil
}

func eval(n Node, s Scope) (any, error) {
	switch n := n.(type) {
	case *Lit:
		return n.Value, nil
	case *Index:
		x, err := eval(n.X, s)
		if err != nil {
			return nil, err
		}
		k, err := eval(n.Key, s)
		if err != nil {
			return nil, err
		}
		return index(x, k, n.Safe)
	case *Call:
		f, ok := library[n.Name]
		if !ok {
			f, ok = library[strings.ToLower(n.Name)]
		}
		if !ok {
			return nil, errf("the template function '%s' is not defined or not valid", n.Name)
		}
		if err := f.checkArity(n.Name, len(n.Args)); err != nil {
			return nil, err
		}
		if f.Lazy != nil {
			// if, and, or, coalesce: arguments are evaluated left to right
			// only as far as the result needs them.
			c := &call{name: f.Name, args: make([]any, len(n.Args)), scope: s}
			return f.Lazy(c, func(i int) (any, error) {
				v, err := eval(n.Args[i], s)
				c.args[i] = v
				return v, err
			})
		}
		args := make([]any, len(n.Args))
		for i, a := range n.Args {
			v, err := eval(a, s)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		if f.Workflow {
			return s.Workflow(f.Name, args)
		}
		c := &call{name: f.Name, args: args, scope: s, limits: limitsOf(s)}
		v, err := f.Fn(c)
		if err != nil {
			return nil, err
		}
		if err := c.checkResult(v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, errf("unknown node %T", n)
}

func index(x, k any, safe bool) (any, error) {
	switch x := x.(type) {
	case nil:
		if safe {
			return nil, nil
		}
		return nil, errf("cannot select property '%v' of a null value; use '?[' to allow nulls", ToString(k))
	case map[string]any:
		key, ok := k.(string)
		if !ok {
			return nil, errf("an object property must be selected with a string, not %s", typeName(k))
		}
		if v, ok := x[key]; ok {
			return v, nil
		}
		for name, v := range x {
			if strings.EqualFold(name, key) {
				return v, nil
			}
		}
		// Power Automate addresses connector outputs with paths: ?['body/id'].
		if strings.Contains(key, "/") {
			var cur any = x
			for _, seg := range strings.Split(key, "/") {
				v, err := index(cur, seg, true)
				if err != nil {
					cur = nil
					break
				}
				cur = v
			}
			if cur != nil || safe {
				return cur, nil
			}
		}
		if safe {
			return nil, nil
		}
		return nil, errf("property '%s' doesn't exist, available properties are '%s'", key, strings.Join(keys(x), ", "))
	case []any:
		i, ok := asInt(k)
		if !ok {
			return nil, errf("an array must be indexed with an integer, not %s", typeName(k))
		}
		if i < 0 || i >= int64(len(x)) {
			if safe {
				return nil, nil
			}
			return nil, errf("index %d is out of range for an array of %d items", i, len(x))
		}
		return x[i], nil
	}
	return nil, errf("cannot select '%v' from a %s value", ToString(k), typeName(x))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Evaluate evaluates a compiled template: a literal gives its string, a whole
// expression its value, an interpolation the concatenated string.
func (t *Template) Evaluate(s Scope) (any, error) {
	if t.Whole != nil {
		return Eval(t.Whole, s)
	}
	if t.Parts == nil {
		return t.Literal, nil
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Text)
			continue
		}
		v, err := Eval(p.Expr, s)
		if err != nil {
			return nil, err
		}
		b.WriteString(ToString(v))
	}
	return b.String(), nil
}

// Resolve evaluates every string inside a JSON-like value (as decoded from a
// definition): strings are templates, objects and arrays are walked, and
// object keys are templates too.
func (c *Cache) Resolve(v any, s Scope) (any, error) {
	switch v := v.(type) {
	case string:
		if !IsTemplate(v) {
			return v, nil
		}
		t, err := c.Compile(v)
		if err != nil {
			return nil, err
		}
		return t.Evaluate(s)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			r, err := c.Resolve(x, s)
			if err != nil {
				return nil, err
			}
			if IsTemplate(k) {
				kv, err := c.Resolve(k, s)
				if err != nil {
					return nil, err
				}
				k = ToString(kv)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			r, err := c.Resolve(x, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// ToString converts a value to text as Logic Apps interpolation does: strings
// as they are, null as empty, booleans as True/False, numbers in invariant
// culture, objects and arrays as JSON.
func ToString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return formatFloat(v)
	}
	return render(v)
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "Infinity"
	}
	if math.IsInf(f, -1) {
		return "-Infinity"
	}
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'G', -1, 64)
}

// render is compact JSON.
func render(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// DecodeJSON decodes JSON into the value types expressions work with: nil,
// bool, int64 (integers), float64, string, []any and map[string]any.
func DecodeJSON(data []byte) (any, error) {
	return DecodeJSONWithin(data, jsonvalue.Limits{})
}

// DecodeJSONWithin is DecodeJSON with bounds on nesting and values.
func DecodeJSONWithin(data []byte, lim jsonvalue.Limits) (any, error) {
	return jsonvalue.Decode(data, jsonvalue.Options{Limits: lim, Number: number})
}

// number is a JSON number as Normalize would make it.
func number(text string) (any, error) {
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return i, nil
	}
	f, _ := strconv.ParseFloat(text, 64)
	return f, nil
}

// Normalize converts json.Number and Go numeric types to int64 or float64,
// deeply, so that values from any source compare alike.
func Normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	case map[string]any:
		for k, x := range v {
			v[k] = Normalize(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = Normalize(x)
		}
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = Normalize(s)
		}
		return out
	case nil, bool, string, int64, float64:
		return v
	}
	// Any other Go value (a connector's struct, say) takes its JSON shape, so
	// that expressions can select into it as into any JSON output.
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return Normalize(out)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case string:
		return "String"
	case bool:
		return "Boolean"
	case int64, int:
		return "Integer"
	case float64:
		return "Float"
	case []any:
		return "Array"
	case map[string]any:
		return "Object"
	}
	return fmt.Sprintf("%T", v)
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<62 {
			return int64(v), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// Equal is deep equality with integers and floats compared by value.
func Equal(a, b any) bool {
	if fa, ok := asFloat(a); ok {
		fb, ok := asFloat(b)
		return ok && fa == fb
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !Equal(a[i], bb[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// Truthy is how a condition value is read: only the boolean true (or the
// string "true") is true.
func Truthy(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, errf("the expression must evaluate to a boolean, not %s", typeName(v))
}
