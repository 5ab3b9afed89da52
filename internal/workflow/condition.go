package workflow

import (
	"fmt"
	"strings"

	"junction/internal/expr"
)

// conditionNode checks an expression object such as
// {"and":[{"equals":["@body('A')?['x']","y"]},{"not":{"contains":[...]}}]}.
func conditionNode(c map[string]any) (bool, error) {
	if len(c) != 1 {
		return false, fmt.Errorf("a condition object has exactly one operator, found %d", len(c))
	}
	for op, arg := range c {
		switch strings.ToLower(op) {
		case "and", "or":
			list, ok := arg.([]any)
			if !ok || len(list) == 0 {
				return false, fmt.Errorf("%s needs a non-empty array of conditions", op)
			}
			for _, x := range list {
				m, ok := x.(map[string]any)
				if !ok {
					return false, fmt.Errorf("%s needs condition objects", op)
				}
				if _, err := conditionNode(m); err != nil {
					return false, err
				}
			}
		case "not":
			m, ok := arg.(map[string]any)
			if !ok {
				return false, fmt.Errorf("not needs a condition object")
			}
			return conditionNode(m)
		default:
			f, ok := expr.Lookup(op)
			if !ok || f.Workflow {
				return false, fmt.Errorf("unknown condition operator %q", op)
			}
			if _, ok := arg.([]any); !ok {
				return false, fmt.Errorf("%s needs an array of operands", op)
			}
		}
	}
	return true, nil
}

// evalCondition evaluates an expression object with operands resolved by
// resolve.
func evalCondition(c map[string]any, resolve func(any) (any, error), scope expr.Scope) (bool, error) {
	for op, arg := range c {
		switch strings.ToLower(op) {
		case "and", "or":
			and := strings.EqualFold(op, "and")
			for _, x := range arg.([]any) {
				m, _ := x.(map[string]any)
				ok, err := evalCondition(m, resolve, scope)
				if err != nil {
					return false, err
				}
				if and && !ok {
					return false, nil
				}
				if !and && ok {
					return true, nil
				}
			}
			return and, nil
		case "not":
			m, _ := arg.(map[string]any)
			ok, err := evalCondition(m, resolve, scope)
			return !ok, err
		default:
			list, _ := arg.([]any)
			call := &expr.Call{Name: op}
			for _, x := range list {
				v, err := resolve(x)
				if err != nil {
					return false, err
				}
				call.Args = append(call.Args, &expr.Lit{Value: v})
			}
			v, err := expr.Eval(call, scope)
			if err != nil {
				return false, err
			}
			return expr.Truthy(v)
		}
	}
	return false, fmt.Errorf("empty condition")
}
