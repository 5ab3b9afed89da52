package webapi_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/store/storetest"
)

func TestEntityDefinitions(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		m := b.mustStatus(b.do("GET", "EntityDefinitions?$select=EntitySetName,LogicalName", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"EntitySetName":"incidents"`) {
			t.Fatalf("entity definitions %v", m)
		}
		q := url.Values{"$select": {"LogicalName,EntitySetName,PrimaryIdAttribute"}, "$filter": {"LogicalName eq 'account'"}}
		m = b.mustStatus(b.do("GET", "EntityDefinitions?"+q.Encode(), nil), 200).json(t)
		v := m["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["PrimaryIdAttribute"] != "accountid" {
			t.Fatalf("filtered %v", m)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"Label":"Consulting"`) {
			t.Fatalf("picklist options %v", m)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='account')/Keys", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"KeyAttributes":["accountnumber"]`) {
			t.Fatalf("keys %v", m)
		}
		// A new table through the API, then a column added to it with rows in it.
		def := map[string]any{
			"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "new_Bank",
			"DisplayName": map[string]any{"LocalizedLabels": []any{map[string]any{"Label": "Bank", "LanguageCode": 1033}}},
			"Attributes":  []any{map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Name", "IsPrimaryName": true, "MaxLength": 100}},
		}
		b.mustStatus(b.do("POST", "EntityDefinitions", def), 204)
		id := b.create("new_banks", map[string]any{"new_name": "First"})
		attr := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata", "SchemaName": "new_Branches", "MinValue": 0, "MaxValue": 100,
			"RequiredLevel": map[string]any{"Value": "None"}}
		b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='new_bank')/Attributes", attr), 204)
		m = b.mustStatus(b.do("GET", "new_banks("+id+")", nil), 200).json(t)
		if m["new_name"] != "First" || m["new_branches"] != nil {
			t.Fatalf("existing row after adding a column: %v", m)
		}
		b.mustStatus(b.do("PATCH", "new_banks("+id+")", map[string]any{"new_branches": 7}), 204)
		r := b.do("PATCH", "new_banks("+id+")", map[string]any{"new_branches": 700})
		if r.status != 400 {
			t.Fatalf("range on new column: %d %s", r.status, r.body)
		}
		r = b.do("POST", "EntityDefinitions(LogicalName='new_bank')/Attributes", attr)
		if r.status != 409 {
			t.Fatalf("duplicate attribute: %d %s", r.status, r.body)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='new_bank')/Attributes(LogicalName='new_branches')", nil), 200).json(t)
		if m["AttributeType"] != "Integer" {
			t.Fatalf("attribute %v", m)
		}
		b.mustStatus(b.do("GET", "$metadata", nil), 200)
	})
}

func TestProjectTables(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := start(t, d, "testdata/project")
			aid := b.create("accounts", map[string]any{"name": "Owner"})
			r := b.mustStatus(b.do("POST", "new_projects?$select=new_ref,new_phase", map[string]any{"new_name": "Apollo", "new_code": "AP", "new_phase": 100000001,
				"new_accountid@odata.bind": "accounts(" + aid + ")"}, "Prefer", "return=representation", "Prefer", `odata.include-annotations="*"`), 201)
			m := r.json(t)
			if m["new_ref"] != "PRJ-1000" || m["new_phase@OData.Community.Display.V1.FormattedValue"] != "Running" {
				t.Fatalf("project row %v", m)
			}
			m = b.mustStatus(b.do("GET", "accounts("+aid+")?$select=name&$expand=new_account_projects($select=new_name)", nil), 200).json(t)
			if len(m["new_account_projects"].([]any)) != 1 {
				t.Fatalf("relationship %v", m)
			}
			b.mustStatus(b.do("GET", "new_projects(new_code='AP')", nil), 200)
		})
	}
}

func TestProjectValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(dir+"/tables", 0o755)
	os.WriteFile(dir+"/tables/bad.yaml", []byte("name: Bad Name\nprimaryName: x\ncolumns: []\n"), 0o644)
	os.WriteFile(dir+"/tables/bad2.yaml", []byte("name: t2\nprimaryName: n\ncolumns:\n  - {name: n, type: String, colour: red}\n"), 0o644)
	os.WriteFile(dir+"/tables/bad3.yaml", []byte("name: t3\nprimaryName: n\ncolumns:\n  - {name: n, type: String}\n  - {name: l, type: Lookup, targets: [nosuch]}\n"), 0o644)
	os.WriteFile(dir+"/tables/bad4.yaml", []byte("name: t4\nprimaryName: n\ncolumns:\n  - {name: n, type: String}\n  - {name: c, type: Integer, rollup: {relationship: t4_none, aggregate: COUNT}}\n"), 0o644)
	os.WriteFile(dir+"/tables/bad5.yaml", []byte("name: t5\nprimaryName: n\ncolumns:\n  - {name: n, type: String}\nattributeMaps: [{from: account, columns: [[nosuchcolumn, n]]}]\n"), 0o644)
	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := p.Validate(records.Validator{})
	if len(got) != 5 || !strings.Contains(got.Error(), "bad.yaml") || !strings.Contains(got.Error(), "colour") || !strings.Contains(got.Error(), "nosuch") ||
		!strings.Contains(got.Error(), "t4_none is not a one-to-many relationship") || !strings.Contains(got.Error(), "account has no column nosuchcolumn") {
		t.Fatalf("problems: %v", got)
	}
}
