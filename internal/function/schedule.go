package function

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a 6-field NCRONTAB expression, "{second} {minute} {hour} {day}
// {month} {day-of-week}", evaluated in UTC. A time matches when every field
// matches (NCRONTAB does not OR day and day-of-week as Unix cron does).
type Schedule struct {
	Expr                             string
	sec, min, hour, day, month, dows uint64
}

var monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
var dowNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// ParseSchedule parses an NCRONTAB expression with seconds.
func ParseSchedule(expr string) (*Schedule, error) {
	f := strings.Fields(expr)
	if len(f) != 6 {
		return nil, fmt.Errorf("%q: want 6 fields {second} {minute} {hour} {day} {month} {day-of-week}, got %d", expr, len(f))
	}
	s := &Schedule{Expr: expr}
	var err error
	specs := []struct {
		name   string
		dst    *uint64
		lo, hi int
		names  map[string]int
		field  string
	}{
		{"second", &s.sec, 0, 59, nil, f[0]},
		{"minute", &s.min, 0, 59, nil, f[1]},
		{"hour", &s.hour, 0, 23, nil, f[2]},
		{"day", &s.day, 1, 31, nil, f[3]},
		{"month", &s.month, 1, 12, monthNames, f[4]},
		{"day-of-week", &s.dows, 0, 7, dowNames, f[5]},
	}
	for _, sp := range specs {
		if *sp.dst, err = parseField(sp.field, sp.lo, sp.hi, sp.names); err != nil {
			return nil, fmt.Errorf("%q: %s field: %w", expr, sp.name, err)
		}
	}
	if s.dows&(1<<7) != 0 { // 7 is Sunday too
		s.dows |= 1
	}
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q never matches a date", expr)
	}
	return s, nil
}

func parseField(f string, lo, hi int, names map[string]int) (uint64, error) {
	var mask uint64
	for _, part := range strings.Split(f, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 || n > hi {
				return 0, fmt.Errorf("step %q is not a positive number up to %d", stepStr, hi)
			}
			step = n
		}
		var a, b int
		switch {
		case rng == "*":
			a, b = lo, hi
		default:
			first, last, isRange := strings.Cut(rng, "-")
			var err error
			if a, err = fieldValue(first, lo, hi, names); err != nil {
				return 0, err
			}
			b = a
			if isRange {
				if b, err = fieldValue(last, lo, hi, names); err != nil {
					return 0, err
				}
				if b < a {
					return 0, fmt.Errorf("range %q runs backwards", rng)
				}
			} else if hasStep {
				b = hi
			}
		}
		for v := a; v <= b; v += step {
			mask |= 1 << uint(v)
		}
	}
	return mask, nil
}

func fieldValue(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, lo, hi)
	}
	return v, nil
}

// Next returns the first matching time strictly after t, in UTC, or the zero
// time when none comes within five years.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case s.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case s.day&(1<<uint(t.Day())) == 0 || s.dows&(1<<uint(t.Weekday())) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case s.hour&(1<<uint(t.Hour())) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case s.min&(1<<uint(t.Minute())) == 0:
			t = t.Truncate(time.Minute).Add(time.Minute)
		case s.sec&(1<<uint(t.Second())) == 0:
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}
