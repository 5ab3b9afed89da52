package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store/storetest"
)

func label(s string) map[string]any {
	return map[string]any{"LocalizedLabels": []any{map[string]any{"Label": s, "LanguageCode": 1033}}}
}

// orgProject is the stand-in org's own project: a custom table with an
// alternate key and a status of its own, and account extended with a
// custom choice, a column and a key (the Web API creates no keys).
var orgProject = map[string]string{
	"tables/new_site.yaml": `name: new_site
displayName: Site
displayCollectionName: Sites
primaryName: new_name
ownership: OrganizationOwned
columns:
  - {name: new_name, type: String, maxLength: 120, required: ApplicationRequired, displayName: Site name}
  - {name: new_code, type: String, maxLength: 12}
  - {name: new_opened, type: DateTime, behavior: DateOnly}
  - {name: new_ref, type: AutoNumber, format: "SITE-{SEQNUM:4}"}
  - {name: new_accountid, type: Lookup, targets: [account], relationship: new_account_sites, cascade: parental}
  - {name: new_parentid, type: Lookup, targets: [new_site], relationship: new_site_children, cascade: restrict, hierarchical: true}
  - name: statecode
    type: State
    options: [[0, Open], [1, Closed]]
  - name: statuscode
    type: Status
    options: [[1, Open, 0], [5, Planned, 0], [2, Closed, 1]]
keys:
  - {name: new_site_code, columns: [new_code]}
`,
	"tables/account.yaml": `extends: account
columns:
  - {name: new_tier, type: Picklist, default: 2, options: [[1, Gold], [2, Silver]], displayName: Tier}
  - {name: new_siteref, type: String, maxLength: 30}
keys:
  - {name: new_account_siteref, columns: [new_siteref]}
`,
}

// TestTablesPullRoundTrip stands a Junction in for the org: custom tables,
// columns, choices and relationships are created through its
// EntityDefinitions and RelationshipDefinitions API (and, as the API creates
// no keys, from its project), pulled with `junction tables pull`, and the
// written files are loaded into a fresh Junction, whose EntityDefinitions
// must be those of the org, property for property.
func TestTablesPullRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			orgDir := t.TempDir()
			for name, text := range orgProject {
				os.MkdirAll(filepath.Join(orgDir, filepath.Dir(name)), 0o755)
				if err := os.WriteFile(filepath.Join(orgDir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, org := apptest.Start(t, d, func(c *app.Config) { c.Project = orgDir })
			api := org + "/api/data/v9.2/"
			attr := func(typ, schema string, props map[string]any) map[string]any {
				m := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + typ, "SchemaName": schema, "DisplayName": label(schema + " label")}
				for k, v := range props {
					m[k] = v
				}
				return m
			}
			apptest.Call(t, "POST", api+"EntityDefinitions", "k", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
				"SchemaName": "new_Project", "DisplayName": label("Project"), "DisplayCollectionName": label("Projects"),
				"Attributes": []any{attr("StringAttributeMetadata", "new_Name", map[string]any{"IsPrimaryName": true, "MaxLength": 150,
					"RequiredLevel": map[string]any{"Value": "ApplicationRequired"}})}}, 204)
			for _, a := range []map[string]any{
				attr("MemoAttributeMetadata", "new_Notes", map[string]any{"MaxLength": 5000}),
				attr("IntegerAttributeMetadata", "new_Headcount", map[string]any{"MinValue": 0, "MaxValue": 500}),
				attr("DecimalAttributeMetadata", "new_Share", map[string]any{"Precision": 4, "MinValue": 0, "MaxValue": 1}),
				attr("MoneyAttributeMetadata", "new_Budget", map[string]any{"Precision": 2, "MinValue": 0, "MaxValue": 1e9}),
				attr("DoubleAttributeMetadata", "new_Score", nil),
				attr("BigIntAttributeMetadata", "new_Tokens", nil),
				attr("BooleanAttributeMetadata", "new_Billable", nil),
				attr("DateTimeAttributeMetadata", "new_Due", nil),
				attr("PicklistAttributeMetadata", "new_Phase", map[string]any{"OptionSet": map[string]any{"Options": []any{
					map[string]any{"Value": 100000000, "Label": label("Planning")}, map[string]any{"Value": 100000001, "Label": label("Running")}}}}),
			} {
				apptest.Call(t, "POST", api+"EntityDefinitions(LogicalName='new_project')/Attributes", "k", a, 204)
			}
			apptest.Call(t, "POST", api+"EntityDefinitions(LogicalName='contact')/Attributes", "k",
				attr("StringAttributeMetadata", "new_Nickname", map[string]any{"MaxLength": 40}), 204)
			apptest.Call(t, "POST", api+"RelationshipDefinitions", "k", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
				"SchemaName": "new_account_projects", "ReferencedEntity": "account", "ReferencingEntity": "new_project", "ReferencedAttribute": "accountid",
				"ReferencingEntityNavigationPropertyName": "new_Account",
				"CascadeConfiguration":                    map[string]any{"Assign": "Cascade", "Delete": "Restrict", "Merge": "NoCascade", "Reparent": "NoCascade", "Share": "Cascade", "Unshare": "NoCascade"},
				"Lookup":                                  attr("LookupAttributeMetadata", "new_AccountId", nil)}, 204)
			apptest.Call(t, "POST", api+"RelationshipDefinitions", "k", map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
				"SchemaName": "new_project_contact", "Entity1LogicalName": "new_project", "Entity2LogicalName": "contact", "IntersectEntityName": "new_project_contact",
				"Entity1NavigationPropertyName": "new_project_contacts", "Entity2NavigationPropertyName": "new_contact_projects"}, 204)

			out := filepath.Join(t.TempDir(), "tables")
			code, stdout, stderr := run(t, nil, "tables", "pull", "--url", org, "--api-key", "k", "--tables", "new_project, new_site,account,contact,lead", "--out", out)
			if code != 0 {
				t.Fatalf("pull: %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{"new_project.yaml (table", "new_site.yaml (table", "account.yaml (custom columns", "contact.yaml (custom columns",
				"new_project_contact.yaml (intersect table of new_project_contact"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("pull output lacks %q:\n%s", want, stdout)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "lead.yaml")); !os.IsNotExist(err) {
				t.Errorf("lead has no custom columns, yet a file was written (%v)", err)
			}
			if stderr != "" {
				t.Errorf("warnings from Junction's own metadata: %s", stderr)
			}

			code, stdout, stderr = run(t, nil, "validate", filepath.Dir(out))
			if code != 0 {
				t.Fatalf("validate the pulled tables: %d\n%s\n%s", code, stdout, stderr)
			}
			_, fresh := apptest.Start(t, d, func(c *app.Config) { c.Project = filepath.Dir(out) })
			for _, path := range []string{
				"EntityDefinitions(LogicalName='%s')?$expand=Attributes,Keys,ManyToOneRelationships,OneToManyRelationships,ManyToManyRelationships",
				"EntityDefinitions(LogicalName='%s')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet",
				"EntityDefinitions(LogicalName='%s')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$expand=OptionSet",
				"EntityDefinitions(LogicalName='%s')/Attributes/Microsoft.Dynamics.CRM.StateAttributeMetadata?$expand=OptionSet",
				"EntityDefinitions(LogicalName='%s')/Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$expand=OptionSet",
			} {
				for _, table := range []string{"new_project", "new_site", "account", "contact", "new_project_contact"} {
					p := strings.Replace(path, "%s", table, 1)
					want := withoutContext(apptest.Call(t, "GET", api+p, "k", nil, 200))
					got := withoutContext(apptest.Call(t, "GET", fresh+"/api/data/v9.2/"+p, "k", nil, 200))
					if !reflect.DeepEqual(got, want) {
						w, _ := json.MarshalIndent(want, "", " ")
						g, _ := json.MarshalIndent(got, "", " ")
						t.Errorf("%s differs after the round trip:\norg:   %s\npulled: %s", p, firstDiff(string(w), string(g)), firstDiff(string(g), string(w)))
					}
				}
			}
		})
	}
}

// withoutContext drops the @odata.context annotations, which name the
// server.
func withoutContext(m map[string]any) map[string]any {
	delete(m, "@odata.context")
	return m
}

// firstDiff is a's text around where it first differs from b.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-300):min(len(a), i+200)]
}
