package webapi

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The Web API's answers are maps of plain values (strings, numbers,
// booleans, nulls, nested maps and lists) that encoding/json encodes
// through reflection: an interface copy of every key and value, and a
// sorted copy of the keys. appendJSON writes those values itself, straight
// into a pooled buffer, the same bytes as a json.Encoder with
// SetEscapeHTML(false); any other value is encoded by encoding/json, and a
// value encoding/json refuses fails the whole answer as it did.

// jsonBuffers are the buffers answers are encoded into.
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledJSON is the largest buffer put back in the pool: a large list
// answer's buffer is left to the collector rather than kept. Twenty rows of
// every column of a standard table (~150) take about 80 KB.
const maxPooledJSON = 256 << 10

// encodeJSON returns v as a json.Encoder with SetEscapeHTML(false) writes
// it (with its newline), in a pooled buffer to hand back with
// releaseJSON; ok is false when encoding/json would fail on v.
func encodeJSON(v any) (buf *[]byte, ok bool) {
	buf = jsonBuffers.Get().(*[]byte)
	b, ok := appendJSON((*buf)[:0], v)
	if !ok {
		releaseJSON(buf)
		return nil, false
	}
	*buf = append(b, '\n')
	return buf, true
}

func releaseJSON(buf *[]byte) {
	if cap(*buf) <= maxPooledJSON {
		jsonBuffers.Put(buf)
	}
}

// appendJSON appends v's JSON encoding to b; false when encoding/json
// refuses v (a NaN, a channel, ...).
func appendJSON(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case float64:
		return appendJSONFloat(b, x)
	case map[string]any:
		if x == nil {
			return append(b, "null"...), true
		}
		return appendJSONObject(b, x)
	case []any:
		return appendJSONArray(b, x)
	case []map[string]any:
		return appendJSONArray(b, x)
	case *rowValues:
		return x.appendJSON(b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, false
	}
	return append(b, bytes.TrimSuffix(out.Bytes(), []byte{'\n'})...), true
}

// appendJSONArray appends a list (null when nil, as encoding/json writes a
// nil slice). The rows of a list answer have the same keys as each other:
// an object whose keys are those of the one before it reuses their sorted
// order.
func appendJSONArray[T any](b []byte, xs []T) ([]byte, bool) {
	if xs == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	var keys []string // the sorted keys of the last object
	for i, e := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if m, isMap := any(e).(map[string]any); isMap && m != nil {
			if !sameKeys(m, keys) {
				keys = sortedKeys(m, nil)
			}
			b, ok = appendJSONFields(b, m, keys)
		} else {
			b, ok = appendJSON(b, e)
		}
		if !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// sameKeys reports whether m's keys are exactly keys.
func sameKeys(m map[string]any, keys []string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// sortedKeys appends m's keys to keys, sorted as encoding/json sorts a map's
// keys.
func sortedKeys(m map[string]any, keys []string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}

// appendJSONObject appends m with its keys sorted, as encoding/json sorts
// a map's keys.
func appendJSONObject(b []byte, m map[string]any) ([]byte, bool) {
	var small [16]string
	return appendJSONFields(b, m, sortedKeys(m, small[:0]))
}

// appendJSONFields appends m as an object of its keys, in keys' order.
func appendJSONFields(b []byte, m map[string]any, keys []string) ([]byte, bool) {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSON(b, m[k]); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendJSONFloat is encoding/json's float64 encoding: ES6's number to
// string conversion.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 is written e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding without HTML
// escaping: quotes, backslashes and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONChars(append(b, '"'), s), '"')
}

// appendJSONChars is appendJSONString without the quotes: the characters
// of s as a JSON string holds them. Each character is escaped on its own,
// so the characters of two strings one after the other are those of the
// two strings joined, where the first ends with a whole character.
func appendJSONChars(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
