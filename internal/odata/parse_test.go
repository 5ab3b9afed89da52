package odata

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"junction/internal/records"
	"junction/internal/store"
)

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	bad := []string{"", "name eq", "name eq 'x", "(name eq 'x'", "name eq 'x')", "name xx 'x'", "contains(name)", "@p1 eq 1",
		"Microsoft.Dynamics.CRM.In(PropertyName=name)", "x/any(c c/y eq 1)", "name eq #", strings.Repeat("(", 500) + "a eq 1" + strings.Repeat(")", 500)}
	for _, s := range bad {
		if _, err := ParseFilter(s, nil); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func tables(t *testing.T) map[string]*records.Table {
	t.Helper()
	out := map[string]*records.Table{}
	defs := records.Builtin()
	for i := range defs {
		out[defs[i].Name] = &defs[i]
	}
	for _, d := range out {
		if err := d.Prepare(func(n string) bool { _, ok := out[n]; return ok }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestCompileParameterises checks that no literal reaches the SQL text.
func TestCompileParameterises(t *testing.T) {
	t.Parallel()
	ts := tables(t)
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		c := &Compiler{Tables: ts, Dialect: d, Now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
		filters := []string{
			"name eq 'Robert''); DROP TABLE x;--'",
			"contains(name,'evil%') and revenue gt 12345",
			"primarycontactid/fullname eq 'secret1'",
			"contact_customer_accounts/any(c:c/lastname eq 'secret2')",
			"Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['secret3','secret4'])",
			"Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=7)",
		}
		for _, f := range filters {
			e, err := ParseFilter(f, nil)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			frag, err := c.Filter(ts["account"], "t", e)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, lit := range []string{"Robert", "evil", "12345", "secret", "'7'"} {
				if strings.Contains(frag.SQL, lit) {
					t.Errorf("%s: literal %q spliced into %s", f, lit, frag.SQL)
				}
			}
			if strings.Count(frag.SQL, "?") != len(frag.Args) {
				t.Errorf("%s: %d placeholders for %d args in %s", f, strings.Count(frag.SQL, "?"), len(frag.Args), frag.SQL)
			}
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k, err := ParseKey("00000000-0000-0000-0000-00000000000A")
	if err != nil || k.ID != "00000000-0000-0000-0000-00000000000a" {
		t.Fatalf("guid key: %v %v", k, err)
	}
	k, err = ParseKey("k1=2,k2='it''s'")
	if err != nil || k.Values["k1"].Text != "2" || k.Values["k2"].Text != "it's" {
		t.Fatalf("composite: %v %v", k, err)
	}
	for _, bad := range []string{"", "a=", "a='x',a='y'", "a=null", "'x'", "a='x' b"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseExpand(t *testing.T) {
	t.Parallel()
	q, err := ParseQuery(url.Values{"$expand": {"a($select=x,y;$filter=x eq 'a,b;c';$top=2;$expand=b($select=z)),c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Expand) != 2 || q.Expand[0].Nav != "a" || len(q.Expand[0].Options.Select) != 2 || q.Expand[0].Options.Top != 2 ||
		q.Expand[0].Options.Expand[0].Nav != "b" || q.Expand[1].Nav != "c" {
		t.Fatalf("expand %+v", q.Expand)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"name eq 'x'", "a/any(c:c/b eq 1) and not (x ne null)", "Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=['1',2])",
		"contains(name,'o''x') or revenue ge 1.5e3", "createdon gt 2024-01-01T00:00:00Z and id eq 00000000-0000-0000-0000-000000000000", "x eq @p1",
		orChain(MaxFilterConditions + 1)} {
		f.Add(s)
	}
	ts := map[string]*records.Table{}
	defs := records.Builtin()
	for i := range defs {
		ts[defs[i].Name] = &defs[i]
	}
	for _, d := range ts {
		d.Prepare(nil)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s, func(string) (string, bool) { return "'v'", true })
		if err != nil {
			return
		}
		if n := conditions(e); n > MaxFilterConditions {
			t.Fatalf("%q parsed with %d conditions, over the bound of %d", s, n, MaxFilterConditions)
		}
		for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
			c := &Compiler{Tables: ts, Dialect: d}
			frag, err := c.Filter(ts["account"], "t", e)
			if err != nil {
				continue
			}
			if strings.Count(frag.SQL, "?") != len(frag.Args) {
				t.Fatalf("%q: placeholders %d args %d: %s", s, strings.Count(frag.SQL, "?"), len(frag.Args), frag.SQL)
			}
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"00000000-0000-0000-0000-000000000000", "accountnumber='A1'", "k1=2,k2='x'", "a=1.5,b=true"} {
		f.Add(s)
	}
	f.Add("3F2504E0-4f89-41D3-9A0C-0305E82C3301")
	f.Add("3f2504e0-4f89-41d3-9a0c-0305e82c330")
	f.Add("3f2504e0-4f89-41d3-9a0c-0305e82c3301 ")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		// A GUID alone skips the lexer: the key is the lexer's.
		if want, werr := parseKeyTokens(s); (err == nil) != (werr == nil) || !reflect.DeepEqual(k, want) {
			t.Fatalf("%q: %#v, %v; through the lexer %#v, %v", s, k, err, want, werr)
		}
		if err != nil {
			return
		}
		if k.ID == "" && len(k.Values) == 0 {
			t.Fatalf("%q: empty key accepted", s)
		}
	})
}

// conditions counts the leaves and operators of a parsed filter that the
// parser's bound covers.
func conditions(e Expr) int {
	switch x := e.(type) {
	case Binary:
		if x.Op == "and" || x.Op == "or" {
			return conditions(x.L) + conditions(x.R)
		}
		return 1
	case Not:
		return conditions(x.X)
	case Lambda:
		if x.Body == nil {
			return 1
		}
		return 1 + conditions(x.Body)
	}
	return 1
}

func orChain(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("accountnumber eq 'A%d'", i)
	}
	return strings.Join(parts, " or ")
}

func TestFilterComplexityBound(t *testing.T) {
	t.Parallel()
	values := make([]string, 5000)
	for i := range values {
		values[i] = fmt.Sprintf("'A%d'", i)
	}
	tests := []struct {
		name    string
		filter  string
		refused bool
	}{
		{"at the bound", orChain(MaxFilterConditions), false},
		{"one over", orChain(MaxFilterConditions + 1), true},
		{"a thousand ors", orChain(1000), true},
		{"and chain", strings.ReplaceAll(orChain(2000), " or ", " and "), true},
		{"nested groups", strings.Repeat("(", 50) + orChain(600) + strings.Repeat(")", 50), true},
		{"In with 5000 values", "Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=[" + strings.Join(values, ",") + "])", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFilter(tc.filter, nil)
			var tc2 *TooComplexError
			if got := errors.As(err, &tc2); got != tc.refused {
				t.Fatalf("refused = %v (%v), want %v", got, err, tc.refused)
			}
			if !tc.refused && err != nil {
				t.Fatal(err)
			}
		})
	}
}
