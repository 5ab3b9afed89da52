// Package expr is the Workflow Definition Language's expression language, as
// Logic Apps and Power Automate write it: "@expr" values, "@{expr}"
// interpolation inside strings, "@@" escapes, property and index access with
// the null-safe "?", and the function library (string, collection, logic,
// conversion, math, date and object functions, with .NET-style date formats).
// Workflow functions such as trigger(), body() and variables() are supplied by
// the engine through Scope. Templates are compiled once and cached.
package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// Node is a parsed expression.
type Node interface{ pos() int }

// Lit is a literal: string, int64, float64, bool or nil.
type Lit struct {
	Pos   int
	Value any
}

// Call is a function call.
type Call struct {
	Pos  int
	Name string
	Args []Node
}

// Index is a property or index access: X[Key], X.Key, with Safe for "?".
type Index struct {
	Pos  int
	X    Node
	Key  Node
	Safe bool
}

func (n *Lit) pos() int   { return n.Pos }
func (n *Call) pos() int  { return n.Pos }
func (n *Index) pos() int { return n.Pos }

// SyntaxError is a parse failure at a byte offset of the expression.
type SyntaxError struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expression %q: position %d: %s", truncate(e.Expr, 120), e.Pos, e.Msg)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number, punctuation itself, 0 end
	text string
	pos  int
	val  any
}

type lexer struct {
	i    int
	toks []token
}

func lex(src string) ([]token, error) {
	l := &lexer{}
	for {
		for l.i < len(src) && (src[l.i] == ' ' || src[l.i] == '\t' || src[l.i] == '\n' || src[l.i] == '\r') {
			l.i++
		}
		if l.i >= len(src) {
			l.toks = append(l.toks, token{kind: 0, pos: l.i})
			return l.toks, nil
		}
		c := src[l.i]
		start := l.i
		switch {
		case c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '.' || c == '?':
			l.i++
			l.toks = append(l.toks, token{kind: c, text: string(c), pos: start})
		case c == '\'':
			var b strings.Builder
			l.i++
			closed := false
			for l.i < len(src) {
				if src[l.i] == '\'' {
					if l.i+1 < len(src) && src[l.i+1] == '\'' {
						b.WriteByte('\'')
						l.i += 2
						continue
					}
					l.i++
					closed = true
					break
				}
				b.WriteByte(src[l.i])
				l.i++
			}
			if !closed {
				return nil, &SyntaxError{Expr: src, Pos: start, Msg: "unterminated string literal"}
			}
			l.toks = append(l.toks, token{kind: 's', pos: start, val: b.String()})
		case c == '-' || c == '+' || (c >= '0' && c <= '9'):
			l.i++
			for l.i < len(src) && (isDigit(src[l.i]) || src[l.i] == '.' || src[l.i] == 'e' || src[l.i] == 'E' ||
				((src[l.i] == '-' || src[l.i] == '+') && (src[l.i-1] == 'e' || src[l.i-1] == 'E'))) {
				l.i++
			}
			text := src[start:l.i]
			var v any
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				v = n
			} else if f, err := strconv.ParseFloat(text, 64); err == nil {
				v = f
			} else {
				return nil, &SyntaxError{Expr: src, Pos: start, Msg: fmt.Sprintf("invalid number %q", text)}
			}
			l.toks = append(l.toks, token{kind: 'n', pos: start, val: v, text: text})
		case isIdentStart(c):
			l.i++
			for l.i < len(src) && isIdentPart(src[l.i]) {
				l.i++
			}
			l.toks = append(l.toks, token{kind: 'i', pos: start, text: src[start:l.i]})
		default:
			return nil, &SyntaxError{Expr: src, Pos: start, Msg: fmt.Sprintf("unexpected character %q", c)}
		}
	}
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == '$' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

// Parse parses one expression (without the leading "@").
func Parse(src string) (Node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 0 {
		return nil, p.errf(t, "unexpected %s after the expression", describe(t))
	}
	return n, nil
}

func describe(t token) string {
	switch t.kind {
	case 0:
		return "end of expression"
	case 'i':
		return fmt.Sprintf("identifier %q", t.text)
	case 's':
		return "string literal"
	case 'n':
		return fmt.Sprintf("number %s", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expect(kind byte) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, p.errf(t, "expected %q, found %s", string(kind), describe(t))
	}
	return t, nil
}

func (p *parser) expr() (Node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf(p.peek(), "expression nested too deeply")
	}
	t := p.next()
	var n Node
	switch t.kind {
	case 's', 'n':
		n = &Lit{Pos: t.pos, Value: t.val}
	case 'i':
		switch t.text {
		case "true":
			n = &Lit{Pos: t.pos, Value: true}
		case "false":
			n = &Lit{Pos: t.pos, Value: false}
		case "null":
			n = &Lit{Pos: t.pos, Value: nil}
		default:
			if p.peek().kind != '(' {
				return nil, p.errf(t, "%q must be called as a function, as in %s()", t.text, t.text)
			}
			p.next()
			call := &Call{Pos: t.pos, Name: t.text}
			if p.peek().kind == ')' {
				p.next()
			} else {
				for {
					a, err := p.expr()
					if err != nil {
						return nil, err
					}
					call.Args = append(call.Args, a)
					sep := p.next()
					if sep.kind == ')' {
						break
					}
					if sep.kind != ',' {
						return nil, p.errf(sep, "expected ',' or ')' in the arguments of %s, found %s", t.text, describe(sep))
					}
				}
			}
			n = call
		}
	default:
		return nil, p.errf(t, "expected a value or a function call, found %s", describe(t))
	}
	return p.postfix(n)
}

func (p *parser) postfix(n Node) (Node, error) {
	for {
		t := p.peek()
		safe := false
		if t.kind == '?' {
			p.next()
			safe = true
			t = p.peek()
			if t.kind != '[' && t.kind != '.' {
				return nil, p.errf(t, "expected '[' or '.' after '?', found %s", describe(t))
			}
		}
		switch t.kind {
		case '[':
			p.next()
			key, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(']'); err != nil {
				return nil, err
			}
			n = &Index{Pos: t.pos, X: n, Key: key, Safe: safe}
		case '.':
			p.next()
			id := p.next()
			if id.kind != 'i' {
				return nil, p.errf(id, "expected a property name after '.', found %s", describe(id))
			}
			n = &Index{Pos: t.pos, X: n, Key: &Lit{Pos: id.pos, Value: id.text}, Safe: safe}
		default:
			return n, nil
		}
	}
}

// String renders n back as expression text.
func String(n Node) string {
	var b strings.Builder
	write(&b, n)
	return b.String()
}

func write(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Lit:
		switch v := n.Value.(type) {
		case string:
			b.WriteString("'" + strings.ReplaceAll(v, "'", "''") + "'")
		case nil:
			b.WriteString("null")
		case float64:
			s := strconv.FormatFloat(v, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			b.WriteString(s)
		default:
			fmt.Fprint(b, v)
		}
	case *Call:
		b.WriteString(n.Name + "(")
		for i, a := range n.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			write(b, a)
		}
		b.WriteString(")")
	case *Index:
		write(b, n.X)
		if n.Safe {
			b.WriteString("?")
		}
		b.WriteString("[")
		write(b, n.Key)
		b.WriteString("]")
	}
}
