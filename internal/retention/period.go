package retention

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is how long a history keeps its entries: a length of time, or
// Forever (kept until purged). The zero Period means "not set": the setting's
// default applies.
type Period time.Duration

// Forever keeps entries until someone purges them.
const Forever Period = -1

// maxDays bounds a period so that it fits a time.Duration with room to spare.
const maxDays = 36500

// ParsePeriod reads a period: a number of days ("90d"), days and a Go
// duration ("1d12h"), a Go duration ("36h", "15m"), or "forever".
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "forever") {
		return Forever, nil
	}
	if s == "" {
		return 0, errors.New("a period is required, such as 7d, 12h or forever")
	}
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || s[:i] != strconv.Itoa(days) {
			return 0, fmt.Errorf("%q is not a period: write whole days before d, such as 7d or 1d12h", s)
		}
		if days > maxDays {
			return 0, fmt.Errorf("%q is longer than %d days; write forever to keep everything", s, maxDays)
		}
		d, rest = time.Duration(days)*24*time.Hour, s[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || more < 0 {
			return 0, fmt.Errorf("%q is not a period: give days (7d), a duration (36h, 90m), or forever", s)
		}
		if more > maxDays*24*time.Hour {
			return 0, fmt.Errorf("%q is longer than %d days; write forever to keep everything", s, maxDays)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not a positive period; write forever to keep everything", s)
	}
	return Period(d), nil
}

// String writes p as ParsePeriod reads it: whole days as "90d", otherwise
// days followed by a Go duration; "" for the zero Period.
func (p Period) String() string {
	switch {
	case p == Forever:
		return "forever"
	case p <= 0:
		return ""
	}
	d := time.Duration(p)
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	switch {
	case days == 0:
		return rest.String()
	case rest == 0:
		return strconv.FormatInt(int64(days), 10) + "d"
	}
	return strconv.FormatInt(int64(days), 10) + "d" + rest.String()
}

// Set parses a flag's value.
func (p *Period) Set(s string) error {
	v, err := ParsePeriod(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Duration is p as a time.Duration; Forever and the zero Period are 0.
func (p Period) Duration() time.Duration {
	if p <= 0 {
		return 0
	}
	return time.Duration(p)
}

// Kept reports whether entries are kept for ever.
func (p Period) Kept() bool { return p == Forever }

// MarshalText writes the period as String does, for JSON.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a period, for JSON.
func (p *Period) UnmarshalText(b []byte) error { return p.Set(string(b)) }
