package broker

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as an ISO 8601 duration ("PT1M",
// "P10675199DT2H48M5.4775807S") in JSON, as Service Bus writes its settings.
type Duration time.Duration

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// ParseDuration parses an ISO 8601 duration of days, hours, minutes and
// seconds. Durations too long for time.Duration saturate at the maximum, which
// Service Bus uses to mean "never".
func ParseDuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT1M or P1DT2H", s)
	}
	var total float64
	units := []float64{86400, 3600, 60, 1}
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
		}
		total += v * u
	}
	if total*1e9 >= float64(MaxTTL) {
		return MaxTTL, nil
	}
	return time.Duration(total * 1e9).Round(time.Microsecond), nil
}

// FormatDuration writes d as an ISO 8601 duration.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	if d == MaxTTL {
		// "Never", written as Service Bus writes TimeSpan.MaxValue.
		return "P10675199DT2H48M5.4775807S"
	}
	var b strings.Builder
	b.WriteString("P")
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if d == 0 {
		return b.String()
	}
	b.WriteString("T")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if d > 0 {
		s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		fmt.Fprintf(&b, "%sS", s)
	}
	return b.String()
}

// MarshalJSON writes the ISO 8601 form.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// UnmarshalJSON reads the ISO 8601 form.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be an ISO 8601 string such as \"PT1M\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
