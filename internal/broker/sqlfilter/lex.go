// Package sqlfilter parses and evaluates the SQL-92 subset that Service Bus
// uses for subscription rule filters (`sys.Label = 'red' AND user.qty > 10`)
// and rule actions (`SET user.tier = 'gold'; REMOVE user.tmp`). Filters see a
// message's system and application properties, never its body.
package sqlfilter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // [delimited identifier]
	tString
	tNumber
	tOp // = <> != < <= > >= + - * / % ( ) , . ;
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// SyntaxError is a parse failure with its position (0-based byte offset).
type SyntaxError struct {
	Pos     int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos+1, e.Message)
}

// MaxLength caps an expression's length, as Service Bus caps it at 1024
// characters for filters and actions.
const MaxLength = 1024

func lex(src string) ([]token, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{0, fmt.Sprintf("the expression is longer than %d characters", MaxLength)}
	}
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{0, "the expression is not valid UTF-8"}
	}
	var out []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, &SyntaxError{start, "unterminated string"}
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			out = append(out, token{tString, b.String(), start})
		case c == '[':
			start := i
			end := strings.IndexByte(src[i:], ']')
			if end < 0 {
				return nil, &SyntaxError{start, "unterminated [identifier]"}
			}
			name := src[i+1 : i+end]
			if name == "" {
				return nil, &SyntaxError{start, "empty [identifier]"}
			}
			out = append(out, token{tQuoted, name, start})
			i += end + 1
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9'):
			start := i
			for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.') {
				i++
			}
			if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
				j := i + 1
				if j < len(src) && (src[j] == '+' || src[j] == '-') {
					j++
				}
				if j < len(src) && src[j] >= '0' && src[j] <= '9' {
					i = j
					for i < len(src) && src[i] >= '0' && src[i] <= '9' {
						i++
					}
				}
			}
			out = append(out, token{tNumber, src[start:i], start})
		case c == '_' || c == '@' || c == '$' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)) || c >= utf8.RuneSelf:
			start := i
			for i < len(src) {
				r, n := utf8.DecodeRuneInString(src[i:])
				if r == '_' || r == '@' || r == '$' || r == '-' && false || unicode.IsLetter(r) || unicode.IsDigit(r) {
					i += n
					continue
				}
				break
			}
			if i == start {
				return nil, &SyntaxError{start, fmt.Sprintf("unexpected character %q", src[i:i+1])}
			}
			out = append(out, token{tIdent, src[start:i], start})
		default:
			start := i
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<>", "!=", "<=", ">=":
				out = append(out, token{tOp, two, start})
				i += 2
				continue
			}
			if strings.IndexByte("=<>+-*/%(),.;", c) >= 0 {
				out = append(out, token{tOp, string(c), start})
				i++
				continue
			}
			return nil, &SyntaxError{start, fmt.Sprintf("unexpected character %q", string(c))}
		}
	}
	out = append(out, token{tEOF, "", len(src)})
	return out, nil
}
