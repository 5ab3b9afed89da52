package sqlfilter

import (
	"strings"
	"testing"
	"time"
)

type msg struct {
	sys   map[string]any
	props map[string]any
}

func (m *msg) System(n string) (any, bool)   { v, ok := m.sys[n]; return v, ok }
func (m *msg) Property(n string) (any, bool) { v, ok := m.props[n]; return v, ok }
func (m *msg) SetSystem(n string, v any) error {
	m.sys[n] = v
	return nil
}
func (m *msg) SetProperty(n string, v any) { m.props[n] = v }
func (m *msg) RemoveProperty(n string)     { delete(m.props, n) }

func sample() *msg {
	return &msg{
		sys: map[string]any{"Label": "red", "MessageId": "m-1", "Size": int64(10)},
		props: map[string]any{"qty": int64(12), "price": 9.5, "region": "eu-west", "vip": true, "color": "Blue",
			"when": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "pct": "50%"},
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want bool
	}{
		{"1=1", true},
		{"1=0", false},
		{"sys.Label = 'red'", true},
		{"sys.label = 'red'", true},
		{"sys.Label = 'Red'", false},
		{"sys.Label <> 'red'", false},
		{"qty > 10 AND price < 10", true},
		{"user.qty >= 12 AND user.qty <= 12", true},
		{"qty > 100 OR vip = TRUE", true},
		{"NOT (qty > 100)", true},
		{"qty + 3 = 15", true},
		{"qty * 2 - 4 = 20", true},
		{"qty / 5 = 2", true},
		{"qty % 5 = 2", true},
		{"price * 2 = 19", true},
		{"-qty < 0", true},
		{"qty = 12.0", true},
		{"region IN ('eu-west', 'us')", true},
		{"region NOT IN ('eu-west', 'us')", false},
		{"region LIKE 'eu%'", true},
		{"region LIKE 'e_-west'", true},
		{"region LIKE 'us%'", false},
		{"region NOT LIKE 'us%'", true},
		{"pct LIKE '50!%' ESCAPE '!'", true},
		{"pct LIKE '5!%' ESCAPE '!'", false},
		{"missing IS NULL", true},
		{"region IS NOT NULL", true},
		{"EXISTS(region)", true},
		{"EXISTS(missing)", false},
		{"NOT EXISTS(missing)", true},
		{"missing = 1", false},
		{"NOT (missing = 1)", false}, // unknown stays unknown
		{"missing = 1 OR qty = 12", true},
		{"[color] = 'Blue'", true},
		{"color = 'blue'", false},
		{"qty = 'twelve'", false},
		{"sys.Size = 10", true},
		{"qty / 0 = 1", false},
		{"when > when", false},
		{"'it''s' = 'it''s'", true},
		{"1.5e1 = 15", true},
		{"TRUE", true},
		{"vip", true},
		{"qty", false},
		{"(qty > 1 AND (price > 1 OR vip = FALSE))", true},
	}
	for _, c := range cases {
		f, err := Parse(c.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.expr, err)
			continue
		}
		if got := f.Match(sample()); got != c.want {
			t.Errorf("%q = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"", "qty >", "qty = = 1", "sys.Nope = 1", "foo.bar = 1", "'open", "[open", "qty IN ()",
		"qty LIKE 5", "a IS 5", "a NOT b", "(a = 1", "a = 1)", "AND", "x LIKE 'a' ESCAPE 'ab'", "x LIKE 'a!' ESCAPE '!'",
		"a # b", strings.Repeat("(", 100) + "1=1" + strings.Repeat(")", 100), strings.Repeat("a", 1025)} {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%q) succeeded", expr)
		}
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	m := sample()
	a, err := ParseAction("SET sys.Label = 'blue'; SET qty = qty + 1; SET tier = 'gold', REMOVE region; SET missing = nothing")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(m); err != nil {
		t.Fatal(err)
	}
	if m.sys["Label"] != "blue" || m.props["qty"] != int64(13) || m.props["tier"] != "gold" {
		t.Fatalf("after action: %v %v", m.sys, m.props)
	}
	if _, ok := m.props["region"]; ok {
		t.Fatal("REMOVE did not remove")
	}
	if _, ok := m.props["missing"]; ok {
		t.Fatal("SET to NULL kept the property")
	}
	for _, bad := range []string{"", "SET", "SET a", "SET a = ", "DROP a", "REMOVE 5"} {
		if _, err := ParseAction(bad); err == nil {
			t.Errorf("ParseAction(%q) succeeded", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"sys.Label = 'red' AND qty > 10", "a IN (1, 2, 'x')", "b LIKE '%x_' ESCAPE '!'", "NOT EXISTS(c) OR d IS NOT NULL",
		"(1 + 2) * -3 / 4 % 5 = x", "[weird name] <> 1.5e3", "SET a = 1; REMOVE b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fl, err := Parse(s); err == nil {
			fl.Match(sample())
			if fl.String() != s {
				t.Fatal("String changed the expression")
			}
		}
		if a, err := ParseAction(s); err == nil {
			_ = a.Apply(sample())
		}
	})
}
