package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads an ISO 8601 duration such as PT7S, PT1H30M, P1D or
// P1Y2M (a month counts 30 days and a year 365, as timeouts need no calendar).
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := fmt.Errorf("%q is not an ISO 8601 duration such as PT30S, PT5M or P1D", orig)
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, bad
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, bad
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, bad
		}
		var unit time.Duration
		switch {
		case !inTime && s[i] == 'Y':
			unit = 365 * 24 * time.Hour
		case !inTime && s[i] == 'M':
			unit = 30 * 24 * time.Hour
		case !inTime && s[i] == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && s[i] == 'D':
			unit = 24 * time.Hour
		case inTime && s[i] == 'H':
			unit = time.Hour
		case inTime && s[i] == 'M':
			unit = time.Minute
		case inTime && s[i] == 'S':
			unit = time.Second
		default:
			return 0, bad
		}
		d += time.Duration(n * float64(unit))
		s = s[i+1:]
	}
	return d, nil
}
