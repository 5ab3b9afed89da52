package webapi_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"junction/internal/webapi"
)

func fetch(b *bundle, set, fx string, headers ...string) resp {
	return b.do("GET", set+"?fetchXml="+url.QueryEscape(fx), nil, headers...)
}

func TestFetchXML(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		seedQueryData(b)
		fx := `<fetch><entity name="account"><attribute name="name"/><attribute name="address1_city"/>
			<filter type="and"><condition attribute="address1_city" operator="eq" value="PARIS"/>
			<filter type="or"><condition attribute="revenue" operator="gt" value="150"/><condition attribute="name" operator="like" value="al%"/></filter></filter>
			<order attribute="name" descending="true"/>
			<link-entity name="contact" from="contactid" to="primarycontactid" alias="pc" link-type="outer"><attribute name="fullname"/></link-entity>
			</entity></fetch>`
		m := b.mustStatus(fetch(b, "accounts", fx), 200).json(t)
		v := m["value"].([]any)
		if len(v) != 2 || v[0].(map[string]any)["name"] != "beta" || v[0].(map[string]any)["pc.fullname"] != "Bob Ng" || v[1].(map[string]any)["name"] != "Alpha" {
			t.Fatalf("fetch %v", m)
		}
		// Null columns are omitted.
		fx = `<fetch><entity name="account"><attribute name="name"/><attribute name="revenue"/><filter><condition attribute="accountnumber" operator="eq" value="A-4"/></filter></entity></fetch>`
		row := b.mustStatus(fetch(b, "accounts", fx), 200).json(t)["value"].([]any)[0].(map[string]any)
		if _, ok := row["revenue"]; ok {
			t.Fatalf("null column present: %v", row)
		}
		// Operators.
		cases := map[string]string{
			`<condition attribute="accountnumber" operator="in"><value>A-1</value><value>A-5</value></condition>`:        "A-1,A-5",
			`<condition attribute="address1_city" operator="null"/>`:                                                     "A-4",
			`<condition attribute="name" operator="begins-with" value="g"/>`:                                             "A-3",
			`<condition attribute="name" operator="not-like" value="%a%"/>`:                                              "A-5",
			`<condition attribute="numberofemployees" operator="between"><value>20</value><value>30</value></condition>`: "A-2,A-3",
			`<condition attribute="lastonholdtime" operator="on" value="2024-02-15"/>`:                                   "A-2",
			`<condition attribute="ownerid" operator="eq-userid"/>`:                                                      "A-1,A-2,A-3,A-4,A-5",
		}
		for cond, want := range cases {
			fx := `<fetch><entity name="account"><attribute name="accountnumber"/><order attribute="accountnumber"/><filter>` + cond + `</filter></entity></fetch>`
			r := fetch(b, "accounts", fx)
			if r.status != 200 {
				t.Errorf("%s: %d %s", cond, r.status, r.body)
				continue
			}
			if got := strings.Join(names(t, r.json(t), "accountnumber"), ","); got != want {
				t.Errorf("%s: got %s want %s", cond, got, want)
			}
		}
		// Inner link-entity with a filter on the linked table (one-to-many).
		fx = `<fetch><entity name="account"><attribute name="accountnumber"/><link-entity name="contact" from="parentcustomerid" to="accountid" alias="k">
			<filter><condition attribute="lastname" operator="eq" value="child3"/></filter></link-entity></entity></fetch>`
		if got := strings.Join(names(t, b.mustStatus(fetch(b, "accounts", fx), 200).json(t), "accountnumber"), ","); got != "A-2" {
			t.Fatalf("inner link: %s", got)
		}
		// Paging with the paging cookie.
		var seen []string
		page := 1
		cookie := ""
		for {
			fx := `<fetch count="2" page="` + itoa(page) + `" paging-cookie="` + cookie + `" returntotalrecordcount="true"><entity name="account"><attribute name="accountnumber"/><order attribute="accountnumber"/></entity></fetch>`
			m := b.mustStatus(fetch(b, "accounts", fx), 200).json(t)
			seen = append(seen, names(t, m, "accountnumber")...)
			if m["@Microsoft.Dynamics.CRM.totalrecordcount"] != float64(5) {
				t.Fatalf("total %v", m)
			}
			pc, _ := m["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"].(string)
			if m["@Microsoft.Dynamics.CRM.morerecords"] != true {
				if pc != "" {
					t.Fatalf("cookie on the last page")
				}
				break
			}
			info := regexp.MustCompile(`pagingcookie="([^"]+)"`).FindStringSubmatch(pc)
			if info == nil {
				t.Fatalf("cookie %q", pc)
			}
			inner, _ := url.PathUnescape(info[1])
			inner, _ = url.PathUnescape(inner)
			if !strings.HasPrefix(inner, `<cookie page="`+itoa(page)+`">`) {
				t.Fatalf("inner cookie %q", inner)
			}
			cookie = strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(inner)
			page++
		}
		if strings.Join(seen, ",") != "A-1,A-2,A-3,A-4,A-5" {
			t.Fatalf("fetch paging: %v", seen)
		}
		for _, bad := range []string{"<fetch>", `<fetch><entity name="contact"/></fetch>`, `<fetch><entity name="account"><attribute name="nosuch"/></entity></fetch>`,
			`<fetch><entity name="account"><filter><condition attribute="name" operator="weird" value="x"/></filter></entity></fetch>`} {
			if r := fetch(b, "accounts", bad); r.status != 400 {
				t.Errorf("%s: %d", bad, r.status)
			}
		}
	})
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+n))) }

func FuzzParseFetchXML(f *testing.F) {
	f.Add(`<fetch count="2"><entity name="account"><attribute name="name"/><filter type="or"><condition attribute="name" operator="eq" value="x"/></filter><link-entity name="contact" from="contactid" to="primarycontactid"/></entity></fetch>`)
	f.Fuzz(func(t *testing.T, s string) {
		fx, err := webapi.ParseFetchXML(s)
		if err != nil {
			return
		}
		if fx.Entity.Name == "" {
			t.Fatal("entity without a name accepted")
		}
	})
}
