package webapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"junction/internal/server"
)

var guidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCreateRetrieveUpdateDelete(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		id := b.create("accounts", map[string]any{"name": "Contoso", "accountnumber": "A1", "revenue": 1000.5, "industrycode": 7, "creditonhold": true})
		if !guidRe.MatchString(id) {
			t.Fatalf("id %q", id)
		}
		r := b.mustStatus(b.do("GET", "accounts("+id+")?$select=name,revenue,industrycode,creditonhold", nil, "Prefer", `odata.include-annotations="*"`), 200)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("content type %q", ct)
		}
		m := r.json(t)
		if m["name"] != "Contoso" || m["revenue"] != 1000.5 || m["industrycode"] != float64(7) || m["creditonhold"] != true {
			t.Fatalf("row %v", m)
		}
		if m["industrycode@OData.Community.Display.V1.FormattedValue"] != "Consulting" {
			t.Fatalf("formatted %v", m)
		}
		if m["@odata.context"] != b.base+"$metadata#accounts(name,revenue,industrycode,creditonhold)/$entity" {
			t.Fatalf("context %v", m["@odata.context"])
		}
		etag := m["@odata.etag"].(string)
		// Conditional GET.
		b.mustStatus(b.do("GET", "accounts("+id+")", nil, "If-None-Match", etag), http.StatusNotModified)
		// Update, then a stale ETag is refused.
		b.mustStatus(b.do("PATCH", "accounts("+id+")", map[string]any{"name": "Contoso Ltd"}, "If-Match", etag), http.StatusNoContent)
		r = b.do("PATCH", "accounts("+id+")", map[string]any{"name": "Stale"}, "If-Match", etag)
		if r.status != 412 || r.errCode(t) != "0x80060882" {
			t.Fatalf("stale update: %d %s", r.status, r.body)
		}
		// Alternate key.
		r = b.mustStatus(b.do("GET", "accounts(accountnumber='A1')?$select=name", nil), 200)
		if r.json(t)["name"] != "Contoso Ltd" {
			t.Fatalf("by key: %s", r.body)
		}
		// Single property.
		b.mustStatus(b.do("PUT", "accounts("+id+")/name", map[string]any{"value": "Renamed"}), 204)
		r = b.mustStatus(b.do("GET", "accounts("+id+")/name", nil), 200)
		if r.json(t)["value"] != "Renamed" {
			t.Fatalf("property: %s", r.body)
		}
		b.mustStatus(b.do("DELETE", "accounts("+id+")/accountnumber", nil), 204)
		r = b.mustStatus(b.do("GET", "accounts("+id+")?$select=accountnumber", nil), 200)
		if r.json(t)["accountnumber"] != nil {
			t.Fatalf("cleared: %s", r.body)
		}
		r = b.do("DELETE", "accounts("+id+")", nil, "If-Match", etag)
		if r.status != 412 || r.errCode(t) != "0x80060882" {
			t.Fatalf("stale delete: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("DELETE", "accounts("+id+")", nil), 204)
		r = b.do("GET", "accounts("+id+")", nil)
		if r.status != 404 || r.errCode(t) != "0x80040217" {
			t.Fatalf("after delete: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("DELETE", "accounts("+id+")", nil), 404)
	})
}

func TestCreateRepresentationAndLookups(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		cid := b.create("contacts", map[string]any{"firstname": "Ann", "lastname": "Lee", "fullname": "Ann Lee"})
		r := b.mustStatus(b.do("POST", "accounts?$select=name,_primarycontactid_value", map[string]any{"name": "Fabrikam", "primarycontactid@odata.bind": "/contacts(" + cid + ")"},
			"Prefer", "return=representation", "Prefer", `odata.include-annotations="*"`), 201)
		if r.header.Get("Preference-Applied") != "return=representation" || r.header.Get("OData-EntityId") == "" {
			t.Fatalf("headers %v", r.header)
		}
		m := r.json(t)
		if m["_primarycontactid_value"] != cid || m["_primarycontactid_value@OData.Community.Display.V1.FormattedValue"] != "Ann Lee" ||
			m["_primarycontactid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] != "primarycontactid" ||
			m["_primarycontactid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "contact" {
			t.Fatalf("lookup %v", m)
		}
		if !strings.HasPrefix(m["@odata.etag"].(string), `W/"`) {
			t.Fatalf("etag %v", m["@odata.etag"])
		}
		// A bind to a missing record is refused and creates nothing.
		r = b.do("POST", "accounts", map[string]any{"name": "Bad", "primarycontactid@odata.bind": "/contacts(00000000-0000-0000-0000-000000000001)"})
		if r.status != 404 {
			t.Fatalf("bad bind: %d %s", r.status, r.body)
		}
		c := b.mustStatus(b.do("GET", "accounts/$count?$filter=name eq 'Bad'", nil), 200)
		if string(c.body) != "0" {
			t.Fatalf("count %s", c.body)
		}
		// Customer lookup on a contact.
		aid := strings.TrimSuffix(r.header.Get("x"), "")
		_ = aid
	})
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		// Create by alternate key.
		r := b.mustStatus(b.do("PATCH", "accounts(accountnumber='U1')", map[string]any{"name": "Up"}, "Prefer", "return=representation"), 201)
		if r.json(t)["accountnumber"] != "U1" {
			t.Fatalf("upsert create: %s", r.body)
		}
		r = b.mustStatus(b.do("PATCH", "accounts(accountnumber='U1')", map[string]any{"name": "Up2"}, "Prefer", "return=representation"), 200)
		if r.json(t)["name"] != "Up2" || r.header.Get("ETag") == "" {
			t.Fatalf("upsert update: %s", r.body)
		}
		r = b.mustStatus(b.do("PATCH", "accounts(accountnumber='U1')", map[string]any{"name": "Up3"}), 204)
		if r.header.Get("OData-EntityId") != b.base+"accounts(accountnumber='U1')" {
			t.Fatalf("entity id %q", r.header.Get("OData-EntityId"))
		}
		r = b.do("PATCH", "accounts(accountnumber='U1')", map[string]any{"name": "x"}, "If-None-Match", "*")
		if r.status != 412 || r.errCode(t) != "0x80040237" {
			t.Fatalf("if-none-match: %d %s", r.status, r.body)
		}
		missing := "11111111-2222-4333-8444-555555555555"
		r = b.do("PATCH", "accounts("+missing+")", map[string]any{"name": "x"}, "If-Match", "*")
		if r.status != 404 || r.errCode(t) != "0x80040217" || !strings.Contains(string(r.body), "account With Id = "+missing+" Does Not Exist") {
			t.Fatalf("if-match on missing: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("PATCH", "accounts("+missing+")", map[string]any{"name": "By id"}), 204)
		r = b.mustStatus(b.do("GET", "accounts("+missing+")?$select=name", nil), 200)
		if r.json(t)["name"] != "By id" {
			t.Fatalf("upsert by id: %s", r.body)
		}
	})
}

func TestErrorsAndValidation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		cases := []struct {
			method, path string
			body         any
			status       int
			code         string
		}{
			{"GET", "nothings", nil, 404, "0x80060888"},
			{"POST", "accounts", map[string]any{"name": strings.Repeat("x", 161)}, 400, "0x80044331"},
			{"POST", "accounts", map[string]any{"name": "x", "industrycode": 999}, 400, "0x80044331"},
			{"POST", "accounts", map[string]any{"name": "x", "numberofemployees": -1}, 400, "0x80044331"},
			{"POST", "accounts", map[string]any{"name": "x", "nosuch": 1}, 400, "0x80060888"},
			{"POST", "accounts", "{not json", 400, "0x80048d19"},
			{"GET", "accounts?$filter=name eq", nil, 400, "0x80060888"},
			{"GET", "accounts?$filter=nosuch eq 1", nil, 400, "0x80060888"},
			{"GET", "accounts?$skip=1", nil, 400, "0x80060888"},
			{"GET", "accounts?$select=nosuch", nil, 400, "0x80060888"},
		}
		for _, c := range cases {
			r := b.do(c.method, c.path, c.body)
			if r.status != c.status || r.errCode(t) != c.code {
				t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, r.status, r.body, c.status, c.code)
			}
		}
		// Nothing was created by the rejected requests.
		r := b.mustStatus(b.do("GET", "accounts/$count", nil), 200)
		if string(r.body) != "0" {
			t.Fatalf("count after rejects: %s", r.body)
		}
		// No token.
		req, _ := http.NewRequest("GET", b.base+"accounts", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer authorization_uri=") {
			t.Fatalf("no token: %d %v", res.StatusCode, res.Header)
		}
	})
}

// TestWhoAmIAndServiceDocument follows "Use Web API functions" (Learn,
// Dataverse developer guide), whose example GET [Organization URI]/api/data/
// v9.2/WhoAmI answers the WhoAmIResponse complex type: @odata.context
// $metadata#Microsoft.Dynamics.CRM.WhoAmIResponse and the BusinessUnitId,
// UserId and OrganizationId GUIDs; the service document lists the entity
// sets.
func TestWhoAmIAndServiceDocument(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		for _, p := range []string{"WhoAmI", "WhoAmI()"} {
			m := b.mustStatus(b.do("GET", p, nil), 200).json(t)
			if m["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse" || !guidRe.MatchString(fmt.Sprint(m["UserId"])) ||
				!guidRe.MatchString(fmt.Sprint(m["BusinessUnitId"])) || !guidRe.MatchString(fmt.Sprint(m["OrganizationId"])) || len(m) != 4 {
				t.Fatalf("%s: %v", p, m)
			}
			// The user exists as a systemuser row.
			b.mustStatus(b.do("GET", "systemusers("+m["UserId"].(string)+")", nil), 200)
		}
		m := b.mustStatus(b.do("GET", "", nil), 200).json(t)
		if !strings.Contains(fmt.Sprint(m["value"]), "accounts") {
			t.Fatalf("service document %v", m)
		}
		for _, v := range []string{"v9.0", "v9.1"} {
			b.mustStatus(b.do("GET", b.url+"/api/data/"+v+"/WhoAmI", nil), 200)
		}
		b.mustStatus(b.do("GET", b.url+"/api/data/v8.0/WhoAmI", nil), 404)
		// An API key acts as its own system user: WhoAmI and ownerid name it.
		_, secret, err := b.app.Keys().Create(context.Background(), "integration", server.RoleOperator)
		if err != nil {
			t.Fatal(err)
		}
		admin := b.mustStatus(b.do("GET", "WhoAmI", nil), 200).json(t)["UserId"]
		req, _ := http.NewRequest("GET", b.base+"WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var who map[string]any
		json.NewDecoder(res.Body).Decode(&who)
		res.Body.Close()
		if who["UserId"] == admin || !guidRe.MatchString(fmt.Sprint(who["UserId"])) {
			t.Fatalf("key user %v admin %v", who, admin)
		}
		req, _ = http.NewRequest("POST", b.base+"accounts", strings.NewReader(`{"name":"Owned"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("OData-EntityId")
		m = b.mustStatus(b.do("GET", loc[strings.Index(loc, "accounts("):]+"?$select=_ownerid_value", nil, "Prefer", `odata.include-annotations="*"`), 200).json(t)
		if m["_ownerid_value"] != who["UserId"] || m["_ownerid_value@OData.Community.Display.V1.FormattedValue"] != "integration" {
			t.Fatalf("owner %v", m)
		}
	})
}
