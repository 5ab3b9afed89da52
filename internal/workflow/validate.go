package workflow

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"junction/internal/expr"
	"junction/internal/secrets"
)

// Problem is one thing wrong with a definition, at a JSON path such as
// "definition.actions.Scope.actions.Compose.inputs".
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Environment is what a definition is checked against besides itself.
type Environment struct {
	// AppSetting looks up an app setting; nil accepts every name.
	AppSetting func(name string) (string, bool)
	// Parameters are the project's parameters.json values.
	Parameters map[string]any
	// Connections names the connections a ServiceProvider or OpenApiConnection
	// action may use; nil accepts every name.
	Connections map[string]bool
	// TriggerTypes are extra trigger types that plug-ins serve (lower case).
	TriggerTypes map[string]bool
	// Workflows names the workflows a Workflow action may call, lower-cased
	// (names are matched ignoring case); nil accepts all.
	Workflows map[string]bool
	// Maps are the project's Artifacts/Maps files by name; nil accepts every
	// map name.
	Maps map[string]string
}

// actionTypes are the action types the engine runs (lower case).
var actionTypes = map[string]bool{
	"compose": true, "parsejson": true, "query": true, "select": true, "join": true, "table": true,
	"initializevariable": true, "setvariable": true, "incrementvariable": true, "decrementvariable": true,
	"appendtoarrayvariable": true, "appendtostringvariable": true,
	"if": true, "switch": true, "foreach": true, "until": true, "scope": true, "terminate": true, "wait": true,
	"http": true, "response": true, "workflow": true, "javascriptcode": true,
	"serviceprovider": true, "openapiconnection": true, "apiconnection": true,
	"expression": true, "function": true, "liquid": true, "agent": true, "chunktext": true, "parsedocument": true, "xslt": true, "apiconnectionwebhook": true, "openapiconnectionwebhook": true,
}

var builtinTriggerTypes = map[string]bool{"request": true, "recurrence": true, "manual": true, "slidingwindow": true}

// pluginTriggerTypes are served by other surfaces through TriggerSource; a
// definition using one is valid even before its source is registered.
var pluginTriggerTypes = map[string]bool{"openapiconnectionwebhook": true, "openapiconnection": true, "serviceprovider": true,
	"apiconnection": true, "apiconnectionwebhook": true, "apiconnectionnotification": true, "httpwebhook": true, "http": true}

var runAfterStatuses = map[string]bool{"succeeded": true, "failed": true, "skipped": true, "timedout": true}

var variableTypes = map[string]bool{"string": true, "integer": true, "int": true, "float": true, "boolean": true, "bool": true, "array": true, "object": true}

const (
	maxActions = 500
	maxDepth   = 8
)

type validator struct {
	def      *Definition
	env      Environment
	problems Problems
	actions  map[string]*Action // every action by name, at any depth
	loops    map[string]bool
	vars     map[string]string // variable name -> type
	count    int
}

// Validate checks a definition and returns every problem found.
func Validate(d *Definition, env Environment) Problems {
	v := &validator{def: d, env: env, actions: map[string]*Action{}, loops: map[string]bool{}, vars: map[string]string{}}
	if d == nil {
		return Problems{{Path: "definition", Message: "the definition is missing"}}
	}
	v.index(d.Actions, "definition.actions", 1)
	if v.count > maxActions {
		v.add("definition.actions", "the workflow has %d actions; the limit is %d", v.count, maxActions)
	}
	for name, p := range d.Parameters {
		path := "definition.parameters." + name
		if p == nil {
			v.add(path, "the parameter is empty")
			continue
		}
		switch strings.ToLower(p.Type) {
		case "string", "securestring", "int", "integer", "float", "bool", "boolean", "array", "object", "secureobject":
		default:
			v.add(path+".type", "unknown parameter type %q", p.Type)
		}
	}
	if len(d.Triggers) > 1 {
		v.add("definition.triggers", "a workflow has at most one trigger, found %d", len(d.Triggers))
	}
	for _, name := range sortedKeys(d.Triggers) {
		v.trigger(name, d.Triggers[name])
	}
	v.actionSet(d.Actions, "definition.actions")
	for _, name := range sortedKeys(d.Outputs) {
		if o := d.Outputs[name]; o != nil {
			v.value(o.Value, "definition.outputs."+name+".value")
		}
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Path < v.problems[j].Path })
	return v.problems
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// index records every action name, loop and variable, and checks depth.
func (v *validator) index(set map[string]*Action, path string, depth int) {
	for _, name := range sortedKeys(set) {
		a := set[name]
		p := path + "." + name
		if a == nil {
			v.add(p, "the action is empty")
			continue
		}
		v.count++
		if _, dup := v.actions[name]; dup {
			v.add(p, "the action name %q is used more than once; names must be unique in the whole workflow", name)
		}
		v.actions[name] = a
		lt := strings.ToLower(a.Type)
		if lt == "foreach" || lt == "until" {
			v.loops[name] = lt == "foreach"
		}
		if lt == "initializevariable" {
			for _, vd := range variableDecls(a.Inputs) {
				if n, _ := vd["name"].(string); n != "" {
					t, _ := vd["type"].(string)
					v.vars[strings.ToLower(n)] = strings.ToLower(t)
				}
			}
		}
		children := a.Children()
		if len(children) > 0 && depth >= maxDepth {
			v.add(p, "actions are nested more than %d levels deep", maxDepth)
			continue
		}
		for _, c := range children {
			v.index(c.Actions, p+"."+c.Path, depth+1)
		}
	}
}

func variableDecls(inputs any) []map[string]any {
	m, _ := inputs.(map[string]any)
	list, _ := m["variables"].([]any)
	var out []map[string]any
	for _, x := range list {
		if vd, ok := x.(map[string]any); ok {
			out = append(out, vd)
		}
	}
	return out
}

func (v *validator) trigger(name string, t *Trigger) {
	path := "definition.triggers." + name
	if t == nil {
		v.add(path, "the trigger is empty")
		return
	}
	lt := strings.ToLower(t.Type)
	if !builtinTriggerTypes[lt] && !pluginTriggerTypes[lt] && !v.env.TriggerTypes[lt] {
		v.add(path+".type", "unknown trigger type %q", t.Type)
	}
	v.value(t.Inputs, path+".inputs")
	for i, c := range t.Conditions {
		v.expression(c.Expression, fmt.Sprintf("%s.conditions[%d].expression", path, i), true)
	}
	if t.SplitOn != "" {
		v.expression(t.SplitOn, path+".splitOn", true)
	}
	if rc := t.RuntimeConfiguration; rc != nil && rc.Concurrency != nil && rc.Concurrency.Runs != 0 &&
		(rc.Concurrency.Runs < 1 || rc.Concurrency.Runs > 100) {
		v.add(path+".runtimeConfiguration.concurrency.runs", "must be between 1 and 100, not %d", rc.Concurrency.Runs)
	}
	if rc := t.RuntimeConfiguration; rc != nil && rc.Concurrency != nil && rc.Concurrency.MaximumWaitingRuns != 0 {
		if w := rc.Concurrency.MaximumWaitingRuns; w < 1 || w > 100 {
			v.add(path+".runtimeConfiguration.concurrency.maximumWaitingRuns", "must be between 1 and 100, not %d", w)
		} else if rc.Concurrency.Runs == 0 {
			v.add(path+".runtimeConfiguration.concurrency.maximumWaitingRuns", "needs runtimeConfiguration.concurrency.runs")
		}
	}
	if lt == "recurrence" {
		r := t.Recurrence
		if r == nil {
			v.add(path+".recurrence", "a Recurrence trigger needs a recurrence")
		} else if _, err := newSchedule(r); err != nil {
			v.add(path+".recurrence", "%v", err)
		}
	}
	if lt == "slidingwindow" {
		if _, err := newSlidingWindow(t); err != nil {
			v.add(path+".recurrence", "%v", err)
		}
	}
	if lt == "request" {
		if m, ok := t.Inputs.(map[string]any); ok {
			if s, ok := m["schema"]; ok && s != nil {
				v.schema(path+".inputs.schema", s)
			}
		}
	}
}

func (v *validator) actionSet(set map[string]*Action, path string) {
	for _, name := range sortedKeys(set) {
		a := set[name]
		if a == nil {
			continue
		}
		p := path + "." + name
		for pred, statuses := range a.RunAfter {
			if _, ok := set[pred]; !ok {
				if _, elsewhere := v.actions[pred]; elsewhere {
					v.add(p+".runAfter."+pred, "runAfter must name an action of the same scope; %q is in another scope", pred)
				} else {
					v.add(p+".runAfter."+pred, "runAfter names the unknown action %q", pred)
				}
			}
			for i, s := range statuses {
				if !runAfterStatuses[strings.ToLower(s)] {
					v.add(fmt.Sprintf("%s.runAfter.%s[%d]", p, pred, i), "unknown status %q; use Succeeded, Failed, Skipped or TimedOut", s)
				}
			}
		}
		v.action(name, a, p)
		for _, c := range a.Children() {
			v.actionSet(c.Actions, p+"."+c.Path)
		}
	}
	for _, cycle := range findCycles(set) {
		v.add(path+"."+cycle[0]+".runAfter", "runAfter forms a cycle: %s", strings.Join(cycle, " -> "))
	}
}

// findCycles returns the runAfter cycles of one scope.
func findCycles(set map[string]*Action) [][]string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cycles [][]string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		a := set[n]
		if a != nil {
			for _, pred := range sortedKeys(a.RunAfter) {
				if _, ok := set[pred]; !ok {
					continue
				}
				switch color[pred] {
				case white:
					visit(pred)
				case grey:
					i := len(stack) - 1
					for stack[i] != pred {
						i--
					}
					cycle := append(append([]string{}, stack[i:]...), pred)
					cycles = append(cycles, cycle)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range sortedKeys(set) {
		if color[n] == white {
			visit(n)
		}
	}
	return cycles
}

func (v *validator) action(name string, a *Action, p string) {
	lt := strings.ToLower(a.Type)
	if !actionTypes[lt] {
		v.add(p+".type", "unknown action type %q", a.Type)
		return
	}
	v.checkStaticResult(a, p)
	if lt == "liquid" {
		v.checkLiquid(a, p)
	}
	if lt == "xslt" {
		v.checkXslt(a, p)
	}
	if lt == "expression" && !expressionKinds[strings.ToLower(a.Kind)] {
		v.add(p+".kind", "unknown Expression kind %q (IndexOf and Substring are supported)", a.Kind)
	}
	v.value(a.Inputs, p+".inputs")
	for k, x := range a.TrackedProperties {
		v.value(x, p+".trackedProperties."+k)
	}
	if a.Limit != nil && a.Limit.Timeout != "" && !expr.IsTemplate(a.Limit.Timeout) {
		if _, err := ParseDuration(a.Limit.Timeout); err != nil {
			v.add(p+".limit.timeout", "%v", err)
		}
	}
	in, _ := a.Inputs.(map[string]any)
	need := func(field string) {
		if in == nil || in[field] == nil {
			v.add(p+".inputs."+field, "a %s action needs inputs.%s", a.Type, field)
		}
	}
	switch lt {
	case "if":
		if a.Expression == nil {
			v.add(p+".expression", "an If action needs an expression")
		} else {
			v.condition(a.Expression, p+".expression")
		}
	case "until":
		if a.Expression == nil {
			v.add(p+".expression", "an Until action needs an expression")
		} else {
			v.condition(a.Expression, p+".expression")
		}
		if a.Limit != nil && a.Limit.Count != nil {
			if n, ok := a.Limit.Count.(int64); ok && (n < 1 || n > 5000) {
				v.add(p+".limit.count", "the count must be between 1 and 5000, not %d", n)
			}
		}
	case "foreach":
		if a.Foreach == nil {
			v.add(p+".foreach", "a Foreach action needs a foreach expression")
		} else {
			v.value(a.Foreach, p+".foreach")
		}
		if rc := a.RuntimeConfiguration; rc != nil && rc.Concurrency != nil && rc.Concurrency.Repetitions != 0 &&
			(rc.Concurrency.Repetitions < 1 || rc.Concurrency.Repetitions > 50) {
			v.add(p+".runtimeConfiguration.concurrency.repetitions", "must be between 1 and 50, not %d", rc.Concurrency.Repetitions)
		}
	case "switch":
		if a.Expression == nil {
			v.add(p+".expression", "a Switch action needs an expression")
		} else {
			v.value(a.Expression, p+".expression")
		}
		seen := map[string]string{}
		for _, cn := range sortedKeys(a.Cases) {
			c := a.Cases[cn]
			if c == nil {
				continue
			}
			if c.Case == nil {
				v.add(p+".cases."+cn+".case", "a case needs a value")
				continue
			}
			key := expr.ToString(c.Case)
			if other, dup := seen[key]; dup {
				v.add(p+".cases."+cn+".case", "the case value %q is also used by case %q", key, other)
			}
			seen[key] = cn
		}
	case "terminate":
		need("runStatus")
		if s, ok := in["runStatus"].(string); ok {
			switch strings.ToLower(s) {
			case "failed", "cancelled", "succeeded":
			default:
				v.add(p+".inputs.runStatus", "runStatus must be Failed, Cancelled or Succeeded, not %q", s)
			}
		}
	case "initializevariable":
		decls := variableDecls(a.Inputs)
		if len(decls) == 0 {
			v.add(p+".inputs.variables", "an InitializeVariable action needs inputs.variables with a name and a type")
		}
		for i, vd := range decls {
			n, _ := vd["name"].(string)
			t, _ := vd["type"].(string)
			if n == "" {
				v.add(fmt.Sprintf("%s.inputs.variables[%d].name", p, i), "a variable needs a name")
			}
			if !variableTypes[strings.ToLower(t)] {
				v.add(fmt.Sprintf("%s.inputs.variables[%d].type", p, i), "unknown variable type %q; use string, integer, float, boolean, array or object", t)
			}
		}
	case "setvariable", "incrementvariable", "decrementvariable", "appendtoarrayvariable", "appendtostringvariable":
		need("name")
		if n, ok := in["name"].(string); ok {
			t, declared := v.vars[strings.ToLower(n)]
			switch {
			case !declared:
				v.add(p+".inputs.name", "the variable %q is not initialized by any InitializeVariable action", n)
			case (lt == "incrementvariable" || lt == "decrementvariable") && t != "integer" && t != "int" && t != "float":
				v.add(p+".inputs.name", "%s needs an integer or float variable; %q is %s", a.Type, n, t)
			case lt == "appendtoarrayvariable" && t != "array":
				v.add(p+".inputs.name", "AppendToArrayVariable needs an array variable; %q is %s", n, t)
			case lt == "appendtostringvariable" && t != "string":
				v.add(p+".inputs.name", "AppendToStringVariable needs a string variable; %q is %s", n, t)
			}
		}
		if lt == "setvariable" || strings.HasPrefix(lt, "append") {
			if in != nil {
				if _, ok := in["value"]; !ok {
					v.add(p+".inputs.value", "a %s action needs inputs.value", a.Type)
				}
			}
		}
	case "http":
		need("method")
		need("uri")
		if in != nil {
			if auth, ok := in["authentication"].(map[string]any); ok {
				if t, ok := auth["type"].(string); ok && !expr.IsTemplate(t) {
					switch strings.ToLower(t) {
					case "basic", "raw", "activedirectoryoauth", "clientcertificate", "none":
					case "managedserviceidentity":
						v.add(p+".inputs.authentication.type", "ManagedServiceIdentity is not available outside Azure; use ActiveDirectoryOAuth with a client secret or certificate")
					default:
						v.add(p+".inputs.authentication.type", "unknown authentication type %q", t)
					}
				}
			}
			if rp, ok := in["retryPolicy"]; ok {
				if _, err := parseRetryPolicy(rp); err != nil {
					v.add(p+".inputs.retryPolicy", "%v", err)
				}
			}
		}
	case "parsejson":
		need("content")
		need("schema")
		if in != nil && in["schema"] != nil {
			v.schema(p+".inputs.schema", in["schema"])
		}
	case "query":
		need("from")
		need("where")
	case "select":
		need("from")
		need("select")
	case "join":
		need("from")
		need("joinWith")
	case "table":
		need("from")
		need("format")
	case "response":
		if in != nil {
			if sc, ok := in["statusCode"].(int64); ok && (sc < 100 || sc > 599) {
				v.add(p+".inputs.statusCode", "the status code %d is not valid", sc)
			}
		}
	case "workflow":
		host, _ := in["host"].(map[string]any)
		id := childWorkflowName(host)
		if id == "" {
			v.add(p+".inputs.host.workflow.id", "a Workflow action needs inputs.host.workflow.id (or Power Automate's host.workflowReferenceName), the child workflow's name")
		} else if v.env.Workflows != nil && !expr.IsTemplate(id) && !v.env.Workflows[strings.ToLower(id)] {
			v.add(p+".inputs.host.workflow.id", "the workflow %q does not exist", id)
		}
	case "javascriptcode":
		if in == nil || in["code"] == nil {
			v.add(p+".inputs.code", "a JavaScriptCode action needs inputs.code")
		}
	case "serviceprovider":
		cfg, _ := in["serviceProviderConfiguration"].(map[string]any)
		cn, _ := cfg["connectionName"].(string)
		op, _ := cfg["operationId"].(string)
		if cn == "" || op == "" {
			v.add(p+".inputs.serviceProviderConfiguration", "a ServiceProvider action needs connectionName and operationId")
		} else if v.env.Connections != nil && !v.env.Connections[cn] {
			v.add(p+".inputs.serviceProviderConfiguration.connectionName", "the connection %q is not defined in connections.json", cn)
		}
	case "openapiconnection", "apiconnection", "openapiconnectionwebhook", "apiconnectionwebhook":
		host, _ := in["host"].(map[string]any)
		cn := connectionNameOf(host)
		op, _ := host["operationId"].(string)
		if lt == "apiconnection" || lt == "apiconnectionwebhook" {
			op = "x"
		}
		if cn == "" || op == "" {
			v.add(p+".inputs.host", "a %s action needs host.connectionName (or host.connection.name) and host.operationId", a.Type)
		} else if v.env.Connections != nil && !v.env.Connections[cn] && !expr.IsTemplate(cn) {
			v.add(p+".inputs.host.connectionName", "the connection %q is not defined in connections.json", cn)
		}
	}
}

func connectionNameOf(host map[string]any) string {
	if cn, ok := host["connectionName"].(string); ok {
		return cn
	}
	if c, ok := host["connection"].(map[string]any); ok {
		if n, ok := c["referenceName"].(string); ok {
			return n
		}
		if n, ok := c["name"].(string); ok {
			// "@parameters('$connections')['x']['connectionId']" names x.
			if i := strings.Index(n, "['$connections')['"); i >= 0 {
				rest := n[i+len("['$connections')['"):]
				if j := strings.Index(rest, "'"); j >= 0 {
					return rest[:j]
				}
			}
			if i := strings.Index(n, "('$connections')['"); i >= 0 {
				rest := n[i+len("('$connections')['"):]
				if j := strings.Index(rest, "'"); j >= 0 {
					return rest[:j]
				}
			}
			return n
		}
	}
	return ""
}

// condition checks an If/Until expression: an "@" string or an expression
// object ({"and":[{"equals":[a,b]}]}).
func (v *validator) condition(x any, path string) {
	switch c := x.(type) {
	case string:
		v.expression(c, path, true)
	case map[string]any:
		if _, err := conditionNode(c); err != nil {
			v.add(path, "%v", err)
		}
		v.value(c, path)
	case bool:
	default:
		v.add(path, "the expression must be a string starting with @ or a condition object")
	}
}

// value checks every template string inside a JSON value.
func (v *validator) value(x any, path string) {
	switch x := x.(type) {
	case string:
		if expr.IsTemplate(x) {
			v.expression(x, path, false)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if expr.IsTemplate(k) {
				v.expression(k, path+"."+k, false)
			}
			v.value(x[k], path+"."+k)
		}
	case []any:
		for i, e := range x {
			v.value(e, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func (v *validator) expression(s, path string, whole bool) {
	t, err := expr.Compile(s)
	if err != nil {
		v.add(path, "%v", err)
		return
	}
	if whole && t.Whole == nil && t.Parts == nil {
		v.add(path, "expected an expression starting with @, found %q", s)
		return
	}
	for _, n := range t.Nodes() {
		for _, e := range expr.Check(n, v.visit) {
			v.add(path, "expression %q: %v", truncateStr(s, 120), e)
		}
	}
}

func truncateStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// visit checks workflow function references against the definition.
func (v *validator) visit(c *expr.Call) error {
	if len(c.Args) == 0 {
		return nil
	}
	lit, ok := c.Args[0].(*expr.Lit)
	if !ok {
		return nil
	}
	name, ok := lit.Value.(string)
	if !ok {
		return nil
	}
	switch strings.ToLower(c.Name) {
	case "body", "outputs", "actions", "actionbody", "actionoutputs", "result":
		if _, ok := v.findAction(name); !ok {
			return fmt.Errorf("%s('%s') refers to an action that does not exist", c.Name, name)
		}
	case "items", "iterationindexes":
		loop, _ := foldName(v.loops, name)
		isForeach, ok := v.loops[loop]
		if !ok {
			return fmt.Errorf("%s('%s') refers to a loop that does not exist", c.Name, name)
		}
		if !isForeach && strings.EqualFold(c.Name, "items") {
			return fmt.Errorf("items('%s') needs a Foreach loop", name)
		}
	case "variables":
		if _, ok := v.vars[strings.ToLower(name)]; !ok {
			return fmt.Errorf("variables('%s') refers to a variable that no InitializeVariable action declares", name)
		}
	case "parameters":
		if _, ok := v.def.Parameters[name]; ok {
			return nil
		}
		if _, ok := v.env.Parameters[name]; ok {
			return nil
		}
		if strings.HasPrefix(name, "$") {
			return nil // Power Automate's $connections and $authentication
		}
		return fmt.Errorf("parameters('%s') refers to a parameter that is neither declared in the definition nor in parameters.json", name)
	case "appsetting":
		if v.env.AppSetting != nil {
			if _, ok := v.env.AppSetting(name); !ok {
				return fmt.Errorf("appsetting('%s'): the app setting is not set (%s)", name, secrets.Rule)
			}
		}
	}
	return nil
}

func (v *validator) findAction(name string) (*Action, bool) {
	k, ok := foldName(v.actions, name)
	return v.actions[k], ok
}

// schema reports every reason a JSON schema is refused at its path inside
// the definition.
func (v *validator) schema(path string, s any) {
	_, err := compileSchema(s)
	var ps SchemaProblems
	if !errors.As(err, &ps) {
		if err != nil {
			v.add(path, "invalid JSON schema: %v", err)
		}
		return
	}
	for _, p := range ps {
		at := path
		if p.Path != "" {
			at += "." + p.Path
		}
		v.add(at, "invalid JSON schema: %s", p.Message)
	}
}
