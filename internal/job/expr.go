package job

import (
	"fmt"
	"strconv"
	"strings"

	"junction/internal/job/format"
)

// An expression is a small subset of the workflow expression language, enough
// for column mappings: string literals in single quotes (” escapes a quote),
// integers, field('Source Column'), and the functions concat, toUpper, toLower,
// trim, substring(text, start, length), replace(text, old, new), coalesce(a, b, ...)
// and if(equals(a, b), then, else).
type expr interface {
	eval(fields map[string]any) (any, error)
}

type lit struct{ v any }
type call struct {
	fn   string
	args []expr
}

func (l lit) eval(map[string]any) (any, error) { return l.v, nil }

var exprFuncs = map[string][2]int{ // name: min, max arguments (-1: any)
	"field": {1, 1}, "concat": {1, -1}, "toUpper": {1, 1}, "toLower": {1, 1}, "trim": {1, 1},
	"substring": {2, 3}, "replace": {3, 3}, "coalesce": {1, -1}, "if": {3, 3}, "equals": {2, 2},
}

func (c call) eval(fields map[string]any) (any, error) {
	args := make([]any, len(c.args))
	if c.fn != "if" && c.fn != "coalesce" {
		for i, a := range c.args {
			v, err := a.eval(fields)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	str := func(i int) string { return format.Text(args[i]) }
	switch c.fn {
	case "field":
		return fieldValue(fields, str(0)), nil
	case "concat":
		var b strings.Builder
		for i := range args {
			b.WriteString(str(i))
		}
		return b.String(), nil
	case "toUpper":
		return strings.ToUpper(str(0)), nil
	case "toLower":
		return strings.ToLower(str(0)), nil
	case "trim":
		return strings.TrimSpace(str(0)), nil
	case "replace":
		return strings.ReplaceAll(str(0), str(1), str(2)), nil
	case "equals":
		return str(0) == str(1), nil
	case "substring":
		r := []rune(str(0))
		start, err := strconv.Atoi(str(1))
		if err != nil || start < 0 || start > len(r) {
			return nil, fmt.Errorf("substring: start %s is outside the text", str(1))
		}
		end := len(r)
		if len(args) == 3 {
			n, err := strconv.Atoi(str(2))
			if err != nil || n < 0 || start+n > len(r) {
				return nil, fmt.Errorf("substring: length %s runs past the text", str(2))
			}
			end = start + n
		}
		return string(r[start:end]), nil
	case "coalesce":
		for _, a := range c.args {
			v, err := a.eval(fields)
			if err != nil {
				return nil, err
			}
			if v != nil && format.Text(v) != "" {
				return v, nil
			}
		}
		return nil, nil
	case "if":
		cond, err := c.args[0].eval(fields)
		if err != nil {
			return nil, err
		}
		if b, _ := cond.(bool); b {
			return c.args[1].eval(fields)
		}
		return c.args[2].eval(fields)
	}
	return nil, fmt.Errorf("unknown function %s", c.fn)
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

type exprParser struct {
	s   string
	pos int
}

// parseExpr parses an expression; an optional leading @ (as in workflow
// definitions) is allowed.
func parseExpr(s string) (expr, error) {
	p := &exprParser{s: strings.TrimPrefix(strings.TrimSpace(s), "@")}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("expression: unexpected %q at %d", p.s[p.pos:], p.pos+1)
	}
	return e, nil
}

func (p *exprParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *exprParser) expr(depth int) (expr, error) {
	if depth > 32 {
		return nil, fmt.Errorf("expression: nested too deeply")
	}
	p.space()
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("expression: ends early")
	}
	c := p.s[p.pos]
	switch {
	case c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(p.s) {
				return nil, fmt.Errorf("expression: a string is not closed")
			}
			if p.s[p.pos] == '\'' {
				if p.pos+1 < len(p.s) && p.s[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos += 2
					continue
				}
				p.pos++
				return lit{b.String()}, nil
			}
			b.WriteByte(p.s[p.pos])
			p.pos++
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expression: bad number %q", p.s[start:p.pos])
		}
		return lit{n}, nil
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z' || p.s[p.pos] >= 'A' && p.s[p.pos] <= 'Z') {
			p.pos++
		}
		name := p.s[start:p.pos]
		switch name {
		case "null":
			return lit{nil}, nil
		case "true", "false":
			return lit{name == "true"}, nil
		}
		arity, ok := exprFuncs[name]
		if !ok {
			return nil, fmt.Errorf("expression: unknown function %q (known: concat, toUpper, toLower, trim, substring, replace, coalesce, if, equals, field)", name)
		}
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != '(' {
			return nil, fmt.Errorf("expression: %s needs (", name)
		}
		p.pos++
		var args []expr
		p.space()
		if p.pos < len(p.s) && p.s[p.pos] == ')' {
			p.pos++
		} else {
			for {
				a, err := p.expr(depth + 1)
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				p.space()
				if p.pos >= len(p.s) {
					return nil, fmt.Errorf("expression: %s( is not closed", name)
				}
				if p.s[p.pos] == ',' {
					p.pos++
					continue
				}
				if p.s[p.pos] == ')' {
					p.pos++
					break
				}
				return nil, fmt.Errorf("expression: unexpected %q at %d", p.s[p.pos], p.pos+1)
			}
		}
		if len(args) < arity[0] || (arity[1] >= 0 && len(args) > arity[1]) {
			return nil, fmt.Errorf("expression: %s takes %d to %d arguments, not %d", name, arity[0], arity[1], len(args))
		}
		return call{name, args}, nil
	}
	return nil, fmt.Errorf("expression: unexpected %q at %d", c, p.pos+1)
}
