package webapi_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var ticketRe = regexp.MustCompile(`^CAS-\d{5}-[A-Z0-9]{6}$`)

func TestCreateCaseAction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		// Unbound, with a customer found (or created) by e-mail.
		m := b.mustStatus(b.do("POST", "new_CreateCase", map[string]any{"Title": "Printer on fire", "CustomerEmail": "pat@example.com", "CustomerName": "Pat", "Priority": 1}), 200).json(t)
		tn, _ := m["TicketNumber"].(string)
		if !ticketRe.MatchString(tn) || !strings.HasPrefix(tn, "CAS-01001-") {
			t.Fatalf("ticket %v", m)
		}
		if m["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.new_CreateCaseResponse" {
			t.Fatalf("context %v", m["@odata.context"])
		}
		inc := b.mustStatus(b.do("GET", "incidents("+m["IncidentId"].(string)+")?$select=title,ticketnumber,_customerid_value,prioritycode", nil, "Prefer", `odata.include-annotations="*"`), 200).json(t)
		if inc["ticketnumber"] != tn || inc["_customerid_value@OData.Community.Display.V1.FormattedValue"] != "Pat" || inc["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "contact" {
			t.Fatalf("incident %v", inc)
		}
		// Bound to an account.
		aid := b.create("accounts", map[string]any{"name": "Contoso"})
		m2 := b.mustStatus(b.do("POST", "accounts("+aid+")/Microsoft.Dynamics.CRM.new_CreateCase", map[string]any{"Title": "Second"}), 200).json(t)
		if !strings.HasPrefix(m2["TicketNumber"].(string), "CAS-01002-") {
			t.Fatalf("second ticket %v", m2)
		}
		// Function with an alias.
		f := b.mustStatus(b.do("GET", "new_CountOpenCases(CustomerId=@p1)?@p1="+aid, nil), 200).json(t)
		if f["Count"] != float64(1) {
			t.Fatalf("function %v", f)
		}
		// Bad input changes nothing.
		r := b.do("POST", "new_CreateCase", map[string]any{"Title": "", "CustomerId": aid})
		if r.status != 400 || r.errCode(t) != "0x80044331" {
			t.Fatalf("missing title: %d %s", r.status, r.body)
		}
		r = b.do("POST", "new_CreateCase", map[string]any{"Title": "x", "CustomerEmail": "new@example.com", "Priority": 99})
		if r.status != 400 {
			t.Fatalf("bad priority: %d %s", r.status, r.body)
		}
		c := b.mustStatus(b.do("GET", "contacts/$count", nil), 200)
		if string(c.body) != "1" {
			t.Fatalf("contacts after failed action: %s", c.body)
		}
		// Auto-numbered, ticket numbers are unique and readable by key.
		b.mustStatus(b.do("GET", "incidents(ticketnumber='"+tn+"')", nil), 200)
	})
}

func TestBulkActions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		var targets []any
		for i := 0; i < 25; i++ {
			targets = append(targets, map[string]any{"name": fmt.Sprintf("Bulk %02d", i), "accountnumber": fmt.Sprintf("B%02d", i), "@odata.type": "Microsoft.Dynamics.CRM.account"})
		}
		m := b.mustStatus(b.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": targets}), 200).json(t)
		ids := m["Ids"].([]any)
		if len(ids) != 25 || m["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse" {
			t.Fatalf("create multiple %v", m)
		}
		// One bad row fails the whole call.
		bad := []any{map[string]any{"name": "ok", "accountnumber": "C1"}, map[string]any{"name": "dup", "accountnumber": "B01"}}
		r := b.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": bad})
		if r.status != 412 || r.errCode(t) != "0x80040237" {
			t.Fatalf("duplicate in bulk: %d %s", r.status, r.body)
		}
		c := b.mustStatus(b.do("GET", "accounts/$count", nil), 200)
		if string(c.body) != "25" {
			t.Fatalf("count after failed bulk: %s", c.body)
		}
		upd := []any{map[string]any{"accountid": ids[0], "name": "Updated 0"}, map[string]any{"accountid": ids[1], "name": "Updated 1"}}
		b.mustStatus(b.do("POST", "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", map[string]any{"Targets": upd}), 204)
		ups := []any{
			map[string]any{"@odata.id": "accounts(accountnumber='B02')", "name": "Upserted 2"},
			map[string]any{"@odata.id": "accounts(accountnumber='NEW')", "name": "New one"},
		}
		b.mustStatus(b.do("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", map[string]any{"Targets": ups}), 204)
		q := url.Values{"$select": {"accountnumber"}, "$filter": {"startswith(name,'Up') or name eq 'New one'"}, "$orderby": {"accountnumber"}}
		got := strings.Join(names(t, b.mustStatus(b.do("GET", "accounts?"+q.Encode(), nil), 200).json(t), "accountnumber"), ",")
		if got != "B00,B01,B02,NEW" {
			t.Fatalf("after update/upsert multiple: %s", got)
		}
	})
}

func TestChangeTracking(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		a1 := b.create("accounts", map[string]any{"name": "One"})
		a2 := b.create("accounts", map[string]any{"name": "Two"})
		r := b.mustStatus(b.do("GET", "accounts?$select=name", nil, "Prefer", "odata.track-changes"), 200)
		if r.header.Get("Preference-Applied") != "odata.track-changes" {
			t.Fatalf("preference %v", r.header)
		}
		m := r.json(t)
		if len(m["value"].([]any)) != 2 {
			t.Fatalf("initial %v", m)
		}
		link, _ := m["@odata.deltaLink"].(string)
		if !strings.HasPrefix(link, b.base+"accounts?") || !strings.Contains(link, "$deltatoken=") {
			t.Fatalf("deltaLink %q", link)
		}
		b.mustStatus(b.do("PATCH", "accounts("+a1+")", map[string]any{"name": "One v2"}, "If-Match", "*"), 204)
		b.mustStatus(b.do("DELETE", "accounts("+a2+")", nil), 204)
		a3 := b.create("accounts", map[string]any{"name": "Three"})
		m = b.mustStatus(b.do("GET", link, nil), 200).json(t)
		if !strings.HasSuffix(m["@odata.context"].(string), "/$delta") {
			t.Fatalf("delta context %v", m["@odata.context"])
		}
		got := map[string]string{}
		for _, v := range m["value"].([]any) {
			o := v.(map[string]any)
			if ctx, _ := o["@odata.context"].(string); strings.HasSuffix(ctx, "/$deletedEntity") {
				got[o["id"].(string)] = "deleted:" + o["reason"].(string)
				continue
			}
			got[o["accountid"].(string)] = o["name"].(string)
		}
		if got[a1] != "One v2" || got[a2] != "deleted:deleted" || got[a3] != "Three" || len(got) != 3 {
			t.Fatalf("delta %v", got)
		}
		next := m["@odata.deltaLink"].(string)
		m = b.mustStatus(b.do("GET", next, nil), 200).json(t)
		if len(m["value"].([]any)) != 0 {
			t.Fatalf("second delta not empty: %v", m)
		}
		// The first pass pages like any query; the deltaLink comes on the last page.
		for i := 0; i < 4; i++ {
			b.create("accounts", map[string]any{"name": fmt.Sprintf("Paged %d", i)})
		}
		var names []string
		u := b.base + "accounts?$select=name"
		link = ""
		for u != "" {
			m := b.mustStatus(b.do("GET", u, nil, "Prefer", "odata.track-changes", "Prefer", "odata.maxpagesize=2"), 200).json(t)
			for _, v := range m["value"].([]any) {
				names = append(names, v.(map[string]any)["name"].(string))
			}
			u, _ = m["@odata.nextLink"].(string)
			if u != "" && m["@odata.deltaLink"] != nil {
				t.Fatalf("deltaLink before the last page")
			}
			link, _ = m["@odata.deltaLink"].(string)
		}
		if len(names) != 6 || link == "" {
			t.Fatalf("paged tracking: %v %q", names, link)
		}
		m = b.mustStatus(b.do("GET", link, nil), 200).json(t)
		if len(m["value"].([]any)) != 0 {
			t.Fatalf("delta after paged first pass: %v", m)
		}
		r = b.do("GET", "accounts?$filter=name eq 'x'", nil, "Prefer", "odata.track-changes")
		if r.status != 400 {
			t.Fatalf("filter with tracking: %d", r.status)
		}
	})
}
