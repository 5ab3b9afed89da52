package format

import (
	"regexp"
	"testing"
	"time"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		typ  string
		want any
	}{
		{" 42 ", "int", int64(42)}, {"4.0", "int", int64(4)}, {"+001.500", "decimal", "1.5"}, {"-0.0", "decimal", "0"},
		{"yes", "bool", true}, {int64(0), "bool", false}, {"2026-03-04T05:06:07.1234567+02:00", "datetime", time.Date(2026, 3, 4, 3, 6, 7, 123456000, time.UTC)},
		{"2026-03-04", "date", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}, {"{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "guid", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"", "int", nil}, {map[string]any{"a": 1.0}, "string", `{"a":1}`},
	} {
		got, err := Convert(tc.in, tc.typ, "")
		if err != nil || got != tc.want {
			t.Errorf("Convert(%v, %s) = %v, %v; want %v", tc.in, tc.typ, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ in, typ string }{{"4.5", "int"}, {"1e400", "float"}, {"1,5", "decimal"}, {"maybe", "bool"}, {"2026-13-01", "date"}, {"xyz", "guid"}} {
		if _, err := Convert(bad.in, bad.typ, ""); err == nil {
			t.Errorf("Convert(%q, %s) accepted", bad.in, bad.typ)
		}
	}
}

// FuzzConvert: a value converts to a column type or is refused, and what it
// converts to converts again, from its text, to itself (what a sink stores
// and reads back keeps its checksum).
func FuzzConvert(f *testing.F) {
	for _, s := range []string{" 42 ", "4.0", "+001.500", "-0.0", "yes", "1e400", "2026-03-04T05:06:07.1234567+02:00", "2026-03-04",
		"{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "", "1,5", "2026-13-01", "1e21", ".5", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range Types {
			v, err := Convert(s, typ, "")
			if err != nil || v == nil {
				continue
			}
			again, err := Convert(Text(v), typ, "")
			if err != nil {
				t.Fatalf("Convert(%q, %s) = %v, whose text %q is refused: %v", s, typ, v, Text(v), err)
			}
			if tv, ok := v.(time.Time); ok {
				if !tv.Equal(again.(time.Time)) {
					t.Fatalf("Convert(%q, %s) = %v, converted again %v", s, typ, v, again)
				}
				continue
			}
			if again != v {
				t.Fatalf("Convert(%q, %s) = %#v, converted again %#v", s, typ, v, again)
			}
		}
	})
}

// FuzzFastPaths: the decimal scanner accepts exactly what the pattern it
// replaced accepts, and a date parses to the same time whether or not the
// layouts that cannot fit are skipped.
func FuzzFastPaths(f *testing.F) {
	decimal := regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)
	for _, s := range []string{"1", "-1.", "+.5", ".", "+", "", "1.2.3", "2026-03-04", "2026-03-04T05:06:07Z", "2026-03-04 05:06:07",
		"2026-03-04 05:06:07.5+02:00", "2026-03-04T05:06:07.123456789", "2026-3-4", "20260-03-04"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDecimal(s), decimal.MatchString(s); got != want {
			t.Fatalf("isDecimal(%q) = %v, the pattern says %v", s, got, want)
		}
		var want time.Time
		wantOK := false
		for _, l := range dateTimeLayouts {
			if tm, err := time.Parse(l, s); err == nil {
				want, wantOK = tm, true
				break
			}
		}
		got, err := parseTime(s, "")
		if (err == nil) != wantOK || (wantOK && !got.Equal(want)) {
			t.Fatalf("parseTime(%q) = %v, %v; trying every layout gives %v, %v", s, got, err, want, wantOK)
		}
	})
}

// FuzzNormalDecimal: NormalDecimal holds of exactly the decimals that
// normDecimal leaves as they are.
func FuzzNormalDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "1.50", "-0.5", "01", ".5", "5.", "+1", "-", "", "1.2.3", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalDecimal(s), isDecimal(s) && normDecimal(s) == s; got != want {
			t.Fatalf("NormalDecimal(%q) = %v, want %v", s, got, want)
		}
	})
}
