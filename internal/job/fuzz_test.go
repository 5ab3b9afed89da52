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
