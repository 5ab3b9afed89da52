package sink

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"junction/internal/job/format"
)

// generic frames a field the way appendField's fast paths must match:
// through canonical, for every value.
func generic(c format.Column, v any) []byte {
	return appendCanonical(appendName(nil, c), c.Type, v)
}

func appendName(buf []byte, c format.Column) []byte {
	return append(binary.LittleEndian.AppendUint64(buf, uint64(len(c.Name))), c.Name...)
}

func checkField(t *testing.T, c format.Column, v any) {
	t.Helper()
	if got, want := appendField(nil, c, v), generic(c, v); !bytes.Equal(got, want) {
		t.Errorf("%s %T %#v: framed %q, canonical %q", c.Type, v, v, got, want)
	}
}

// TestFieldFastPaths: the values framed without converting them frame as
// their canonical text does, so that Hash is what it was.
func TestFieldFastPaths(t *testing.T) {
	t.Parallel()
	types := []string{"", format.TypeString, format.TypeInt, format.TypeDecimal, format.TypeDate, format.TypeDateTime, format.TypeBool, format.TypeFloat, format.TypeGUID}
	values := []any{nil, "", " ", "abc", " abc", "abc\t", "\u00a0x", "x\u2003", "007", "12", " 12 ", "1.50", "true",
		"1.5", "-1.5", "0", "-0", "0.50", ".5", "5.", "+1", "01", "-0.0", "12345678901234567890.0001",
		"2026-02-03", "2026-02-30", "2026-13-01", "0000-01-01", "2026-2-03", " 2026-02-03", "2026-02-03T10:00:00Z",
		int64(0), int64(-7), int64(math.MaxInt64), float64(1.5), true,
		time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 3, 23, 30, 0, 0, time.FixedZone("x", -5*3600)),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}}
	for _, typ := range types {
		for _, v := range values {
			checkField(t, format.Column{Name: "col", Type: typ}, v)
		}
	}
}

func FuzzFieldFastPaths(f *testing.F) {
	for _, s := range []string{"", " a", "a ", "abc", "\u00a0", "12", "1.50", "-0.5", "2026-02-30", "2026-12-07"} {
		f.Add(s, int64(len(s)), int64(len(s))*86400)
	}
	f.Fuzz(func(t *testing.T, s string, n, secs int64) {
		for _, typ := range []string{"", format.TypeString, format.TypeInt, format.TypeDate, format.TypeDecimal} {
			c := format.Column{Name: "c", Type: typ}
			checkField(t, c, s)
			checkField(t, c, n)
			checkField(t, c, time.Unix(secs, 0))
		}
	})
}

// TestDedupe: the last row of each key is kept, in the place of the key's
// first row, whatever the order of the keys; a chunk without repeated keys
// comes back as it is.
func TestDedupe(t *testing.T) {
	t.Parallel()
	rows := func(keys ...string) []Row {
		out := make([]Row, len(keys))
		for i, k := range keys {
			out[i] = Row{Line: int64(i + 1), Values: map[string]any{"k": k, "n": int64(i % 2)}}
		}
		return out
	}
	for _, tc := range []struct {
		keys  []string
		lines []int64
	}{
		{nil, nil},
		{[]string{"a"}, []int64{1}},
		{[]string{"a", "b", "c"}, []int64{1, 2, 3}},
		{[]string{"c", "b", "a"}, []int64{1, 2, 3}},
		{[]string{"a", "b", "b", "c"}, []int64{1, 3, 4}},
		{[]string{"a", "b", "c", "a"}, []int64{4, 2, 3}},
		{[]string{"b", "a", "b", "c", "a"}, []int64{3, 5, 4}},
		{[]string{"a", "a"}, []int64{2}},
	} {
		in := rows(tc.keys...)
		got := Dedupe([]string{"k"}, in)
		var lines []int64
		for _, r := range got {
			lines = append(lines, r.Line)
		}
		if fmt.Sprint(lines) != fmt.Sprint(tc.lines) {
			t.Errorf("%v: lines %v, want %v", tc.keys, lines, tc.lines)
		}
		if len(got) == len(in) && len(in) > 0 && &got[0] != &in[0] {
			t.Errorf("%v: a chunk without repeated keys was copied", tc.keys)
		}
	}
	// Composite keys: ["a","b"] < ["a","c"], and the same pair twice is
	// one key.
	two := []Row{{Line: 1, Values: map[string]any{"x": "a", "y": "b"}}, {Line: 2, Values: map[string]any{"x": "a", "y": "c"}},
		{Line: 3, Values: map[string]any{"x": "a", "y": "c"}}}
	if got := Dedupe([]string{"x", "y"}, two); len(got) != 2 || got[1].Line != 3 {
		t.Errorf("composite keys: %+v", got)
	}
}
