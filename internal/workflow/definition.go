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
	"strings"

	"junction/internal/workflow/expr"
)

// File is a workflow.json of a Logic Apps Standard project.
type File struct {
	Definition *Definition `json:"definition"`
	// Kind is Stateful (runs persisted) or Stateless (runs in memory).
	Kind string `json:"kind,omitempty"`
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
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	f := &File{}
	switch {
	case probe["definition"] != nil:
		var shape struct {
			Definition json.RawMessage `json:"definition"`
			Kind       string          `json:"kind"`
		}
		if err := json.Unmarshal(data, &shape); err != nil {
			return nil, err
		}
		f.Kind = shape.Kind
		data = shape.Definition
	case probe["properties"] != nil:
		var shape struct {
			Properties struct {
				Definition json.RawMessage `json:"definition"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(data, &shape); err != nil {
			return nil, err
		}
		if shape.Properties.Definition == nil {
			return nil, fmt.Errorf("properties.definition is missing")
		}
		data = shape.Properties.Definition
	}
	d, err := ParseDefinition(data)
	if err != nil {
		return nil, err
	}
	f.Definition = d
	if f.Kind == "" {
		f.Kind = "Stateful"
	}
	return f, nil
}

// ParseDefinition decodes a definition; values stay as generic JSON with
// integers as int64.
func ParseDefinition(data []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("invalid definition: %w", err)
	}
	normalizeDefinition(&d)
	return &d, nil
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
