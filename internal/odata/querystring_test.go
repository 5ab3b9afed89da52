package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestSplitQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		want      url.Values
		err       string
	}{
		{name: "nested expand with raw semicolons (Query data using the Web API: Join tables)",
			raw:  "$select=name&$expand=contact_customer_accounts($select=fullname;$expand=Contact_Tasks($select=subject))",
			want: url.Values{"$select": {"name"}, "$expand": {"contact_customer_accounts($select=fullname;$expand=Contact_Tasks($select=subject))"}}},
		{name: "the same, percent-encoded",
			raw:  "%24select=name&%24expand=contact_customer_accounts(%24select%3Dfullname%3B%24expand%3DContact_Tasks(%24select%3Dsubject))",
			want: url.Values{"$select": {"name"}, "$expand": {"contact_customer_accounts($select=fullname;$expand=Contact_Tasks($select=subject))"}}},
		{name: "ampersand inside a string literal",
			raw:  "$filter=name eq 'A&B'&$top=2",
			want: url.Values{"$filter": {"name eq 'A&B'"}, "$top": {"2"}}},
		{name: "doubled quote inside a literal",
			raw:  "$filter=name eq 'O''Brien & Co'&@p1='x'",
			want: url.Values{"$filter": {"name eq 'O''Brien & Co'"}, "@p1": {"'x'"}}},
		{name: "plus is a space, %2B is a plus",
			raw:  "$filter=name+eq+'a%2Bb'",
			want: url.Values{"$filter": {"name eq 'a+b'"}}},
		{name: "aliases standing for property names (Use parameter aliases with system query options)",
			raw:  "$filter=contains(@p1,'Contoso')&$orderby=@p2&@p1=name&@p2=name",
			want: url.Values{"$filter": {"contains(@p1,'Contoso')"}, "$orderby": {"@p2"}, "@p1": {"name"}, "@p2": {"name"}}},
		{name: "empty parts are skipped", raw: "&&$top=1&", want: url.Values{"$top": {"1"}}},
		{name: "unbalanced quote splits on every ampersand", raw: "$filter=name eq 'x&$top=1",
			want: url.Values{"$filter": {"name eq 'x"}, "$top": {"1"}}},
		{name: "option without a value", raw: "$count", want: url.Values{"$count": {""}}},
		{name: "bad escape", raw: "$filter=name eq '%zz'", err: "malformed percent-escape"},
		{name: "truncated escape", raw: "$top=1%2", err: "malformed percent-escape"},
		{name: "system option twice", raw: "$top=1&$top=2", err: "'$top' was specified more than once"},
		{name: "system option twice in another case", raw: "$select=name&$SELECT=name", err: "more than once"},
		{name: "alias twice", raw: "@p1=1&@p1=2", err: "more than once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := SplitQuery(tc.raw)
			if !checkErr(t, err, tc.err) {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// checkErr fails t unless err matches want (a substring, or "" for no
// error); it reports whether the call succeeded and its result is to check.
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want %q", err, want)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestParseQueryTolerance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		check     func(q *Query) bool
		err       string
	}{
		{name: "trailing comma in $select (Query data using the Web API: Order rows)", raw: "$select=name,revenue,&$orderby=revenue asc,name desc",
			check: func(q *Query) bool {
				return reflect.DeepEqual(q.Select, []string{"name", "revenue"}) && len(q.OrderBy) == 2 && q.OrderBy[1].Desc
			}},
		{name: "whitespace in $select", raw: "$select= name , revenue ",
			check: func(q *Query) bool { return reflect.DeepEqual(q.Select, []string{"name", "revenue"}) }},
		{name: "alias in $orderby", raw: "$orderby=@p1 desc&@p1=name",
			check: func(q *Query) bool { return len(q.OrderBy) == 1 && q.OrderBy[0].Path[0] == "name" && q.OrderBy[0].Desc }},
		{name: "alias for a property path in $filter", raw: "$filter=contains(@p1,'Contoso')&@p1=name",
			check: func(q *Query) bool {
				c, ok := q.Filter.(Call)
				return ok && reflect.DeepEqual(c.Args[0], Path{Segments: []string{"name"}})
			}},
		{name: "every nested option", raw: "$expand=contact_customer_accounts($select=fullname;$filter=lastname ne null;$orderby=fullname desc;$top=2;$count=true;$expand=Contact_Tasks($select=subject);)",
			check: func(q *Query) bool {
				o := q.Expand[0].Options
				return len(o.Select) == 1 && o.Filter != nil && o.OrderBy[0].Desc && o.Top == 2 && o.Count && o.Expand[0].Nav == "Contact_Tasks"
			}},
		{name: "space before the options of an expansion", raw: "$expand=primarycontactid ($select=fullname)",
			check: func(q *Query) bool { return q.Expand[0].Nav == "primarycontactid" }},
		{name: "two commas in $select", raw: "$select=name,,revenue", err: "empty item"},
		{name: "alias without a value", raw: "$orderby=@p9", err: "@p9 has no value"},
		{name: "alias standing for a function", raw: "$filter=@p1 eq 1&@p1=tolower(name)", err: "literal or a property path"},
		{name: "nested option twice", raw: "$expand=primarycontactid($select=a;$select=b)", err: "given twice"},
		{name: "unknown nested option", raw: "$expand=contact_customer_accounts($skip=2)", err: "not supported inside $expand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := SplitQuery(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseQuery(v)
			if !checkErr(t, err, tc.err) {
				return
			}
			if !tc.check(q) {
				t.Fatalf("unexpected parse: %+v", q)
			}
		})
	}
}

// FuzzSplitQuery: no input panics, and the options read from a query are
// read again, identically, from the same options percent-encoded.
func FuzzSplitQuery(f *testing.F) {
	f.Add("$select=name&$expand=contact_customer_accounts($select=fullname;$expand=Contact_Tasks($select=subject))")
	f.Add("$filter=name eq 'A&B'&$orderby=@p1&@p1=name")
	f.Add("%24top=1&$filter=name+eq+'%27'")
	f.Add("$apply=groupby((statuscode),aggregate($count as count))&@p1=['a','b']")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := SplitQuery(raw)
		if err != nil {
			return
		}
		var parts []string
		for k, vs := range v {
			for _, x := range vs {
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(x))
			}
		}
		again, err := SplitQuery(strings.Join(parts, "&"))
		if err != nil {
			t.Fatalf("re-encoded %q: %v", raw, err)
		}
		if len(again) != len(v) {
			t.Fatalf("%q: %v became %v", raw, v, again)
		}
		for k, vs := range v {
			if !reflect.DeepEqual(again[k], vs) {
				t.Fatalf("%q: %s: %q became %q", raw, k, vs, again[k])
			}
		}
		ParseQuery(v) // must not panic
	})
}

// BenchmarkQueryParse compares reading a request's query options with the
// form decoder Junction used before (url.ParseQuery, which also needs the
// nested ';' percent-encoded) and with SplitQuery.
func BenchmarkQueryParse(b *testing.B) {
	plain := "$select=name,revenue,accountnumber&$filter=revenue gt 1000 and contains(name,'Contoso')&$orderby=name desc&$top=50" +
		"&$expand=contact_customer_accounts($select=fullname;$filter=lastname ne null;$orderby=fullname)"
	encoded := strings.NewReplacer(" ", "%20", ";", "%3B", "'", "%27").Replace(plain)
	run := func(b *testing.B, split func(string) (url.Values, error), raw string) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := split(raw)
			if err != nil {
				b.Fatal(err)
			}
			q, err := ParseQuery(v)
			if err != nil || len(q.Expand) != 1 {
				b.Fatalf("%v %+v", err, q)
			}
		}
	}
	b.Run("form-decoder/encoded", func(b *testing.B) { run(b, url.ParseQuery, encoded) })
	b.Run("odata/encoded", func(b *testing.B) { run(b, SplitQuery, encoded) })
	b.Run("odata/plain", func(b *testing.B) { run(b, SplitQuery, plain) })
}

// BenchmarkQuerySplit measures the split alone, without parsing the options.
func BenchmarkQuerySplit(b *testing.B) {
	plain := "$select=name,revenue,accountnumber&$filter=revenue gt 1000 and contains(name,'Contoso')&$orderby=name desc&$top=50" +
		"&$expand=contact_customer_accounts($select=fullname;$filter=lastname ne null;$orderby=fullname)"
	encoded := strings.NewReplacer(" ", "%20", ";", "%3B", "'", "%27").Replace(plain)
	run := func(b *testing.B, split func(string) (url.Values, error), raw string) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := split(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("form-decoder/encoded", func(b *testing.B) { run(b, url.ParseQuery, encoded) })
	b.Run("odata/encoded", func(b *testing.B) { run(b, SplitQuery, encoded) })
	b.Run("odata/plain", func(b *testing.B) { run(b, SplitQuery, plain) })
}
