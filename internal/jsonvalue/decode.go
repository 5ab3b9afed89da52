// Package jsonvalue decodes JSON text into generic Go values (nil, bool,
// string, []any, map[string]any and a number type of the caller's choice) in
// one pass over the input, with bounds on nesting depth and on the number of
// values. Request bodies are decoded with it so that the memory a body takes
// is bounded by configuration: encoding/json's Decoder copies the input into
// its own buffer and grows every array by doubling, which made a body of
// small array items take sixty bytes of memory per byte of JSON; here arrays
// are allocated at their final size, the input is not copied, and a body
// with more values or deeper nesting than the limits is refused as soon as
// the decoder reaches the value past the limit.
package jsonvalue

import (
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"
)

// Limits bound one document. Zero fields mean no bound.
type Limits struct {
	MaxDepth  int // arrays and objects nested inside one another
	MaxValues int // values of every kind, containers included
}

// Options configure Decode.
type Options struct {
	Limits
	// Number turns a number's text (valid JSON number syntax) into a value;
	// nil keeps it as json.Number.
	Number func(text string) (any, error)
}

// LimitError is a document over one of the limits.
type LimitError struct {
	Depth bool // the depth limit, else the value limit
	Limit int
}

func (e *LimitError) Error() string {
	if e.Depth {
		return fmt.Sprintf("the JSON is nested deeper than %d levels", e.Limit)
	}
	return fmt.Sprintf("the JSON holds more than %d values", e.Limit)
}

// SyntaxError is malformed JSON with the byte offset of the problem.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Decode decodes the single JSON value in data (surrounding white space
// allowed).
func Decode(data []byte, opt Options) (any, error) {
	d := &decoder{data: data, opt: opt}
	defer d.stack.release()
	d.skipSpace()
	if d.pos == len(d.data) {
		return nil, &SyntaxError{Offset: d.pos, Msg: "the text is empty; a JSON value was expected"}
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.errf("unexpected data after the JSON value")
	}
	return v, nil
}

type decoder struct {
	data   []byte
	pos    int
	opt    Options
	values int
	stack  stack // items of the arrays being decoded, innermost last
}

// stack holds array items in fixed-size chunks taken from a pool, so that an
// array costs its final slice only (a growing slice would copy itself at
// every growth).
type stack struct {
	chunks [][]any
	n      int
}

const chunkSize = 1024

// chunks are shared by all decodes; a chunk is returned empty.
var chunks = sync.Pool{New: func() any { return new([chunkSize]any) }}

func (s *stack) push(v any) {
	c := s.n / chunkSize
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, chunks.Get().(*[chunkSize]any)[:])
	}
	s.chunks[c][s.n%chunkSize] = v
	s.n++
}

// release returns the chunks to the pool, emptied so that they keep nothing
// alive (a decode that failed midway leaves items in them).
func (s *stack) release() {
	for _, c := range s.chunks {
		clear(c)
		chunks.Put((*[chunkSize]any)(c))
	}
	s.chunks, s.n = nil, 0
}

// popFrom removes the items from index base on and returns them.
func (s *stack) popFrom(base int) []any {
	out := make([]any, s.n-base)
	for i := range out {
		j := base + i
		c := s.chunks[j/chunkSize]
		out[i], c[j%chunkSize] = c[j%chunkSize], nil
	}
	s.n = base
	return out
}

func (d *decoder) errf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.values++; d.opt.MaxValues > 0 && d.values > d.opt.MaxValues {
		return nil, &LimitError{Limit: d.opt.MaxValues}
	}
	if d.pos >= len(d.data) {
		return nil, d.errf("the text ends early")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.errf("character %q where a value was expected", c)
	}
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.errf("invalid literal, expected %s", word)
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) enter(depth int) error {
	if d.opt.MaxDepth > 0 && depth > d.opt.MaxDepth {
		return &LimitError{Depth: true, Limit: d.opt.MaxDepth}
	}
	return nil
}

func (d *decoder) array(depth int) (any, error) {
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	d.pos++ // [
	base := d.stack.n
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return []any{}, nil
	}
	for {
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		d.stack.push(v)
		if end, err := d.next(']', "an array element"); end || err != nil {
			return d.stack.popFrom(base), err
		}
	}
}

// next reads what follows a container's item: a comma (more items) or the
// container's closing character (end).
func (d *decoder) next(closing byte, item string) (end bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.errf("the text ends early")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return false, nil
	case closing:
		d.pos++
		return true, nil
	}
	return false, d.errf("character %q after %s, where ',' or '%c' was expected", d.data[d.pos], item, closing)
}

func (d *decoder) object(depth int) (any, error) {
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	d.pos++ // {
	out := map[string]any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return out, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errf("expected a string for an object key")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errf("expected ':' after object key")
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		out[k.(string)] = v
		if end, err := d.next('}', "an object member"); end || err != nil {
			return out, err
		}
	}
}

// string decodes a string token. Plain ASCII-or-valid-UTF-8 text without
// escapes is copied once; anything else goes through encoding/json, which
// handles escapes and replaces invalid UTF-8 as Go's decoder always has.
func (d *decoder) string() (any, error) {
	start := d.pos
	d.pos++ // "
	plain := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			raw := d.data[start:d.pos]
			if plain && utf8.Valid(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, &SyntaxError{Offset: start, Msg: err.Error()}
			}
			return s, nil
		case c == '\\':
			plain = false
			d.pos += 2
		case c < 0x20:
			return nil, d.errf("invalid control character in string literal")
		default:
			d.pos++
		}
	}
	d.pos = len(d.data)
	return nil, d.errf("the text ends inside a string")
}

// number scans the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (any, error) {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case digits() == 0:
		return nil, d.errf("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.errf("invalid number: no digits after the decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errf("invalid number: no digits in the exponent")
		}
	}
	text := string(d.data[start:d.pos])
	if d.opt.Number == nil {
		return json.Number(text), nil
	}
	v, err := d.opt.Number(text)
	if err != nil {
		return nil, &SyntaxError{Offset: start, Msg: err.Error()}
	}
	return v, nil
}
