package expr

import (
	"math"
	"strconv"
	"strings"
)

// numberCulture returns a locale's group separator, decimal separator and
// currency format for the few cultures formatNumber knows.
func numberCulture(locale string) (group, dec, currency string) {
	switch strings.ToLower(locale) {
	case "fr-fr", "fr":
		return "\u202f", ",", "{n} €"
	case "de-de", "de", "es-es", "es", "it-it", "it", "nl-nl", "nl", "pt-br":
		cur := "{n} €"
		if strings.EqualFold(locale, "pt-br") {
			cur = "R$ {n}"
		}
		return ".", ",", cur
	case "en-gb":
		return ",", ".", "£{n}"
	case "ja-jp", "ja":
		return ",", ".", "¥{n}"
	case "is-is":
		return ".", ",", "{n} kr."
	}
	return ",", ".", "${n}"
}

// formatNumber formats as .NET's ToString(format, culture): standard formats
// C, D, E, F, N, P, X with a precision, and custom formats made of 0 # , . %.
func formatNumber(n any, format, locale string) (any, error) {
	f, _ := asFloat(n)
	group, dec, currency := numberCulture(locale)
	if len(format) >= 1 && strings.ContainsRune("CcDdEeFfNnPpXxGg", rune(format[0])) && isAllDigits(format[1:]) {
		prec := -1
		if len(format) > 1 {
			p, err := strconv.Atoi(format[1:])
			if err != nil || p > 99 {
				return nil, errf("the template language function 'formatNumber' format '%s' is not valid", format)
			}
			prec = p
		}
		or := func(d int) int {
			if prec < 0 {
				return d
			}
			return prec
		}
		switch format[0] {
		case 'C', 'c':
			s := grouped(math.Abs(f), or(2), group, dec)
			s = strings.Replace(currency, "{n}", s, 1)
			if f < 0 {
				s = "-" + s
			}
			return s, nil
		case 'D', 'd':
			i, ok := n.(int64)
			if !ok {
				return nil, errf("the template language function 'formatNumber' format 'D' needs an integer")
			}
			s := strconv.FormatInt(abs64(i), 10)
			for len(s) < prec {
				s = "0" + s
			}
			if i < 0 {
				s = "-" + s
			}
			return s, nil
		case 'E', 'e':
			s := strconv.FormatFloat(f, 'e', or(6), 64)
			mant, exp, _ := strings.Cut(s, "e")
			sign := exp[0]
			digits := strings.TrimLeft(exp[1:], "0")
			for len(digits) < 3 {
				digits = "0" + digits
			}
			e := "e"
			if format[0] == 'E' {
				e = "E"
			}
			return strings.Replace(mant, ".", dec, 1) + e + string(sign) + digits, nil
		case 'F', 'f':
			return strings.Replace(strconv.FormatFloat(f, 'f', or(2), 64), ".", dec, 1), nil
		case 'N', 'n':
			s := grouped(math.Abs(f), or(2), group, dec)
			if f < 0 && s != grouped(0, or(2), group, dec) {
				s = "-" + s
			}
			return s, nil
		case 'P', 'p':
			s := grouped(math.Abs(f*100), or(2), group, dec) + " %"
			if f < 0 {
				s = "-" + s
			}
			return s, nil
		case 'X', 'x':
			i, ok := n.(int64)
			if !ok {
				return nil, errf("the template language function 'formatNumber' format 'X' needs an integer")
			}
			s := strconv.FormatUint(uint64(i), 16)
			if format[0] == 'X' {
				s = strings.ToUpper(s)
			}
			for len(s) < prec {
				s = "0" + s
			}
			return s, nil
		case 'G', 'g':
			return strings.Replace(ToString(n), ".", dec, 1), nil
		}
	}
	return customNumber(f, format, group, dec)
}

func abs64(i int64) int64 {
	if i < 0 {
		return -i
	}
	return i
}

func isAllDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func grouped(f float64, prec int, group, dec string) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	ip, fp, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	if fp != "" {
		b.WriteString(dec + fp)
	}
	return b.String()
}

// customNumber handles custom formats such as "0.00", "#,##0.0", "0%",
// "$#,##0.00" and literal text around the digits.
func customNumber(f float64, format, group, dec string) (any, error) {
	// Find the digit placeholder section.
	first := strings.IndexAny(format, "0#")
	if first < 0 {
		return nil, errf("the template language function 'formatNumber' format '%s' is not valid", format)
	}
	last := strings.LastIndexAny(format, "0#")
	prefix, body, suffix := format[:first], format[first:last+1], format[last+1:]
	if strings.Contains(prefix+suffix, "%") {
		f *= 100
	}
	intPart, fracPart, hasDot := strings.Cut(body, ".")
	useGroup := strings.Contains(intPart, ",")
	intPart = strings.ReplaceAll(intPart, ",", "")
	minInt := strings.Count(intPart, "0")
	minFrac := strings.Count(fracPart, "0")
	maxFrac := len(strings.ReplaceAll(fracPart, ",", ""))
	if !hasDot {
		maxFrac = 0
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', maxFrac, 64)
	ip, fp, _ := strings.Cut(s, ".")
	for len(fp) > minFrac && strings.HasSuffix(fp, "0") {
		fp = fp[:len(fp)-1]
	}
	if ip == "0" && minInt == 0 {
		ip = ""
	}
	for len(ip) < minInt {
		ip = "0" + ip
	}
	if useGroup {
		var b strings.Builder
		for i, c := range ip {
			if i > 0 && (len(ip)-i)%3 == 0 {
				b.WriteString(group)
			}
			b.WriteRune(c)
		}
		ip = b.String()
	}
	out := ip
	if fp != "" {
		out += dec + fp
	}
	neg := f < 0 && strings.Trim(out, "0"+dec+group) != ""
	if neg {
		out = "-" + prefix + out
	} else {
		out = prefix + out
	}
	return out + suffix, nil
}
