package format

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", time.DateOnly}

// Convert turns a source value into the Go value of typ: string, int64,
// float64, bool, time.Time (UTC, microseconds) or a normalised decimal string.
// Empty values become nil. layout, when set, is the Go layout of dates.
func Convert(v any, typ, layout string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	// A string comes back as the value it came in (not boxed again) where
	// nothing changes it.
	if s, ok := v.(string); ok && typ != TypeString {
		if t := strings.TrimSpace(s); len(t) != len(s) {
			v = t
		}
		if s == "" || v == "" {
			return nil, nil
		}
	}
	switch typ {
	case TypeString, "":
		switch x := v.(type) {
		case string:
			if x == "" {
				return nil, nil
			}
			return v, nil
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			return string(b), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
		return Text(v), nil
	case TypeInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string, json.Number:
			s := Text(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			if isDecimal(s) {
				d := normDecimal(s)
				if !strings.Contains(d, ".") {
					if n, err := strconv.ParseInt(d, 10, 64); err == nil {
						return n, nil
					}
				}
			}
		}
		return nil, fmt.Errorf("%q is not a whole number", Text(v))
	case TypeFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string, json.Number:
			if f, err := strconv.ParseFloat(Text(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%q is not a number", Text(v))
	case TypeDecimal:
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return normDecimal(strconv.FormatFloat(x, 'f', -1, 64)), nil
		case string, json.Number:
			s := Text(x)
			if _, isText := x.(string); isText && NormalDecimal(s) {
				return v, nil
			}
			if isDecimal(s) {
				return normDecimal(s), nil
			}
		}
		return nil, fmt.Errorf("%q is not a decimal number", Text(v))
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string, json.Number:
			switch strings.ToLower(Text(x)) {
			case "true", "1", "yes", "y", "t":
				return true, nil
			case "false", "0", "no", "n", "f":
				return false, nil
			}
		}
		return nil, fmt.Errorf("%q is not true or false", Text(v))
	case TypeDateTime, TypeDate:
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			var err error
			if t, err = parseTime(x, layout); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%q is not a date", Text(v))
		}
		t = t.UTC()
		if typ == TypeDate {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
		}
		return t.Truncate(time.Microsecond), nil
	case TypeGUID:
		s := Text(v)
		s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if !guidPattern.MatchString(s) {
			return nil, fmt.Errorf("%q is not a GUID", Text(v))
		}
		return strings.ToLower(s), nil
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func parseTime(s, layout string) (time.Time, error) {
	if layout != "" {
		t, err := time.Parse(layout, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q does not match the date format %q", s, layout)
		}
		return t, nil
	}
	for _, l := range dateTimeLayouts {
		if !layoutFits(l, s) {
			continue
		}
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (use ISO 8601, or set format)", s)
}

// layoutFits tells whether s can match the ISO layout l at all: a date
// alone is ten characters, and the others hold 'T' or ' ' after the date.
// Skipping the layouts that cannot match spares a failed time.Parse (and its
// error) for most values.
func layoutFits(l, s string) bool {
	if l == time.DateOnly || len(s) <= 10 {
		return l == time.DateOnly && len(s) == 10
	}
	return s[10] == l[10]
}

// isDecimal reports whether s is a decimal number: an optional sign, then
// digits with an optional fraction, or a fraction alone ("1", "-1.", "+.5").
func isDecimal(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	intPart, frac, dot := strings.Cut(s, ".")
	if !allDigits(intPart) || !allDigits(frac) {
		return false
	}
	return intPart != "" || (dot && frac != "")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalDecimal says s is a decimal number as Convert writes it (normDecimal
// would return it unchanged): an optional minus, digits without leading
// zeros, and a fraction without trailing zeros; zero has no sign.
func NormalDecimal(s string) bool {
	neg := s != "" && s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac, dot := strings.Cut(s, ".")
	switch {
	case intPart == "" || !allDigits(intPart) || len(intPart) > 1 && intPart[0] == '0':
		return false
	case dot && (frac == "" || !allDigits(frac) || frac[len(frac)-1] == '0'):
		return false
	}
	return !neg || intPart != "0" || dot
}

// normDecimal writes a decimal without a plus sign, leading zeros or
// trailing fractional zeros, so that equal numbers have equal text.
func normDecimal(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}
