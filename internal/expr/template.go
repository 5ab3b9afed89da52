package expr

import (
	"strings"
	"sync"
)

// Template is a compiled string value of a definition: a literal, a whole
// expression ("@expr", whose value keeps its type), or an interpolation
// ("text @{expr} text", always a string).
type Template struct {
	Source string
	// Whole is set for "@expr".
	Whole Node
	// Parts alternate literal text and expressions for interpolations.
	Parts []Part
	// Literal is the value when the string holds no expression.
	Literal string
}

// Part is one piece of an interpolated string: Text, or Expr when non-nil.
type Part struct {
	Text string
	Expr Node
	// Pos is the byte offset of the expression in the source string.
	Pos int
}

// IsExpression reports whether the template evaluates anything.
func (t *Template) IsExpression() bool { return t.Whole != nil || t.Parts != nil }

// Nodes returns every expression of the template.
func (t *Template) Nodes() []Node {
	if t.Whole != nil {
		return []Node{t.Whole}
	}
	var out []Node
	for _, p := range t.Parts {
		if p.Expr != nil {
			out = append(out, p.Expr)
		}
	}
	return out
}

// IsTemplate reports whether s would be evaluated rather than taken literally.
func IsTemplate(s string) bool {
	return strings.HasPrefix(s, "@") || strings.Contains(s, "@{")
}

// Compile parses a string value of a definition.
func Compile(s string) (*Template, error) {
	t := &Template{Source: s}
	switch {
	case strings.HasPrefix(s, "@@"):
		// "@@" escapes a leading "@": the value is the rest, literally.
		t.Literal = s[1:]
		return t, nil
	case strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@{"):
		n, err := Parse(s[1:])
		if err != nil {
			shift(err, 1, s)
			return nil, err
		}
		t.Whole = n
		return t, nil
	case !strings.Contains(s, "@{"):
		t.Literal = s
		return t, nil
	}
	var text strings.Builder
	i := 0
	for i < len(s) {
		if strings.HasPrefix(s[i:], "@@{") {
			text.WriteString("@{")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "@{") {
			text.WriteByte(s[i])
			i++
			continue
		}
		end, err := closing(s, i+2)
		if err != nil {
			return nil, err
		}
		n, err := Parse(s[i+2 : end])
		if err != nil {
			shift(err, i+2, s)
			return nil, err
		}
		if text.Len() > 0 {
			t.Parts = append(t.Parts, Part{Text: text.String()})
			text.Reset()
		}
		t.Parts = append(t.Parts, Part{Expr: n, Pos: i + 2})
		i = end + 1
	}
	if text.Len() > 0 {
		t.Parts = append(t.Parts, Part{Text: text.String()})
	}
	return t, nil
}

func shift(err error, by int, src string) {
	if se, ok := err.(*SyntaxError); ok {
		se.Pos += by
		se.Expr = src
	}
}

// closing finds the "}" that ends an interpolation starting at i, skipping
// braces inside string literals.
func closing(s string, i int) (int, error) {
	inStr := false
	for j := i; j < len(s); j++ {
		c := s[j]
		if inStr {
			if c == '\'' {
				if j+1 < len(s) && s[j+1] == '\'' {
					j++
					continue
				}
				inStr = false
			}
			continue
		}
		switch c {
		case '\'':
			inStr = true
		case '}':
			return j, nil
		}
	}
	return 0, &SyntaxError{Expr: s, Pos: i - 2, Msg: "'@{' is not closed by '}'"}
}

// Cache holds compiled templates by source, so each string of a definition is
// parsed once however many runs evaluate it. It is safe for concurrent use.
type Cache struct {
	m sync.Map // string -> cacheEntry
}

type cacheEntry struct {
	t   *Template
	err error
}

// Compile returns the compiled template of s, parsing it the first time.
func (c *Cache) Compile(s string) (*Template, error) {
	if v, ok := c.m.Load(s); ok {
		e := v.(cacheEntry)
		return e.t, e.err
	}
	t, err := Compile(s)
	c.m.Store(s, cacheEntry{t, err})
	return t, err
}
