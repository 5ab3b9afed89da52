package expr

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

func registerStrings() {
	def("concat", 1, -1, KString, pA, func(c *call) (any, error) {
		n := 0
		for _, a := range c.args {
			if err := c.serialized(a); err != nil {
				return nil, err
			}
			if s, ok := a.(string); ok {
				n += len(s)
			} else {
				n += sizeOf(a, c.limits.limit(c.name))
			}
			if err := c.grow(n); err != nil {
				return nil, err
			}
		}
		var b strings.Builder
		for _, a := range c.args {
			b.WriteString(ToString(a))
		}
		return b.String(), nil
	})
	def("substring", 2, 3, KString, []Kind{KString | KNull, KInt, KInt}, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		r := []rune(s)
		start, err := c.int(1)
		if err != nil {
			return nil, err
		}
		n := int64(len(r)) - start
		if c.has(2) {
			if n, err = c.int(2); err != nil {
				return nil, err
			}
		}
		if start < 0 || n < 0 || start+n > int64(len(r)) {
			return nil, errf("the template language function 'substring' parameters are out of range: 'start index' and 'length' must be non-negative and must refer to a location within the string of length %d", len(r))
		}
		return string(r[start : start+n]), nil
	})
	def("slice", 2, 3, KString, []Kind{KString, KInt, KInt}, func(c *call) (any, error) {
		s, err := c.str(0)
		if err != nil {
			return nil, err
		}
		r := []rune(s)
		norm := func(i int64) int64 {
			if i < 0 {
				i += int64(len(r))
			}
			return max(0, min(i, int64(len(r))))
		}
		start, err := c.int(1)
		if err != nil {
			return nil, err
		}
		end := int64(len(r))
		if c.has(2) {
			if end, err = c.int(2); err != nil {
				return nil, err
			}
		}
		a, b := norm(start), norm(end)
		if b <= a {
			return "", nil
		}
		return string(r[a:b]), nil
	})
	def("replace", 3, 3, KString, []Kind{KString | KNull, KString, KString | KNull}, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		old, err := c.str(1)
		if err != nil {
			return nil, err
		}
		if old == "" {
			return nil, errf("the template language function 'replace' expects its second parameter to be a non-empty string")
		}
		nw, err := c.text(2)
		if err != nil {
			return nil, err
		}
		if len(nw) > len(old) {
			if err := c.grow(len(s) + strings.Count(s, old)*(len(nw)-len(old))); err != nil {
				return nil, err
			}
		}
		return strings.ReplaceAll(s, old, nw), nil
	})
	unary := func(name string, f func(string) string) {
		def(name, 1, 1, KString, []Kind{KString | KNull}, func(c *call) (any, error) {
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			return f(s), nil
		})
	}
	unary("toLower", strings.ToLower)
	unary("toUpper", strings.ToUpper)
	unary("trim", strings.TrimSpace)
	def("split", 2, 2, KArray, pSS, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		d, err := c.str(1)
		if err != nil {
			return nil, err
		}
		var parts []string
		if d == "" {
			parts = []string{s}
		} else {
			parts = strings.Split(s, d)
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	})
	// indexOf, lastIndexOf, startsWith and endsWith ignore case, as documented.
	search := func(name string, ret Kind, f func(s, sub []rune) any) {
		def(name, 2, 2, ret, pSS, func(c *call) (any, error) {
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			sub, err := c.text(1)
			if err != nil {
				return nil, err
			}
			return f([]rune(strings.ToLower(s)), []rune(strings.ToLower(sub))), nil
		})
	}
	search("indexOf", KInt, func(s, sub []rune) any { return int64(runeIndex(s, sub, 0)) })
	search("lastIndexOf", KInt, func(s, sub []rune) any {
		for i := len(s) - len(sub); i >= 0; i-- {
			if runesAt(s, sub, i) {
				return int64(i)
			}
		}
		return int64(-1)
	})
	search("startsWith", KBool, func(s, sub []rune) any { return len(sub) <= len(s) && runesAt(s, sub, 0) })
	search("endsWith", KBool, func(s, sub []rune) any { return len(sub) <= len(s) && runesAt(s, sub, len(s)-len(sub)) })
	def("nthIndexOf", 3, 3, KInt, []Kind{KString, KString, KInt}, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		sub, err := c.str(1)
		if err != nil {
			return nil, err
		}
		n, err := c.int(2)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errf("the template language function 'nthIndexOf' expects its third parameter to be a non-zero integer")
		}
		rs, rsub := []rune(s), []rune(sub)
		if n > 0 {
			at := -1
			for i := 0; i <= len(rs)-len(rsub); i++ {
				if runesAt(rs, rsub, i) {
					n--
					if n == 0 {
						at = i
						break
					}
				}
			}
			return int64(at), nil
		}
		for i := len(rs) - len(rsub); i >= 0; i-- {
			if runesAt(rs, rsub, i) {
				n++
				if n == 0 {
					return int64(i), nil
				}
			}
		}
		return int64(-1), nil
	})
	def("length", 1, 1, KInt, []Kind{KString | KArray | KObject | KNull}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case string:
			return int64(utf8.RuneCountInString(v)), nil
		case []any:
			return int64(len(v)), nil
		case map[string]any:
			return int64(len(v)), nil
		case nil:
			return int64(0), nil
		}
		return nil, c.argErr(0, "a string or an array")
	})
	def("guid", 0, 1, KString, pS, func(c *call) (any, error) {
		f, err := c.optStr(0, "D")
		if err != nil {
			return nil, err
		}
		return guid(f)
	})
	def("formatNumber", 2, 3, KString, []Kind{KNumber, KString, KString}, func(c *call) (any, error) {
		n, err := c.num(0)
		if err != nil {
			return nil, err
		}
		f, err := c.str(1)
		if err != nil {
			return nil, err
		}
		loc, err := c.optStr(2, "en-US")
		if err != nil {
			return nil, err
		}
		return formatNumber(n, f, loc)
	})
}

func runesAt(s, sub []rune, i int) bool {
	if i < 0 || i+len(sub) > len(s) {
		return false
	}
	for j := range sub {
		if s[i+j] != sub[j] {
			return false
		}
	}
	return true
}

func runeIndex(s, sub []rune, from int) int {
	for i := from; i <= len(s)-len(sub); i++ {
		if runesAt(s, sub, i) {
			return i
		}
	}
	return -1
}

func guid(format string) (any, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	d := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	switch format {
	case "N", "n":
		return h, nil
	case "D", "d", "":
		return d, nil
	case "B", "b":
		return "{" + d + "}", nil
	case "P", "p":
		return "(" + d + ")", nil
	case "X", "x":
		return "{0x" + h[0:8] + ",0x" + h[8:12] + ",0x" + h[12:16] + ",{0x" + h[16:18] + ",0x" + h[18:20] + ",0x" + h[20:22] + ",0x" + h[22:24] + ",0x" + h[24:26] + ",0x" + h[26:28] + ",0x" + h[28:30] + ",0x" + h[30:32] + "}}", nil
	}
	return nil, errf("the template language function 'guid' format must be one of N, D, B, P, X, not '%s'", format)
}

func registerCollections() {
	def("contains", 2, 2, KBool, []Kind{KString | KArray | KObject, KAny}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case string:
			s, ok := c.args[1].(string)
			if !ok {
				return nil, c.argErr(1, "a string")
			}
			return strings.Contains(v, s), nil
		case []any:
			for _, x := range v {
				if Equal(x, c.args[1]) {
					return true, nil
				}
			}
			return false, nil
		case map[string]any:
			k, ok := c.args[1].(string)
			if !ok {
				return nil, c.argErr(1, "a string")
			}
			_, has := v[k]
			return has, nil
		case nil:
			return false, nil
		}
		return nil, c.argErr(0, "a string, an array or an object")
	})
	def("empty", 1, 1, KBool, pA, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case nil:
			return true, nil
		case string:
			return v == "", nil
		case []any:
			return len(v) == 0, nil
		case map[string]any:
			return len(v) == 0, nil
		}
		return false, nil
	})
	end := func(name string, last bool) {
		def(name, 1, 1, KAny, []Kind{KString | KArray | KNull}, func(c *call) (any, error) {
			switch v := c.args[0].(type) {
			case nil:
				return nil, nil
			case string:
				r := []rune(v)
				if len(r) == 0 {
					return "", nil
				}
				if last {
					return string(r[len(r)-1]), nil
				}
				return string(r[0]), nil
			case []any:
				if len(v) == 0 {
					return nil, nil
				}
				if last {
					return v[len(v)-1], nil
				}
				return v[0], nil
			}
			return nil, c.argErr(0, "a string or an array")
		})
	}
	end("first", false)
	end("last", true)
	def("join", 2, 2, KString, []Kind{KArray, KString}, func(c *call) (any, error) {
		a, err := c.arr(0)
		if err != nil {
			return nil, err
		}
		d, err := c.text(1)
		if err != nil {
			return nil, err
		}
		n := len(d) * len(a)
		for _, x := range a {
			if s, ok := x.(string); ok {
				n += len(s)
			} else {
				n += sizeOf(x, c.limits.limit(c.name))
			}
			if err := c.grow(n); err != nil {
				return nil, err
			}
		}
		parts := make([]string, len(a))
		for i, x := range a {
			parts[i] = ToString(x)
		}
		return strings.Join(parts, d), nil
	})
	def("union", 2, -1, KArray|KObject, []Kind{KArray | KObject}, func(c *call) (any, error) {
		if _, ok := c.args[0].(map[string]any); ok {
			out := map[string]any{}
			for i := range c.args {
				o, err := c.obj(i)
				if err != nil {
					return nil, err
				}
				for k, v := range o {
					out[k] = v
				}
			}
			return out, nil
		}
		var out []any
		for i := range c.args {
			a, err := c.arr(i)
			if err != nil {
				return nil, err
			}
			for _, x := range a {
				if !containsValue(out, x) {
					out = append(out, x)
				}
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	})
	def("intersection", 2, -1, KArray|KObject, []Kind{KArray | KObject}, func(c *call) (any, error) {
		if first, ok := c.args[0].(map[string]any); ok {
			out := map[string]any{}
			for k, v := range first {
				in := true
				for i := 1; i < len(c.args); i++ {
					o, err := c.obj(i)
					if err != nil {
						return nil, err
					}
					if w, ok := o[k]; !ok || !Equal(v, w) {
						in = false
					}
				}
				if in {
					out[k] = v
				}
			}
			return out, nil
		}
		first, err := c.arr(0)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, x := range first {
			in := true
			for i := 1; i < len(c.args); i++ {
				a, err := c.arr(i)
				if err != nil {
					return nil, err
				}
				if !containsValue(a, x) {
					in = false
				}
			}
			if in && !containsValue(out, x) {
				out = append(out, x)
			}
		}
		return out, nil
	})
	def("skip", 2, 2, KArray, []Kind{KArray, KInt}, func(c *call) (any, error) {
		a, err := c.arr(0)
		if err != nil {
			return nil, err
		}
		n, err := c.int(1)
		if err != nil {
			return nil, err
		}
		n = max(0, min(n, int64(len(a))))
		return append([]any{}, a[n:]...), nil
	})
	def("take", 2, 2, KArray|KString, []Kind{KArray | KString, KInt}, func(c *call) (any, error) {
		n, err := c.int(1)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, errf("the template language function 'take' expects a non-negative count")
		}
		switch v := c.args[0].(type) {
		case string:
			r := []rune(v)
			return string(r[:min(n, int64(len(r)))]), nil
		case []any:
			return append([]any{}, v[:min(n, int64(len(v)))]...), nil
		}
		return nil, c.argErr(0, "a string or an array")
	})
	def("createArray", 0, -1, KArray, pA, func(c *call) (any, error) { return append([]any{}, c.args...), nil })
	def("array", 1, 1, KArray, pA, func(c *call) (any, error) { return []any{c.args[0]}, nil })
	def("chunk", 2, 2, KArray, []Kind{KArray | KString, KInt}, func(c *call) (any, error) {
		n, err := c.int(1)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return nil, errf("the template language function 'chunk' expects a positive chunk length")
		}
		out := []any{}
		switch v := c.args[0].(type) {
		case string:
			r := []rune(v)
			for i := int64(0); i < int64(len(r)); i += n {
				out = append(out, string(r[i:min(i+n, int64(len(r)))]))
			}
		case []any:
			for i := int64(0); i < int64(len(v)); i += n {
				out = append(out, append([]any{}, v[i:min(i+n, int64(len(v)))]...))
			}
		default:
			return nil, c.argErr(0, "a string or an array")
		}
		return out, nil
	})
	def("reverse", 1, 1, KArray, []Kind{KArray}, func(c *call) (any, error) {
		a, err := c.arr(0)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(a))
		for i, x := range a {
			out[len(a)-1-i] = x
		}
		return out, nil
	})
	def("sort", 1, 2, KArray, []Kind{KArray, KString}, func(c *call) (any, error) {
		a, err := c.arr(0)
		if err != nil {
			return nil, err
		}
		by, err := c.optStr(1, "")
		if err != nil {
			return nil, err
		}
		out := append([]any{}, a...)
		key := func(v any) any {
			if by == "" {
				return v
			}
			if o, ok := v.(map[string]any); ok {
				return o[by]
			}
			return nil
		}
		var bad error
		sort.SliceStable(out, func(i, j int) bool {
			r, err := compare(key(out[i]), key(out[j]))
			if err != nil && bad == nil {
				bad = err
			}
			return r < 0
		})
		if bad != nil {
			return nil, errf("the template language function 'sort' cannot order the array: %v", bad)
		}
		return out, nil
	})
}

func containsValue(a []any, v any) bool {
	for _, x := range a {
		if Equal(x, v) {
			return true
		}
	}
	return false
}

// compare orders numbers, strings (ordinally) and booleans; nulls sort first.
func compare(a, b any) (int, error) {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0, nil
		case a == nil:
			return -1, nil
		}
		return 1, nil
	}
	if fa, ok := asFloat(a); ok {
		fb, ok := asFloat(b)
		if !ok {
			return 0, errf("cannot compare a number with %s", typeName(b))
		}
		switch {
		case fa < fb:
			return -1, nil
		case fa > fb:
			return 1, nil
		}
		return 0, nil
	}
	switch a := a.(type) {
	case string:
		bs, ok := b.(string)
		if !ok {
			return 0, errf("cannot compare a string with %s", typeName(b))
		}
		return strings.Compare(a, bs), nil
	case bool:
		bb, ok := b.(bool)
		if !ok {
			return 0, errf("cannot compare a boolean with %s", typeName(b))
		}
		switch {
		case a == bb:
			return 0, nil
		case !a:
			return -1, nil
		}
		return 1, nil
	}
	return 0, errf("cannot compare values of type %s", typeName(a))
}

func registerLogic() {
	def("equals", 2, 2, KBool, pA, func(c *call) (any, error) { return Equal(c.args[0], c.args[1]), nil })
	// and/or stop at the first argument that decides the result, and if
	// evaluates only the branch it returns: an untaken branch that would fail
	// (int('') say) does not fail the expression.
	bools := func(name string, and bool) {
		def(name, 1, -1, KBool, []Kind{KBool}, nil)
		library[name].Lazy = func(c *call, arg func(int) (any, error)) (any, error) {
			for i := range c.args {
				v, err := arg(i)
				if err != nil {
					return nil, err
				}
				b, ok := v.(bool)
				if !ok {
					return nil, c.argErr(i, "a boolean")
				}
				if b != and {
					return b, nil
				}
			}
			return and, nil
		}
	}
	bools("and", true)
	bools("or", false)
	def("not", 1, 1, KBool, []Kind{KBool}, func(c *call) (any, error) {
		b, ok := c.args[0].(bool)
		if !ok {
			return nil, c.argErr(0, "a boolean")
		}
		return !b, nil
	})
	def("if", 3, 3, KAny, []Kind{KBool, KAny, KAny}, nil)
	library["if"].Lazy = func(c *call, arg func(int) (any, error)) (any, error) {
		v, err := arg(0)
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, c.argErr(0, "a boolean")
		}
		if b {
			return arg(1)
		}
		return arg(2)
	}
	cmp := func(name string, ok func(int) bool) {
		def(name, 2, 2, KBool, []Kind{KNumber | KString, KNumber | KString}, func(c *call) (any, error) {
			if c.args[0] == nil || c.args[1] == nil {
				return nil, errf("the template language function '%s' expects parameters of type integer, float or string, not null", name)
			}
			r, err := compare(c.args[0], c.args[1])
			if err != nil {
				return nil, errf("the template language function '%s' %v", name, err)
			}
			return ok(r), nil
		})
	}
	cmp("greater", func(r int) bool { return r > 0 })
	cmp("greaterOrEquals", func(r int) bool { return r >= 0 })
	cmp("less", func(r int) bool { return r < 0 })
	cmp("lessOrEquals", func(r int) bool { return r <= 0 })
	def("coalesce", 1, -1, KAny, pA, nil)
	library["coalesce"].Lazy = func(c *call, arg func(int) (any, error)) (any, error) {
		for i := range c.args {
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			if v != nil {
				return v, nil
			}
		}
		return nil, nil
	}
	def("isInt", 1, 1, KBool, pA, func(c *call) (any, error) {
		s, ok := c.args[0].(string)
		if !ok {
			return false, nil
		}
		_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return err == nil, nil
	})
	def("isFloat", 1, 2, KBool, pA, func(c *call) (any, error) {
		s, ok := c.args[0].(string)
		if !ok {
			return false, nil
		}
		_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return err == nil, nil
	})
}

func registerConversions() {
	def("int", 1, 1, KInt, []Kind{KString | KNumber | KBool}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case int64:
			return v, nil
		case float64:
			return int64(v), nil
		case bool:
			if v {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, errf("the template language function 'int' was invoked with a parameter that is not valid: the value '%s' cannot be converted to an integer", truncate(v, 60))
			}
			return n, nil
		}
		return nil, c.argErr(0, "a string or a number")
	})
	def("float", 1, 2, KFloat, []Kind{KString | KNumber, KString}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case int64:
			return float64(v), nil
		case float64:
			return v, nil
		case string:
			s := strings.TrimSpace(v)
			if loc, _ := c.optStr(1, "en-US"); loc != "" {
				if _, dec, _ := numberCulture(loc); dec == "," {
					s = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
				}
			}
			s = strings.ReplaceAll(s, ",", "")
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, errf("the template language function 'float' was invoked with a parameter that is not valid: the value '%s' cannot be converted to a float", truncate(v, 60))
			}
			return f, nil
		}
		return nil, c.argErr(0, "a string or a number")
	})
	def("decimal", 1, 1, KFloat, []Kind{KString | KNumber}, func(c *call) (any, error) {
		return library["float"].Fn(&call{name: "decimal", args: c.args[:1]})
	})
	def("string", 1, 1, KString, pA, func(c *call) (any, error) {
		if err := c.serialized(c.args[0]); err != nil {
			return nil, err
		}
		return ToString(c.args[0]), nil
	})
	def("bool", 1, 1, KBool, []Kind{KString | KNumber | KBool}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case bool:
			return v, nil
		case int64:
			return v != 0, nil
		case float64:
			return v != 0, nil
		case string:
			b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
			if err != nil {
				return nil, errf("the template language function 'bool' was invoked with a parameter that is not valid: the value '%s' cannot be converted to a boolean", truncate(v, 60))
			}
			return b, nil
		}
		return nil, c.argErr(0, "a string, a number or a boolean")
	})
	def("json", 1, 1, KAny, []Kind{KString | KObject | KArray}, func(c *call) (any, error) {
		switch v := c.args[0].(type) {
		case string:
			t := strings.TrimSpace(v)
			if strings.HasPrefix(t, "<") {
				return xmlToJSON(t, c.limits)
			}
			out, err := DecodeJSONWithin([]byte(v), c.limits.JSON)
			if err != nil {
				return nil, errf("the template language function 'json' parameter is not valid: the provided value '%s' cannot be parsed: %v", truncate(v, 60), err)
			}
			return out, nil
		case map[string]any, []any:
			return v, nil
		}
		return nil, c.argErr(0, "a string")
	})
	def("xml", 1, 1, KString, []Kind{KString | KObject}, func(c *call) (any, error) { return toXML(c.args[0]) })
	def("xpath", 2, 2, KAny, []Kind{KString, KString}, func(c *call) (any, error) {
		doc, err := c.str(0)
		if err != nil {
			return nil, err
		}
		q, err := c.str(1)
		if err != nil {
			return nil, err
		}
		return xpathEval(doc, q, c.limits)
	})
	def("base64", 1, 1, KString, []Kind{KString | KNull}, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		if err := c.grow(base64.StdEncoding.EncodedLen(len(s))); err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	decode := func(name string) {
		def(name, 1, 1, KString, pS, func(c *call) (any, error) {
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
					return nil, errf("the template language function '%s' was invoked with a parameter that is not valid base64", name)
				}
			}
			return string(b), nil
		})
	}
	decode("base64ToString")
	decode("decodeBase64")
	def("encodeBase64", 1, 1, KString, pS, func(c *call) (any, error) { return library["base64"].Fn(c) })
	enc := func(name string) {
		def(name, 1, 1, KString, pS, func(c *call) (any, error) {
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			return strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), nil
		})
	}
	enc("uriComponent")
	// encodeUriComponent takes several values and encodes them joined: the
	// designer writes encodeURIComponent('', item()?['RowKey']) into paths,
	// and Logic Apps runs it.
	def("encodeUriComponent", 1, -1, KString, pS, func(c *call) (any, error) {
		var b strings.Builder
		for i := range c.args {
			s, err := c.text(i)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return strings.ReplaceAll(url.QueryEscape(b.String()), "+", "%20"), nil
	})
	// Binary content is the object Logic Apps shows for it:
	// {"$content-type": ..., "$content": base64}. An Http action or a
	// Response sends it as its bytes.
	binary := func(name string, decode func(c *call) (string, []byte, error)) {
		def(name, 1, 1, KObject, pS, func(c *call) (any, error) {
			ct, b, err := decode(c)
			if err != nil {
				return nil, err
			}
			return Binary(ct, b), nil
		})
	}
	binary("binary", func(c *call) (string, []byte, error) {
		s, err := c.text(0)
		return "application/octet-stream", []byte(s), err
	})
	binary("base64ToBinary", func(c *call) (string, []byte, error) {
		s, err := c.text(0)
		if err != nil {
			return "", nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
				return "", nil, errf("the template language function 'base64ToBinary' was invoked with a parameter that is not valid base64")
			}
		}
		return "application/octet-stream", b, nil
	})
	binary("uriComponentToBinary", func(c *call) (string, []byte, error) {
		s, err := c.text(0)
		if err != nil {
			return "", nil, err
		}
		out, err := url.PathUnescape(s)
		if err != nil {
			return "", nil, errf("the template language function 'uriComponentToBinary' was invoked with a parameter that is not a valid encoded URI component")
		}
		return "application/octet-stream", []byte(out), nil
	})
	fromDataURI := func(c *call) (string, []byte, error) {
		s, err := c.str(0)
		if err != nil {
			return "", nil, err
		}
		comma := strings.IndexByte(s, ',')
		if !strings.HasPrefix(s, "data:") || comma < 0 {
			return "", nil, errf("the template language function '%s' expects a data URI", c.name)
		}
		meta := s[len("data:"):comma]
		ct := strings.TrimSuffix(meta, ";base64")
		if ct == "" {
			ct = "text/plain;charset=US-ASCII"
		}
		if strings.HasSuffix(meta, ";base64") {
			b, err := base64.StdEncoding.DecodeString(s[comma+1:])
			if err != nil {
				return "", nil, errf("the template language function '%s' found invalid base64 data", c.name)
			}
			return ct, b, nil
		}
		out, err := url.PathUnescape(s[comma+1:])
		if err != nil {
			return "", nil, errf("the template language function '%s' found invalid data", c.name)
		}
		return ct, []byte(out), nil
	}
	binary("dataUriToBinary", fromDataURI)
	binary("decodeDataUri", fromDataURI)
	dec := func(name string) {
		def(name, 1, 1, KString, pS, func(c *call) (any, error) {
			s, err := c.text(0)
			if err != nil {
				return nil, err
			}
			out, err := url.PathUnescape(s)
			if err != nil {
				return nil, errf("the template language function '%s' was invoked with a parameter that is not a valid encoded URI component", name)
			}
			return out, nil
		})
	}
	dec("decodeUriComponent")
	dec("uriComponentToString")
	def("dataUri", 1, 1, KString, pS, func(c *call) (any, error) {
		s, err := c.text(0)
		if err != nil {
			return nil, err
		}
		return "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	def("dataUriToString", 1, 1, KString, pS, func(c *call) (any, error) {
		s, err := c.str(0)
		if err != nil {
			return nil, err
		}
		comma := strings.IndexByte(s, ',')
		if !strings.HasPrefix(s, "data:") || comma < 0 {
			return nil, errf("the template language function 'dataUriToString' expects a data URI")
		}
		if strings.HasSuffix(s[:comma], ";base64") {
			b, err := base64.StdEncoding.DecodeString(s[comma+1:])
			if err != nil {
				return nil, errf("the template language function 'dataUriToString' found invalid base64 data")
			}
			return string(b), nil
		}
		out, err := url.PathUnescape(s[comma+1:])
		if err != nil {
			return nil, errf("the template language function 'dataUriToString' found invalid data")
		}
		return out, nil
	})
}

func registerMath() {
	arith := func(name string, fi func(a, b int64) (int64, error), ff func(a, b float64) (float64, error)) {
		def(name, 2, 2, KNumber, pNN, func(c *call) (any, error) {
			a, err := c.num(0)
			if err != nil {
				return nil, err
			}
			b, err := c.num(1)
			if err != nil {
				return nil, err
			}
			ai, aok := a.(int64)
			bi, bok := b.(int64)
			if aok && bok {
				return must(fi(ai, bi))
			}
			af, _ := asFloat(a)
			bf, _ := asFloat(b)
			return must(ff(af, bf))
		})
	}
	arith("add", func(a, b int64) (int64, error) { return a + b, nil }, func(a, b float64) (float64, error) { return a + b, nil })
	arith("sub", func(a, b int64) (int64, error) { return a - b, nil }, func(a, b float64) (float64, error) { return a - b, nil })
	arith("mul", func(a, b int64) (int64, error) { return a * b, nil }, func(a, b float64) (float64, error) { return a * b, nil })
	arith("div", func(a, b int64) (int64, error) {
		if b == 0 {
			return 0, errf("attempted to divide by zero")
		}
		return a / b, nil
	}, func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errf("attempted to divide by zero")
		}
		return a / b, nil
	})
	arith("mod", func(a, b int64) (int64, error) {
		if b == 0 {
			return 0, errf("attempted to divide by zero")
		}
		return a % b, nil
	}, func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errf("attempted to divide by zero")
		}
		return math.Mod(a, b), nil
	})
	extreme := func(name string, wantMax bool) {
		def(name, 1, -1, KNumber, []Kind{KNumber | KArray}, func(c *call) (any, error) {
			vals := c.args
			if len(c.args) == 1 {
				a, ok := c.args[0].([]any)
				if !ok {
					if _, err := c.num(0); err != nil {
						return nil, err
					}
					return c.args[0], nil
				}
				vals = a
			}
			if len(vals) == 0 {
				return nil, errf("the template language function '%s' expects a non-empty array", name)
			}
			var best any
			var bf float64
			for i, v := range vals {
				f, ok := asFloat(v)
				if !ok {
					return nil, errf("the template language function '%s' expects numbers, but item %d is of type %s", name, i, typeName(v))
				}
				if best == nil || (wantMax && f > bf) || (!wantMax && f < bf) {
					best, bf = v, f
				}
			}
			return best, nil
		})
	}
	extreme("max", true)
	extreme("min", false)
	def("rand", 2, 2, KInt, []Kind{KInt, KInt}, func(c *call) (any, error) {
		lo, err := c.int(0)
		if err != nil {
			return nil, err
		}
		hi, err := c.int(1)
		if err != nil {
			return nil, err
		}
		if hi <= lo {
			return nil, errf("the template language function 'rand' expects the maximum to be greater than the minimum")
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(hi-lo))
		return lo + n.Int64(), nil
	})
	def("range", 2, 2, KArray, []Kind{KInt, KInt}, func(c *call) (any, error) {
		start, err := c.int(0)
		if err != nil {
			return nil, err
		}
		n, err := c.int(1)
		if err != nil {
			return nil, err
		}
		if n < 0 || n > 100000 {
			return nil, errf("the template language function 'range' expects a count between 0 and 100000")
		}
		out := make([]any, n)
		for i := range out {
			out[i] = start + int64(i)
		}
		return out, nil
	})
}

func registerObjects() {
	set := func(name string, mustBeNew bool) {
		def(name, 3, 3, KObject, []Kind{KObject, KString, KAny}, func(c *call) (any, error) {
			o, err := c.obj(0)
			if err != nil {
				return nil, err
			}
			k, err := c.str(1)
			if err != nil {
				return nil, err
			}
			if _, ok := o[k]; ok && mustBeNew {
				return nil, errf("the template language function 'addProperty' cannot add property '%s': it already exists", k)
			}
			out := make(map[string]any, len(o)+1)
			for kk, v := range o {
				out[kk] = v
			}
			out[k] = c.args[2]
			return out, nil
		})
	}
	set("setProperty", false)
	set("addProperty", true)
	def("removeProperty", 2, 2, KObject, []Kind{KObject, KString}, func(c *call) (any, error) {
		o, err := c.obj(0)
		if err != nil {
			return nil, err
		}
		k, err := c.str(1)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(o))
		for kk, v := range o {
			if kk != k {
				out[kk] = v
			}
		}
		return out, nil
	})
}

// Binary is binary content as Logic Apps shows it in expressions and run
// history: {"$content-type": contentType, "$content": base64 of data}.
func Binary(contentType string, data []byte) map[string]any {
	return map[string]any{"$content-type": contentType, "$content": base64.StdEncoding.EncodeToString(data)}
}

// AsBinary returns the content type and bytes of a Binary value.
func AsBinary(v any) (string, []byte, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return "", nil, false
	}
	ct, ok1 := m["$content-type"].(string)
	enc, ok2 := m["$content"].(string)
	if !ok1 || !ok2 {
		return "", nil, false
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", nil, false
	}
	return ct, b, true
}
