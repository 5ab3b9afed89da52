package sqlfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// SystemProperties are the names usable as sys.<name>, in their canonical case.
var SystemProperties = []string{
	"MessageId", "CorrelationId", "SessionId", "ReplyTo", "ReplyToSessionId", "To", "Label", "ContentType",
	"EnqueuedTimeUtc", "ScheduledEnqueueTimeUtc", "TimeToLive", "DeliveryCount", "SequenceNumber", "Size",
	"ExpiresAtUtc", "PartitionKey", "DeadLetterSource", "EnqueuedSequenceNumber", "LockToken",
}

func canonicalSys(name string) (string, bool) {
	for _, s := range SystemProperties {
		if strings.EqualFold(s, name) {
			return s, true
		}
	}
	return "", false
}

var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "LIKE": true, "ESCAPE": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "EXISTS": true, "SET": true, "REMOVE": true}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) acceptKeyword(kw string) bool {
	if p.isKeyword(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == op
}

func (p *parser) acceptOp(op string) bool {
	if p.isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{t.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) expectOp(op string) error {
	if !p.acceptOp(op) {
		t := p.peek()
		return p.errorf(t, "expected %q, found %s", op, describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the expression"
	case tString:
		return fmt.Sprintf("the string '%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// maxDepth bounds nesting so that a hostile expression cannot exhaust the stack.
const maxDepth = 64

func (p *parser) parseOr(d int) (node, error) {
	if d > maxDepth {
		return nil, p.errorf(p.peek(), "the expression is nested too deeply")
	}
	l, err := p.parseAnd(d)
	if err != nil {
		return nil, err
	}
	for p.acceptKeyword("OR") {
		r, err := p.parseAnd(d)
		if err != nil {
			return nil, err
		}
		l = &logical{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd(d int) (node, error) {
	l, err := p.parseNot(d)
	if err != nil {
		return nil, err
	}
	for p.acceptKeyword("AND") {
		r, err := p.parseNot(d)
		if err != nil {
			return nil, err
		}
		l = &logical{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot(d int) (node, error) {
	if p.acceptKeyword("NOT") {
		if d > maxDepth {
			return nil, p.errorf(p.peek(), "the expression is nested too deeply")
		}
		x, err := p.parseNot(d + 1)
		if err != nil {
			return nil, err
		}
		return &not{x: x}, nil
	}
	return p.parsePredicate(d)
}

func (p *parser) parsePredicate(d int) (node, error) {
	if p.isKeyword("EXISTS") {
		t := p.next()
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		pr, err := p.parseProperty()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		_ = t
		return &exists{p: pr}, nil
	}
	l, err := p.parseAdd(d)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tOp {
		switch t.text {
		case "=", "<>", "!=", "<", "<=", ">", ">=":
			p.next()
			r, err := p.parseAdd(d)
			if err != nil {
				return nil, err
			}
			op := t.text
			if op == "!=" {
				op = "<>"
			}
			return &compare{op: op, l: l, r: r}, nil
		}
	}
	if p.acceptKeyword("IS") {
		neg := p.acceptKeyword("NOT")
		if !p.acceptKeyword("NULL") {
			return nil, p.errorf(p.peek(), "expected NULL after IS, found %s", describe(p.peek()))
		}
		return &isNull{x: l, not: neg}, nil
	}
	neg := false
	if p.isKeyword("NOT") {
		save := p.i
		p.next()
		if p.isKeyword("IN") || p.isKeyword("LIKE") {
			neg = true
		} else {
			p.i = save
		}
	}
	if p.acceptKeyword("IN") {
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		var list []node
		for {
			x, err := p.parseAdd(d)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
			if !p.acceptOp(",") {
				break
			}
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &in{x: l, list: list, not: neg}, nil
	}
	if p.acceptKeyword("LIKE") {
		pt := p.next()
		if pt.kind != tString {
			return nil, p.errorf(pt, "LIKE needs a string pattern, found %s", describe(pt))
		}
		var esc rune
		if p.acceptKeyword("ESCAPE") {
			et := p.next()
			if et.kind != tString || len([]rune(et.text)) != 1 {
				return nil, p.errorf(et, "ESCAPE needs a one-character string")
			}
			esc = []rune(et.text)[0]
		}
		pat, err := compileLike(pt.text, esc)
		if err != nil {
			return nil, p.errorf(pt, "%v", err)
		}
		return &like{x: l, pat: pat, not: neg}, nil
	}
	if neg {
		return nil, p.errorf(p.peek(), "expected IN or LIKE after NOT")
	}
	return l, nil
}

func (p *parser) parseAdd(d int) (node, error) {
	l, err := p.parseMul(d)
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().text
		r, err := p.parseMul(d)
		if err != nil {
			return nil, err
		}
		l = &arith{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseMul(d int) (node, error) {
	l, err := p.parseUnary(d)
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		op := p.next().text
		r, err := p.parseUnary(d)
		if err != nil {
			return nil, err
		}
		l = &arith{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary(d int) (node, error) {
	if p.isOp("-") || p.isOp("+") {
		op := p.next().text
		if d > maxDepth {
			return nil, p.errorf(p.peek(), "the expression is nested too deeply")
		}
		x, err := p.parseUnary(d + 1)
		if err != nil {
			return nil, err
		}
		if op == "+" {
			return x, nil
		}
		return &neg{x: x}, nil
	}
	return p.parsePrimary(d)
}

func (p *parser) parsePrimary(d int) (node, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return &lit{v: t.text}, nil
	case tNumber:
		p.next()
		if !strings.ContainsAny(t.text, ".eE") {
			if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
				return &lit{v: i}, nil
			}
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errorf(t, "invalid number %q", t.text)
		}
		return &lit{v: f}, nil
	case tOp:
		if t.text == "(" {
			p.next()
			x, err := p.parseOr(d + 1)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return x, nil
		}
	case tIdent:
		switch strings.ToUpper(t.text) {
		case "TRUE":
			p.next()
			return &lit{v: true}, nil
		case "FALSE":
			p.next()
			return &lit{v: false}, nil
		case "NULL":
			p.next()
			return &lit{v: nil}, nil
		}
		if strings.EqualFold(t.text, "newid") && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "(" {
			p.next()
			p.next()
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return &newID{}, nil
		}
		if keywords[strings.ToUpper(t.text)] {
			return nil, p.errorf(t, "unexpected keyword %s", strings.ToUpper(t.text))
		}
		return p.parseProperty()
	case tQuoted:
		return p.parseProperty()
	}
	return nil, p.errorf(t, "expected a value, a property or '(', found %s", describe(t))
}

func (p *parser) parseProperty() (*prop, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tQuoted {
		return nil, p.errorf(t, "expected a property name, found %s", describe(t))
	}
	if t.kind == tIdent && keywords[strings.ToUpper(t.text)] {
		return nil, p.errorf(t, "expected a property name, found the keyword %s", strings.ToUpper(t.text))
	}
	if p.isOp(".") {
		scope := strings.ToLower(t.text)
		if t.kind == tQuoted || (scope != "sys" && scope != "user") {
			return nil, p.errorf(t, "unknown property scope %q: use sys or user", t.text)
		}
		p.next()
		n := p.next()
		if n.kind != tIdent && n.kind != tQuoted {
			return nil, p.errorf(n, "expected a property name after %s., found %s", scope, describe(n))
		}
		if scope == "sys" {
			name, ok := canonicalSys(n.text)
			if !ok {
				return nil, p.errorf(n, "sys.%s is not a system property", n.text)
			}
			return &prop{sys: true, name: name}, nil
		}
		return &prop{name: n.text}, nil
	}
	return &prop{name: t.text}, nil
}

// Filter is a parsed filter expression.
type Filter struct {
	src  string
	root node
}

// String returns the expression as written.
func (f *Filter) String() string { return f.src }

// Parse parses a filter expression.
func Parse(expr string) (*Filter, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, &SyntaxError{0, "the expression is empty"}
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "unexpected %s", describe(t))
	}
	return &Filter{src: expr, root: root}, nil
}

// Action is a parsed rule action: SET and REMOVE statements.
type Action struct {
	src   string
	stmts []stmt
}

type stmt struct {
	remove bool
	target *prop
	value  node
}

// String returns the action as written.
func (a *Action) String() string { return a.src }

// ParseAction parses a rule action such as
// "SET sys.Label = 'x'; SET user.n = user.n + 1; REMOVE user.tmp".
func ParseAction(expr string) (*Action, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	a := &Action{src: expr}
	for p.peek().kind != tEOF {
		switch {
		case p.acceptKeyword("SET"):
			target, err := p.parseProperty()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("="); err != nil {
				return nil, err
			}
			v, err := p.parseAdd(0)
			if err != nil {
				return nil, err
			}
			a.stmts = append(a.stmts, stmt{target: target, value: v})
		case p.acceptKeyword("REMOVE"):
			target, err := p.parseProperty()
			if err != nil {
				return nil, err
			}
			a.stmts = append(a.stmts, stmt{remove: true, target: target})
		default:
			return nil, p.errorf(p.peek(), "expected SET or REMOVE, found %s", describe(p.peek()))
		}
		if !p.acceptOp(";") {
			p.acceptOp(",")
		}
	}
	if len(a.stmts) == 0 {
		return nil, &SyntaxError{0, "the action is empty"}
	}
	return a, nil
}
