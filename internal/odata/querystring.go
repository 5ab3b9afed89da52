package odata

import (
	"fmt"
	"net/url"
	"strings"
)

// SplitQuery splits a raw URL query string into its query options the way
// the OData ABNF reads it, not the way an HTML form decoder does:
//
//   - '&' separates query options; a '&' written inside a quoted string
//     literal ($filter=name eq 'A&B') belongs to the literal;
//   - ';' is an ordinary character at this level (it separates the options
//     nested inside $expand(...), which ParseExpand splits), so
//     $expand=nav($select=a;$top=2) arrives whole — url.ParseQuery drops such a
//     parameter without a word;
//   - names and values are percent-decoded after the split ('+' is a space,
//     as browsers and form encoders send it), so an encoded and an unencoded
//     query give the same options.
//
// A system query option ($select, ...) or a parameter alias (@p1) given twice
// and a malformed percent-escape are errors.
func SplitQuery(raw string) (url.Values, error) {
	out := url.Values{}
	if raw == "" {
		return out, nil
	}
	// '&' inside a quoted literal belongs to it, unless the quotes do not
	// balance (then every '&' separates).
	quoted := strings.IndexByte(raw, '\'') >= 0 && strings.Count(raw, "'")%2 == 0
	for rest := raw; rest != ""; {
		part := rest
		end := nextAmp(rest, quoted)
		if end >= 0 {
			part, rest = rest[:end], rest[end+1:]
		} else {
			rest = ""
		}
		if part == "" {
			continue
		}
		rk, rv, _ := strings.Cut(part, "=")
		k, err := queryUnescape(rk)
		if err != nil {
			return nil, err
		}
		v, err := queryUnescape(rv)
		if err != nil {
			return nil, err
		}
		k = strings.TrimSpace(k)
		if strings.HasPrefix(k, "$") || strings.HasPrefix(k, "@") {
			for prev := range out {
				if strings.EqualFold(prev, k) {
					return nil, fmt.Errorf("Query option '%s' was specified more than once, but it must be specified at most once.", k)
				}
			}
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// nextAmp returns the index of the next separating '&' in s, or -1; with
// quoted, a '&' between single quotes does not separate.
func nextAmp(s string, quoted bool) int {
	if !quoted {
		return strings.IndexByte(s, '&')
	}
	inStr := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inStr = !inStr
		case '&':
			if !inStr {
				return i
			}
		}
	}
	return -1
}

// queryUnescape decodes %XX escapes and '+' (a space).
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				end := min(i+3, len(s))
				return "", fmt.Errorf("The query string has a malformed percent-escape %q.", s[i:end])
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
