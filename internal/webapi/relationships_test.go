package webapi_test

import (
	"net/url"
	"strings"
	"testing"
)

func label(s string) map[string]any {
	l := map[string]any{"Label": s, "LanguageCode": 1033}
	return map[string]any{"LocalizedLabels": []any{l}}
}

// ids lists the values of one property of a collection answer.
func ids(t *testing.T, m map[string]any, prop string) []string {
	t.Helper()
	var out []string
	for _, v := range m["value"].([]any) {
		s, _ := v.(map[string]any)[prop].(string)
		out = append(out, s)
	}
	return out
}

// TestManyToManyRelationships creates a many-to-many relationship through
// RelationshipDefinitions, associates and disassociates rows through $ref on
// its collection-valued navigation properties, lists and expands them from
// both sides, joins through the intersect in FetchXML, and deletes it.
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-relationships-using-web-api#create-a-many-to-many-relationship
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/associate-disassociate-entities-using-web-api
// https://learn.microsoft.com/power-apps/developer/data-platform/fetchxml/join-tables#many-to-many-relationships
func TestManyToManyRelationships(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		rel := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata", "SchemaName": "new_account_contact",
			"Entity1LogicalName": "account", "Entity2LogicalName": "contact", "IntersectEntityName": "new_account_contact",
			"Entity1NavigationPropertyName": "new_account_contact_contacts", "Entity2NavigationPropertyName": "new_account_contact_accounts"}
		b.mustStatus(b.do("POST", "RelationshipDefinitions", rel), 204)
		if r := b.do("POST", "RelationshipDefinitions", rel); r.status != 409 || r.errCode(t) != "0x80040237" {
			t.Fatalf("duplicate relationship: %d %s", r.status, r.body)
		}
		m := b.mustStatus(b.do("GET", "RelationshipDefinitions(SchemaName='new_account_contact')", nil), 200).json(t)
		if m["@odata.type"] != "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata" || m["IntersectEntityName"] != "new_account_contact" ||
			m["Entity1NavigationPropertyName"] != "new_account_contact_contacts" || m["IsCustomRelationship"] != true {
			t.Fatalf("relationship metadata %v", m)
		}
		acc := b.create("accounts", map[string]any{"name": "Contoso"})
		acc2 := b.create("accounts", map[string]any{"name": "Fabrikam"})
		c1 := b.create("contacts", map[string]any{"firstname": "Ann", "lastname": "Lee"})
		c2 := b.create("contacts", map[string]any{"firstname": "Bob", "lastname": "Ng"})
		for _, c := range []string{c1, c2} {
			b.mustStatus(b.do("POST", "accounts("+acc+")/new_account_contact_contacts/$ref", map[string]any{"@odata.id": b.base + "contacts(" + c + ")"}), 204)
		}
		b.mustStatus(b.do("POST", "contacts("+c1+")/new_account_contact_accounts/$ref", map[string]any{"@odata.id": b.base + "accounts(" + acc2 + ")"}), 204)
		got := ids(t, b.mustStatus(b.do("GET", "accounts("+acc+")/new_account_contact_contacts?$select=fullname&$orderby=fullname", nil), 200).json(t), "fullname")
		if strings.Join(got, ",") != "Ann Lee,Bob Ng" {
			t.Fatalf("related contacts %v", got)
		}
		got = ids(t, b.mustStatus(b.do("GET", "contacts("+c1+")/new_account_contact_accounts?$select=name&$orderby=name", nil), 200).json(t), "name")
		if strings.Join(got, ",") != "Contoso,Fabrikam" {
			t.Fatalf("related accounts %v", got)
		}
		q := url.Values{"$select": {"name"}, "$filter": {"name eq 'Contoso'"}, "$expand": {"new_account_contact_contacts($select=lastname;$orderby=lastname desc)"}}
		m = b.mustStatus(b.do("GET", "accounts?"+q.Encode(), nil), 200).json(t)
		exp := m["value"].([]any)[0].(map[string]any)["new_account_contact_contacts"].([]any)
		if len(exp) != 2 || exp[0].(map[string]any)["lastname"] != "Ng" {
			t.Fatalf("$expand %v", m)
		}
		fx := `<fetch><entity name="contact"><attribute name="fullname"/><order attribute="fullname"/>
			<link-entity name="new_account_contact" from="contactid" to="contactid" intersect="true" visible="false">
			<link-entity name="account" from="accountid" to="accountid" alias="a"><attribute name="name"/>
			<filter><condition attribute="name" operator="eq" value="Fabrikam"/></filter></link-entity></link-entity></entity></fetch>`
		v := b.mustStatus(fetch(b, "contacts", fx), 200).json(t)["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["fullname"] != "Ann Lee" || v[0].(map[string]any)["a.name"] != "Fabrikam" {
			t.Fatalf("FetchXML through the intersect: %v", v)
		}
		meta := string(b.mustStatus(b.do("GET", "$metadata", nil), 200).body)
		if !strings.Contains(meta, `<NavigationProperty Name="new_account_contact_contacts" Type="Collection(mscrm.contact)" Partner="new_account_contact_accounts"/>`) {
			t.Fatal("$metadata lacks the many-to-many navigation property")
		}
		// Disassociate, by key segment and by $id.
		b.mustStatus(b.do("DELETE", "accounts("+acc+")/new_account_contact_contacts("+c2+")/$ref", nil), 204)
		b.mustStatus(b.do("DELETE", "contacts("+c1+")/new_account_contact_accounts/$ref?$id="+b.base+"accounts("+acc2+")", nil), 204)
		got = ids(t, b.mustStatus(b.do("GET", "accounts("+acc+")/new_account_contact_contacts?$select=fullname", nil), 200).json(t), "fullname")
		if strings.Join(got, ",") != "Ann Lee" {
			t.Fatalf("after disassociating %v", got)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='contact')/ManyToManyRelationships?$select=SchemaName", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"SchemaName":"new_account_contact"`) {
			t.Fatalf("contact's many-to-many relationships %v", m)
		}
		// Deleting a row removes its associations (the intersect's lookups are parental).
		b.mustStatus(b.do("DELETE", "contacts("+c1+")", nil), 204)
		if v := b.mustStatus(b.do("GET", "new_account_contacts", nil), 200).json(t)["value"].([]any); len(v) != 0 {
			t.Fatalf("intersect rows of a deleted contact: %v", v)
		}
		b.mustStatus(b.do("DELETE", "RelationshipDefinitions(SchemaName='new_account_contact')", nil), 204)
		b.mustStatus(b.do("GET", "accounts("+acc+")/new_account_contact_contacts", nil), 404)
		b.mustStatus(b.do("GET", "RelationshipDefinitions(SchemaName='new_account_contact')", nil), 404)
		// A standard relationship cannot be deleted.
		if r := b.do("DELETE", "RelationshipDefinitions(SchemaName='teammembership_association')", nil); r.status != 400 || r.errCode(t) != "0x80040800" {
			t.Fatalf("deleting a standard relationship: %d %s", r.status, r.body)
		}
		// The standard teammembership_association: a team's users.
		team := b.create("teams", map[string]any{"name": "Support", "businessunitid@odata.bind": "/businessunits(6d1a2b3c-0000-4000-8000-000000000002)",
			"administratorid@odata.bind": "/systemusers(6d1a2b3c-0000-4000-8000-000000000003)"})
		b.mustStatus(b.do("POST", "teams("+team+")/teammembership_association/$ref", map[string]any{"@odata.id": b.base + "systemusers(6d1a2b3c-0000-4000-8000-000000000003)"}), 204)
		got = ids(t, b.mustStatus(b.do("GET", "systemusers(6d1a2b3c-0000-4000-8000-000000000003)/teammembership_association?$select=name", nil), 200).json(t), "name")
		if strings.Join(got, ",") != "Support" {
			t.Fatalf("user's teams %v", got)
		}
	})
}

// TestOneToManyRelationshipDefinitions creates a one-to-many relationship
// with its lookup and cascade configuration, reads it back, sees its cascade
// act, and deletes it with its lookup.
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-relationships-using-web-api#create-a-one-to-many-relationship
func TestOneToManyRelationshipDefinitions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		b.mustStatus(b.do("POST", "EntityDefinitions", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "new_Project",
			"DisplayName": label("Project"), "Attributes": []any{map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
				"SchemaName": "new_Name", "IsPrimaryName": true, "MaxLength": 100}}}), 204)
		rel := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", "SchemaName": "new_account_projects",
			"ReferencedEntity": "account", "ReferencingEntity": "new_project", "ReferencedAttribute": "accountid",
			"CascadeConfiguration": map[string]any{"Assign": "NoCascade", "Delete": "Cascade", "Merge": "NoCascade", "Reparent": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade"},
			"Lookup":               map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata", "SchemaName": "new_AccountId", "DisplayName": label("Account")}}
		b.mustStatus(b.do("POST", "RelationshipDefinitions", rel), 204)
		m := b.mustStatus(b.do("GET", "RelationshipDefinitions(SchemaName='new_account_projects')/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", nil), 200).json(t)
		cc, _ := m["CascadeConfiguration"].(map[string]any)
		if m["ReferencingAttribute"] != "new_accountid" || m["ReferencedEntity"] != "account" || cc["Delete"] != "Cascade" || cc["Assign"] != "NoCascade" {
			t.Fatalf("relationship metadata %v", m)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='account')/OneToManyRelationships?$filter=SchemaName eq 'contact_customer_accounts'", nil), 200).json(t)
		if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["CascadeConfiguration"].(map[string]any)["Delete"] != "Cascade" {
			t.Fatalf("a standard relationship's cascade: %v", m)
		}
		acc := b.create("accounts", map[string]any{"name": "Contoso"})
		p := b.create("new_projects", map[string]any{"new_name": "Rollout", "new_accountid@odata.bind": "/accounts(" + acc + ")"})
		got := ids(t, b.mustStatus(b.do("GET", "accounts("+acc+")/new_account_projects?$select=new_name", nil), 200).json(t), "new_name")
		if strings.Join(got, ",") != "Rollout" {
			t.Fatalf("related projects %v", got)
		}
		b.mustStatus(b.do("DELETE", "accounts("+acc+")", nil), 204)
		b.mustStatus(b.do("GET", "new_projects("+p+")", nil), 404)

		b.mustStatus(b.do("DELETE", "RelationshipDefinitions(SchemaName='new_account_projects')", nil), 204)
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_project')/Attributes(LogicalName='new_accountid')", nil), 404)
		if r := b.do("DELETE", "RelationshipDefinitions(SchemaName='contact_customer_accounts')", nil); r.status != 400 {
			t.Fatalf("deleting a standard relationship: %d %s", r.status, r.body)
		}
	})
}

// TestColumnAndTableChanges changes and deletes columns and deletes a table
// through EntityDefinitions; a change the rows break, a change to a standard
// column and the delete of a standard table are refused and change nothing.
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-column-definitions-using-web-api#update-a-column
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api
func TestColumnAndTableChanges(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		b.mustStatus(b.do("POST", "EntityDefinitions", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "new_Bank",
			"DisplayName": label("Bank"), "Attributes": []any{map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
				"SchemaName": "new_Name", "IsPrimaryName": true, "MaxLength": 100}}}), 204)
		b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='new_bank')/Attributes", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
			"SchemaName": "new_Code", "MaxLength": 20, "DisplayName": label("Code")}), 204)
		id := b.create("new_banks", map[string]any{"new_name": "First", "new_code": "ABCDEFGHIJ"})

		put := func(body map[string]any) resp {
			return b.do("PUT", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_code')", body, "MSCRM.MergeLabels", "true")
		}
		b.mustStatus(put(map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "LogicalName": "new_code", "MaxLength": 40,
			"DisplayName": label("Bank Code"), "RequiredLevel": map[string]any{"Value": "ApplicationRequired"}}), 204)
		m := b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_code')", nil), 200).json(t)
		if m["MaxLength"] != float64(40) || m["RequiredLevel"].(map[string]any)["Value"] != "ApplicationRequired" || !strings.Contains(string(mustJSON(m["DisplayName"])), "Bank Code") {
			t.Fatalf("changed column %v", m)
		}
		b.mustStatus(b.do("PATCH", "new_banks("+id+")", map[string]any{"new_code": strings.Repeat("x", 35)}), 204)
		// Shorter than a value a row holds: refused.
		if r := put(map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "MaxLength": 10}); r.status != 400 || r.errCode(t) != "0x80044331" {
			t.Fatalf("shrinking below the data: %d %s", r.status, r.body)
		}
		// Another type: refused.
		if r := put(map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata"}); r.status != 400 {
			t.Fatalf("changing the type: %d %s", r.status, r.body)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_code')", nil), 200).json(t)
		if m["MaxLength"] != float64(40) {
			t.Fatalf("a refused change changed the column: %v", m)
		}
		// A standard column: refused.
		r := b.do("PUT", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')",
			map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "MaxLength": 10})
		if r.status != 400 || r.errCode(t) != "0x80040800" {
			t.Fatalf("changing a standard column: %d %s", r.status, r.body)
		}

		b.mustStatus(b.do("DELETE", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_code')", nil), 204)
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_code')", nil), 404)
		if r := b.do("PATCH", "new_banks("+id+")", map[string]any{"new_code": "x"}); r.status != 400 || r.errCode(t) != "0x80060888" {
			t.Fatalf("writing a deleted column: %d %s", r.status, r.body)
		}
		if m := b.mustStatus(b.do("GET", "new_banks("+id+")", nil), 200).json(t); m["new_name"] != "First" {
			t.Fatalf("row after deleting a column: %v", m)
		}
		if r := b.do("DELETE", "EntityDefinitions(LogicalName='account')", nil); r.status != 400 || r.errCode(t) != "0x80040800" {
			t.Fatalf("deleting a standard table: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("DELETE", "EntityDefinitions(LogicalName='new_bank')", nil), 204)
		b.mustStatus(b.do("GET", "new_banks", nil), 404)
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_bank')", nil), 404)
	})
}

// TestBadWritesAnswerDataverseErrors checks the errors a write of bad values
// gets, and that none of them writes anything: an unknown column, a value
// outside a choice, a string over its length.
// https://learn.microsoft.com/power-apps/developer/data-platform/reference/web-service-error-codes
func TestBadWritesAnswerDataverseErrors(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		for _, tc := range []struct {
			body       map[string]any
			code, text string
		}{
			{map[string]any{"lastname": "X", "nosuchcolumn": 1}, "0x80060888", "Invalid property 'nosuchcolumn' was found in entity 'Microsoft.Dynamics.CRM.contact'."},
			{map[string]any{"lastname": "X", "preferredcontactmethodcode": 9}, "0x80044331", "9 is not a valid value for preferredcontactmethodcode"},
			{map[string]any{"lastname": strings.Repeat("x", 51)}, "0x80044331",
				"A validation error occurred. The length of the 'lastname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'."},
		} {
			r := b.do("POST", "contacts", tc.body)
			if r.status != 400 || r.errCode(t) != tc.code || !strings.Contains(string(r.body), tc.text) {
				t.Errorf("%v: %d %s", tc.body, r.status, r.body)
			}
		}
		if v := b.mustStatus(b.do("GET", "contacts?$select=lastname", nil), 200).json(t)["value"].([]any); len(v) != 0 {
			t.Fatalf("a refused write wrote %v", v)
		}
	})
}
