package odata

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Order is one $orderby item.
type Order struct {
	Path []string
	Desc bool
}

// Expand is one $expand item with its nested options.
type Expand struct {
	Nav     string
	Options *Query
}

// Query holds the system query options of a request.
type Query struct {
	Select  []string
	Filter  Expr
	OrderBy []Order
	Top     int // -1 when absent
	Count   bool
	Expand  []Expand
	Skip    string // $skiptoken
	Delta   string // $deltatoken
	Fetch   string // fetchXml
	Apply   string
}

// ParseQuery reads the system query options of values (see SplitQuery for
// reading them from a raw query string); unknown $options are errors, other
// parameters (aliases such as @p1) are allowed. Parameter aliases stand for
// values in $filter and for property paths in $filter and $orderby, as
// Dataverse allows.
func ParseQuery(values url.Values) (*Query, error) {
	aliases := AliasesOf(values)
	q := &Query{Top: -1}
	for k, vs := range values {
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		var err error
		switch strings.ToLower(k) {
		case "$select":
			q.Select, err = parseSelect(v)
		case "$filter":
			q.Filter, err = ParseFilter(v, aliases)
		case "$orderby":
			q.OrderBy, err = ParseOrderBy(v, aliases)
		case "$top":
			q.Top, err = parseTop(v)
		case "$count":
			q.Count, err = parseCount(v)
		case "$expand":
			q.Expand, err = ParseExpand(v, aliases)
		case "$skiptoken":
			q.Skip = v
		case "$deltatoken":
			q.Delta = v
		case "fetchxml":
			q.Fetch = v
		case "$apply":
			q.Apply = v
		case "$skip":
			err = fmt.Errorf("The query parameter $skip is not supported")
		case "$format", "$search":
			err = fmt.Errorf("the query option %s is not supported", k)
		default:
			if strings.HasPrefix(k, "$") {
				err = fmt.Errorf("The query parameter %s is not supported", k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return q, nil
}

// AliasesOf resolves parameter aliases from query values.
func AliasesOf(values url.Values) Aliases {
	return func(name string) (string, bool) {
		v, ok := values["@"+name]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
}

func parseTop(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return -1, fmt.Errorf("$top must be a non-negative integer")
	}
	return n, nil
}

func parseCount(v string) (bool, error) {
	switch strings.TrimSpace(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("$count must be true or false")
}

// parseSelect reads a comma-separated list of property names. Whitespace
// around names and one trailing comma ("name,revenue,") are accepted, as
// Dataverse accepts them.
func parseSelect(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, ",") && len(s) > 1 {
		s = s[:len(s)-1]
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty item in $select")
		}
		if f != "*" && !isIdent(f) {
			return nil, fmt.Errorf("%q is not a property name", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// isIdent reports whether s is one identifier without dots.
func isIdent(s string) bool {
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s, i) {
			return false
		}
	}
	return true
}

// ParseOrderBy parses "name asc,createdon desc"; aliases (may be nil)
// resolves an item written as a parameter alias ("@p1 desc" with @p1=name).
func ParseOrderBy(s string, aliases Aliases) ([]Order, error) {
	var out []Order
	for _, item := range strings.Split(s, ",") {
		f := strings.Fields(item)
		if len(f) == 0 || len(f) > 2 {
			return nil, fmt.Errorf("%q is not a valid $orderby item", strings.TrimSpace(item))
		}
		path := f[0]
		if strings.HasPrefix(path, "@") {
			v, ok := "", false
			if aliases != nil {
				v, ok = aliases(path[1:])
			}
			if !ok {
				return nil, fmt.Errorf("parameter alias %s has no value in the query string", path)
			}
			af := strings.Fields(v)
			if len(af) == 0 || len(af)+len(f)-1 > 2 {
				return nil, fmt.Errorf("parameter alias %s must name one property path", path)
			}
			f = append(af, f[1:]...)
			path = f[0]
		}
		o := Order{}
		for _, seg := range strings.Split(path, "/") {
			if !isIdent(seg) {
				return nil, fmt.Errorf("%q is not a property path", path)
			}
			o.Path = append(o.Path, seg)
		}
		if len(f) == 2 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				o.Desc = true
			default:
				return nil, fmt.Errorf("sort direction %q must be asc or desc", f[1])
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// splitTop splits s on sep outside parentheses and quotes.
func splitTop(s string, sep byte) ([]string, error) {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced parentheses")
			}
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 || inStr {
		return nil, fmt.Errorf("unbalanced parentheses or quotes")
	}
	return append(out, s[start:]), nil
}

// ParseExpand parses "nav1($select=a,b;$filter=...),nav2".
func ParseExpand(s string, aliases Aliases) ([]Expand, error) {
	return parseExpand(s, aliases, 0)
}

func parseExpand(s string, aliases Aliases, depth int) ([]Expand, error) {
	if depth > 5 {
		return nil, fmt.Errorf("$expand is nested too deeply")
	}
	items, err := splitTop(s, ',')
	if err != nil {
		return nil, err
	}
	var out []Expand
	for _, it := range items {
		it = strings.TrimSpace(it)
		e := Expand{Options: &Query{Top: -1}}
		name, opts := it, ""
		if i := strings.IndexByte(it, '('); i >= 0 {
			if !strings.HasSuffix(it, ")") {
				return nil, fmt.Errorf("%q: options must end with ')'", it)
			}
			name, opts = strings.TrimSpace(it[:i]), it[i+1:len(it)-1]
		}
		if !isIdent(name) {
			return nil, fmt.Errorf("%q is not a navigation property", name)
		}
		e.Nav = name
		if strings.TrimSpace(opts) != "" {
			parts, err := splitTop(opts, ';')
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			for _, p := range parts {
				if strings.TrimSpace(p) == "" {
					continue
				}
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return nil, fmt.Errorf("%q is not an option of $expand", p)
				}
				k = strings.ToLower(strings.TrimSpace(k))
				if seen[k] {
					return nil, fmt.Errorf("$expand %s: %s is given twice", name, k)
				}
				seen[k] = true
				switch k {
				case "$select":
					e.Options.Select, err = parseSelect(v)
				case "$filter":
					e.Options.Filter, err = ParseFilter(v, aliases)
				case "$orderby":
					e.Options.OrderBy, err = ParseOrderBy(v, aliases)
				case "$top":
					e.Options.Top, err = parseTop(v)
				case "$count":
					e.Options.Count, err = parseCount(v)
				case "$expand":
					e.Options.Expand, err = parseExpand(v, aliases, depth+1)
				default:
					err = fmt.Errorf("%s is not supported inside $expand", k)
				}
				if err != nil {
					return nil, fmt.Errorf("$expand %s: %w", name, err)
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// Key is a parsed key segment: either ID or named Values.
type Key struct {
	ID     string
	Values map[string]Literal
}

// ParseKey parses the inside of a key segment: a GUID, or name=value pairs
// ("accountnumber='A1'", "k1=2,k2='x'").
func ParseKey(s string) (Key, error) {
	if isGUID(s) { // the common key, without the lexer's regular expressions
		return Key{ID: strings.ToLower(s)}, nil
	}
	return parseKeyTokens(s)
}

// isGUID reports whether s is a GUID in its hyphenated form and nothing
// else: the lexer's GUID token, alone.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// parseKeyTokens is ParseKey through the lexer.
func parseKeyTokens(s string) (Key, error) {
	toks, err := lex(s)
	if err != nil {
		return Key{}, err
	}
	if len(toks) == 2 && toks[0].kind == tGUID {
		return Key{ID: toks[0].text}, nil
	}
	k := Key{Values: map[string]Literal{}}
	p := &parser{toks: toks}
	for {
		name, err := p.expect(tIdent, "a key name")
		if err != nil {
			return Key{}, err
		}
		if _, err := p.expect(tEq, "'='"); err != nil {
			return Key{}, err
		}
		v, err := p.primary()
		if err != nil {
			return Key{}, err
		}
		lit, ok := v.(Literal)
		if !ok || lit.Kind == LitNull {
			return Key{}, &SyntaxError{Pos: name.pos, Msg: "key " + name.text + " needs a literal value"}
		}
		if _, dup := k.Values[name.text]; dup {
			return Key{}, &SyntaxError{Pos: name.pos, Msg: "key " + name.text + " appears twice"}
		}
		k.Values[name.text] = lit
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		if p.peek().kind != tEOF {
			return Key{}, p.errf("unexpected %s in key", p.describe(p.peek()))
		}
		return k, nil
	}
}
