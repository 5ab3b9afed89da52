// Package workflow runs workflow definitions written in the Workflow
// Definition Language of Logic Apps and Power Automate: the definition model
// and its validator, the durable engine (runs, actions, retries, timeouts,
// leases), the built-in actions and triggers, the run history store, the
// management API and the Logic Apps Standard project loader. The expression
// language lives in the expr subpackage.
package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"junction/internal/expr"
	"junction/internal/project"
)

// File is a workflow.json of a Logic Apps Standard project.
type File struct {
	Definition *Definition `json:"definition"`
	// Kind is Stateful (runs persisted) or Stateless (runs in memory).
	Kind string `json:"kind,omitempty"`
	// FlowName is a Power Automate export's flow name (its "name"), which
	// child flow actions use as host.workflowReferenceName.
	FlowName string `json:"flowName,omitempty"`
}

// Definition is a workflow definition.
type Definition struct {
	Schema         string                `json:"$schema,omitempty"`
	ContentVersion string                `json:"contentVersion,omitempty"`
	Parameters     map[string]*ParamDef  `json:"parameters,omitempty"`
	Triggers       map[string]*Trigger   `json:"triggers,omitempty"`
	Actions        map[string]*Action    `json:"actions,omitempty"`
	Outputs        map[string]*OutputDef `json:"outputs,omitempty"`
	StaticResults  map[string]any        `json:"staticResults,omitempty"`
}

// ParamDef declares a workflow parameter.
type ParamDef struct {
	Type          string `json:"type"`
	DefaultValue  any    `json:"defaultValue,omitempty"`
	AllowedValues []any  `json:"allowedValues,omitempty"`
	Metadata      any    `json:"metadata,omitempty"`
	Value         any    `json:"value,omitempty"`
}

// OutputDef is one output of the definition.
type OutputDef struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Trigger is one trigger of the definition.
type Trigger struct {
	Type                 string         `json:"type"`
	Kind                 string         `json:"kind,omitempty"`
	Inputs               any            `json:"inputs,omitempty"`
	Recurrence           *Recurrence    `json:"recurrence,omitempty"`
	Conditions           []Condition    `json:"conditions,omitempty"`
	SplitOn              string         `json:"splitOn,omitempty"`
	OperationOptions     string         `json:"operationOptions,omitempty"`
	RuntimeConfiguration *RuntimeConfig `json:"runtimeConfiguration,omitempty"`
	Correlation          *Correlation   `json:"correlation,omitempty"`
	Metadata             any            `json:"metadata,omitempty"`
	Description          string         `json:"description,omitempty"`
}

// Correlation carries a client tracking id expression.
type Correlation struct {
	ClientTrackingID string `json:"clientTrackingId,omitempty"`
}

// Condition is a trigger condition.
type Condition struct {
	Expression string `json:"expression"`
}

// Recurrence is a Recurrence trigger's schedule.
type Recurrence struct {
	Frequency string    `json:"frequency"`
	Interval  int       `json:"interval"`
	StartTime string    `json:"startTime,omitempty"`
	EndTime   string    `json:"endTime,omitempty"`
	TimeZone  string    `json:"timeZone,omitempty"`
	Schedule  *Schedule `json:"schedule,omitempty"`
}

// Schedule refines a Recurrence.
type Schedule struct {
	Hours     []int    `json:"hours,omitempty"`
	Minutes   []int    `json:"minutes,omitempty"`
	WeekDays  []string `json:"weekDays,omitempty"`
	MonthDays []int    `json:"monthDays,omitempty"`
}

// UnmarshalJSON reads a recurrence as Logic Apps does: the interval may be
// written as a number or a numeric string ("interval": "1").
func (r *Recurrence) UnmarshalJSON(data []byte) error {
	type plain Recurrence
	var aux struct {
		plain
		Interval json.RawMessage `json:"interval"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*r = Recurrence(aux.plain)
	if len(aux.Interval) > 0 {
		ns, err := lenientInts(aux.Interval, "recurrence.interval")
		if err != nil {
			return err
		}
		if len(ns) != 1 {
			return fmt.Errorf("recurrence.interval must be one number")
		}
		r.Interval = ns[0]
	}
	return nil
}

// UnmarshalJSON reads a schedule as Logic Apps does: hours, minutes and
// month days may be numbers or numeric strings ("hours": ["6"]), in a list
// or alone.
func (s *Schedule) UnmarshalJSON(data []byte) error {
	type plain Schedule
	var aux struct {
		plain
		Hours     json.RawMessage `json:"hours"`
		Minutes   json.RawMessage `json:"minutes"`
		MonthDays json.RawMessage `json:"monthDays"`
		WeekDays  json.RawMessage `json:"weekDays"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*s = Schedule(aux.plain)
	var err error
	if s.Hours, err = lenientInts(aux.Hours, "schedule.hours"); err != nil {
		return err
	}
	if s.Minutes, err = lenientInts(aux.Minutes, "schedule.minutes"); err != nil {
		return err
	}
	if s.MonthDays, err = lenientInts(aux.MonthDays, "schedule.monthDays"); err != nil {
		return err
	}
	if len(aux.WeekDays) > 0 && string(aux.WeekDays) != "null" {
		var one string
		if json.Unmarshal(aux.WeekDays, &one) == nil {
			s.WeekDays = []string{one}
		} else if err := json.Unmarshal(aux.WeekDays, &s.WeekDays); err != nil {
			return fmt.Errorf("schedule.weekDays must be a list of day names")
		}
	}
	return nil
}

// lenientInts reads a number, a numeric string, or a list of them.
func lenientInts(raw json.RawMessage, field string) ([]int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s must be a list of numbers", field)
		}
	} else {
		items = []json.RawMessage{raw}
	}
	out := make([]int, 0, len(items))
	for _, it := range items {
		var n json.Number
		var str string
		switch {
		case json.Unmarshal(it, &n) == nil:
		case json.Unmarshal(it, &str) == nil:
			n = json.Number(strings.TrimSpace(str))
		default:
			return nil, fmt.Errorf("%s: %s is not a number", field, it)
		}
		i, err := strconv.Atoi(string(n))
		if err != nil {
			return nil, fmt.Errorf("%s: %s is not a whole number", field, it)
		}
		out = append(out, i)
	}
	return out, nil
}

// Action is one action of the definition.
type Action struct {
	Type                 string              `json:"type"`
	Kind                 string              `json:"kind,omitempty"`
	Inputs               any                 `json:"inputs,omitempty"`
	RunAfter             map[string][]string `json:"runAfter,omitempty"`
	Actions              map[string]*Action  `json:"actions,omitempty"`
	Else                 *Branch             `json:"else,omitempty"`
	Expression           any                 `json:"expression,omitempty"`
	Cases                map[string]*Case    `json:"cases,omitempty"`
	Default              *Branch             `json:"default,omitempty"`
	Foreach              any                 `json:"foreach,omitempty"`
	Limit                *Limit              `json:"limit,omitempty"`
	OperationOptions     string              `json:"operationOptions,omitempty"`
	RuntimeConfiguration *RuntimeConfig      `json:"runtimeConfiguration,omitempty"`
	TrackedProperties    map[string]any      `json:"trackedProperties,omitempty"`
	Metadata             any                 `json:"metadata,omitempty"`
	Description          string              `json:"description,omitempty"`
	// Tools are an Agent action's tools, each a set of nested actions.
	Tools map[string]*Tool `json:"tools,omitempty"`
}

// Tool is one tool of an Agent action: the actions it runs, what the model is
// told about it and the schema of the arguments the model passes
// (agentParameters()).
type Tool struct {
	Actions              map[string]*Action `json:"actions,omitempty"`
	Description          string             `json:"description,omitempty"`
	AgentParameterSchema map[string]any     `json:"agentParameterSchema,omitempty"`
}

// Branch is an else or default branch.
type Branch struct {
	Actions map[string]*Action `json:"actions,omitempty"`
}

// Case is one case of a Switch.
type Case struct {
	Case    any                `json:"case"`
	Actions map[string]*Action `json:"actions,omitempty"`
}

// Limit bounds an action: Until's count and timeout, any action's timeout.
type Limit struct {
	Count   any    `json:"count,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// RuntimeConfig is an action's or trigger's runtimeConfiguration.
type RuntimeConfig struct {
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	SecureData  any          `json:"secureData,omitempty"`
	// Other settings (staticResult, paginationPolicy, ...) are kept as is.
	StaticResult     any `json:"staticResult,omitempty"`
	PaginationPolicy any `json:"paginationPolicy,omitempty"`
	ContentTransfer  any `json:"contentTransfer,omitempty"`
}

// Concurrency limits parallel repetitions (Foreach) or runs (triggers).
type Concurrency struct {
	Repetitions        int `json:"repetitions,omitempty"`
	Runs               int `json:"runs,omitempty"`
	MaximumWaitingRuns int `json:"maximumWaitingRuns,omitempty"`
}

// ParseFile reads a workflow file. It accepts the Logic Apps Standard shape
// ({"definition":..., "kind":...}), a Power Automate export
// ({"properties":{"definition":...}}) and a bare definition.
func ParseFile(data []byte) (*File, error) {
	data = project.StripBOM(data)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	// The definition is decoded from the whole file, so that a decoding
	// error's offset is the file's (project.JSONProblem words it).
	f := &File{}
	var d *Definition
	switch {
	case probe["definition"] != nil:
		var shape struct {
			Definition *Definition `json:"definition"`
			Kind       string      `json:"kind"`
		}
		if err := decodeNumbers(data, &shape); err != nil {
			return nil, err
		}
		f.Kind, d = shape.Kind, shape.Definition
	case probe["properties"] != nil:
		var shape struct {
			Name       string `json:"name"`
			Properties struct {
				Definition *Definition `json:"definition"`
			} `json:"properties"`
		}
		if err := decodeNumbers(data, &shape); err != nil {
			return nil, err
		}
		f.FlowName = shape.Name
		if shape.Properties.Definition == nil {
			return nil, fmt.Errorf("properties.definition is missing")
		}
		d = shape.Properties.Definition
	default:
		if err := decodeNumbers(data, &d); err != nil {
			return nil, err
		}
	}
	if d == nil {
		d = &Definition{}
	}
	normalizeDefinition(d)
	f.Definition = d
	if f.Kind == "" {
		f.Kind = "Stateful"
	}
	return f, nil
}

// ParseDefinition decodes a definition; values stay as generic JSON with
// integers as int64.
func ParseDefinition(data []byte) (*Definition, error) {
	var d Definition
	if err := decodeNumbers(data, &d); err != nil {
		return nil, err
	}
	normalizeDefinition(&d)
	return &d, nil
}

// decodeNumbers decodes JSON keeping numbers as json.Number.
func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func normalizeDefinition(d *Definition) {
	for _, p := range d.Parameters {
		p.DefaultValue = expr.Normalize(p.DefaultValue)
		p.Value = expr.Normalize(p.Value)
	}
	for _, t := range d.Triggers {
		if t != nil {
			t.Inputs = expr.Normalize(t.Inputs)
		}
	}
	for _, o := range d.Outputs {
		if o != nil {
			o.Value = expr.Normalize(o.Value)
		}
	}
	normalizeActions(d.Actions)
}

func normalizeActions(m map[string]*Action) {
	for _, a := range m {
		if a == nil {
			continue
		}
		// Logic Apps and Power Automate match action names ignoring case
		// (and a space for an underscore): runAfter keys take the name as
		// the set spells it.
		for pred, st := range a.RunAfter {
			if _, ok := m[pred]; ok {
				continue
			}
			if name, ok := foldName(m, pred); ok {
				delete(a.RunAfter, pred)
				a.RunAfter[name] = st
			}
		}
		a.Inputs = expr.Normalize(a.Inputs)
		a.Expression = expr.Normalize(a.Expression)
		a.Foreach = expr.Normalize(a.Foreach)
		if a.Limit != nil {
			a.Limit.Count = expr.Normalize(a.Limit.Count)
		}
		for k, v := range a.TrackedProperties {
			a.TrackedProperties[k] = expr.Normalize(v)
		}
		normalizeActions(a.Actions)
		if a.Else != nil {
			normalizeActions(a.Else.Actions)
		}
		if a.Default != nil {
			normalizeActions(a.Default.Actions)
		}
		for _, c := range a.Cases {
			if c != nil {
				c.Case = expr.Normalize(c.Case)
				normalizeActions(c.Actions)
			}
		}
		for _, t := range a.Tools {
			if t != nil {
				normalizeActions(t.Actions)
			}
		}
	}
}

// Children returns an action's nested action sets with their JSON paths
// relative to the action.
func (a *Action) Children() []ChildSet {
	var out []ChildSet
	if a.Actions != nil || isContainer(a.Type) {
		out = append(out, ChildSet{Path: "actions", Actions: a.Actions})
	}
	if a.Else != nil {
		out = append(out, ChildSet{Path: "else.actions", Actions: a.Else.Actions})
	}
	for _, name := range sortedKeys(a.Cases) {
		if c := a.Cases[name]; c != nil {
			out = append(out, ChildSet{Path: "cases." + name + ".actions", Actions: c.Actions})
		}
	}
	if a.Default != nil {
		out = append(out, ChildSet{Path: "default.actions", Actions: a.Default.Actions})
	}
	for _, name := range sortedKeys(a.Tools) {
		if t := a.Tools[name]; t != nil {
			out = append(out, ChildSet{Path: "tools." + name + ".actions", Actions: t.Actions})
		}
	}
	return out
}

// ChildSet is one nested set of actions.
type ChildSet struct {
	Path    string
	Actions map[string]*Action
}

func isContainer(t string) bool {
	switch strings.ToLower(t) {
	case "scope", "foreach", "until", "if":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// foldName finds the key of m that name designates: exactly, with spaces
// written as underscores, or ignoring case, as the designer's runtime
// resolves action and trigger names.
func foldName[V any](m map[string]V, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	u := strings.ReplaceAll(name, " ", "_")
	if _, ok := m[u]; ok {
		return u, true
	}
	for k := range m {
		if strings.EqualFold(k, name) || strings.EqualFold(k, u) {
			return k, true
		}
	}
	return "", false
}
