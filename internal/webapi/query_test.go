package webapi_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// seedQueryData creates accounts and contacts with known values.
func seedQueryData(b *bundle) map[string]string {
	ids := map[string]string{}
	ids["ann"] = b.create("contacts", map[string]any{"firstname": "Ann", "lastname": "Lee", "fullname": "Ann Lee", "emailaddress1": "ann@example.com"})
	ids["bob"] = b.create("contacts", map[string]any{"firstname": "Bob", "lastname": "Ng", "fullname": "Bob Ng"})
	accounts := []map[string]any{
		{"name": "Alpha", "accountnumber": "A-1", "revenue": 100, "numberofemployees": 10, "address1_city": "Paris", "industrycode": 1, "creditonhold": false, "lastonholdtime": "2024-01-15T10:00:00Z", "primarycontactid@odata.bind": "/contacts(" + ids["ann"] + ")"},
		{"name": "beta", "accountnumber": "A-2", "revenue": 200, "numberofemployees": 20, "address1_city": "paris", "industrycode": 2, "creditonhold": true, "lastonholdtime": "2024-02-15T10:00:00Z", "primarycontactid@odata.bind": "/contacts(" + ids["bob"] + ")"},
		{"name": "Gamma 50%_off", "accountnumber": "A-3", "revenue": 300, "numberofemployees": 30, "address1_city": "Berlin", "industrycode": 1, "creditonhold": false},
		{"name": "delta O'Brien", "accountnumber": "A-4", "numberofemployees": 40, "address1_city": nil, "industrycode": 3},
		{"name": "Émile", "accountnumber": "A-5", "revenue": 500, "numberofemployees": 50, "address1_city": "Lyon"},
	}
	for _, a := range accounts {
		ids[a["accountnumber"].(string)] = b.create("accounts", a)
	}
	b.create("contacts", map[string]any{"lastname": "Child1", "fullname": "Child One", "parentcustomerid_account@odata.bind": "/accounts(" + ids["A-1"] + ")"})
	b.create("contacts", map[string]any{"lastname": "Child2", "fullname": "Child Two", "parentcustomerid_account@odata.bind": "/accounts(" + ids["A-1"] + ")"})
	b.create("contacts", map[string]any{"lastname": "Child3", "fullname": "Child Three", "parentcustomerid_account@odata.bind": "/accounts(" + ids["A-2"] + ")"})
	return ids
}

func names(t *testing.T, m map[string]any, field string) []string {
	t.Helper()
	vals, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value: %v", m)
	}
	var out []string
	for _, v := range vals {
		out = append(out, fmt.Sprint(v.(map[string]any)[field]))
	}
	return out
}

func TestFilterOrderBy(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		ids := seedQueryData(b)
		cases := []struct {
			query string
			want  string // accountnumbers in order
		}{
			{"$filter=name eq 'alpha'", "A-1"},
			{"$filter=name eq 'ALPHA' or name eq 'BETA'&$orderby=name", "A-1,A-2"},
			{"$filter=address1_city eq 'Paris'&$orderby=accountnumber desc", "A-2,A-1"},
			{"$filter=address1_city ne 'Paris'", "A-3,A-5"},
			{"$filter=address1_city eq null", "A-4"},
			{"$filter=address1_city ne null and revenue gt 100", "A-2,A-3,A-5"},
			{"$filter=revenue ge 200 and revenue lt 500", "A-2,A-3"},
			{"$filter=revenue le 100.5", "A-1"},
			{"$filter=not (revenue gt 100)", "A-1"},
			{"$filter=contains(name,'50%_')", "A-3"},
			{"$filter=contains(name,'%')", "A-3"},
			{"$filter=startswith(name,'DEL')", "A-4"},
			{"$filter=endswith(name,'o''brien')", "A-4"},
			{"$filter=creditonhold eq true", "A-2"},
			{"$filter=creditonhold", "A-2"},
			{"$filter=industrycode eq 1&$orderby=name desc", "A-3,A-1"},
			{"$filter=lastonholdtime gt 2024-02-01T00:00:00Z", "A-2"},
			{"$filter=lastonholdtime lt 2024-02-01", "A-1"},
			{"$filter=_primarycontactid_value eq " + ids["bob"], "A-2"},
			{"$filter=primarycontactid/fullname eq 'ann lee'", "A-1"},
			{"$filter=primarycontactid/emailaddress1 eq null and primarycontactid/fullname ne null", "A-2"},
			{"$filter=contact_customer_accounts/any(c:c/lastname eq 'child3')", "A-2"},
			{"$filter=contact_customer_accounts/any()&$orderby=name", "A-1,A-2"},
			{"$filter=contact_customer_accounts/all(c:startswith(c/lastname,'Child'))&$orderby=accountnumber", "A-1,A-2,A-3,A-4,A-5"},
			{"$filter=Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=['a-1','A-3'])", "A-1,A-3"},
			{"$filter=Microsoft.Dynamics.CRM.NotIn(PropertyName='industrycode',PropertyValues=['1','2'])", "A-4"},
			{"$filter=Microsoft.Dynamics.CRM.Between(PropertyName='numberofemployees',PropertyValues=[20,40])&$orderby=numberofemployees desc", "A-4,A-3,A-2"},
			{"$filter=Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=@p1)&@p1=['A-5']", "A-5"},
			{"$filter=name eq @p1&@p1='beta'", "A-2"},
			{"$filter=Microsoft.Dynamics.CRM.On(PropertyName='lastonholdtime',PropertyValue='2024-01-15')", "A-1"},
			{"$filter=Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=1)&$orderby=accountnumber", "A-1,A-2,A-3,A-4,A-5"},
			{"$filter=Microsoft.Dynamics.CRM.Today(PropertyName='lastonholdtime')", ""},
			{"$filter=Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')&$orderby=accountnumber", "A-1,A-2,A-3,A-4,A-5"},
			{"$orderby=revenue&$filter=numberofemployees ge 30", "A-4,A-3,A-5"},
			{"$orderby=address1_city,accountnumber", "A-4,A-3,A-5,A-1,A-2"},
			{"$orderby=primarycontactid/fullname desc,accountnumber", "A-2,A-1,A-3,A-4,A-5"},
			{"$filter=length(name) eq 4", "A-2"},
			{"$filter=tolower(name) eq 'Émile'", "A-5"},
			{"$filter=name eq 'émile'", ""}, // case folding is ASCII-only, the same on both databases
			{"$top=2&$orderby=accountnumber desc", "A-5,A-4"},
		}
		for _, c := range cases {
			q := url.Values{}
			for _, kv := range strings.Split(c.query, "&") {
				k, v, _ := strings.Cut(kv, "=")
				q.Set(k, v)
			}
			q.Set("$select", "accountnumber")
			r := b.do("GET", "accounts?"+q.Encode(), nil)
			if r.status != 200 {
				t.Errorf("%s: %d %s", c.query, r.status, r.body)
				continue
			}
			got := strings.Join(names(t, r.json(t), "accountnumber"), ",")
			want := c.want
			if !strings.Contains(c.query, "$orderby") && !strings.Contains(c.query, "$top") {
				s := strings.Split(got, ",")
				sort.Strings(s)
				got = strings.Join(s, ",")
			}
			if got != want {
				t.Errorf("%s: got %q, want %q", c.query, got, want)
			}
		}
	})
}

func TestExpandCountPaging(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		ids := seedQueryData(b)
		q := url.Values{"$select": {"name"}, "$expand": {"primarycontactid($select=fullname),contact_customer_accounts($select=lastname;$orderby=lastname desc;$top=1)"},
			"$filter": {"accountnumber eq 'A-1'"}}
		m := b.mustStatus(b.do("GET", "accounts?"+q.Encode(), nil), 200).json(t)
		row := m["value"].([]any)[0].(map[string]any)
		pc := row["primarycontactid"].(map[string]any)
		if pc["fullname"] != "Ann Lee" || pc["contactid"] != ids["ann"] {
			t.Fatalf("single expand %v", row)
		}
		kids := row["contact_customer_accounts"].([]any)
		if len(kids) != 1 || kids[0].(map[string]any)["lastname"] != "Child2" {
			t.Fatalf("collection expand %v", row)
		}
		// Expand on a single record and nested expand.
		q = url.Values{"$select": {"lastname"}, "$expand": {"parentcustomerid_account($select=name;$expand=primarycontactid($select=fullname))"}}
		r := b.mustStatus(b.do("GET", "contacts?"+url.Values{"$filter": {"lastname eq 'Child3'"}}.Encode()+"&"+q.Encode(), nil), 200).json(t)
		acc := r["value"].([]any)[0].(map[string]any)["parentcustomerid_account"].(map[string]any)
		if acc["name"] != "beta" || acc["primarycontactid"].(map[string]any)["fullname"] != "Bob Ng" {
			t.Fatalf("nested expand %v", acc)
		}
		// $count and /$count.
		m = b.mustStatus(b.do("GET", "accounts?$count=true&$top=1&"+url.Values{"$filter": {"revenue gt 100"}}.Encode(), nil), 200).json(t)
		if m["@odata.count"] != float64(3) || len(m["value"].([]any)) != 1 {
			t.Fatalf("count %v", m)
		}
		c := b.mustStatus(b.do("GET", "contacts/$count", nil), 200)
		if string(c.body) != "5" || !strings.HasPrefix(c.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("$count %s %v", c.body, c.header)
		}
		// Paging: 2 per page, follow nextLink to the end.
		var seen []string
		next := b.base + "accounts?$select=accountnumber&$orderby=accountnumber"
		pages := 0
		for next != "" {
			r := b.mustStatus(b.do("GET", next, nil, "Prefer", "odata.maxpagesize=2"), 200)
			if r.header.Get("Preference-Applied") != "odata.maxpagesize=2" {
				t.Fatalf("preference applied %v", r.header)
			}
			m := r.json(t)
			seen = append(seen, names(t, m, "accountnumber")...)
			next, _ = m["@odata.nextLink"].(string)
			if next != "" && !strings.HasPrefix(next, b.base) {
				t.Fatalf("nextLink not absolute: %s", next)
			}
			pages++
		}
		if strings.Join(seen, ",") != "A-1,A-2,A-3,A-4,A-5" || pages != 3 {
			t.Fatalf("paging: %v in %d pages", seen, pages)
		}
		// $top wins over maxpagesize.
		m = b.mustStatus(b.do("GET", "accounts?$top=3", nil, "Prefer", "odata.maxpagesize=2"), 200).json(t)
		if len(m["value"].([]any)) != 3 || m["@odata.nextLink"] != nil {
			t.Fatalf("top with maxpagesize: %v", m)
		}
		// Related collection and $ref associate.
		m = b.mustStatus(b.do("GET", "accounts("+ids["A-1"]+")/contact_customer_accounts?$select=lastname&$orderby=lastname", nil), 200).json(t)
		if strings.Join(names(t, m, "lastname"), ",") != "Child1,Child2" {
			t.Fatalf("related %v", m)
		}
		b.mustStatus(b.do("POST", "accounts("+ids["A-3"]+")/contact_customer_accounts/$ref", map[string]any{"@odata.id": b.base + "contacts(" + ids["bob"] + ")"}), 204)
		m = b.mustStatus(b.do("GET", "contacts("+ids["bob"]+")?$select=_parentcustomerid_value", nil, "Prefer", `odata.include-annotations="*"`), 200).json(t)
		if m["_parentcustomerid_value"] != ids["A-3"] || m["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] != "parentcustomerid_account" {
			t.Fatalf("after $ref: %v", m)
		}
		b.mustStatus(b.do("DELETE", "accounts("+ids["A-3"]+")/contact_customer_accounts("+ids["bob"]+")/$ref", nil), 204)
		b.mustStatus(b.do("PUT", "accounts("+ids["A-3"]+")/primarycontactid/$ref", map[string]any{"@odata.id": "contacts(" + ids["bob"] + ")"}), 204)
		m = b.mustStatus(b.do("GET", "accounts("+ids["A-3"]+")/primarycontactid?$select=fullname", nil), 200).json(t)
		if m["fullname"] != "Bob Ng" {
			t.Fatalf("single nav %v", m)
		}
	})
}

func TestApply(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		seedQueryData(b)
		m := b.mustStatus(b.do("GET", "accounts?"+url.Values{"$apply": {"groupby((industrycode),aggregate(revenue with sum as total,$count as n,numberofemployees with max as most))"}}.Encode(), nil), 200).json(t)
		got := fmt.Sprint(m["value"])
		want := "[map[industrycode:<nil> most:50 n:1 total:500] map[industrycode:1 most:30 n:2 total:400] map[industrycode:2 most:20 n:1 total:200] map[industrycode:3 most:40 n:1 total:<nil>]]"
		if got != want {
			t.Fatalf("groupby: %s", got)
		}
		m = b.mustStatus(b.do("GET", "accounts?"+url.Values{"$apply": {"filter(revenue gt 100)/aggregate(revenue with average as avg,lastonholdtime with max as latest)"}}.Encode(), nil), 200).json(t)
		if got := fmt.Sprint(m["value"]); got != "[map[avg:333.3333333333333 latest:2024-02-15T10:00:00Z]]" {
			t.Fatalf("aggregate: %s", got)
		}
		if r := b.do("GET", "accounts?"+url.Values{"$apply": {"groupby((nosuch))"}}.Encode(), nil); r.status != 400 {
			t.Fatalf("bad groupby: %d", r.status)
		}
	})
}
