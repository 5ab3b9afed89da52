package workflow

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"junction/internal/expr"
)

// schedule computes a Recurrence trigger's occurrences.
type schedule struct {
	freq      string
	interval  int
	start     time.Time
	end       time.Time
	loc       *time.Location
	hours     []int
	minutes   []int
	weekDays  map[time.Weekday]bool
	monthDays map[int]bool
	hasStart  bool
}

var weekdayNames = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

func newSchedule(r *Recurrence) (*schedule, error) {
	s := &schedule{freq: strings.ToLower(r.Frequency), interval: r.Interval, loc: time.UTC}
	switch s.freq {
	case "second", "minute", "hour", "day", "week", "month":
	default:
		return nil, fmt.Errorf("frequency must be Second, Minute, Hour, Day, Week or Month, not %q", r.Frequency)
	}
	if s.interval < 1 {
		return nil, fmt.Errorf("interval must be at least 1")
	}
	if r.TimeZone != "" {
		loc, err := expr.Zone(r.TimeZone)
		if err != nil {
			return nil, err
		}
		s.loc = loc
	}
	parse := func(v, field string) (time.Time, error) {
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(l, v, s.loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%s %q is not an ISO 8601 time", field, v)
	}
	if r.StartTime != "" {
		t, err := parse(r.StartTime, "startTime")
		if err != nil {
			return nil, err
		}
		s.start, s.hasStart = t, true
	}
	if r.EndTime != "" {
		t, err := parse(r.EndTime, "endTime")
		if err != nil {
			return nil, err
		}
		s.end = t
	}
	if sc := r.Schedule; sc != nil {
		if s.freq != "day" && s.freq != "week" && s.freq != "month" {
			return nil, fmt.Errorf("a schedule needs frequency Day, Week or Month")
		}
		for _, h := range sc.Hours {
			if h < 0 || h > 23 {
				return nil, fmt.Errorf("schedule.hours must be 0..23, not %d", h)
			}
		}
		for _, m := range sc.Minutes {
			if m < 0 || m > 59 {
				return nil, fmt.Errorf("schedule.minutes must be 0..59, not %d", m)
			}
		}
		s.hours = append([]int(nil), sc.Hours...)
		s.minutes = append([]int(nil), sc.Minutes...)
		sort.Ints(s.hours)
		sort.Ints(s.minutes)
		if len(sc.WeekDays) > 0 {
			if s.freq != "week" {
				return nil, fmt.Errorf("schedule.weekDays needs frequency Week")
			}
			s.weekDays = map[time.Weekday]bool{}
			for _, d := range sc.WeekDays {
				wd, ok := weekdayNames[strings.ToLower(d)]
				if !ok {
					return nil, fmt.Errorf("schedule.weekDays: %q is not a day of the week", d)
				}
				s.weekDays[wd] = true
			}
		}
		if len(sc.MonthDays) > 0 {
			if s.freq != "month" {
				return nil, fmt.Errorf("schedule.monthDays needs frequency Month")
			}
			s.monthDays = map[int]bool{}
			for _, d := range sc.MonthDays {
				if d < 1 || d > 31 {
					return nil, fmt.Errorf("schedule.monthDays must be 1..31, not %d", d)
				}
				s.monthDays[d] = true
			}
		}
	}
	return s, nil
}

// next returns the first occurrence strictly after t, or the zero time when
// the recurrence has ended. anchor is used as the start when none is given.
func (s *schedule) next(t, anchor time.Time) time.Time {
	start := s.start
	if !s.hasStart {
		start = anchor
	}
	start = start.In(s.loc)
	var n time.Time
	if s.hours == nil && s.minutes == nil && s.weekDays == nil && s.monthDays == nil {
		n = s.simpleNext(t, start)
	} else {
		n = s.scheduledNext(t, start)
	}
	if !s.end.IsZero() && n.After(s.end) {
		return time.Time{}
	}
	return n
}

func (s *schedule) step(start time.Time, k int) time.Time {
	switch s.freq {
	case "second":
		return start.Add(time.Duration(k*s.interval) * time.Second)
	case "minute":
		return start.Add(time.Duration(k*s.interval) * time.Minute)
	case "hour":
		return start.Add(time.Duration(k*s.interval) * time.Hour)
	case "day":
		return start.AddDate(0, 0, k*s.interval)
	case "week":
		return start.AddDate(0, 0, 7*k*s.interval)
	}
	return start.AddDate(0, k*s.interval, 0)
}

func (s *schedule) simpleNext(t, start time.Time) time.Time {
	if start.After(t) {
		return start
	}
	// Estimate k, then correct: calendar steps are not all the same length.
	approx := s.step(start, 1).Sub(start)
	k := int(t.Sub(start) / approx)
	if k > 0 {
		k--
	}
	for {
		n := s.step(start, k)
		if n.After(t) {
			return n
		}
		k++
	}
}

func (s *schedule) scheduledNext(t, start time.Time) time.Time {
	hours, minutes := s.hours, s.minutes
	if hours == nil {
		hours = []int{start.Hour()}
	}
	if minutes == nil {
		minutes = []int{start.Minute()}
	}
	from := t.In(s.loc)
	if start.After(from) {
		from = start.Add(-time.Second)
	}
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, s.loc)
	startDay := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, s.loc)
	horizon := 800
	if s.freq == "month" {
		horizon = 370 * (s.interval + 4) // months with the day (31) may be far apart
	}
	for i := 0; i < horizon; i++ {
		d := day.AddDate(0, 0, i)
		days := int(d.Sub(startDay).Hours()/24 + 0.5)
		ok := true
		switch s.freq {
		case "day":
			ok = days%s.interval == 0
		case "week":
			weekStart := startDay.AddDate(0, 0, -int(startDay.Weekday()))
			weeks := int(d.Sub(weekStart).Hours()/24+0.5) / 7
			ok = weeks%s.interval == 0
			if s.weekDays != nil {
				ok = ok && s.weekDays[d.Weekday()]
			} else {
				ok = ok && d.Weekday() == start.Weekday()
			}
		case "month":
			// Months counted from the start's month; a day that a month
			// lacks (31 in April) is skipped in that month.
			months := (d.Year()-startDay.Year())*12 + int(d.Month()) - int(startDay.Month())
			ok = months%s.interval == 0
			if s.monthDays != nil {
				ok = ok && s.monthDays[d.Day()]
			} else {
				ok = ok && d.Day() == start.Day()
			}
		}
		if !ok {
			continue
		}
		for _, h := range hours {
			for _, m := range minutes {
				c := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, s.loc)
				if c.After(t) && !c.Before(start) {
					return c
				}
			}
		}
	}
	return time.Time{}
}
