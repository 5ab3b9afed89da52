package job

import (
	"errors"
	"fmt"
	"strings"
	"time"

	wexpr "junction/internal/expr"
)

// An expression is written in the workflow expression language, with its
// whole function library; item() is the source row, and field('Column') is a
// shorthand for item()?['Column']. The other workflow functions (trigger,
// body, variables, ...) have nothing to refer to in a job and are refused.
type expr struct {
	n wexpr.Node
}

// parseExpr parses an expression; an optional leading @ (as in workflow
// definitions) is allowed, as is the @{...} form.
func parseExpr(s string) (*expr, error) {
	src := strings.TrimSpace(s)
	if strings.HasPrefix(src, "@{") && strings.HasSuffix(src, "}") {
		src = src[2 : len(src)-1]
	}
	src = strings.TrimPrefix(src, "@")
	n, err := wexpr.Parse(src)
	if err != nil {
		return nil, err
	}
	n = rewriteField(n)
	errs := wexpr.Check(n, func(c *wexpr.Call) error {
		if wexpr.IsWorkflowFunction(c.Name) && !strings.EqualFold(c.Name, "item") {
			return fmt.Errorf("%s() has nothing to refer to in a job mapping: item() is the source row", c.Name)
		}
		return nil
	})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return &expr{n: n}, nil
}

// rewriteField turns field(X) into item()?[X].
func rewriteField(n wexpr.Node) wexpr.Node {
	switch x := n.(type) {
	case *wexpr.Call:
		for i, a := range x.Args {
			x.Args[i] = rewriteField(a)
		}
		if strings.EqualFold(x.Name, "field") && len(x.Args) == 1 {
			return &wexpr.Index{Pos: x.Pos, X: &wexpr.Call{Pos: x.Pos, Name: "item"}, Key: x.Args[0], Safe: true}
		}
	case *wexpr.Index:
		x.X, x.Key = rewriteField(x.X), rewriteField(x.Key)
	}
	return n
}

// rowScope answers item() with the source row.
type rowScope struct{ fields map[string]any }

func (s rowScope) Workflow(name string, args []any) (any, error) {
	if strings.EqualFold(name, "item") {
		return wexpr.Normalize(deepCopy(s.fields)), nil // Normalize changes what it is given
	}
	return nil, errors.New(name + "() has nothing to refer to in a job mapping")
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

func (rowScope) Now() time.Time { return time.Now() }

func (e *expr) eval(fields map[string]any) (any, error) {
	v, err := wexpr.Eval(e.n, rowScope{fields})
	if err != nil {
		var ee *wexpr.EvalError
		if errors.As(err, &ee) {
			return nil, errors.New(ee.Msg)
		}
	}
	return v, err
}

// fieldValue returns a source field; "a.b" reaches into nested objects when
// there is no field named "a.b" itself.
func fieldValue(fields map[string]any, name string) any {
	if v, ok := fields[name]; ok {
		return v
	}
	if !strings.Contains(name, ".") {
		return nil
	}
	var cur any = fields
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
