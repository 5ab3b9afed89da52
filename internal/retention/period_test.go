package retention

import (
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want Period
		text string
	}{
		{"90d", Period(90 * 24 * time.Hour), "90d"},
		{" 7d ", Period(7 * 24 * time.Hour), "7d"},
		{"1d12h", Period(36 * time.Hour), "1d12h0m0s"},
		{"36h", Period(36 * time.Hour), "1d12h0m0s"},
		{"90m", Period(90 * time.Minute), "1h30m0s"},
		{"1.5s", Period(1500 * time.Millisecond), "1.5s"},
		{"forever", Forever, "forever"},
		{"Forever", Forever, "forever"},
	} {
		got, err := ParsePeriod(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v", c.in, time.Duration(got), err, time.Duration(c.want))
			continue
		}
		if got.String() != c.text {
			t.Errorf("%q prints as %q, want %q", c.in, got.String(), c.text)
		}
		if again, err := ParsePeriod(got.String()); err != nil || again != got {
			t.Errorf("%q does not read back: %v %v", got.String(), again, err)
		}
	}
	for _, bad := range []string{"", "0", "0d", "0s", "-1d", "-5m", "d", "7 d", "+7d", "07d", "7dd", "1w", "36500000d", "7d-1h", "never", "1e9h"} {
		if p, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) = %v, want an error", bad, p)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"90d", "1d12h", "36h", "forever", "0", "-1d", "7d-1h", "99999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if p != Forever && p <= 0 {
			t.Fatalf("%q parsed to a period that is not positive: %d", s, p)
		}
		again, err := ParsePeriod(p.String())
		if err != nil || again != p {
			t.Fatalf("%q → %q does not read back: %v %v", s, p.String(), again, err)
		}
	})
}
