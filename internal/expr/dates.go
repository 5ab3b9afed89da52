package expr

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // convertTimeZone must work on hosts without zoneinfo
)

// stamp is a parsed timestamp. unspecified marks a local time with no zone
// (what convertTimeZone returns), which formats without a "Z".
type stamp struct {
	t           time.Time
	unspecified bool
}

var inputLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.9999999",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"01/02/2006 15:04:05",
	"1/2/2006 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"01/02/2006",
	"1/2/2006",
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 GMT",
	"2006-01-02T15:04:05.9999999Z07:00",
}

// parseStamp reads a timestamp string. Times without a zone are taken as
// UTC, as Logic Apps does; times with an offset are converted to UTC.
func parseStamp(s string) (stamp, error) {
	s = strings.TrimSpace(s)
	for _, l := range inputLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return stamp{t: t.UTC()}, nil
		}
	}
	return stamp{}, errf("the provided value '%s' is not a valid timestamp; use an ISO 8601 value such as 2024-01-31T13:45:00Z", truncate(s, 60))
}

func (c *call) stamp(i int) (stamp, error) {
	s, err := c.str(i)
	if err != nil {
		return stamp{}, err
	}
	st, err := parseStamp(s)
	if err != nil {
		return stamp{}, errf("the template language function '%s' %v", c.name, err)
	}
	return st, nil
}

// format renders st with an optional .NET format (default "o").
func (c *call) format(st stamp, i int) (any, error) {
	f, err := c.optStr(i, "o")
	if err != nil {
		return nil, err
	}
	s, err := FormatDateTime(st.t, f, !st.unspecified)
	if err != nil {
		return nil, errf("the template language function '%s' %v", c.name, err)
	}
	return s, nil
}

var unitNames = map[string]string{
	"second": "Second", "seconds": "Second", "minute": "Minute", "minutes": "Minute", "hour": "Hour", "hours": "Hour",
	"day": "Day", "days": "Day", "week": "Week", "weeks": "Week", "month": "Month", "months": "Month", "year": "Year", "years": "Year",
}

func addUnit(t time.Time, n int64, unit string) (time.Time, error) {
	switch unitNames[strings.ToLower(unit)] {
	case "Second":
		return t.Add(time.Duration(n) * time.Second), nil
	case "Minute":
		return t.Add(time.Duration(n) * time.Minute), nil
	case "Hour":
		return t.Add(time.Duration(n) * time.Hour), nil
	case "Day":
		return t.AddDate(0, 0, int(n)), nil
	case "Week":
		return t.AddDate(0, 0, 7*int(n)), nil
	case "Month":
		return t.AddDate(0, int(n), 0), nil
	case "Year":
		return t.AddDate(int(n), 0, 0), nil
	}
	return t, errf("the time unit '%s' is not valid; use Second, Minute, Hour, Day, Week, Month or Year", unit)
}

func registerDates() {
	def("utcNow", 0, 1, KString, pS, func(c *call) (any, error) {
		return c.format(stamp{t: c.scope.Now().UTC()}, 0)
	})
	adder := func(name string, unit string) {
		def(name, 2, 3, KString, []Kind{KString, KInt, KString}, func(c *call) (any, error) {
			st, err := c.stamp(0)
			if err != nil {
				return nil, err
			}
			n, err := c.int(1)
			if err != nil {
				return nil, err
			}
			st.t, _ = addUnit(st.t, n, unit)
			return c.format(st, 2)
		})
	}
	adder("addDays", "Day")
	adder("addHours", "Hour")
	adder("addMinutes", "Minute")
	adder("addSeconds", "Second")
	shift := func(name string, sign int64) {
		def(name, 3, 4, KString, []Kind{KString, KInt, KString, KString}, func(c *call) (any, error) {
			st, err := c.stamp(0)
			if err != nil {
				return nil, err
			}
			n, err := c.int(1)
			if err != nil {
				return nil, err
			}
			u, err := c.str(2)
			if err != nil {
				return nil, err
			}
			if st.t, err = addUnit(st.t, sign*n, u); err != nil {
				return nil, err
			}
			return c.format(st, 3)
		})
	}
	shift("addToTime", 1)
	shift("subtractFromTime", -1)
	rel := func(name string, sign int64) {
		def(name, 2, 3, KString, []Kind{KInt, KString, KString}, func(c *call) (any, error) {
			n, err := c.int(0)
			if err != nil {
				return nil, err
			}
			u, err := c.str(1)
			if err != nil {
				return nil, err
			}
			t, err := addUnit(c.scope.Now().UTC(), sign*n, u)
			if err != nil {
				return nil, err
			}
			return c.format(stamp{t: t}, 2)
		})
	}
	rel("getFutureTime", 1)
	rel("getPastTime", -1)
	def("formatDateTime", 1, 3, KString, pSSS, func(c *call) (any, error) {
		st, err := c.stamp(0)
		if err != nil {
			return nil, err
		}
		return c.format(st, 1)
	})
	def("parseDateTime", 1, 3, KString, pSSS, func(c *call) (any, error) {
		s, err := c.str(0)
		if err != nil {
			return nil, err
		}
		f, err := c.optStr(2, "")
		if err != nil {
			return nil, err
		}
		var st stamp
		if f == "" {
			if st, err = parseStamp(s); err != nil {
				return nil, errf("the template language function 'parseDateTime' %v", err)
			}
		} else {
			t, err := ParseDateTime(s, f)
			if err != nil {
				return nil, errf("the template language function 'parseDateTime' %v", err)
			}
			st = stamp{t: t}
		}
		out, _ := FormatDateTime(st.t, "o", true)
		return out, nil
	})
	def("convertTimeZone", 3, 4, KString, []Kind{KString, KString, KString, KString}, func(c *call) (any, error) {
		st, err := c.stamp(0)
		if err != nil {
			return nil, err
		}
		src, err := c.zone(1)
		if err != nil {
			return nil, err
		}
		dst, err := c.zone(2)
		if err != nil {
			return nil, err
		}
		t := inZone(st.t, src).In(dst)
		return c.format(stamp{t: wall(t), unspecified: dst != time.UTC}, 3)
	})
	def("convertToUtc", 2, 3, KString, pSSS, func(c *call) (any, error) {
		st, err := c.stamp(0)
		if err != nil {
			return nil, err
		}
		src, err := c.zone(1)
		if err != nil {
			return nil, err
		}
		return c.format(stamp{t: inZone(st.t, src).UTC()}, 2)
	})
	def("convertFromUtc", 2, 3, KString, pSSS, func(c *call) (any, error) {
		st, err := c.stamp(0)
		if err != nil {
			return nil, err
		}
		dst, err := c.zone(1)
		if err != nil {
			return nil, err
		}
		return c.format(stamp{t: wall(st.t.In(dst)), unspecified: dst != time.UTC}, 2)
	})
	start := func(name string, f func(t time.Time) time.Time) {
		def(name, 1, 2, KString, pSS, func(c *call) (any, error) {
			st, err := c.stamp(0)
			if err != nil {
				return nil, err
			}
			st.t = f(st.t)
			return c.format(st, 1)
		})
	}
	start("startOfDay", func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) })
	start("startOfHour", func(t time.Time) time.Time { return t.Truncate(time.Hour) })
	start("startOfMonth", func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) })
	part := func(name string, f func(t time.Time) int64) {
		def(name, 1, 1, KInt, pS, func(c *call) (any, error) {
			st, err := c.stamp(0)
			if err != nil {
				return nil, err
			}
			return f(st.t), nil
		})
	}
	part("dayOfWeek", func(t time.Time) int64 { return int64(t.Weekday()) })
	part("dayOfMonth", func(t time.Time) int64 { return int64(t.Day()) })
	part("dayOfYear", func(t time.Time) int64 { return int64(t.YearDay()) })
	part("ticks", Ticks)
	def("dateDifference", 2, 2, KString, pSS, func(c *call) (any, error) {
		a, err := c.stamp(0)
		if err != nil {
			return nil, err
		}
		b, err := c.stamp(1)
		if err != nil {
			return nil, err
		}
		d := b.t.Sub(a.t)
		neg := ""
		if d < 0 {
			neg, d = "-", -d
		}
		days := int64(d / (24 * time.Hour))
		d -= time.Duration(days) * 24 * time.Hour
		s := neg
		if days > 0 {
			s += strconv.FormatInt(days, 10) + "."
		}
		h, m, sec := int64(d/time.Hour), int64(d/time.Minute)%60, int64(d/time.Second)%60
		s += pad(h, 2) + ":" + pad(m, 2) + ":" + pad(sec, 2)
		if frac := int64(d%time.Second) / 100; frac > 0 {
			s += "." + pad(frac, 7)
		}
		return s, nil
	})
}

// Ticks is .NET's DateTime.Ticks: 100-nanosecond intervals since 0001-01-01.
func Ticks(t time.Time) int64 {
	const epochTicks = 621355968000000000
	return epochTicks + t.UTC().Unix()*10_000_000 + int64(t.Nanosecond())/100
}

func pad(n int64, w int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < w {
		s = "0" + s
	}
	return s
}

// wall keeps t's clock reading but drops its zone, for unspecified times.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// inZone reads the wall clock of t as a time in loc.
func inZone(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

func (c *call) zone(i int) (*time.Location, error) {
	name, err := c.str(i)
	if err != nil {
		return nil, err
	}
	loc, err := Zone(name)
	if err != nil {
		return nil, errf("the template language function '%s' %v", c.name, err)
	}
	return loc, nil
}

// windowsZones maps the Windows time zone names Logic Apps uses to IANA names.
var windowsZones = map[string]string{
	"UTC": "UTC", "Coordinated Universal Time": "UTC", "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
	"W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest", "Romance Standard Time": "Europe/Paris",
	"Central European Standard Time": "Europe/Warsaw", "E. Europe Standard Time": "Europe/Chisinau", "FLE Standard Time": "Europe/Kiev",
	"GTB Standard Time": "Europe/Bucharest", "Russian Standard Time": "Europe/Moscow", "Turkey Standard Time": "Europe/Istanbul",
	"Israel Standard Time": "Asia/Jerusalem", "South Africa Standard Time": "Africa/Johannesburg", "Egypt Standard Time": "Africa/Cairo",
	"Arabian Standard Time": "Asia/Dubai", "Arab Standard Time": "Asia/Riyadh", "India Standard Time": "Asia/Kolkata",
	"Pakistan Standard Time": "Asia/Karachi", "Bangladesh Standard Time": "Asia/Dhaka", "SE Asia Standard Time": "Asia/Bangkok",
	"China Standard Time": "Asia/Shanghai", "Singapore Standard Time": "Asia/Singapore", "Taipei Standard Time": "Asia/Taipei",
	"Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul", "AUS Eastern Standard Time": "Australia/Sydney",
	"E. Australia Standard Time": "Australia/Brisbane", "Cen. Australia Standard Time": "Australia/Adelaide",
	"W. Australia Standard Time": "Australia/Perth", "New Zealand Standard Time": "Pacific/Auckland",
	"Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago", "Mountain Standard Time": "America/Denver",
	"US Mountain Standard Time": "America/Phoenix", "Pacific Standard Time": "America/Los_Angeles", "Alaskan Standard Time": "America/Anchorage",
	"Hawaiian Standard Time": "Pacific/Honolulu", "Atlantic Standard Time": "America/Halifax", "Newfoundland Standard Time": "America/St_Johns",
	"E. South America Standard Time": "America/Sao_Paulo", "Argentina Standard Time": "America/Buenos_Aires",
	"SA Pacific Standard Time": "America/Bogota", "Central Standard Time (Mexico)": "America/Mexico_City",
	"Pacific SA Standard Time": "America/Santiago", "Venezuela Standard Time": "America/Caracas",
	"Canada Central Standard Time": "America/Regina", "Morocco Standard Time": "Africa/Casablanca",
	"W. Central Africa Standard Time": "Africa/Lagos", "E. Africa Standard Time": "Africa/Nairobi", "Iran Standard Time": "Asia/Tehran",
	"Afghanistan Standard Time": "Asia/Kabul", "Nepal Standard Time": "Asia/Katmandu", "Myanmar Standard Time": "Asia/Rangoon",
	"North Asia Standard Time": "Asia/Krasnoyarsk", "Vladivostok Standard Time": "Asia/Vladivostok", "West Asia Standard Time": "Asia/Tashkent",
}

// Zone resolves a Windows time zone name (as Logic Apps uses) or an IANA name.
func Zone(name string) (*time.Location, error) {
	if iana, ok := windowsZones[name]; ok {
		return time.LoadLocation(iana)
	}
	for win, iana := range windowsZones {
		if strings.EqualFold(win, name) {
			return time.LoadLocation(iana)
		}
	}
	if name != "" && name != "Local" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, errf("the time zone '%s' is not known; use a Windows name such as 'Pacific Standard Time' or an IANA name such as 'Europe/Paris'", name)
}
