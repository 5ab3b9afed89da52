package function

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 3, 14, 10, 20, 30, 500, time.UTC) // a Saturday
	tests := []struct {
		expr string
		want string
	}{
		{"* * * * * *", "2026-03-14T10:20:31Z"},
		{"0 */5 * * * *", "2026-03-14T10:25:00Z"},
		{"0 0 * * * *", "2026-03-14T11:00:00Z"},
		{"30 20 10 * * *", "2026-03-15T10:20:30Z"},
		{"0 30 9 * * Mon-Fri", "2026-03-16T09:30:00Z"},
		{"0 0 0 1 Jan *", "2027-01-01T00:00:00Z"},
		{"0 0 12 * * 0", "2026-03-15T12:00:00Z"},
		{"0 0 12 * * 7", "2026-03-15T12:00:00Z"},
		{"15,45 * * * * *", "2026-03-14T10:20:45Z"},
		{"0 0 0 29 2 *", "2028-02-29T00:00:00Z"},
		{"5-10/5 * * * * *", "2026-03-14T10:21:05Z"},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := s.Next(base).Format(time.RFC3339); got != tc.want {
			t.Errorf("%s: next = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"", "* * * * *", "60 * * * * *", "* * 24 * * *", "* * * 0 * *", "* * * * 13 *", "*/0 * * * * *", "5-1 * * * * *", "0 0 0 31 2 *", "a * * * * *", "* * * * * * *"} {
		if _, err := ParseSchedule(expr); err == nil {
			t.Errorf("%q: no error", expr)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	f.Add("0 */5 * * * *")
	f.Add("0 30 9 * Jan-Mar Mon-Fri")
	f.Add("1,2,3 4-5/2 * * * *")
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			return
		}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		n := s.Next(base)
		if !n.IsZero() && !n.After(base) {
			t.Fatalf("%q: next %v is not after %v", expr, n, base)
		}
	})
}
