package job

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule gives the occurrences of a cron expression.
type Schedule struct {
	s   cron.Schedule
	loc *time.Location
}

// ParseSchedule parses a 5-field (minute hour day month weekday) or 6-field
// (seconds first) cron expression, or a descriptor (@hourly, @every 5m), in
// the time zone tz (default UTC).
func ParseSchedule(expr, tz string) (Schedule, error) {
	loc := time.UTC
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return Schedule{}, fmt.Errorf("time zone %q: %v", tz, err)
		}
	}
	if len(expr) > 200 {
		return Schedule{}, fmt.Errorf("the cron expression is too long")
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron expression %q: %v", expr, err)
	}
	return Schedule{s: s, loc: loc}, nil
}

// Next returns the first occurrence strictly after t.
func (s Schedule) Next(t time.Time) time.Time { return s.s.Next(t.In(s.loc)).UTC() }
