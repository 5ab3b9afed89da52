package odata

import (
	"fmt"
	"strings"
)

// Expr is a node of a $filter expression.
type Expr interface{ expr() }

// LitKind is the type of a literal.
type LitKind int

// Literal kinds.
const (
	LitNull LitKind = iota
	LitString
	LitInt
	LitFloat
	LitBool
	LitGUID
	LitDateTime
	LitDate
)

// Literal is a constant.
type Literal struct {
	Kind LitKind
	Text string // the value as written (strings unescaped)
}

// Path is a property path such as name or primarycontactid/fullname.
type Path struct{ Segments []string }

// Binary is a logical or comparison operator: and or eq ne gt ge lt le.
type Binary struct {
	Op   string
	L, R Expr
}

// Not negates its operand.
type Not struct{ X Expr }

// Call is a built-in function: contains, startswith, endswith, tolower,
// toupper, trim, length.
type Call struct {
	Name string
	Args []Expr
}

// Lambda is nav/any(v: body) or nav/all(v: body); Body is nil for any().
type Lambda struct {
	Nav  []string
	Op   string
	Var  string
	Body Expr
}

// QueryFunc is a Dataverse query function such as
// Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['a','b']).
type QueryFunc struct {
	Name   string // without the namespace: In, Between, LastXDays, ...
	Params map[string]Expr
}

// List is a bracketed list of values.
type List struct{ Items []Expr }

// Alias is a parameter alias (@p1) not yet resolved.
type Alias struct{ Name string }

func (Literal) expr()   {}
func (Path) expr()      {}
func (Binary) expr()    {}
func (Not) expr()       {}
func (Call) expr()      {}
func (Lambda) expr()    {}
func (QueryFunc) expr() {}
func (List) expr()      {}
func (Alias) expr()     {}

// Aliases resolves @name parameter aliases from the query string.
type Aliases func(name string) (string, bool)

type parser struct {
	toks       []token
	i          int
	aliases    Aliases
	depth      int
	conditions int
}

// MaxFilterConditions bounds the conditions (comparisons, function calls,
// lambda operators and parenthesised groups) in one $filter, so that a query
// is refused before it reaches the database: SQLite refuses expressions
// nested 1,000 deep, which a chain of 1,000 "or" conditions is. A list of
// values (Microsoft.Dynamics.CRM.In and its kin) is one condition however
// long it is.
const MaxFilterConditions = 500

// TooComplexError is a $filter over MaxFilterConditions.
type TooComplexError struct{ Conditions int }

func (e *TooComplexError) Error() string {
	return fmt.Sprintf("The $filter is too complex: it has more than %d conditions. Use fewer conditions, or a list function such as Microsoft.Dynamics.CRM.In for many values of one column.", MaxFilterConditions)
}

// ParseFilter parses a $filter expression; aliases resolves @p values (nil:
// none allowed).
func ParseFilter(s string, aliases Aliases) (Expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, aliases: aliases}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.errf("unexpected %s", p.describe(p.peek()))
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Pos: p.peek().pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "'" + t.text + "'"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tComma:
		return "','"
	}
	if t.text != "" {
		return "'" + t.text + "'"
	}
	return "token"
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == w
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	if p.peek().kind != k {
		return token{}, p.errf("expected %s, found %s", what, p.describe(p.peek()))
	}
	return p.next(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > 100 {
		return p.errf("expression nested too deeply")
	}
	return nil
}

func (p *parser) or() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = Binary{Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = Binary{Op: "and", L: l, R: r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if p.isWord("not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	}
	return p.cmp()
}

var cmpOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *parser) cmp() (Expr, error) {
	if p.conditions++; p.conditions > MaxFilterConditions {
		return nil, &TooComplexError{Conditions: p.conditions}
	}
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tIdent && cmpOps[t.text] {
		p.next()
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		return Binary{Op: t.text, L: l, R: r}, nil
	}
	return l, nil
}

var builtins = map[string]int{"contains": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1, "trim": 1, "length": 1}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	case tString:
		p.next()
		return Literal{Kind: LitString, Text: t.text}, nil
	case tNumber:
		p.next()
		txt := strings.TrimRight(t.text, "mMdDfFlL")
		if strings.ContainsAny(txt, ".eE") {
			return Literal{Kind: LitFloat, Text: txt}, nil
		}
		return Literal{Kind: LitInt, Text: txt}, nil
	case tGUID:
		p.next()
		return Literal{Kind: LitGUID, Text: t.text}, nil
	case tDateTime:
		p.next()
		return Literal{Kind: LitDateTime, Text: t.text}, nil
	case tDate:
		p.next()
		return Literal{Kind: LitDate, Text: t.text}, nil
	case tLBracket:
		return p.list()
	case tAlias:
		p.next()
		return p.alias(t)
	case tIdent:
		switch t.text {
		case "null":
			p.next()
			return Literal{Kind: LitNull}, nil
		case "true", "false":
			p.next()
			return Literal{Kind: LitBool, Text: t.text}, nil
		}
		if strings.Contains(t.text, ".") {
			return p.queryFunc()
		}
		if n, ok := builtins[t.text]; ok && p.toks[p.i+1].kind == tLParen {
			return p.call(t.text, n)
		}
		return p.path()
	}
	return nil, p.errf("unexpected %s", p.describe(t))
}

func (p *parser) alias(t token) (Expr, error) {
	if p.aliases == nil {
		return nil, &SyntaxError{Pos: t.pos, Msg: "parameter alias @" + t.text + " has no value"}
	}
	v, ok := p.aliases(t.text)
	if !ok {
		return nil, &SyntaxError{Pos: t.pos, Msg: "parameter alias @" + t.text + " has no value in the query string"}
	}
	toks, err := lex(v)
	if err != nil {
		return nil, err
	}
	sub := &parser{toks: toks, depth: p.depth + 10}
	var e Expr
	if toks[0].kind == tLBracket {
		e, err = sub.list()
	} else {
		e, err = sub.primary()
	}
	if err != nil {
		return nil, err
	}
	if sub.peek().kind != tEOF {
		return nil, &SyntaxError{Pos: t.pos, Msg: "parameter alias @" + t.text + " must be a single value"}
	}
	switch e.(type) {
	case Literal, List, Path:
		// A Path is an alias standing for a property path, as in
		// contains(@p1,'Contoso')&@p1=name.
		return e, nil
	}
	return nil, &SyntaxError{Pos: t.pos, Msg: "parameter alias @" + t.text + " must be a literal or a property path"}
}

func (p *parser) list() (Expr, error) {
	if _, err := p.expect(tLBracket, "'['"); err != nil {
		return nil, err
	}
	var items []Expr
	for p.peek().kind != tRBracket {
		e, err := p.primary()
		if err != nil {
			return nil, err
		}
		if _, ok := e.(Literal); !ok {
			return nil, p.errf("a list holds literals only")
		}
		items = append(items, e)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		if p.peek().kind != tRBracket {
			return nil, p.errf("expected ',' or ']' in a list")
		}
	}
	p.next()
	return List{Items: items}, nil
}

func (p *parser) call(name string, n int) (Expr, error) {
	p.next()
	p.next() // (
	var args []Expr
	for {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		break
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	if len(args) != n {
		return nil, p.errf("%s takes %d argument(s)", name, n)
	}
	return Call{Name: name, Args: args}, nil
}

func (p *parser) queryFunc() (Expr, error) {
	t := p.next()
	name := t.text
	const ns = "Microsoft.Dynamics.CRM."
	if !strings.HasPrefix(name, ns) {
		return nil, &SyntaxError{Pos: t.pos, Msg: "unknown function " + name}
	}
	name = strings.TrimPrefix(name, ns)
	if _, err := p.expect(tLParen, "'('"); err != nil {
		return nil, err
	}
	params := map[string]Expr{}
	for p.peek().kind != tRParen {
		k, err := p.expect(tIdent, "a parameter name")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tEq, "'='"); err != nil {
			return nil, err
		}
		var v Expr
		if p.peek().kind == tLBracket {
			v, err = p.list()
		} else {
			v, err = p.primary()
		}
		if err != nil {
			return nil, err
		}
		if _, ok := v.(Path); ok {
			return nil, p.errf("parameter %s must be a literal", k.text)
		}
		params[k.text] = v
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		if p.peek().kind != tRParen {
			return nil, p.errf("expected ',' or ')'")
		}
	}
	p.next()
	return QueryFunc{Name: name, Params: params}, nil
}

func (p *parser) path() (Expr, error) {
	var segs []string
	for {
		t, err := p.expect(tIdent, "a property name")
		if err != nil {
			return nil, err
		}
		if (t.text == "any" || t.text == "all") && len(segs) > 0 && p.peek().kind == tLParen {
			return p.lambda(segs, t.text)
		}
		segs = append(segs, t.text)
		if p.peek().kind != tSlash {
			break
		}
		p.next()
	}
	return Path{Segments: segs}, nil
}

func (p *parser) lambda(nav []string, op string) (Expr, error) {
	p.next() // (
	if p.peek().kind == tRParen {
		p.next()
		if op == "all" {
			return nil, p.errf("all() needs a lambda expression")
		}
		return Lambda{Nav: nav, Op: op}, nil
	}
	v, err := p.expect(tIdent, "a lambda variable")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tColon, "':'"); err != nil {
		return nil, err
	}
	body, err := p.or()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	return Lambda{Nav: nav, Op: op, Var: v.text, Body: body}, nil
}
