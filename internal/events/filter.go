package events

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Filter limits, as Event Grid has them.
const (
	MaxAdvancedFilters = 25
	MaxFilterValues    = 25
	MaxFilterString    = 512
)

// Filter selects the events a subscription receives: event types, subject prefix
// and suffix, and advanced filters (ANDed; values within one filter ORed).
type Filter struct {
	IncludedEventTypes              []string         `json:"includedEventTypes,omitempty" yaml:"includedEventTypes"`
	SubjectBeginsWith               string           `json:"subjectBeginsWith,omitempty" yaml:"subjectBeginsWith"`
	SubjectEndsWith                 string           `json:"subjectEndsWith,omitempty" yaml:"subjectEndsWith"`
	IsSubjectCaseSensitive          bool             `json:"isSubjectCaseSensitive,omitempty" yaml:"isSubjectCaseSensitive"`
	EnableAdvancedFilteringOnArrays bool             `json:"enableAdvancedFilteringOnArrays,omitempty" yaml:"enableAdvancedFilteringOnArrays"`
	AdvancedFilters                 []AdvancedFilter `json:"advancedFilters,omitempty" yaml:"advancedFilters"`
}

// AdvancedFilter is one condition on an envelope key or a data.x.y path. Value
// is for single-value operators (NumberLessThan..., BoolEquals); Values for the
// others (NumberInRange takes [[low,high],...]).
type AdvancedFilter struct {
	OperatorType string `json:"operatorType" yaml:"operatorType"`
	Key          string `json:"key" yaml:"key"`
	Value        any    `json:"value,omitempty" yaml:"value"`
	Values       []any  `json:"values,omitempty" yaml:"values"`
}

type opKind int

const (
	opNumberList opKind = iota
	opNumberOne
	opNumberRange
	opBool
	opString
	opNone
)

var operators = map[string]struct {
	kind   opKind
	negate bool
}{
	"NumberIn": {opNumberList, false}, "NumberNotIn": {opNumberList, true},
	"NumberLessThan": {opNumberOne, false}, "NumberGreaterThan": {opNumberOne, false},
	"NumberLessThanOrEquals": {opNumberOne, false}, "NumberGreaterThanOrEquals": {opNumberOne, false},
	"NumberInRange": {opNumberRange, false}, "NumberNotInRange": {opNumberRange, true},
	"BoolEquals":     {opBool, false},
	"StringContains": {opString, false}, "StringNotContains": {opString, true},
	"StringBeginsWith": {opString, false}, "StringNotBeginsWith": {opString, true},
	"StringEndsWith": {opString, false}, "StringNotEndsWith": {opString, true},
	"StringIn": {opString, false}, "StringNotIn": {opString, true},
	"IsNullOrUndefined": {opNone, false}, "IsNotNull": {opNone, false},
}

// normalize checks the filter against the operators and limits. A nil filter
// matches everything.
func (f *Filter) normalize() error {
	if f == nil {
		return nil
	}
	if len(f.AdvancedFilters) > MaxAdvancedFilters {
		return fieldErr("properties.filter.advancedFilters", "at most %d advanced filters are allowed, not %d", MaxAdvancedFilters, len(f.AdvancedFilters))
	}
	for i, t := range f.IncludedEventTypes {
		if t == "" || len(t) > MaxFilterString {
			return fieldErr(fmt.Sprintf("properties.filter.includedEventTypes[%d]", i), "must be 1..%d characters", MaxFilterString)
		}
	}
	if len(f.SubjectBeginsWith) > MaxFilterString || len(f.SubjectEndsWith) > MaxFilterString {
		return fieldErr("properties.filter.subjectBeginsWith", "subject filters are limited to %d characters", MaxFilterString)
	}
	total := 0
	for i := range f.AdvancedFilters {
		a := &f.AdvancedFilters[i]
		field := fmt.Sprintf("properties.filter.advancedFilters[%d]", i)
		op, ok := operators[a.OperatorType]
		if !ok {
			return fieldErr(field+".operatorType", "unknown operator %q", a.OperatorType)
		}
		if a.Key == "" || len(a.Key) > MaxFilterString {
			return fieldErr(field+".key", "is required (at most %d characters)", MaxFilterString)
		}
		switch op.kind {
		case opNumberOne:
			if a.Values != nil {
				return fieldErr(field+".values", "%s takes one value", a.OperatorType)
			}
			if _, ok := toNumber(a.Value); !ok {
				return fieldErr(field+".value", "%s needs a number", a.OperatorType)
			}
			a.Value, _ = toNumber(a.Value)
			total++
		case opBool:
			if _, ok := a.Value.(bool); !ok || a.Values != nil {
				return fieldErr(field+".value", "BoolEquals needs a boolean value")
			}
			total++
		case opNone:
			if a.Value != nil || a.Values != nil {
				return fieldErr(field, "%s takes no value", a.OperatorType)
			}
		case opNumberList:
			if a.Value != nil || len(a.Values) == 0 {
				return fieldErr(field+".values", "%s needs a list of numbers", a.OperatorType)
			}
			for j, v := range a.Values {
				n, ok := toNumber(v)
				if !ok {
					return fieldErr(fmt.Sprintf("%s.values[%d]", field, j), "must be a number")
				}
				a.Values[j] = n
			}
			total += len(a.Values)
		case opNumberRange:
			if a.Value != nil || len(a.Values) == 0 {
				return fieldErr(field+".values", "%s needs a list of [low, high] ranges", a.OperatorType)
			}
			for j, v := range a.Values {
				pair, ok := v.([]any)
				if !ok || len(pair) != 2 {
					return fieldErr(fmt.Sprintf("%s.values[%d]", field, j), "must be a [low, high] pair")
				}
				lo, ok1 := toNumber(pair[0])
				hi, ok2 := toNumber(pair[1])
				if !ok1 || !ok2 || lo > hi {
					return fieldErr(fmt.Sprintf("%s.values[%d]", field, j), "must be a [low, high] pair of numbers with low <= high")
				}
				a.Values[j] = []any{lo, hi}
			}
			total += len(a.Values)
		case opString:
			if a.Value != nil || len(a.Values) == 0 {
				return fieldErr(field+".values", "%s needs a list of strings", a.OperatorType)
			}
			for j, v := range a.Values {
				s, ok := v.(string)
				if !ok || len(s) > MaxFilterString {
					return fieldErr(fmt.Sprintf("%s.values[%d]", field, j), "must be a string of at most %d characters", MaxFilterString)
				}
			}
			total += len(a.Values)
		}
	}
	if total > MaxFilterValues {
		return fieldErr("properties.filter.advancedFilters", "at most %d filter values are allowed across all advanced filters, not %d", MaxFilterValues, total)
	}
	return nil
}

func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// Match reports whether e passes the filter. A nil filter matches everything.
func (f *Filter) Match(e *Event) bool {
	if f == nil {
		return true
	}
	if len(f.IncludedEventTypes) > 0 {
		ok := false
		for _, t := range f.IncludedEventTypes {
			if strings.EqualFold(t, e.Type) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	subject, begins, ends := e.Subject, f.SubjectBeginsWith, f.SubjectEndsWith
	if !f.IsSubjectCaseSensitive {
		subject, begins, ends = strings.ToLower(subject), strings.ToLower(begins), strings.ToLower(ends)
	}
	if !strings.HasPrefix(subject, begins) || !strings.HasSuffix(subject, ends) {
		return false
	}
	if len(f.AdvancedFilters) == 0 {
		return true
	}
	env := e.envelope()
	for i := range f.AdvancedFilters {
		if !f.AdvancedFilters[i].match(env, f.EnableAdvancedFilteringOnArrays) {
			return false
		}
	}
	return true
}

// lookup finds key (data.x.y or an envelope attribute) in env; exact names
// first, then case-insensitively.
func lookup(env map[string]any, key string) (any, bool) {
	var cur any = env
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[part]
		if !ok {
			found := false
			for k, x := range m {
				if strings.EqualFold(k, part) {
					v, found = x, true
					break
				}
			}
			if !found {
				return nil, false
			}
		}
		cur = v
	}
	return cur, true
}

func (a *AdvancedFilter) match(env map[string]any, arrays bool) bool {
	op := operators[a.OperatorType]
	v, present := lookup(env, a.Key)
	switch a.OperatorType {
	case "IsNullOrUndefined":
		return !present || v == nil
	case "IsNotNull":
		return present && v != nil
	}
	if !present || v == nil {
		// A missing key fails every positive condition and passes every negated one.
		return op.negate
	}
	if list, ok := v.([]any); ok {
		if !arrays {
			return false
		}
		if op.negate {
			for _, x := range list {
				if !a.matchOne(x) {
					return false
				}
			}
			return true
		}
		for _, x := range list {
			if a.matchOne(x) {
				return true
			}
		}
		return false
	}
	return a.matchOne(v)
}

// matchOne evaluates the operator against one scalar value. A value of the
// wrong type does not match, negated operators included.
func (a *AdvancedFilter) matchOne(v any) bool {
	op := operators[a.OperatorType]
	switch op.kind {
	case opNumberOne, opNumberList, opNumberRange:
		n, ok := v.(float64)
		if !ok {
			return false
		}
		switch a.OperatorType {
		case "NumberLessThan":
			return n < a.Value.(float64)
		case "NumberGreaterThan":
			return n > a.Value.(float64)
		case "NumberLessThanOrEquals":
			return n <= a.Value.(float64)
		case "NumberGreaterThanOrEquals":
			return n >= a.Value.(float64)
		}
		hit := false
		for _, x := range a.Values {
			if op.kind == opNumberList {
				if x.(float64) == n {
					hit = true
				}
			} else if r := x.([]any); n >= r[0].(float64) && n <= r[1].(float64) {
				hit = true
			}
		}
		return hit != op.negate
	case opBool:
		b, ok := v.(bool)
		return ok && b == a.Value.(bool)
	case opString:
		s, ok := v.(string)
		if !ok {
			return false
		}
		s = strings.ToLower(s)
		hit := false
		for _, x := range a.Values {
			want := strings.ToLower(x.(string))
			switch a.OperatorType {
			case "StringContains", "StringNotContains":
				hit = strings.Contains(s, want)
			case "StringBeginsWith", "StringNotBeginsWith":
				hit = strings.HasPrefix(s, want)
			case "StringEndsWith", "StringNotEndsWith":
				hit = strings.HasSuffix(s, want)
			case "StringIn", "StringNotIn":
				hit = s == want
			}
			if hit {
				break
			}
		}
		return hit != op.negate
	}
	return false
}
