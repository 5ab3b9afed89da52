package amqp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// The AMQP 1.0 type system (OASIS AMQP 1.0, part 1) maps to Go values:
// null → nil, boolean → bool, ubyte/ushort/uint/ulong → uint8/uint16/uint32/
// uint64, byte/short/int/long → int8/int16/int32/int64, float/double →
// float32/float64, char → Char, timestamp → time.Time, uuid → UUID, binary →
// []byte, string → string, symbol → Symbol, list → []any, map → Map, array →
// a typed slice ([]int64, []string, []Symbol, []UUID, []time.Time, [][]byte,
// []uint32, []int32) or Array, described → Described, decimals → Decimal.

// Symbol is an AMQP symbol (ASCII name).
type Symbol string

// UUID is an AMQP uuid in network byte order.
type UUID [16]byte

// String formats u as 8-4-4-4-12 hex digits.
func (u UUID) String() string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[b>>4], hexd[b&15])
	}
	return string(out)
}

// ParseUUID reads the 8-4-4-4-12 form.
func ParseUUID(s string) (UUID, bool) {
	var u UUID
	if len(s) != 36 {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Char is an AMQP char (a Unicode code point).
type Char rune

// Decimal is an IEEE 754 decimal kept as its raw bytes (decimal32, 64, 128).
type Decimal struct {
	Code byte
	Raw  []byte
}

// Described is a value with a descriptor (a symbol or ulong).
type Described struct {
	Descriptor any
	Value      any
}

// Pair is one entry of a Map.
type Pair struct {
	Key, Value any
}

// Map is an AMQP map in wire order. Keys may be of any AMQP type, some of
// which Go cannot hash, so it is a slice.
type Map []Pair

// Get returns the value under a string or symbol key.
func (m Map) Get(key string) (any, bool) {
	for _, p := range m {
		switch k := p.Key.(type) {
		case string:
			if k == key {
				return p.Value, true
			}
		case Symbol:
			if string(k) == key {
				return p.Value, true
			}
		}
	}
	return nil, false
}

// Array is an AMQP array of a type without a typed Go slice: Code is the
// element constructor.
type Array struct {
	Code  byte
	Items []any
}

// Type codes.
const (
	codeDescribed = 0x00
	codeNull      = 0x40
	codeTrue      = 0x41
	codeFalse     = 0x42
	codeUint0     = 0x43
	codeUlong0    = 0x44
	codeList0     = 0x45
	codeBool      = 0x56
	codeUbyte     = 0x50
	codeByte      = 0x51
	codeSmallUint = 0x52
	codeSmallUlng = 0x53
	codeSmallInt  = 0x54
	codeSmallLong = 0x55
	codeUshort    = 0x60
	codeShort     = 0x61
	codeUint      = 0x70
	codeInt       = 0x71
	codeFloat     = 0x72
	codeChar      = 0x73
	codeDec32     = 0x74
	codeUlong     = 0x80
	codeLong      = 0x81
	codeDouble    = 0x82
	codeTimestamp = 0x83
	codeDec64     = 0x84
	codeDec128    = 0x94
	codeUUID      = 0x98
	codeVbin8     = 0xa0
	codeStr8      = 0xa1
	codeSym8      = 0xa3
	codeVbin32    = 0xb0
	codeStr32     = 0xb1
	codeSym32     = 0xb3
	codeList8     = 0xc0
	codeMap8      = 0xc1
	codeList32    = 0xd0
	codeMap32     = 0xd1
	codeArray8    = 0xe0
	codeArray32   = 0xf0
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 32

var errShort = errors.New("truncated value")

// decoder reads AMQP values from a byte slice.
type decoder struct {
	b     []byte
	depth int
}

// Decode reads one value from b and returns it and the bytes after it.
func Decode(b []byte) (any, []byte, error) {
	d := decoder{b: b}
	v, err := d.value()
	return v, d.b, err
}

func (d *decoder) need(n int) ([]byte, error) {
	if n < 0 || len(d.b) < n {
		return nil, errShort
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out, nil
}

func (d *decoder) byte1() (byte, error) {
	b, err := d.need(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) value() (any, error) {
	c, err := d.byte1()
	if err != nil {
		return nil, err
	}
	if c == codeDescribed {
		return d.described()
	}
	return d.typed(c)
}

func (d *decoder) described() (any, error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return nil, errors.New("values nested too deeply")
	}
	desc, err := d.value()
	if err != nil {
		return nil, err
	}
	switch desc.(type) {
	case uint64, Symbol:
	default:
		return nil, fmt.Errorf("descriptor of type %T: want ulong or symbol", desc)
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	return Described{Descriptor: desc, Value: v}, nil
}

// width is the size in bytes of a fixed-width type's value, or -1.
func width(c byte) int {
	switch c {
	case codeNull, codeTrue, codeFalse, codeUint0, codeUlong0, codeList0:
		return 0
	case codeBool, codeUbyte, codeByte, codeSmallUint, codeSmallUlng, codeSmallInt, codeSmallLong:
		return 1
	case codeUshort, codeShort:
		return 2
	case codeUint, codeInt, codeFloat, codeChar, codeDec32:
		return 4
	case codeUlong, codeLong, codeDouble, codeTimestamp, codeDec64:
		return 8
	case codeDec128, codeUUID:
		return 16
	}
	return -1
}

func (d *decoder) typed(c byte) (any, error) {
	if w := width(c); w >= 0 {
		b, err := d.need(w)
		if err != nil {
			return nil, err
		}
		return fixed(c, b)
	}
	switch c {
	case codeVbin8, codeStr8, codeSym8, codeVbin32, codeStr32, codeSym32:
		n, err := d.size(c == codeVbin8 || c == codeStr8 || c == codeSym8)
		if err != nil {
			return nil, err
		}
		b, err := d.need(n)
		if err != nil {
			return nil, err
		}
		return variable(c, b)
	case codeList8, codeList32, codeMap8, codeMap32:
		return d.compound(c)
	case codeArray8, codeArray32:
		return d.array(c)
	}
	return nil, fmt.Errorf("unknown type code 0x%02x", c)
}

func (d *decoder) size(small bool) (int, error) {
	if small {
		b, err := d.byte1()
		return int(b), err
	}
	b, err := d.need(4)
	if err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(b)
	if int64(n) > int64(len(d.b)) {
		return 0, errShort
	}
	return int(n), nil
}

func fixed(c byte, b []byte) (any, error) {
	switch c {
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeUint0:
		return uint32(0), nil
	case codeUlong0:
		return uint64(0), nil
	case codeList0:
		return []any{}, nil
	case codeBool:
		switch b[0] {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return nil, fmt.Errorf("boolean byte 0x%02x", b[0])
	case codeUbyte:
		return b[0], nil
	case codeByte:
		return int8(b[0]), nil
	case codeSmallUint:
		return uint32(b[0]), nil
	case codeSmallUlng:
		return uint64(b[0]), nil
	case codeSmallInt:
		return int32(int8(b[0])), nil
	case codeSmallLong:
		return int64(int8(b[0])), nil
	case codeUshort:
		return binary.BigEndian.Uint16(b), nil
	case codeShort:
		return int16(binary.BigEndian.Uint16(b)), nil
	case codeUint:
		return binary.BigEndian.Uint32(b), nil
	case codeInt:
		return int32(binary.BigEndian.Uint32(b)), nil
	case codeFloat:
		return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
	case codeChar:
		r := rune(binary.BigEndian.Uint32(b))
		if !utf8.ValidRune(r) {
			return nil, errors.New("char is not a Unicode code point")
		}
		return Char(r), nil
	case codeUlong:
		return binary.BigEndian.Uint64(b), nil
	case codeLong:
		return int64(binary.BigEndian.Uint64(b)), nil
	case codeDouble:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case codeTimestamp:
		return time.UnixMilli(int64(binary.BigEndian.Uint64(b))).UTC(), nil
	case codeDec32, codeDec64, codeDec128:
		return Decimal{Code: c, Raw: append([]byte(nil), b...)}, nil
	case codeUUID:
		var u UUID
		copy(u[:], b)
		return u, nil
	}
	return nil, fmt.Errorf("unknown type code 0x%02x", c)
}

func variable(c byte, b []byte) (any, error) {
	switch c {
	case codeVbin8, codeVbin32:
		return append([]byte(nil), b...), nil
	case codeStr8, codeStr32:
		if !utf8.Valid(b) {
			return nil, errors.New("string is not valid UTF-8")
		}
		return string(b), nil
	default:
		for _, x := range b {
			if x > 0x7f {
				return nil, errors.New("symbol is not ASCII")
			}
		}
		return Symbol(b), nil
	}
}

// sized reads the size and count that open a list, map or array (8-bit or
// 32-bit forms) and returns a decoder over the body after the count.
func (d *decoder) sized(small bool) (decoder, int, error) {
	n, err := d.size(small)
	if err != nil {
		return decoder{}, 0, err
	}
	body, err := d.need(n)
	if err != nil {
		return decoder{}, 0, err
	}
	inner := decoder{b: body, depth: d.depth + 1}
	if inner.depth > maxDepth {
		return decoder{}, 0, errors.New("values nested too deeply")
	}
	width := 4
	if small {
		width = 1
	}
	cb, err := inner.need(width)
	if err != nil {
		return decoder{}, 0, err
	}
	count := int(cb[0])
	if !small {
		count = int(binary.BigEndian.Uint32(cb))
	}
	return inner, count, nil
}

// compound reads a list or map: size, count, then count values.
func (d *decoder) compound(c byte) (any, error) {
	inner, count, err := d.sized(c == codeList8 || c == codeMap8)
	if err != nil {
		return nil, err
	}
	// Every value takes at least one byte, which bounds the allocation.
	if count < 0 || count > len(inner.b) {
		return nil, fmt.Errorf("%d elements do not fit in %d bytes", count, len(inner.b))
	}
	if c == codeMap8 || c == codeMap32 {
		if count%2 != 0 {
			return nil, errors.New("map with an odd number of elements")
		}
		m := make(Map, 0, count/2)
		for i := 0; i < count; i += 2 {
			k, err := inner.value()
			if err != nil {
				return nil, err
			}
			v, err := inner.value()
			if err != nil {
				return nil, err
			}
			m = append(m, Pair{k, v})
		}
		if len(inner.b) != 0 {
			return nil, errors.New("map size does not match its elements")
		}
		return m, nil
	}
	l := make([]any, 0, count)
	for i := 0; i < count; i++ {
		v, err := inner.value()
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	if len(inner.b) != 0 {
		return nil, errors.New("list size does not match its elements")
	}
	return l, nil
}

func (d *decoder) array(c byte) (any, error) {
	inner, count, err := d.sized(c == codeArray8)
	if err != nil {
		return nil, err
	}
	ec, err := inner.byte1()
	if err != nil {
		return nil, err
	}
	var descriptor any
	if ec == codeDescribed {
		if descriptor, err = inner.value(); err != nil {
			return nil, err
		}
		if ec, err = inner.byte1(); err != nil {
			return nil, err
		}
	}
	w := width(ec)
	if count < 0 || (w > 0 && count > len(inner.b)/w) || (w <= 0 && count > len(inner.b)+1) || (w == 0 && count > 1<<16) {
		return nil, fmt.Errorf("%d array elements do not fit in %d bytes", count, len(inner.b))
	}
	items := make([]any, 0, count)
	for i := 0; i < count; i++ {
		v, err := inner.typed(ec)
		if err != nil {
			return nil, err
		}
		if descriptor != nil {
			v = Described{Descriptor: descriptor, Value: v}
		}
		items = append(items, v)
	}
	if len(inner.b) != 0 {
		return nil, errors.New("array size does not match its elements")
	}
	if descriptor != nil {
		return Array{Code: ec, Items: items}, nil
	}
	return typedArray(ec, items), nil
}

// typedArray turns array items into the typed slice for their type.
func typedArray(ec byte, items []any) any {
	switch ec {
	case codeLong, codeSmallLong:
		out := make([]int64, len(items))
		for i, v := range items {
			out[i] = v.(int64)
		}
		return out
	case codeInt, codeSmallInt:
		out := make([]int32, len(items))
		for i, v := range items {
			out[i] = v.(int32)
		}
		return out
	case codeUint, codeSmallUint, codeUint0:
		out := make([]uint32, len(items))
		for i, v := range items {
			out[i] = v.(uint32)
		}
		return out
	case codeStr8, codeStr32:
		out := make([]string, len(items))
		for i, v := range items {
			out[i] = v.(string)
		}
		return out
	case codeSym8, codeSym32:
		out := make([]Symbol, len(items))
		for i, v := range items {
			out[i] = v.(Symbol)
		}
		return out
	case codeUUID:
		out := make([]UUID, len(items))
		for i, v := range items {
			out[i] = v.(UUID)
		}
		return out
	case codeTimestamp:
		out := make([]time.Time, len(items))
		for i, v := range items {
			out[i] = v.(time.Time)
		}
		return out
	case codeVbin8, codeVbin32:
		out := make([][]byte, len(items))
		for i, v := range items {
			out[i] = v.([]byte)
		}
		return out
	}
	return Array{Code: ec, Items: items}
}

// Append encodes v after b.
func Append(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, codeNull), nil
	case bool:
		if x {
			return append(b, codeTrue), nil
		}
		return append(b, codeFalse), nil
	case uint8:
		return append(b, codeUbyte, x), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(b, codeUshort), x), nil
	case uint32:
		switch {
		case x == 0:
			return append(b, codeUint0), nil
		case x < 256:
			return append(b, codeSmallUint, byte(x)), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeUint), x), nil
	case uint64:
		switch {
		case x == 0:
			return append(b, codeUlong0), nil
		case x < 256:
			return append(b, codeSmallUlng, byte(x)), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeUlong), x), nil
	case int8:
		return append(b, codeByte, byte(x)), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(b, codeShort), uint16(x)), nil
	case int32:
		if x >= -128 && x <= 127 {
			return append(b, codeSmallInt, byte(int8(x))), nil
		}
		return binary.BigEndian.AppendUint32(append(b, codeInt), uint32(x)), nil
	case int64:
		if x >= -128 && x <= 127 {
			return append(b, codeSmallLong, byte(int8(x))), nil
		}
		return binary.BigEndian.AppendUint64(append(b, codeLong), uint64(x)), nil
	case int:
		return Append(b, int64(x))
	case float32:
		return binary.BigEndian.AppendUint32(append(b, codeFloat), math.Float32bits(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, codeDouble), math.Float64bits(x)), nil
	case Char:
		return binary.BigEndian.AppendUint32(append(b, codeChar), uint32(x)), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(append(b, codeTimestamp), uint64(x.UnixMilli())), nil
	case UUID:
		return append(append(b, codeUUID), x[:]...), nil
	case Decimal:
		if w := width(x.Code); (x.Code == codeDec32 || x.Code == codeDec64 || x.Code == codeDec128) && len(x.Raw) == w {
			return append(append(b, x.Code), x.Raw...), nil
		}
		return nil, errors.New("malformed decimal")
	case []byte:
		return appendVar(b, codeVbin8, codeVbin32, x), nil
	case string:
		return appendVar(b, codeStr8, codeStr32, []byte(x)), nil
	case Symbol:
		return appendVar(b, codeSym8, codeSym32, []byte(x)), nil
	case Described:
		b = append(b, codeDescribed)
		b, err := Append(b, x.Descriptor)
		if err != nil {
			return nil, err
		}
		return Append(b, x.Value)
	case []any:
		return appendList(b, x)
	case Map:
		return appendMap(b, x)
	case map[string]any:
		m := make(Map, 0, len(x))
		for k, v := range x {
			m = append(m, Pair{k, v})
		}
		return appendMap(b, m)
	case []int64:
		return appendArray(b, codeLong, len(x), func(b []byte, i int) []byte { return binary.BigEndian.AppendUint64(b, uint64(x[i])) })
	case []int32:
		return appendArray(b, codeInt, len(x), func(b []byte, i int) []byte { return binary.BigEndian.AppendUint32(b, uint32(x[i])) })
	case []uint32:
		return appendArray(b, codeUint, len(x), func(b []byte, i int) []byte { return binary.BigEndian.AppendUint32(b, x[i]) })
	case []UUID:
		return appendArray(b, codeUUID, len(x), func(b []byte, i int) []byte { return append(b, x[i][:]...) })
	case []time.Time:
		return appendArray(b, codeTimestamp, len(x), func(b []byte, i int) []byte {
			return binary.BigEndian.AppendUint64(b, uint64(x[i].UnixMilli()))
		})
	case []string:
		return appendArray(b, codeStr32, len(x), func(b []byte, i int) []byte {
			return append(binary.BigEndian.AppendUint32(b, uint32(len(x[i]))), x[i]...)
		})
	case []Symbol:
		return appendArray(b, codeSym32, len(x), func(b []byte, i int) []byte {
			return append(binary.BigEndian.AppendUint32(b, uint32(len(x[i]))), x[i]...)
		})
	case [][]byte:
		return appendArray(b, codeVbin32, len(x), func(b []byte, i int) []byte {
			return append(binary.BigEndian.AppendUint32(b, uint32(len(x[i]))), x[i]...)
		})
	case Array:
		return appendArrayAny(b, x)
	}
	return nil, fmt.Errorf("cannot encode a value of type %T", v)
}

func appendVar(b []byte, c8, c32 byte, x []byte) []byte {
	if len(x) < 256 {
		return append(append(b, c8, byte(len(x))), x...)
	}
	return append(binary.BigEndian.AppendUint32(append(b, c32), uint32(len(x))), x...)
}

// appendCompound writes a list, map or array whose count and encoded
// elements are given, choosing the 8-bit or 32-bit form.
func appendCompound(b []byte, c8, c32 byte, count int, body []byte) []byte {
	if len(body)+1 < 256 && count < 256 {
		return append(append(b, c8, byte(len(body)+1), byte(count)), body...)
	}
	b = append(b, c32)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)+4))
	b = binary.BigEndian.AppendUint32(b, uint32(count))
	return append(b, body...)
}

func appendList(b []byte, l []any) ([]byte, error) {
	if len(l) == 0 {
		return append(b, codeList0), nil
	}
	var body []byte
	var err error
	for _, v := range l {
		if body, err = Append(body, v); err != nil {
			return nil, err
		}
	}
	return appendCompound(b, codeList8, codeList32, len(l), body), nil
}

func appendMap(b []byte, m Map) ([]byte, error) {
	var body []byte
	var err error
	for _, p := range m {
		if body, err = Append(body, p.Key); err != nil {
			return nil, err
		}
		if body, err = Append(body, p.Value); err != nil {
			return nil, err
		}
	}
	return appendCompound(b, codeMap8, codeMap32, 2*len(m), body), nil
}

func appendArray(b []byte, code byte, n int, elem func([]byte, int) []byte) ([]byte, error) {
	body := []byte{code}
	for i := 0; i < n; i++ {
		body = elem(body, i)
	}
	return appendCompound(b, codeArray8, codeArray32, n, body), nil
}

// appendArrayAny writes an Array of fixed-width or variable items, each
// encoded with Code as the shared constructor.
func appendArrayAny(b []byte, a Array) ([]byte, error) {
	body := []byte{a.Code}
	for _, v := range a.Items {
		enc, err := Append(nil, v)
		if err != nil {
			return nil, err
		}
		if len(enc) == 0 || enc[0] != a.Code {
			return nil, fmt.Errorf("array element of type %T does not match constructor 0x%02x", v, a.Code)
		}
		body = append(body, enc[1:]...)
	}
	return appendCompound(b, codeArray8, codeArray32, len(a.Items), body), nil
}
