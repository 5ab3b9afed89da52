package webapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"junction/internal/store/storetest"
)

func TestDeepInsertIsAtomic(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		body := map[string]any{
			"name":                      "Deep",
			"primarycontactid":          map[string]any{"firstname": "Pat", "lastname": "Primary", "fullname": "Pat Primary"},
			"contact_customer_accounts": []any{map[string]any{"lastname": "Kid 1"}, map[string]any{"lastname": "Kid 2"}},
		}
		id := b.create("accounts", body)
		q := url.Values{"$select": {"name"}, "$expand": {"primarycontactid($select=fullname),contact_customer_accounts($select=lastname;$orderby=lastname)"}}
		m := b.mustStatus(b.do("GET", "accounts("+id+")?"+q.Encode(), nil, "If-None-Match", "null", "Content-Type", "application/json"), 200).json(t)
		if m["primarycontactid"].(map[string]any)["fullname"] != "Pat Primary" || len(m["contact_customer_accounts"].([]any)) != 2 {
			t.Fatalf("deep insert: %v", m)
		}
		// Existing rows can be associated on create through a collection bind.
		loose := b.create("contacts", map[string]any{"lastname": "Loose"})
		id2 := b.create("accounts", map[string]any{"name": "Binder", "contact_customer_accounts@odata.bind": []any{"/contacts(" + loose + ")"}})
		m = b.mustStatus(b.do("GET", "contacts("+loose+")?$select=_parentcustomerid_value", nil), 200).json(t)
		if m["_parentcustomerid_value"] != id2 {
			t.Fatalf("collection bind: %v", m)
		}
		// A bad nested row rolls the whole create back.
		bad := map[string]any{
			"name":                      "Deep bad",
			"primarycontactid":          map[string]any{"lastname": "Fine"},
			"contact_customer_accounts": []any{map[string]any{"lastname": strings.Repeat("x", 51)}},
		}
		r := b.do("POST", "accounts", bad)
		if r.status != 400 || r.errCode(t) != "0x80044331" {
			t.Fatalf("bad nested row: %d %s", r.status, r.body)
		}
		for set, want := range map[string]string{"accounts": "2", "contacts": "4"} {
			if c := b.mustStatus(b.do("GET", set+"/$count", nil), 200); string(c.body) != want {
				t.Fatalf("%s after a failed deep insert: %s", set, c.body)
			}
		}
		// A rejected metadata change changes nothing either.
		r = b.do("POST", "EntityDefinitions", map[string]any{"SchemaName": "new_Bad", "Attributes": []any{map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Name"}}})
		if r.status != 400 {
			t.Fatalf("table without primary name: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("GET", "new_bads", nil), 404)
	})
}

// TestSchemaChangeReachesOtherNodes runs two nodes on one PostgreSQL schema:
// a column added through one is usable through the other.
func TestSchemaChangeReachesOtherNodes(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 2, storetest.RequirePostgres(t), storetest.NewSchema(t))
	n1, n2 := nodes[0], nodes[1]
	attr := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Region", "MaxLength": 20}
	n1.mustStatus(n1.do("POST", "EntityDefinitions(LogicalName='account')/Attributes", attr), 204)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := n2.do("POST", "accounts", map[string]any{"name": "x", "new_region": "North"})
		if r.status == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 never learned the new column: %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
