package function

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Route is a parsed httpTrigger route template in ASP.NET Core's syntax, as
// Azure Functions uses it: "products/{category:alpha}/{id:int?}", "files/{*path}".
type Route struct {
	Template string
	segs     []segment
}

type segment struct {
	literal    string // lower-cased; empty for a parameter
	name       string
	optional   bool
	catchAll   bool
	constraint []constraint
}

type constraint struct {
	name string
	args []string
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseRoute parses a route template.
func ParseRoute(tmpl string) (*Route, error) {
	t := strings.Trim(tmpl, "/")
	if strings.ContainsAny(t, "?#") && !strings.Contains(t, "{") {
		return nil, fmt.Errorf("%q: a route holds no query or fragment", tmpl)
	}
	r := &Route{Template: tmpl}
	if t == "" {
		return nil, fmt.Errorf("the route is empty")
	}
	seen := map[string]bool{}
	parts := strings.Split(t, "/")
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%q: empty segment", tmpl)
		}
		if !strings.HasPrefix(p, "{") {
			if strings.ContainsAny(p, "{}") {
				return nil, fmt.Errorf("%q: segment %q mixes text and parameters, which Junction does not support", tmpl, p)
			}
			r.segs = append(r.segs, segment{literal: strings.ToLower(p)})
			continue
		}
		if !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 || strings.Count(p, "}") != 1 {
			return nil, fmt.Errorf("%q: segment %q must be one {parameter}", tmpl, p)
		}
		s, err := parseParam(p[1 : len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", tmpl, err)
		}
		if s.catchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("%q: the catch-all parameter {*%s} must be last", tmpl, s.name)
		}
		if seen[strings.ToLower(s.name)] {
			return nil, fmt.Errorf("%q: parameter %q appears twice", tmpl, s.name)
		}
		seen[strings.ToLower(s.name)] = true
		r.segs = append(r.segs, s)
	}
	for i, s := range r.segs {
		if s.optional && i != len(r.segs)-1 {
			for _, after := range r.segs[i+1:] {
				if !after.optional && !after.catchAll {
					return nil, fmt.Errorf("%q: optional parameter %q must come after every required segment", tmpl, s.name)
				}
			}
		}
	}
	return r, nil
}

func parseParam(p string) (segment, error) {
	var s segment
	if strings.HasPrefix(p, "*") {
		s.catchAll = true
		p = strings.TrimPrefix(strings.TrimPrefix(p, "*"), "*")
	}
	if strings.HasSuffix(p, "?") {
		s.optional = true
		p = strings.TrimSuffix(p, "?")
	}
	name, rest, _ := strings.Cut(p, ":")
	if !paramName.MatchString(name) {
		return s, fmt.Errorf("parameter name %q is not valid", name)
	}
	s.name = name
	for rest != "" {
		var c string
		c, rest = cutConstraint(rest)
		cn, args, err := parseConstraint(c)
		if err != nil {
			return s, fmt.Errorf("parameter %q: %w", name, err)
		}
		s.constraint = append(s.constraint, constraint{cn, args})
	}
	return s, nil
}

// cutConstraint splits "range(1,2):int" at the first colon outside parentheses.
func cutConstraint(s string) (string, string) {
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

var constraintArgs = map[string]int{
	"int": 0, "long": 0, "bool": 0, "alpha": 0, "guid": 0, "double": 0, "float": 0, "decimal": 0, "datetime": 0,
	"minlength": 1, "maxlength": 1, "length": 1, "min": 1, "max": 1, "range": 2,
}

func parseConstraint(c string) (string, []string, error) {
	name, args := c, []string(nil)
	if i := strings.Index(c, "("); i >= 0 {
		if !strings.HasSuffix(c, ")") {
			return "", nil, fmt.Errorf("constraint %q is missing a closing parenthesis", c)
		}
		name = c[:i]
		args = strings.Split(c[i+1:len(c)-1], ",")
	}
	name = strings.ToLower(name)
	want, ok := constraintArgs[name]
	if !ok {
		return "", nil, fmt.Errorf("constraint %q is not supported", name)
	}
	if len(args) != want {
		return "", nil, fmt.Errorf("constraint %q takes %d arguments", name, want)
	}
	for _, a := range args {
		if _, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil {
			return "", nil, fmt.Errorf("constraint %q: %q is not an integer", name, a)
		}
	}
	return name, args, nil
}

// Shape identifies routes that would match the same paths.
func (r *Route) Shape() string {
	var b strings.Builder
	for _, s := range r.segs {
		b.WriteByte('/')
		switch {
		case s.literal != "":
			b.WriteString(s.literal)
		case s.catchAll:
			b.WriteString("{*}")
		default:
			b.WriteString("{}" + fmt.Sprint(s.constraint))
		}
	}
	return b.String()
}

// literals counts literal segments, for match precedence.
func (r *Route) literals() int {
	n := 0
	for _, s := range r.segs {
		if s.literal != "" {
			n++
		}
	}
	return n
}

// Match matches a path below the route prefix ("products/books/7") and returns
// the parameters.
func (r *Route) Match(p string) (map[string]string, bool) {
	p = strings.Trim(p, "/")
	var parts []string
	if p != "" {
		parts = strings.Split(p, "/")
	}
	params := map[string]string{}
	for i, s := range r.segs {
		if s.catchAll {
			// A catch-all may match nothing, as in ASP.NET Core.
			rest := strings.Join(parts[min(i, len(parts)):], "/")
			if rest != "" {
				params[s.name] = rest
			}
			return params, true
		}
		if i >= len(parts) {
			if s.optional {
				continue
			}
			return nil, false
		}
		if s.literal != "" {
			if strings.ToLower(parts[i]) != s.literal {
				return nil, false
			}
			continue
		}
		if !s.accepts(parts[i]) {
			return nil, false
		}
		params[s.name] = parts[i]
	}
	if len(parts) > len(r.segs) {
		return nil, false
	}
	return params, true
}

func (s segment) accepts(v string) bool {
	for _, c := range s.constraint {
		if !c.accepts(v) {
			return false
		}
	}
	return true
}

func (c constraint) accepts(v string) bool {
	arg := func(i int) int64 { n, _ := strconv.ParseInt(strings.TrimSpace(c.args[i]), 10, 64); return n }
	switch c.name {
	case "int":
		_, err := strconv.ParseInt(v, 10, 32)
		return err == nil
	case "long":
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case "bool":
		_, err := strconv.ParseBool(strings.ToLower(v))
		return err == nil && (strings.EqualFold(v, "true") || strings.EqualFold(v, "false"))
	case "alpha":
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
		return v != ""
	case "guid":
		return guidRE.MatchString(v)
	case "double", "float", "decimal":
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case "datetime":
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
			if _, err := time.Parse(layout, v); err == nil {
				return true
			}
		}
		return false
	case "minlength":
		return int64(len([]rune(v))) >= arg(0)
	case "maxlength":
		return int64(len([]rune(v))) <= arg(0)
	case "length":
		return int64(len([]rune(v))) == arg(0)
	case "min", "max", "range":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		switch c.name {
		case "min":
			return n >= arg(0)
		case "max":
			return n <= arg(0)
		}
		return n >= arg(0) && n <= arg(1)
	}
	return false
}

var guidRE = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`)
