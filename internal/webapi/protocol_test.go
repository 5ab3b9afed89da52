package webapi_test

import (
	"fmt"
	"math/rand"
	"net/url"
	"strings"
	"testing"

	"junction/internal/records"
)

// seedCustomers creates the account Contoso with two contacts (one with a
// Case), and the account Fabrikam with one; it returns Contoso's id and the
// first contact's id.
func seedCustomers(t *testing.T, b *bundle) (acc, yvonne string) {
	t.Helper()
	acc = b.create("accounts", map[string]any{"name": "Contoso", "accountnumber": "C1", "revenue": 1000, "numberofemployees": 10})
	yvonne = b.create("contacts", map[string]any{"firstname": "Yvonne", "lastname": "McKay", "fullname": "Yvonne McKay", "telephone1": "555-0101",
		"creditlimit": 100, "parentcustomerid_account@odata.bind": "/accounts(" + acc + ")"})
	b.create("contacts", map[string]any{"firstname": "Susanna", "lastname": "Stubberod", "fullname": "Susanna Stubberod", "creditlimit": 250,
		"parentcustomerid_account@odata.bind": "/accounts(" + acc + ")"})
	fab := b.create("accounts", map[string]any{"name": "Fabrikam", "accountnumber": "F1", "revenue": 3000, "numberofemployees": 30,
		"primarycontactid@odata.bind": "/contacts(" + yvonne + ")"})
	b.create("contacts", map[string]any{"firstname": "Nancy", "lastname": "Adams", "fullname": "Nancy Adams", "creditlimit": 50, "parentcustomerid_account@odata.bind": "/accounts(" + fab + ")"})
	b.create("incidents", map[string]any{"title": "Printer on fire", "customerid_contact@odata.bind": "/contacts(" + yvonne + ")"})
	return acc, yvonne
}

// TestQueryOptionsAsClientsSendThem sends the query forms of Microsoft's
// documentation with ';', '$', quotes and parentheses unencoded, as
// browsers and the samples send them.
func TestQueryOptionsAsClientsSendThem(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acc, _ := seedCustomers(t, b)
		tests := []struct {
			name, path string
			status     int
			want       []string // substrings of the body
		}{
			// Query data using the Web API > Join tables: nested $expand with options separated by ';'.
			{"nested expand", "accounts(" + acc + ")?$select=name&$expand=contact_customer_accounts($select=fullname;$orderby=fullname desc;$expand=incident_customer_contacts($select=title))", 200,
				[]string{`$metadata#accounts(name,contact_customer_accounts(fullname,incident_customer_contacts(title)))/$entity"`,
					`"contact_customer_accounts":[{"`, `"fullname":"Yvonne McKay"`, `"incident_customer_contacts":[{"`, `"title":"Printer on fire"`}},
			{"nested filter and top", "accounts?$select=name&$filter=name eq 'Contoso'&$expand=contact_customer_accounts($select=fullname;$filter=startswith(fullname,'S');$top=1)", 200,
				[]string{`"fullname":"Susanna Stubberod"`}},
			// Query data using the Web API > Order rows: "$select=name,revenue,&$orderby=revenue asc,name desc".
			{"trailing comma in select", "accounts?$select=name,revenue,&$orderby=revenue asc,name desc&$filter=revenue ne null", 200,
				[]string{`$metadata#accounts(name,revenue)"`, `"name":"Contoso"`}},
			// Use parameter aliases with system query options.
			{"aliases for property names", "accounts?$select=name&$filter=contains(@p1,'Contoso')&$orderby=@p2&@p1=name&@p2=name", 200,
				[]string{`"name":"Contoso"`}},
			{"alias for a value", "accounts?$select=name&$filter=revenue gt @p1&@p1=2000", 200, []string{`"name":"Fabrikam"`}},
			{"ampersand in a literal", "accounts?$select=name&$filter=name eq 'A&B'", 200, []string{`"value":[]`}},
			{"option twice", "accounts?$top=1&$top=2", 400, []string{`"code":"0x80060888"`, `'$top' was specified more than once`}},
			{"bad escape", "accounts?$filter=name eq '%zz'", 400, []string{`"code":"0x80060888"`, "percent-escape"}},
			{"unknown nested option", "accounts?$expand=contact_customer_accounts($skip=1)", 400, []string{`"code":"0x80060888"`, "$skip is not supported inside $expand"}},
		}
		for _, tc := range tests {
			r := b.do("GET", tc.path, nil)
			if r.status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			}
			for _, s := range tc.want {
				if !strings.Contains(string(r.body), s) {
					t.Errorf("%s: body lacks %s:\n%s", tc.name, s, r.body)
				}
			}
		}
		// Without the fix the nested expansion disappeared silently: check
		// that the first answer above really expanded two levels.
		r := b.mustStatus(b.do("GET", "accounts("+acc+")?$expand=contact_customer_accounts($select=fullname;$expand=incident_customer_contacts($select=title))", nil), 200)
		m := r.json(t)
		cs, _ := m["contact_customer_accounts"].([]any)
		if len(cs) != 2 {
			t.Fatalf("expansion lost: %s", r.body)
		}
	})
}

// TestCountingAndAggregates: /$count on related collections, $count inside
// $expand, $apply on entity sets and related collections.
func TestCountingAndAggregates(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acc, yvonne := seedCustomers(t, b)
		fa := `Prefer`
		tests := []struct {
			name, path string
			headers    []string
			status     int
			want       string // exact body, or a substring when it starts with '~'
		}{
			// Query data using the Web API > Count number of rows ("accounts/$count" answers a plain number).
			{"count related", "accounts(" + acc + ")/contact_customer_accounts/$count", nil, 200, "2"},
			{"count related with filter", "accounts(" + acc + ")/contact_customer_accounts/$count?$filter=startswith(fullname,'Y')", nil, 200, "1"},
			{"count set", "contacts/$count", nil, 200, "3"},
			{"count of a single-valued navigation", "accounts(" + acc + ")/primarycontactid/$count", nil, 404, "~0x80060888"},
			{"count inside expand", "accounts(" + acc + ")?$select=name&$expand=contact_customer_accounts($select=fullname;$top=1;$count=true)", nil, 200,
				`~"contact_customer_accounts@odata.count":2`},
			{"count inside single-valued expand", "accounts?$expand=primarycontactid($count=true)", nil, 400, "~$count"},
			// Aggregate data using OData: "accounts?$apply=groupby((statuscode),aggregate($count as count))" with formatted values.
			{"group by status", "accounts?$apply=groupby((statuscode),aggregate($count as count))", []string{fa, `odata.include-annotations="OData.Community.Display.V1.FormattedValue"`}, 200,
				`~"value":[{"count":2,"count@OData.Community.Display.V1.FormattedValue":"2","statuscode":1,"statuscode@OData.Community.Display.V1.FormattedValue":"Active"}]`},
			{"aggregate over a related collection", "accounts(" + acc + ")/contact_customer_accounts?$apply=aggregate(creditlimit with sum as total,creditlimit with max as most,$count as n)", nil, 200,
				`~"value":[{"most":250,"n":2,"total":350}]`},
			{"filter then aggregate over a related collection", "accounts(" + acc + ")/contact_customer_accounts?$apply=filter(creditlimit gt 100)/aggregate(creditlimit with average as avg)", nil, 200,
				`~"value":[{"avg":250}]`},
			{"group by a lookup", "accounts?$apply=groupby((_primarycontactid_value),aggregate(revenue with sum as total))", nil, 200,
				`~"value":[{"_primarycontactid_value":null,"total":1000},{"_primarycontactid_value":"` + yvonne + `","total":3000}]`},
			{"countdistinct", "contacts?$apply=aggregate(parentcustomerid with countdistinct as accounts)", nil, 200, `~"value":[{"accounts":2}]`},
			// Aggregate data using OData: "groupby with datetime values isn't supported".
			{"group by a date", "accounts?$apply=groupby((createdon))", nil, 400, "~datetime"},
		}
		for _, tc := range tests {
			r := b.do("GET", tc.path, nil, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			}
			got := strings.TrimSpace(string(r.body))
			if sub, ok := strings.CutPrefix(tc.want, "~"); ok {
				if !strings.Contains(got, sub) {
					t.Errorf("%s: body lacks %s:\n%s", tc.name, sub, got)
				}
			} else if got != tc.want {
				t.Errorf("%s: body %q, want %q", tc.name, got, tc.want)
			}
			if tc.status == 200 && !strings.HasPrefix(tc.want, "~") && r.header.Get("Content-Type") != "text/plain" {
				t.Errorf("%s: content type %q", tc.name, r.header.Get("Content-Type"))
			}
		}
	})
}

// TestResponseShapesGolden keeps the context URLs, entity ids and
// Preference-Applied headers of the documented response shapes in a golden
// file (testdata/shapes.golden; go test -update rewrites it).
func TestResponseShapesGolden(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acc, yvonne := seedCustomers(t, b)
		ann := `odata.include-annotations="*"`
		reqs := []struct {
			doc, method, path string
			body              any
			headers           []string
		}{
			{"Retrieve a table row using the Web API > Retrieve a single property value", "GET", "contacts(" + yvonne + ")/telephone1", nil, nil},
			{"Retrieve a table row using the Web API > Retrieve a lookup property value", "GET", "accounts(accountnumber='F1')/_primarycontactid_value", nil, nil},
			{"Join tables > single-valued navigation", "GET", "contacts(" + yvonne + ")/parentcustomerid_account?$select=name", nil, nil},
			{"Join tables > $expand with $select", "GET", "accounts?$select=name&$filter=name eq 'Contoso'&$expand=contact_customer_accounts($select=fullname;$orderby=fullname)", nil, nil},
			{"Join tables > single-valued expansion", "GET", "accounts(accountnumber='F1')?$select=name&$expand=primarycontactid($select=fullname)", nil, nil},
			{"Join tables > expansion without $select", "GET", "accounts(accountnumber='F1')?$select=name&$expand=contact_customer_accounts", nil, nil},
			{"Associate and disassociate table rows > retrieve references", "GET", "accounts(accountnumber='F1')/contact_customer_accounts/$ref", nil, nil},
			{"Associate and disassociate table rows > single-valued reference", "GET", "contacts(" + yvonne + ")/parentcustomerid_account/$ref", nil, nil},
			{"Formatted values: Preference-Applied odata.include-annotations", "GET", "accounts(" + acc + ")?$select=revenue", nil, []string{"Prefer", ann}},
			{"Page results: Preference-Applied odata.maxpagesize", "GET", "contacts?$select=fullname&$orderby=fullname", nil, []string{"Prefer", "odata.maxpagesize=2"}},
			{"Create with data returned", "POST", "accounts?$select=name", map[string]any{"name": "Litware"}, []string{"Prefer", "return=representation", "Prefer", ann}},
			// The reads below select a few columns: the answer is the one a
			// read of every column gives.
			{"Lookup, money and choice values with their annotations", "GET", "contacts(" + yvonne + ")?$select=fullname,_parentcustomerid_value,ownerid,creditlimit,statecode,versionnumber", nil, []string{"Prefer", ann}},
			{"Selected lookups and money in a list", "GET", "contacts?$select=fullname,creditlimit,_parentcustomerid_value,_transactioncurrencyid_value&$filter=creditlimit gt 60&$orderby=fullname", nil, []string{"Prefer", ann}},
			{"Selected columns in a list and in both kinds of expansion", "GET", "accounts?$select=name,revenue,_primarycontactid_value&$orderby=name" +
				"&$expand=contact_customer_accounts($select=fullname,creditlimit,_parentcustomerid_value;$orderby=fullname),primarycontactid($select=fullname,_parentcustomerid_value)", nil, []string{"Prefer", ann}},
			{"Nested expansions with $select", "GET", "accounts(" + acc + ")?$select=name&$expand=contact_customer_accounts($select=fullname;$orderby=fullname;$expand=incident_customer_contacts($select=title,_customerid_value))", nil, nil},
			{"Many-to-many expansion with $select", "GET", "systemusers?$select=fullname&$filter=systemuserid eq " + records.SystemUserID + "&$expand=systemuserroles_association($select=name;$orderby=name)", nil, nil},
			{"$select of a column the table does not have", "GET", "accounts(" + acc + ")?$select=name,nosuchcolumn", nil, nil},
			{"Not modified with $select", "GET", "accounts(" + acc + ")?$select=name", nil, []string{"If-None-Match", `W/"1"`}},
		}
		var out strings.Builder
		for _, rq := range reqs {
			r := b.do(rq.method, rq.path, rq.body, rq.headers...)
			fmt.Fprintf(&out, "## %s\n%s %s\n%d Preference-Applied: %s\n%s\n", rq.doc, rq.method, rq.path, r.status,
				strings.Join(r.header.Values("Preference-Applied"), ", "), strings.TrimSpace(string(r.body)))
		}
		golden(t, "shapes.golden", normalize(out.String()))
	})
}

// TestEncodedAndPlainQueriesAgree sends generated queries twice, once as
// browsers write them (';', '$', quotes, parentheses and commas bare) and
// once with every option percent-encoded, and requires identical answers.
func TestEncodedAndPlainQueriesAgree(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		seedCustomers(t, b)
		rnd := rand.New(rand.NewSource(15))
		pick := func(xs ...string) string { return xs[rnd.Intn(len(xs))] }
		nested := func() string {
			var opts []string
			if rnd.Intn(2) == 0 {
				opts = append(opts, "$select="+pick("fullname", "fullname,lastname", "lastname,", "creditlimit"))
			}
			if rnd.Intn(2) == 0 {
				opts = append(opts, "$filter="+pick("startswith(fullname,'S')", "creditlimit gt 60", "lastname ne 'O''Brien; & Co'", "fullname eq @p1"))
			}
			if rnd.Intn(2) == 0 {
				opts = append(opts, "$orderby="+pick("fullname desc", "creditlimit", "lastname asc,fullname"))
			}
			if rnd.Intn(3) == 0 {
				opts = append(opts, "$top="+pick("1", "2"))
			}
			if rnd.Intn(3) == 0 {
				opts = append(opts, "$count=true")
			}
			if rnd.Intn(3) == 0 {
				opts = append(opts, "$expand=incident_customer_contacts($select=title)")
			}
			return "contact_customer_accounts(" + strings.Join(opts, ";") + ")"
		}
		for i := 0; i < 40; i++ {
			opts := [][2]string{{"$select", pick("name", "name,revenue", "name,revenue,", "accountnumber")}}
			if rnd.Intn(2) == 0 {
				opts = append(opts, [2]string{"$filter", pick("revenue gt 10", "contains(@p2,'o')", "name ne 'A&B;C'", "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['Contoso','Fabrikam'])")})
			}
			opts = append(opts, [2]string{"$orderby", pick("name", "@p3 desc", "revenue desc,name")})
			if rnd.Intn(3) > 0 {
				opts = append(opts, [2]string{"$expand", nested()})
			}
			opts = append(opts, [2]string{"@p1", "'Yvonne McKay'"}, [2]string{"@p2", "name"}, [2]string{"@p3", "name"})
			rnd.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
			var plain, enc []string
			for _, o := range opts {
				plain = append(plain, o[0]+"="+o[1])
				enc = append(enc, url.QueryEscape(o[0])+"="+url.QueryEscape(o[1]))
			}
			p := b.do("GET", "accounts?"+strings.Join(plain, "&"), nil)
			e := b.do("GET", "accounts?"+strings.Join(enc, "&"), nil)
			if p.status != 200 {
				t.Fatalf("%s: %d %s", strings.Join(plain, "&"), p.status, p.body)
			}
			if p.status != e.status || string(p.body) != string(e.body) {
				t.Fatalf("plain and encoded differ for %s:\nplain   %d %s\nencoded %d %s", strings.Join(plain, "&"), p.status, p.body, e.status, e.body)
			}
		}
	})
}

// TestAggregateLimit: "The aggregate functions are limited to a collection
// of 50,000 records" (Aggregate data using OData); over it Dataverse answers
// AggregateQueryRecordLimit exceeded.
func TestAggregateLimit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		seedAccounts(t, b, 50001)
		r := b.do("GET", "accounts?$apply=aggregate($count as n)", nil)
		if r.status != 400 || r.errCode(t) != "0x8004e023" || !strings.Contains(string(r.body), "AggregateQueryRecordLimit exceeded") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// Aggregate data using FetchXml: the same limit, the same error.
		fx := `<fetch aggregate="true"><entity name="account"><attribute name="accountid" alias="n" aggregate="count"/></entity></fetch>`
		r = b.do("GET", "accounts?fetchXml="+url.QueryEscape(fx), nil)
		if r.status != 400 || r.errCode(t) != "0x8004e023" {
			t.Fatalf("fetchxml: %d %s", r.status, r.body)
		}
		r = b.mustStatus(b.do("GET", "accounts?$apply=filter(name ne 'Account 50001')/aggregate($count as n,revenue with max as most)", nil), 200)
		if !strings.Contains(string(r.body), `"value":[{"most":999,"n":50000}]`) {
			t.Fatalf("%s", r.body)
		}
	})
}
