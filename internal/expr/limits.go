package expr

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"junction/internal/jsonvalue"
)

// Limits bound what one function call may produce, so that an expression
// cannot build a value far larger than its inputs (eight nested replace calls
// once built a 100-million-character string). Zero fields take the defaults.
type Limits struct {
	// MaxString caps the strings concat, base64 and string return: Logic
	// Apps' "expression evaluation limit" of 131,072 characters, which its
	// limits page names for exactly these functions.
	MaxString int
	// MaxResult caps the results of the other functions that can build a
	// value larger than their arguments (replace, join, union, createArray,
	// xml, xpath, ...): a string's length or an array's or object's number of
	// items (default 16,777,216). Serialising a value (string, concat, join)
	// counts it deeply: its items plus the lengths of its strings and keys.
	MaxResult int
	// MaxXMLDepth caps the nesting of XML that xpath and json parse
	// (default 256).
	MaxXMLDepth int
	// JSON bounds the JSON text json() parses (default 128 levels,
	// 1,000,000 values, as request bodies).
	JSON jsonvalue.Limits
}

// The default limits.
const (
	DefaultMaxString   = 131072
	DefaultMaxResult   = 16 << 20
	DefaultMaxXMLDepth = 256
	DefaultJSONDepth   = 128
	DefaultJSONValues  = 1_000_000
)

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxString <= 0 {
		l.MaxString = DefaultMaxString
	}
	if l.MaxResult <= 0 {
		l.MaxResult = DefaultMaxResult
	}
	if l.MaxXMLDepth <= 0 {
		l.MaxXMLDepth = DefaultMaxXMLDepth
	}
	if l.JSON.MaxDepth <= 0 {
		l.JSON.MaxDepth = DefaultJSONDepth
	}
	if l.JSON.MaxValues <= 0 {
		l.JSON.MaxValues = DefaultJSONValues
	}
	return l
}

// Limiter is a Scope that sets its own limits; other scopes get the defaults.
type Limiter interface {
	ExprLimits() Limits
}

func limitsOf(s Scope) Limits {
	if l, ok := s.(Limiter); ok {
		return l.ExprLimits().WithDefaults()
	}
	return Limits{}.WithDefaults()
}

// stringCapped are the functions Logic Apps caps at its expression evaluation
// limit.
var stringCapped = map[string]bool{"concat": true, "base64": true, "encodeBase64": true, "string": true}

// growing are the functions whose result can be larger than their arguments;
// the others return parts or summaries of what they are given.
var growing = map[string]bool{"concat": true, "replace": true, "join": true, "string": true, "base64": true, "encodeBase64": true,
	"xml": true, "xpath": true, "dataUri": true, "union": true, "createArray": true, "uriComponent": true, "encodeUriComponent": true,
	"array": true, "addProperty": true, "setProperty": true, "formatNumber": true}

// limit is the cap on the named function's result.
func (l Limits) limit(name string) int {
	if stringCapped[name] {
		return l.MaxString
	}
	return l.MaxResult
}

func (c *call) tooLarge(n int) error {
	return errf("the template language function '%s' would produce a result of %d characters or more, over the limit of %d", c.name, n, c.limits.limit(c.name))
}

// grow checks, before the work is done, that a result of n characters fits.
func (c *call) grow(n int) error {
	if n > c.limits.limit(c.name) || n < 0 {
		return c.tooLarge(n)
	}
	return nil
}

// checkResult checks a growing function's result against its limit.
func (c *call) checkResult(v any) error {
	if !growing[c.name] {
		return nil
	}
	n := 0
	switch v := v.(type) {
	case string:
		n = len(v)
	case []any:
		n = len(v)
	case map[string]any:
		n = len(v)
	}
	return c.grow(n)
}

// serialized checks, before v is turned into text, that its text fits.
func (c *call) serialized(v any) error {
	if _, ok := v.(string); ok {
		return nil
	}
	max := c.limits.limit(c.name)
	if n := sizeOf(v, max); n > max {
		return c.tooLarge(n)
	}
	return nil
}

// sizeOf measures v (strings by length, containers by items plus the strings
// and keys in them), stopping once the count passes max so that measuring a
// large value costs no more than the limit.
func sizeOf(v any, max int) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		n := len(v)
		for _, x := range v {
			if n > max {
				break
			}
			n += sizeOf(x, max-n)
		}
		return n
	case map[string]any:
		n := len(v)
		for k, x := range v {
			if n > max {
				break
			}
			n += len(k) + sizeOf(x, max-n)
		}
		return n
	}
	return 1
}

var errXMLDepth = errors.New("the XML is nested too deeply")

// checkXMLDepth refuses XML nested deeper than max before a tree is built.
func checkXMLDepth(doc string, max int) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = false
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the parser reports syntax errors in its own words
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > max {
				return errXMLDepth
			}
		case xml.EndElement:
			depth--
		}
	}
}
