package records

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Ref is a lookup value: the referenced table and row id.
type Ref struct {
	Table string
	ID    string
}

// Row is one record: column name to value. Values are string, int64,
// float64, bool, time.Time, Ref or nil.
type Row map[string]any

// Version returns the row's version number.
func (r Row) Version() int64 {
	v, _ := r["versionnumber"].(int64)
	return v
}

// ETag returns the row's weak ETag.
func (r Row) ETag() string { return fmt.Sprintf(`W/"%d"`, r.Version()) }

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID in its hyphenated form.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// NewID returns a random (version 4) GUID: unpredictable, for tokens and
// correlation ids.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// lastIDTick is the tick of the last ordered id: Unix milliseconds << 12
// plus a count within the millisecond.
var lastIDTick atomic.Int64

// NewOrderedID returns a GUID for a new row: a version 7 UUID (RFC 9562)
// whose first 48 bits are the time in Unix milliseconds and next 12 a count
// within the millisecond, so the ids one process makes sort, as text and as
// bytes, in the order they were made; the last 62 bits are random. As
// Dataverse's own sequential GUIDs, a new row's id lands at the end of the
// primary key's index and of every index whose entries end with it (a
// lookup's, for the rows of one parent) instead of on a random page of each.
func NewOrderedID() string {
	now := time.Now().UnixMilli() << 12
	var tick int64
	for {
		last := lastIDTick.Load()
		tick = max(now, last+1) // the same millisecond, or a clock set back
		if lastIDTick.CompareAndSwap(last, tick) {
			break
		}
	}
	var b [16]byte
	rand.Read(b[8:])
	ms := tick >> 12
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[6] = 0x70 | byte(tick>>8)&0x0f
	b[7] = byte(tick)
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// formatGUID writes b as a GUID in its lowercase hyphenated form.
func formatGUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:], b[10:])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}

// timeLayout is a DateTime's text as Dataverse writes it: UTC, whole
// seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// FormatTime renders a DateTime as Dataverse does: UTC, whole seconds.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// AppendTime appends FormatTime(t) to b.
func AppendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, timeLayout) }

// ParseTime reads a DateTime value: RFC 3339 or a date.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time", s)
}

// Convert checks a JSON-decoded value (json.Number for numbers) against c and
// returns it in the row form. Lookup columns take a Ref. Its errors name c.
func Convert(t *Table, c *Column, v any) (any, error) {
	out, err := convert(t, c, v)
	if e, ok := err.(*Error); ok {
		e.about(c.Name)
	}
	return out, err
}

func convert(t *Table, c *Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func(want string) error {
		return Invalid("The value of %s on %s must be %s; got %s.", c.Name, t.Name, want, describe(v))
	}
	switch c.Type {
	case String, Memo, AutoNumber:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		if n := utf8.RuneCountInString(s); n > c.MaxLength {
			return nil, Invalid("A validation error occurred. The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.", c.Name, t.Name, c.MaxLength)
		}
		return s, nil
	case UniqueIdentifier:
		s, ok := v.(string)
		if !ok || !IsGUID(s) {
			return nil, bad("a GUID")
		}
		return strings.ToLower(s), nil
	case Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("true or false")
		}
		return b, nil
	case DateTime:
		s, ok := v.(string)
		if !ok {
			if tm, ok := v.(time.Time); ok {
				return tm.UTC(), nil
			}
			return nil, bad("a date and time")
		}
		tm, err := ParseTime(s)
		if err != nil {
			return nil, bad("a date and time")
		}
		return tm, nil
	case Integer, BigInt, Picklist, State, Status:
		n, ok := toInt(v)
		if !ok {
			return nil, bad("a whole number")
		}
		if c.Type == Integer && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, Invalid("The value %d of %s is outside the range of a whole number.", n, c.Name)
		}
		if c.Type.IsChoice() {
			if _, ok := c.Option(n); !ok {
				return nil, Invalid("%d is not a valid value for %s. Valid values are %s.", n, c.Name, optionList(c))
			}
			return n, nil
		}
		if err := checkRange(c, float64(n)); err != nil {
			return nil, err
		}
		return n, nil
	case Decimal, Double, Money:
		f, ok := toFloat(v)
		if !ok {
			return nil, bad("a number")
		}
		// Decimal and Money keep their precision (2 places unless set), as
		// Dataverse rounds them; Double keeps what it is given.
		if p := c.Precision; p > 0 || c.Type != Double {
			if p == 0 {
				p = 2
			}
			scale := math.Pow(10, float64(min(p, 10)))
			if r := math.Round(f*scale) / scale; !math.IsInf(r, 0) && !math.IsNaN(r) {
				f = r
			}
		}
		if err := checkRange(c, f); err != nil {
			return nil, err
		}
		return f, nil
	case Lookup, Customer, Owner:
		r, ok := v.(Ref)
		if !ok {
			return nil, Invalid("%s is a lookup; set it with \"%s@odata.bind\": \"/<entityset>(<id>)\".", c.Name, c.Name)
		}
		for _, tg := range c.Targets {
			if tg == r.Table {
				return r, nil
			}
		}
		return nil, Invalid("%s cannot reference a %s; it references %s.", c.Name, r.Table, strings.Join(c.Targets, " or "))
	}
	return nil, bad("a value")
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 60 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}

func optionList(c *Column) string {
	var s []string
	for _, o := range c.Options {
		s = append(s, fmt.Sprint(o.Value))
	}
	return strings.Join(s, ", ")
}

func checkRange(c *Column, f float64) error {
	if c.Min != nil && f < *c.Min || c.Max != nil && f > *c.Max {
		lo, hi := "-∞", "∞"
		if c.Min != nil {
			lo = fmt.Sprint(*c.Min)
		}
		if c.Max != nil {
			hi = fmt.Sprint(*c.Max)
		}
		return Invalid("A validation error occurred. The value %v of '%s' is outside the valid range (%s to %s).", f, c.Name, lo, hi)
	}
	return nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case float64:
		return x, !math.IsInf(x, 0) && !math.IsNaN(x)
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// toSQL turns a row value into a statement argument.
func toSQL(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return x.UnixMicro()
	case Ref:
		return x.ID
	}
	return v
}

// SQLValue turns a row value of column c into a statement argument; the
// query compiler uses it for literals.
func SQLValue(v any) any { return toSQL(v) }

// FromSQL turns a scanned value of column c into the row form.
func FromSQL(c *Column, v any) any { return fromSQL(c, v) }

// fromSQL turns a scanned value of column c into the row form.
func fromSQL(c *Column, v any) any {
	if v == nil {
		return nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	// A value already of its column's type is returned as it is, not
	// boxed again: most of a list's values.
	switch c.Type {
	case Integer, BigInt, Picklist, State, Status:
		if _, ok := v.(int64); ok {
			return v
		}
		n, _ := toInt(v)
		return n
	case Boolean:
		n, _ := toInt(v)
		return n != 0
	case DateTime:
		n, _ := toInt(v)
		return time.UnixMicro(n).UTC()
	case Decimal, Double, Money:
		if _, ok := v.(float64); ok {
			return v
		}
		f, _ := toFloat(v)
		return f
	}
	if _, ok := v.(string); ok {
		return v
	}
	return fmt.Sprint(v)
}

// JSONRow turns a row into plain JSON values for the change log.
func JSONRow(r Row) map[string]any {
	if r == nil {
		return nil
	}
	out := make(map[string]any, len(r))
	for k, v := range r {
		switch x := v.(type) {
		case time.Time:
			out[k] = FormatTime(x)
		case Ref:
			out[k] = map[string]any{"id": x.ID, "logicalName": x.Table}
		default:
			out[k] = v
		}
	}
	return out
}
