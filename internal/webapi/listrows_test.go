package webapi_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestListRowsAsShapedRows checks the list answers and point reads written
// from their rows' values as scanned (no $expand) against the rows shaped
// into maps: each row of a list is byte for byte the answer of a point read
// of that row with the same $select and Prefer header, less its
// @odata.context, and byte for byte the row read into a map, shaped into a
// map and encoded as with $expand (ShapedRow); an error is the point read's
// error. The contacts hold a value of every column type the
// table has (custom columns add a negative money, a BigInt, a Double and a
// Decimal without a range, an autonumber), text that needs escaping,
// lookups to an account, a contact and a user, and nulls; the test fails
// when a type has no value in any row or an annotation is never written, so
// that each conversion is compared.
func TestListRowsAsShapedRows(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		for _, a := range []map[string]any{
			{"@odata.type": "Microsoft.Dynamics.CRM.MoneyAttributeMetadata", "SchemaName": "new_Balance"},
			{"@odata.type": "Microsoft.Dynamics.CRM.BigIntAttributeMetadata", "SchemaName": "new_Big"},
			{"@odata.type": "Microsoft.Dynamics.CRM.DoubleAttributeMetadata", "SchemaName": "new_Ratio"},
			{"@odata.type": "Microsoft.Dynamics.CRM.DecimalAttributeMetadata", "SchemaName": "new_Share", "Precision": 4},
			{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Ref", "AutoNumberFormat": "REF-{SEQNUM:4}", "MaxLength": 20},
		} {
			b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='contact')/Attributes", a), 204)
		}
		me, _ := b.mustStatus(b.do("GET", "WhoAmI", nil), 200).json(t)["UserId"].(string)
		account := b.create("accounts", map[string]any{"name": "Fourth Coffee"})
		first := b.create("contacts", map[string]any{
			"firstname": "Zoë", "lastname": "Quote \" back \\ tab\t line\n <b>&amp; \u2028 \x01",
			"description": "two\r\nlines", "annualincome": 1234567.891, "creditlimit": 0, "donotemail": true, "creditonhold": false,
			"birthdate": "1990-02-03", "lastonholdtime": "2026-01-02T03:04:05Z", "numberofchildren": 3, "gendercode": 2,
			"address1_latitude": 47.64398, "address1_line1": "1 Main St", "address1_city": "Redmond", "processid": "0b4c66b7-0f7e-4b7b-9a4b-3c1d2e3f4a5b",
			"new_balance": -1234.5, "new_big": 9007199254740993, "new_ratio": 1e-7, "new_share": 3.14159,
			"parentcustomerid_account@odata.bind": "/accounts(" + account + ")", "preferredsystemuserid@odata.bind": "/systemusers(" + me + ")",
		})
		second := b.create("contacts", map[string]any{"lastname": "Second", "new_ratio": 1e21, "new_big": -5,
			"parentcustomerid_contact@odata.bind": "/contacts(" + first + ")"})
		b.mustStatus(b.do("PATCH", "contacts("+second+")", map[string]any{"statecode": 1, "statuscode": 2}), 204)
		b.create("contacts", map[string]any{"lastname": "Nulls"})

		types := handler(t, b).PropertyTypes("contact")
		valued := map[string]bool{} // the types with a value in some row
		annotated := map[string]bool{}
		for _, prefer := range []string{"", `odata.include-annotations="*"`, `odata.include-annotations="OData.Community.Display.V1.FormattedValue"`,
			`odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname,Microsoft.Dynamics.CRM.associatednavigationproperty"`} {
			for _, q := range []string{"", "$select=*&$count=true", "$orderby=lastname desc&$top=2",
				"$select=fullname,lastname,annualincome,new_balance,birthdate,donotemail,gendercode,statecode,_parentcustomerid_value,_ownerid_value,contactid,new_ref,lastname",
				"$select=_preferredsystemuserid_value&$filter=lastname ne 'Nulls'"} {
				headers := []string{"Prefer", "odata.maxpagesize=2"}
				if prefer != "" {
					headers = append(headers, "Prefer", prefer)
				}
				next := "contacts?" + q
				for pages := 0; next != ""; pages++ {
					r := b.mustStatus(b.do("GET", next, nil, headers...), 200)
					var list struct {
						Value []json.RawMessage `json:"value"`
						Next  string            `json:"@odata.nextLink"`
					}
					if err := json.Unmarshal(r.body, &list); err != nil {
						t.Fatalf("%s: %v", r.body, err)
					}
					for _, row := range list.Value {
						var m map[string]any
						if err := json.Unmarshal(row, &m); err != nil {
							t.Fatal(err)
						}
						id, _ := m["contactid"].(string)
						point, pq := "contacts("+id+")", ""
						if sel := selectOf(q); sel != "" {
							pq = "$select=" + sel
							point += "?" + pq
						}
						var ph []string
						if prefer != "" {
							ph = []string{"Prefer", prefer}
						}
						want := withoutContext(t, b.mustStatus(b.do("GET", point, nil, ph...), 200).body)
						if !bytes.Equal(row, want) {
							t.Fatalf("Prefer %s, %s: the list's row\n%s\nthe point read's\n%s", prefer, next, row, want)
						}
						// Both are written from the row's values: the
						// row shaped into a map, as with $expand, is
						// the reference the two cannot drift from
						// together.
						shaped, err := handler(t, b).ShapedRow(t.Context(), "contacts", id, pq, prefer)
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(row, shaped) {
							t.Fatalf("Prefer %s, %s: the list's row\n%s\nthe row shaped\n%s", prefer, next, row, shaped)
						}
						for k, v := range m {
							if prop, ann, ok := strings.Cut(k, "@"); ok {
								annotated[types[prop]+"@"+ann] = true
							} else if v != nil {
								valued[types[k]] = true
							}
						}
					}
					next = list.Next
					if pages > 3 {
						t.Fatalf("%s: more pages than rows", q)
					}
				}
			}
		}
		for _, typ := range types {
			if !valued[typ] {
				t.Errorf("no row has a value of type %s", typ)
			}
		}
		for _, want := range []string{"Money", "DateTime", "Boolean", "Picklist", "State", "Status", "Integer", "BigInt", "Decimal", "Double", "Lookup", "Customer", "Owner"} {
			if !annotated[want+"@OData.Community.Display.V1.FormattedValue"] {
				t.Errorf("no %s value has a formatted value", want)
			}
		}
		for _, want := range []string{"Lookup", "Customer", "Owner"} {
			if !annotated[want+"@Microsoft.Dynamics.CRM.lookuplogicalname"] || !annotated[want+"@Microsoft.Dynamics.CRM.associatednavigationproperty"] {
				t.Errorf("no %s value has its lookup annotations", want)
			}
		}

		// The conversions themselves, in the list's own bytes.
		r := b.mustStatus(b.do("GET", "contacts?$select=new_balance,birthdate,donotemail,_parentcustomerid_value,lastname&$filter=contactid eq "+first, nil,
			"Prefer", `odata.include-annotations="*"`), 200)
		for _, want := range []string{`"new_balance":-1234.5,"new_balance@OData.Community.Display.V1.FormattedValue":"-$1,234.50"`,
			`"birthdate":"1990-02-03T00:00:00Z"`, `"donotemail":true,"donotemail@OData.Community.Display.V1.FormattedValue":"Yes"`,
			`"_parentcustomerid_value":"` + account + `","_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":"parentcustomerid_account",` +
				`"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account","_parentcustomerid_value@OData.Community.Display.V1.FormattedValue":"Fourth Coffee"`,
			`"lastname":"Quote \" back \\ tab\t line\n <b>&amp; \u2028 \u0001"`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("the list has no %s:\n%s", want, r.body)
			}
		}

		// A $select of a property the table does not have fails as a point
		// read does.
		bad := b.do("GET", "contacts?$select=fullname,nosuchcolumn", nil)
		want := b.do("GET", "contacts("+first+")?$select=fullname,nosuchcolumn", nil)
		if bad.status != 400 || !bytes.Equal(bad.body, want.body) {
			t.Fatalf("unknown $select: %d %s, want %d %s", bad.status, bad.body, want.status, want.body)
		}
	})
}

// selectOf is the $select of a query string, "" when it has none.
func selectOf(q string) string {
	v, _ := url.ParseQuery(q)
	return v.Get("$select")
}

// withoutContext is a point read's answer without its @odata.context (its
// first field: the keys are sorted) and final newline.
func withoutContext(t *testing.T, body []byte) []byte {
	t.Helper()
	_, rest, ok := bytes.Cut(body, []byte(`","@odata.etag"`))
	if !ok || !bytes.HasPrefix(body, []byte(`{"@odata.context":`)) {
		t.Fatalf("point read: %s", body)
	}
	return append([]byte(`{"@odata.etag"`), bytes.TrimSuffix(rest, []byte("\n"))...)
}
