// Package odata parses the OData v4 URL conventions Dataverse clients send
// (the query string split by the OData rules, key segments, $select, $filter,
// $orderby, $expand, parameter aliases, query functions),
// compiles $filter and $orderby to parameterised SQL that gives identical
// results on SQLite and PostgreSQL, and writes the CSDL $metadata document.
package odata

import (
	"fmt"
	"regexp"
	"strings"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tGUID
	tDateTime
	tDate
	tAlias
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
	tSlash
	tColon
	tEq // '=' in named parameters and key segments
)

type token struct {
	kind tokKind
	text string // identifier, number text, string value (unescaped), alias name
	pos  int
}

// SyntaxError is a parse failure with its position.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos, e.Msg)
}

var (
	guidRe     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	dateTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?`)
	dateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	numberRe   = regexp.MustCompile(`^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?`)
	identRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*`)
)

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '(':
			out = append(out, token{kind: tLParen, pos: i})
			i++
			continue
		case c == ')':
			out = append(out, token{kind: tRParen, pos: i})
			i++
			continue
		case c == '[':
			out = append(out, token{kind: tLBracket, pos: i})
			i++
			continue
		case c == ']':
			out = append(out, token{kind: tRBracket, pos: i})
			i++
			continue
		case c == ',':
			out = append(out, token{kind: tComma, pos: i})
			i++
			continue
		case c == '/':
			out = append(out, token{kind: tSlash, pos: i})
			i++
			continue
		case c == ':':
			out = append(out, token{kind: tColon, pos: i})
			i++
			continue
		case c == '=':
			out = append(out, token{kind: tEq, pos: i})
			i++
			continue
		case c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, &SyntaxError{Pos: i, Msg: "unterminated string literal"}
			}
			out = append(out, token{kind: tString, text: b.String(), pos: i})
			i = j
			continue
		case c == '@':
			m := identRe.FindString(s[i+1:])
			if m == "" {
				return nil, &SyntaxError{Pos: i, Msg: "a parameter alias needs a name"}
			}
			out = append(out, token{kind: tAlias, text: m, pos: i})
			i += 1 + len(m)
			continue
		}
		rest := s[i:]
		if m := guidRe.FindString(rest); m != "" && !isIdentByte(rest, len(m)) {
			out = append(out, token{kind: tGUID, text: strings.ToLower(m), pos: i})
			i += len(m)
			continue
		}
		if m := dateTimeRe.FindString(rest); m != "" {
			out = append(out, token{kind: tDateTime, text: m, pos: i})
			i += len(m)
			continue
		}
		if m := dateRe.FindString(rest); m != "" && !isIdentByte(rest, len(m)) {
			out = append(out, token{kind: tDate, text: m, pos: i})
			i += len(m)
			continue
		}
		if m := numberRe.FindString(rest); m != "" && !isIdentByte(rest, len(m)) {
			out = append(out, token{kind: tNumber, text: m, pos: i})
			i += len(m)
			continue
		}
		if m := identRe.FindString(rest); m != "" {
			out = append(out, token{kind: tIdent, text: m, pos: i})
			i += len(m)
			continue
		}
		return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
	}
	out = append(out, token{kind: tEOF, pos: len(s)})
	return out, nil
}

func isIdentByte(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
