package expr

import (
	"strings"
)

// Kind is a set of value types, for signatures and static checks.
type Kind uint16

// Value kinds.
const (
	KNull Kind = 1 << iota
	KBool
	KInt
	KFloat
	KString
	KArray
	KObject

	KNumber = KInt | KFloat
	KAny    = KNull | KBool | KInt | KFloat | KString | KArray | KObject
)

func (k Kind) String() string {
	if k == KAny {
		return "any"
	}
	var names []string
	for _, p := range []struct {
		k Kind
		n string
	}{{KNull, "null"}, {KBool, "boolean"}, {KInt, "integer"}, {KFloat, "float"}, {KString, "string"}, {KArray, "array"}, {KObject, "object"}} {
		if k&p.k != 0 {
			names = append(names, p.n)
		}
	}
	return strings.Join(names, " or ")
}

// KindOf is the kind of a value.
func KindOf(v any) Kind {
	switch v.(type) {
	case nil:
		return KNull
	case bool:
		return KBool
	case int64, int:
		return KInt
	case float64:
		return KFloat
	case string:
		return KString
	case []any:
		return KArray
	case map[string]any:
		return KObject
	}
	return KAny
}

// Func is one function of the language.
type Func struct {
	Name     string
	Min, Max int    // Max < 0: variadic
	Params   []Kind // per argument; the last repeats for variadic functions
	Returns  Kind
	Workflow bool // supplied by Scope
	Fn       func(c *call) (any, error)
	// Lazy, when set, replaces Fn: it evaluates its arguments itself
	// through arg (which also records them in c.args), so that arguments
	// the result does not need are never evaluated.
	Lazy func(c *call, arg func(i int) (any, error)) (any, error)
}

func (f *Func) param(i int) Kind {
	if len(f.Params) == 0 {
		return KAny
	}
	if i >= len(f.Params) {
		return f.Params[len(f.Params)-1]
	}
	return f.Params[i]
}

func (f *Func) checkArity(name string, n int) error {
	if n < f.Min || (f.Max >= 0 && n > f.Max) {
		switch {
		case f.Min == f.Max:
			return errf("the template language function '%s' expects %d parameter(s), but %d were given", name, f.Min, n)
		case f.Max < 0:
			return errf("the template language function '%s' expects at least %d parameter(s), but %d were given", name, f.Min, n)
		}
		return errf("the template language function '%s' expects %d to %d parameters, but %d were given", name, f.Min, f.Max, n)
	}
	return nil
}

// library holds every function by name. Built once; read-only afterwards.
var library = map[string]*Func{}

func def(name string, min, max int, returns Kind, params []Kind, fn func(c *call) (any, error)) {
	library[name] = &Func{Name: name, Min: min, Max: max, Params: params, Returns: returns, Fn: fn}
	if l := strings.ToLower(name); l != name {
		library[l] = library[name]
	}
}

func wf(name string, min, max int, params ...Kind) {
	def(name, min, max, KAny, params, nil)
	library[name].Workflow = true
}

// Lookup returns the function called name (names are case-insensitive).
func Lookup(name string) (*Func, bool) {
	f, ok := library[name]
	if !ok {
		f, ok = library[strings.ToLower(name)]
	}
	return f, ok
}

// Functions lists the names of every function, library and workflow.
func Functions() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range library {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f.Name)
		}
	}
	return out
}

func init() {
	// Workflow functions: the engine's Scope answers them.
	wf("trigger", 0, 0)
	wf("triggerBody", 0, 0)
	wf("triggerOutputs", 0, 0)
	wf("triggerFormDataValue", 1, 1, KString)
	wf("triggerFormDataMultiValues", 1, 1, KString)
	wf("triggerMultipartBody", 1, 1, KInt)
	wf("body", 1, 1, KString)
	wf("outputs", 1, 1, KString)
	wf("actions", 1, 1, KString)
	wf("action", 0, 0)
	wf("actionBody", 1, 1, KString)
	wf("actionOutputs", 1, 1, KString)
	wf("item", 0, 0)
	wf("items", 1, 1, KString)
	wf("iterationIndexes", 1, 1, KString)
	wf("variables", 1, 1, KString)
	wf("parameters", 1, 1, KString)
	wf("appsetting", 1, 1, KString)
	wf("result", 0, 1, KString)
	wf("workflow", 0, 0)
	wf("listCallbackUrl", 0, 0)
	wf("agentParameters", 1, 1, KString)
	registerStrings()
	registerCollections()
	registerLogic()
	registerConversions()
	registerMath()
	registerDates()
	registerObjects()
}

// call is one function invocation with evaluated arguments.
type call struct {
	name   string
	args   []any
	scope  Scope
	limits Limits
}

func (c *call) argErr(i int, want string) error {
	return errf("the template language function '%s' expects its parameter %d to be %s, but the provided value is of type %s",
		c.name, i+1, want, typeName(c.args[i]))
}

func (c *call) has(i int) bool { return i < len(c.args) }

func (c *call) str(i int) (string, error) {
	s, ok := c.args[i].(string)
	if !ok {
		return "", c.argErr(i, "a string")
	}
	return s, nil
}

// text accepts a string or null (as an empty string).
func (c *call) text(i int) (string, error) {
	if c.args[i] == nil {
		return "", nil
	}
	return c.str(i)
}

func (c *call) int(i int) (int64, error) {
	n, ok := asInt(c.args[i])
	if !ok {
		return 0, c.argErr(i, "an integer")
	}
	return n, nil
}

func (c *call) num(i int) (any, error) {
	switch c.args[i].(type) {
	case int64, float64:
		return c.args[i], nil
	case int:
		return int64(c.args[i].(int)), nil
	}
	return nil, c.argErr(i, "a number")
}

func (c *call) arr(i int) ([]any, error) {
	a, ok := c.args[i].([]any)
	if !ok {
		return nil, c.argErr(i, "an array")
	}
	return a, nil
}

func (c *call) obj(i int) (map[string]any, error) {
	o, ok := c.args[i].(map[string]any)
	if !ok {
		return nil, c.argErr(i, "an object")
	}
	return o, nil
}

func (c *call) optStr(i int, def string) (string, error) {
	if !c.has(i) || c.args[i] == nil {
		return def, nil
	}
	return c.str(i)
}

var (
	pS   = []Kind{KString}
	pSS  = []Kind{KString, KString}
	pSSS = []Kind{KString, KString, KString}
	pA   = []Kind{KAny}
	pNN  = []Kind{KNumber, KNumber}
)

func must(v any, err error) (any, error) { return v, err }

// IsWorkflowFunction says whether name is one of the functions a Scope
// supplies (trigger, body, item, variables, ...) rather than the library.
func IsWorkflowFunction(name string) bool {
	f, ok := library[name]
	if !ok {
		f, ok = library[strings.ToLower(name)]
	}
	return ok && f.Workflow
}
