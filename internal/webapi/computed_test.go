package webapi_test

import (
	"net/url"
	"testing"
)

// TestComputedColumnsInQueries checks that the columns Dataverse computes
// (fullname from first and last name, the composite address, the base
// currency value) are there as soon as the row is written: in a retrieve, in
// a $filter, in FetchXML and after an update. The contact reference lists
// them as read-only columns:
// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#read-only-columnsattributes
// Microsoft's Web API samples create contacts with firstname and lastname
// and read fullname back:
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/samples/basic-operations-sample
func TestComputedColumnsInQueries(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		id := b.create("contacts", map[string]any{"firstname": "Rafel", "lastname": "Shillo", "annualincome": 80000,
			"address1_line1": "1 Main St", "address1_city": "Redmond", "address1_stateorprovince": "WA", "address1_postalcode": "98052"})
		m := b.mustStatus(b.do("GET", "contacts("+id+")?$select=fullname,address1_composite,annualincome_base,exchangerate,_transactioncurrencyid_value", nil), 200).json(t)
		if m["fullname"] != "Rafel Shillo" || m["address1_composite"] != "1 Main St\r\nRedmond, WA 98052" || m["annualincome_base"] != float64(80000) ||
			m["exchangerate"] != float64(1) || m["_transactioncurrencyid_value"] == nil {
			t.Fatalf("computed columns: %v", m)
		}
		q := url.Values{"$select": {"contactid"}, "$filter": {"fullname eq 'Rafel Shillo'"}}
		if v := b.mustStatus(b.do("GET", "contacts?"+q.Encode(), nil), 200).json(t)["value"].([]any); len(v) != 1 {
			t.Fatalf("$filter on fullname found %d", len(v))
		}
		fx := `<fetch><entity name="contact"><attribute name="fullname"/><filter><condition attribute="fullname" operator="like" value="Rafel%"/></filter></entity></fetch>`
		if v := b.mustStatus(fetch(b, "contacts", fx), 200).json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["fullname"] != "Rafel Shillo" {
			t.Fatalf("FetchXML on fullname: %v", v)
		}
		b.mustStatus(b.do("PATCH", "contacts("+id+")", map[string]any{"lastname": "Shillo-Ng", "fullname": "not written"}), 204)
		m = b.mustStatus(b.do("GET", "contacts("+id+")?$select=fullname", nil), 200).json(t)
		if m["fullname"] != "Rafel Shillo-Ng" {
			t.Fatalf("fullname after update: %v", m)
		}
		// Writing a computed column is ignored, as Dataverse ignores columns
		// not valid for update; the metadata says so.
		a := b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='fullname')", nil), 200).json(t)
		if a["IsValidForCreate"] != false || a["IsValidForUpdate"] != false || a["SourceType"] != float64(1) {
			t.Fatalf("fullname metadata: %v", a)
		}
	})
}
