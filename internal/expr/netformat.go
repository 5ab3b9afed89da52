package expr

import (
	"strconv"
	"strings"
	"time"
)

// standardFormats expands .NET's one-letter date formats (en-US culture).
var standardFormats = map[string]string{
	"d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "f": "dddd, MMMM d, yyyy h:mm tt", "F": "dddd, MMMM d, yyyy h:mm:ss tt",
	"g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt", "M": "MMMM d", "m": "MMMM d",
	"o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	"r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	"s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss", "t": "h:mm tt", "T": "h:mm:ss tt", "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	"U": "dddd, MMMM d, yyyy h:mm:ss tt", "y": "MMMM yyyy", "Y": "MMMM yyyy",
}

// dtToken is one piece of a .NET custom date format: a field letter repeated
// n times, or literal text.
type dtToken struct {
	field byte
	n     int
	lit   string
}

func tokenizeDateFormat(f string) ([]dtToken, error) {
	if len(f) == 1 {
		std, ok := standardFormats[f]
		if !ok {
			return nil, errf("the date format '%s' is not a valid .NET standard format", f)
		}
		f = std
	}
	if strings.HasPrefix(f, "%") && len(f) == 2 {
		f = f[1:]
	}
	var out []dtToken
	for i := 0; i < len(f); {
		c := f[i]
		switch c {
		case 'd', 'f', 'F', 'g', 'h', 'H', 'K', 'm', 'M', 's', 't', 'y', 'z':
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			out = append(out, dtToken{field: c, n: j - i})
			i = j
		case '\'', '"':
			j := strings.IndexByte(f[i+1:], c)
			if j < 0 {
				return nil, errf("the date format '%s' has an unclosed quote", f)
			}
			out = append(out, dtToken{lit: f[i+1 : i+1+j]})
			i += j + 2
		case '\\':
			if i+1 >= len(f) {
				return nil, errf("the date format '%s' ends with an escape", f)
			}
			out = append(out, dtToken{lit: f[i+1 : i+2]})
			i += 2
		case '%':
			i++
		default:
			out = append(out, dtToken{lit: string(c)})
			i++
		}
	}
	return out, nil
}

// FormatDateTime formats t with a .NET date format. utc says whether the time
// is UTC (K renders "Z") or unspecified (K renders nothing).
func FormatDateTime(t time.Time, format string, utc bool) (string, error) {
	toks, err := tokenizeDateFormat(format)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, tk := range toks {
		if tk.field == 0 {
			b.WriteString(tk.lit)
			continue
		}
		n := tk.n
		switch tk.field {
		case 'd':
			switch {
			case n == 1:
				b.WriteString(strconv.Itoa(t.Day()))
			case n == 2:
				b.WriteString(pad(int64(t.Day()), 2))
			case n == 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'f', 'F':
			if n > 7 {
				return "", errf("the date format '%s' has too many fraction digits", format)
			}
			frac := pad(int64(t.Nanosecond()/100), 7)[:n]
			if tk.field == 'F' {
				frac = strings.TrimRight(frac, "0")
				if frac == "" && b.Len() > 0 && strings.HasSuffix(b.String(), ".") {
					s := b.String()
					b.Reset()
					b.WriteString(s[:len(s)-1])
				}
			}
			b.WriteString(frac)
		case 'g':
			b.WriteString("A.D.")
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(pad(int64(h), min(n, 2)))
		case 'H':
			b.WriteString(pad(int64(t.Hour()), min(n, 2)))
		case 'K':
			if utc {
				b.WriteString("Z")
			}
		case 'm':
			b.WriteString(pad(int64(t.Minute()), min(n, 2)))
		case 'M':
			switch {
			case n <= 2:
				b.WriteString(pad(int64(t.Month()), n))
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 's':
			b.WriteString(pad(int64(t.Second()), min(n, 2)))
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			b.WriteString(ampm[:min(n, 2)])
		case 'y':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case 2:
				b.WriteString(pad(int64(t.Year()%100), 2))
			default:
				b.WriteString(pad(int64(t.Year()), n))
			}
		case 'z':
			if !utc {
				// An unspecified time has no offset of its own; .NET prints the
				// machine's, which for a server is UTC.
			}
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		}
	}
	return b.String(), nil
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// ParseDateTime reads s with a .NET custom date format. The result is UTC.
func ParseDateTime(s, format string) (time.Time, error) {
	toks, err := tokenizeDateFormat(format)
	if err != nil {
		return time.Time{}, err
	}
	year, month, day, hour, minute, sec, nsec := 1, 1, 1, 0, 0, 0, 0
	pm, hasAMPM, h12 := false, false, false
	offset, hasOffset := 0, false
	i := 0
	digits := func(minN, maxN int) (int, error) {
		j := i
		for j < len(s) && j-i < maxN && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i < minN {
			return 0, errf("the value '%s' does not match the format '%s' at position %d", truncate(s, 60), format, i)
		}
		n, _ := strconv.Atoi(s[i:j])
		i = j
		return n, nil
	}
	name := func(names []string, short bool) (int, error) {
		for k, nm := range names {
			if short {
				nm = nm[:3]
			}
			if len(s)-i >= len(nm) && strings.EqualFold(s[i:i+len(nm)], nm) {
				i += len(nm)
				return k, nil
			}
		}
		return 0, errf("the value '%s' does not match the format '%s' at position %d", truncate(s, 60), format, i)
	}
	for _, tk := range toks {
		if tk.field == 0 {
			if !strings.HasPrefix(s[i:], tk.lit) {
				return time.Time{}, errf("the value '%s' does not match the format '%s': expected %q at position %d", truncate(s, 60), format, tk.lit, i)
			}
			i += len(tk.lit)
			continue
		}
		var err error
		n := tk.n
		switch tk.field {
		case 'd':
			if n <= 2 {
				day, err = digits(n, 2)
			} else {
				_, err = name(dayNames, n == 3)
			}
		case 'M':
			if n <= 2 {
				month, err = digits(n, 2)
			} else {
				var m int
				m, err = name(monthNames, n == 3)
				month = m + 1
			}
		case 'y':
			if n <= 2 {
				year, err = digits(n, 2)
				year += 2000
			} else {
				year, err = digits(n, max(n, 4))
			}
		case 'H':
			hour, err = digits(n, 2)
		case 'h':
			hour, err = digits(n, 2)
			h12 = true
		case 'm':
			minute, err = digits(n, 2)
		case 's':
			sec, err = digits(n, 2)
		case 'f', 'F':
			start := i
			minN := n
			if tk.field == 'F' {
				minN = 0
			}
			var f int
			f, err = digits(minN, n)
			if err == nil {
				for k := i - start; k < 9; k++ {
					f *= 10
				}
				nsec = f
			}
		case 't':
			hasAMPM = true
			if i < len(s) && (s[i] == 'P' || s[i] == 'p') {
				pm = true
			}
			i += min(n, 2, len(s)-i)
		case 'K', 'z':
			if i < len(s) && (s[i] == 'Z' || s[i] == 'z') {
				i++
				hasOffset = true
				break
			}
			if i < len(s) && (s[i] == '+' || s[i] == '-') {
				sign := 1
				if s[i] == '-' {
					sign = -1
				}
				i++
				var hh, mm int
				hh, err = digits(1, 2)
				if err == nil && i < len(s) && s[i] == ':' {
					i++
				}
				if err == nil && i < len(s) && s[i] >= '0' && s[i] <= '9' {
					mm, err = digits(2, 2)
				}
				offset = sign * (hh*3600 + mm*60)
				hasOffset = true
			}
		case 'g':
			_, _ = name([]string{"A.D.", "AD"}, false)
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	if i != len(s) {
		return time.Time{}, errf("the value '%s' has extra text after the format '%s'", truncate(s, 60), format)
	}
	if h12 || hasAMPM {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Month() != time.Month(month) || t.Day() != day {
		return time.Time{}, errf("the value '%s' is not a valid date", truncate(s, 60))
	}
	if hasOffset {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, nil
}
