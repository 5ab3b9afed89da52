package sqlfilter

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
)

// Message is what a filter reads: system properties by canonical name
// ("Label", "MessageId", ...) and application properties by name.
type Message interface {
	System(name string) (any, bool)
	Property(name string) (any, bool)
}

// Target is what an action changes.
type Target interface {
	Message
	SetSystem(name string, v any) error
	SetProperty(name string, v any)
	RemoveProperty(name string)
}

// Values are nil (NULL or unknown), string, int64, float64, bool or time.Time.
type node interface {
	eval(m Message) any
}

type lit struct{ v any }

func (n *lit) eval(Message) any { return n.v }

type prop struct {
	sys  bool
	name string
}

func (n *prop) eval(m Message) any {
	v, _ := n.lookup(m)
	return normalize(v)
}

func (n *prop) lookup(m Message) (any, bool) {
	if n.sys {
		return m.System(n.name)
	}
	return m.Property(n.name)
}

func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case time.Duration:
		return x.Seconds()
	}
	return v
}

type newID struct{}

func (newID) eval(Message) any {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type logical struct {
	op   string
	l, r node
}

// truth turns a value into three-valued logic: true, false or nil (unknown).
func truth(v any) any {
	if b, ok := v.(bool); ok {
		return b
	}
	return nil
}

func (n *logical) eval(m Message) any {
	l := truth(n.l.eval(m))
	if n.op == "AND" {
		if l == false {
			return false
		}
		r := truth(n.r.eval(m))
		if r == false {
			return false
		}
		if l == nil || r == nil {
			return nil
		}
		return true
	}
	if l == true {
		return true
	}
	r := truth(n.r.eval(m))
	if r == true {
		return true
	}
	if l == nil || r == nil {
		return nil
	}
	return false
}

type not struct{ x node }

func (n *not) eval(m Message) any {
	switch truth(n.x.eval(m)) {
	case true:
		return false
	case false:
		return true
	}
	return nil
}

type neg struct{ x node }

func (n *neg) eval(m Message) any {
	switch x := n.x.eval(m).(type) {
	case int64:
		return -x
	case float64:
		return -x
	}
	return nil
}

type arith struct {
	op   string
	l, r node
}

func (n *arith) eval(m Message) any {
	l, r := n.l.eval(m), n.r.eval(m)
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch n.op {
		case "+":
			return li + ri
		case "-":
			return li - ri
		case "*":
			return li * ri
		case "/":
			if ri == 0 || (li == math.MinInt64 && ri == -1) {
				return nil
			}
			return li / ri
		case "%":
			if ri == 0 || (li == math.MinInt64 && ri == -1) {
				return nil
			}
			return li % ri
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil
	}
	var out float64
	switch n.op {
	case "+":
		out = lf + rf
	case "-":
		out = lf - rf
	case "*":
		out = lf * rf
	case "/":
		if rf == 0 {
			return nil
		}
		out = lf / rf
	case "%":
		if rf == 0 {
			return nil
		}
		out = math.Mod(lf, rf)
	}
	if math.IsNaN(out) || math.IsInf(out, 0) {
		return nil
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// cmp compares two values; ok is false when they cannot be compared.
func cmp(l, r any) (c int, ok bool) {
	if l == nil || r == nil {
		return 0, false
	}
	if li, a := l.(int64); a {
		if ri, b := r.(int64); b {
			switch {
			case li < ri:
				return -1, true
			case li > ri:
				return 1, true
			}
			return 0, true
		}
	}
	if lf, a := toFloat(l); a {
		if rf, b := toFloat(r); b {
			switch {
			case lf < rf:
				return -1, true
			case lf > rf:
				return 1, true
			}
			return 0, true
		}
		return 0, false
	}
	switch x := l.(type) {
	case string:
		if y, ok := r.(string); ok {
			return strings.Compare(x, y), true
		}
	case bool:
		if y, ok := r.(bool); ok {
			if x == y {
				return 0, true
			}
			return 2, true // unequal, unordered
		}
	case time.Time:
		if y, ok := r.(time.Time); ok {
			return x.Compare(y), true
		}
	}
	return 0, false
}

type compare struct {
	op   string
	l, r node
}

func (n *compare) eval(m Message) any {
	c, ok := cmp(n.l.eval(m), n.r.eval(m))
	if !ok {
		return nil
	}
	switch n.op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	}
	if c == 2 {
		return nil
	}
	switch n.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return nil
}

type isNull struct {
	x   node
	not bool
}

func (n *isNull) eval(m Message) any {
	null := n.x.eval(m) == nil
	return null != n.not
}

type exists struct{ p *prop }

func (n *exists) eval(m Message) any {
	_, ok := n.p.lookup(m)
	return ok
}

type in struct {
	x    node
	list []node
	not  bool
}

func (n *in) eval(m Message) any {
	x := n.x.eval(m)
	if x == nil {
		return nil
	}
	for _, e := range n.list {
		if c, ok := cmp(x, e.eval(m)); ok && c == 0 {
			return !n.not
		}
	}
	return n.not
}

type likeItem struct {
	kind byte // 'c' literal rune, '_' one rune, '%' any run
	r    rune
}

type like struct {
	x   node
	pat []likeItem
	not bool
}

func compileLike(pattern string, esc rune) ([]likeItem, error) {
	var out []likeItem
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case esc != 0 && r == esc:
			if i+1 >= len(rs) {
				return nil, fmt.Errorf("the LIKE pattern ends with its escape character")
			}
			i++
			out = append(out, likeItem{'c', rs[i]})
		case r == '%':
			if len(out) > 0 && out[len(out)-1].kind == '%' {
				continue
			}
			out = append(out, likeItem{kind: '%'})
		case r == '_':
			out = append(out, likeItem{kind: '_'})
		default:
			out = append(out, likeItem{'c', r})
		}
	}
	return out, nil
}

// matchLike is the classic wildcard match with backtracking to the last %,
// linear in practice and never exponential.
func matchLike(pat []likeItem, s []rune) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pat) && (pat[p].kind == '_' || pat[p].kind == 'c' && pat[p].r == s[i]) {
			p++
			i++
			continue
		}
		if p < len(pat) && pat[p].kind == '%' {
			star, mark = p, i
			p++
			continue
		}
		if star >= 0 {
			p = star + 1
			mark++
			i = mark
			continue
		}
		return false
	}
	for p < len(pat) && pat[p].kind == '%' {
		p++
	}
	return p == len(pat)
}

func (n *like) eval(m Message) any {
	s, ok := n.x.eval(m).(string)
	if !ok {
		return nil
	}
	return matchLike(n.pat, []rune(s)) != n.not
}

// Match reports whether the filter is true for m; unknown counts as false.
func (f *Filter) Match(m Message) bool {
	return f.root.eval(m) == true
}

// Apply runs the action's statements against t in order.
func (a *Action) Apply(t Target) error {
	for _, s := range a.stmts {
		if s.remove {
			if s.target.sys {
				if err := t.SetSystem(s.target.name, nil); err != nil {
					return err
				}
				continue
			}
			t.RemoveProperty(s.target.name)
			continue
		}
		v := s.value.eval(t)
		if s.target.sys {
			if err := t.SetSystem(s.target.name, v); err != nil {
				return err
			}
			continue
		}
		if v == nil {
			t.RemoveProperty(s.target.name)
			continue
		}
		t.SetProperty(s.target.name, v)
	}
	return nil
}
