package job

import (
	"testing"
	"time"
)

func FuzzExpr(f *testing.F) {
	for _, s := range []string{"concat(toUpper(field('a')), '-', 'b''c')", "@if(equals(field('x'), 1), 'y', null)", "substring('abc', 1, 5)", "coalesce(field('n'), 0)", "((", "replace('a','a','b')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseExpr(s)
		if err != nil {
			return
		}
		e.eval(map[string]any{"a": "x", "x": int64(1), "n": nil})
	})
}

func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "30 */5 * * * *", "@every 10m", "0 2 * * MON-FRI", "0 0 31 2 *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sched, err := ParseSchedule(s, "")
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if next := sched.Next(from); !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: next %v is not after %v", s, next, from)
		}
	})
}

func TestExpressions(t *testing.T) {
	t.Parallel()
	fields := map[string]any{"first": "ada", "last": "Lovelace", "n": nil, "code": "7"}
	for _, tc := range []struct{ expr, want string }{
		{"concat(toUpper(field('first')), ' ', field('last'))", "ADA Lovelace"},
		{"@trim('  x ')", "x"},
		{"substring(field('last'), 0, 4)", "Love"},
		{"replace(field('last'), 'e', '3')", "Lov3lac3"},
		{"coalesce(field('n'), field('first'))", "ada"},
		{"if(equals(int(field('code')), 7), 'seven', 'other')", "seven"},
		{"if(equals(field('code'), 7), 'seven', 'other')", "other"}, // '7' is text: the workflow language does not coerce
		{"formatDateTime('2026-03-04T05:06:07Z', 'dd/MM/yyyy')", "04/03/2026"},
		{"@{toUpper(item()?['first'])}", "ADA"},
		{"string(add(int(field('code')), 1))", "8"},
		{"concat('it''s ', 42)", "it's 42"},
	} {
		e, err := parseExpr(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		v, err := e.eval(fields)
		if err != nil || v != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.expr, v, err, tc.want)
		}
	}
	for _, bad := range []string{"concat(", "nope(1)", "toUpper()", "'open", "field('a') x", "substring('ab', 5)", "variables('x')", "triggerBody()"} {
		e, err := parseExpr(bad)
		if err == nil {
			if _, err = e.eval(fields); err == nil {
				t.Errorf("%q: no error", bad)
			}
		}
	}
}

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
		got, err := convert(tc.in, tc.typ, "")
		if err != nil || got != tc.want {
			t.Errorf("convert(%v, %s) = %v, %v; want %v", tc.in, tc.typ, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ in, typ string }{{"4.5", "int"}, {"1e400", "float"}, {"1,5", "decimal"}, {"maybe", "bool"}, {"2026-13-01", "date"}, {"xyz", "guid"}} {
		if _, err := convert(bad.in, bad.typ, ""); err == nil {
			t.Errorf("convert(%q, %s) accepted", bad.in, bad.typ)
		}
	}
}
