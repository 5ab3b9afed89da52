package webapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/store/storetest"
)

// projectTables is a team's own schema with an attribute map and rollups:
// a project copies its account's name and number, and rolls up its tasks.
var projectTables = map[string]string{
	"tables/new_project.yaml": `name: new_project
primaryName: new_name
columns:
- {name: new_name, type: String}
- {name: new_code, type: String, createOnly: true}
- {name: new_accountid, type: Lookup, targets: [account], relationship: new_account_projects}
- {name: new_maxhours, type: Decimal, precision: 2, min: 0, max: 1000, rollup: {relationship: new_project_tasks, aggregate: MAX, column: new_hours}}
- {name: new_avghours, type: Decimal, precision: 2, rollup: {relationship: new_project_tasks, aggregate: AVG, column: new_hours, filter: "new_hours gt 2"}}
- {name: new_firstdue, type: DateTime, rollup: {relationship: new_project_tasks, aggregate: MIN, column: new_due}}
- {name: new_taskcount, type: Integer, min: 0, max: 2, rollup: {relationship: new_project_tasks, aggregate: COUNT}}
attributeMaps:
- from: account
  columns: [[name, new_name], [accountnumber, new_code]]
`,
	"tables/new_task.yaml": `name: new_task
primaryName: new_name
columns:
- {name: new_name, type: String}
- {name: new_hours, type: Decimal, precision: 2}
- {name: new_due, type: DateTime, behavior: TimeZoneIndependent}
- {name: new_projectid, type: Lookup, targets: [new_project], relationship: new_project_tasks}
`,
}

func writeTables(t *testing.T) string {
	dir := t.TempDir()
	for name, text := range projectTables {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func eachWith(t *testing.T, dir string, fn func(t *testing.T, b *bundle)) {
	t.Helper()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, start(t, d, dir))
		})
	}
}

// TestInitializeFromAttributeMaps follows the "InitializeFrom Function" page
// (Web API reference: EntityMoniker, TargetEntityName, TargetFieldType,
// SkipParentalRelationshipMapping; a crmbaseentity answered) with the maps of
// "Default entity and attribute mappings": a contact created from an account
// gets its address, telephone and currency; a team's table gets what its own
// map copies, filtered by TargetFieldType.
func TestInitializeFromAttributeMaps(t *testing.T) {
	t.Parallel()
	eachWith(t, writeTables(t), func(t *testing.T, b *bundle) {
		acc := b.create("accounts", map[string]any{"name": "Fourth Coffee", "accountnumber": "A-100", "telephone1": "555-0100", "address1_line1": "123 Main St.",
			"address1_city": "Redmond", "address1_addresstypecode": 3, "websiteurl": "https://example.com",
			"transactioncurrencyid@odata.bind": "transactioncurrencies(6d1a2b3c-0000-4000-8000-000000000004)"})
		cur := b.mustStatus(b.do("GET", "accounts("+acc+")?$select=_transactioncurrencyid_value", nil), 200).json(t)["_transactioncurrencyid_value"]
		init := func(target, fieldType, extra string) string {
			p := "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3" + extra + ")?@p1={'@odata.id':'accounts(" + acc + ")'}&@p2='" + target +
				"'&@p3=Microsoft.Dynamics.CRM.TargetFieldType'" + fieldType + "'"
			if extra != "" {
				p += "&@p4=true"
			}
			r := b.mustStatus(b.do("GET", p, nil), 200)
			return strings.NewReplacer(acc, "ACC", b.base, "BASE").Replace(strings.TrimSpace(string(r.body)))
		}
		cases := []struct{ target, fieldType, extra, want string }{
			{"contact", "ValidForCreate", "", `{"@odata.context":"BASE$metadata#contacts/$entity","@odata.type":"#Microsoft.Dynamics.CRM.contact",` +
				`"address1_addresstypecode":3,"address1_city":"Redmond","address1_line1":"123 Main St.","parentcustomerid_account@odata.bind":"accounts(ACC)",` +
				`"telephone1":"555-0100","transactioncurrencyid@odata.bind":"transactioncurrencies(CUR)"}`},
			{"contact", "All", ",SkipParentalRelationshipMapping=@p4", `{"@odata.context":"BASE$metadata#contacts/$entity","@odata.type":"#Microsoft.Dynamics.CRM.contact",` +
				`"address1_addresstypecode":3,"address1_city":"Redmond","address1_line1":"123 Main St.","telephone1":"555-0100","transactioncurrencyid@odata.bind":"transactioncurrencies(CUR)"}`},
			{"account", "ValidForCreate", "", `{"@odata.context":"BASE$metadata#accounts/$entity","@odata.type":"#Microsoft.Dynamics.CRM.account",` +
				`"parentaccountid@odata.bind":"accounts(ACC)","transactioncurrencyid@odata.bind":"transactioncurrencies(CUR)"}`},
			{"new_project", "ValidForCreate", "", `{"@odata.context":"BASE$metadata#new_projects/$entity","@odata.type":"#Microsoft.Dynamics.CRM.new_project",` +
				`"new_accountid@odata.bind":"accounts(ACC)","new_code":"A-100","new_name":"Fourth Coffee"}`},
			{"new_project", "ValidForUpdate", "", `{"@odata.context":"BASE$metadata#new_projects/$entity","@odata.type":"#Microsoft.Dynamics.CRM.new_project",` +
				`"new_accountid@odata.bind":"accounts(ACC)","new_name":"Fourth Coffee"}`},
		}
		for _, c := range cases {
			want := strings.ReplaceAll(c.want, "CUR", cur.(string))
			if got := init(c.target, c.fieldType, c.extra); got != want {
				t.Errorf("%s %s%s:\ngot  %s\nwant %s", c.target, c.fieldType, c.extra, got, want)
			}
		}
		// What InitializeFrom answers creates the row as it is.
		body := b.mustStatus(b.do("GET", "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)?@p1={'@odata.id':'accounts("+acc+
			")'}&@p2='contact'&@p3=Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'", nil), 200).json(t)
		delete(body, "@odata.context")
		delete(body, "@odata.type")
		body["lastname"] = "Adams"
		id := b.create("contacts", body)
		got := b.mustStatus(b.do("GET", "contacts("+id+")?$select=address1_city,_parentcustomerid_value", nil), 200).json(t)
		if got["address1_city"] != "Redmond" || got["_parentcustomerid_value"] != acc {
			t.Errorf("created from InitializeFrom: %v", got)
		}
	})
}

// TestCalculateRollupField calls CalculateRollupField as the "CalculateRollupField
// Function" page gives it (Target, a crmbaseentity reference; FieldName, the
// rollup column's logical name; a crmbaseentity answered), on account's
// rollups opendeals and openrevenue ("Account table/entity reference": open
// opportunities of the account and its child accounts) and on a team's
// rollups of each aggregate "Define rollup columns that aggregate values"
// lists.
func TestCalculateRollupField(t *testing.T) {
	t.Parallel()
	eachWith(t, writeTables(t), func(t *testing.T, b *bundle) {
		parent := b.create("accounts", map[string]any{"name": "Parent"})
		child := b.create("accounts", map[string]any{"name": "Child", "parentaccountid@odata.bind": "accounts(" + parent + ")"})
		other := b.create("accounts", map[string]any{"name": "Other"})
		opp := func(acc string, value float64) string {
			return b.create("opportunities", map[string]any{"name": "Deal", "estimatedvalue": value, "parentaccountid@odata.bind": "accounts(" + acc + ")"})
		}
		opp(parent, 1000)
		opp(parent, 500)
		won := opp(parent, 700)
		opp(child, 250)
		opp(other, 99)
		b.mustStatus(b.do("PATCH", "opportunities("+won+")", map[string]any{"statecode": 1, "statuscode": 3}), 204)

		calc := func(target, field string) resp {
			return b.do("GET", "CalculateRollupField(Target=@p1,FieldName=@p2)?@p1={'@odata.id':'"+target+"'}&@p2='"+field+"'", nil)
		}
		before := time.Now().UTC().Add(-time.Minute)
		got := b.mustStatus(calc("accounts("+parent+")", "openrevenue"), 200).json(t)
		if got["@odata.context"] != b.base+"$metadata#accounts/$entity" || got["accountid"] != parent || got["openrevenue"] != 1750.0 ||
			got["openrevenue_state"] != 1.0 || got["@odata.etag"] == nil {
			t.Fatalf("openrevenue: %v", got)
		}
		if at, err := time.Parse(time.RFC3339, got["openrevenue_date"].(string)); err != nil || at.Before(before) {
			t.Errorf("openrevenue_date %v", got["openrevenue_date"])
		}
		got = b.mustStatus(calc("accounts("+parent+")", "opendeals"), 200).json(t)
		if got["opendeals"] != 3.0 || got["opendeals_state"] != 1.0 {
			t.Fatalf("opendeals: %v", got)
		}
		got = b.mustStatus(calc("accounts("+child+")", "opendeals"), 200).json(t)
		if got["opendeals"] != 1.0 {
			t.Fatalf("child opendeals: %v", got)
		}
		// The stored values are read like any column, and clients cannot write them.
		b.mustStatus(b.do("PATCH", "accounts("+parent+")", map[string]any{"openrevenue": 5, "name": "Parent Co"}), 204)
		row := b.mustStatus(b.do("GET", "accounts("+parent+")?$select=openrevenue,openrevenue_base,opendeals,opendeals_state,openrevenue_state", nil), 200).json(t)
		if row["openrevenue"] != 1750.0 || row["openrevenue_base"] != 1750.0 || row["opendeals"] != 3.0 || row["opendeals_state"] != 1.0 {
			t.Errorf("stored rollups: %v", row)
		}
		row = b.mustStatus(b.do("GET", "accounts("+other+")?$select=openrevenue,openrevenue_state", nil), 200).json(t)
		if row["openrevenue"] != nil || row["openrevenue_state"] != nil {
			t.Errorf("not calculated: %v", row)
		}

		project := b.create("new_projects", map[string]any{"new_name": "Build"})
		empty := b.mustStatus(calc("new_projects("+project+")", "new_maxhours"), 200).json(t)
		if empty["new_maxhours"] != nil || empty["new_maxhours_state"] != 1.0 {
			t.Errorf("MAX of nothing: %v", empty)
		}
		for _, task := range []map[string]any{{"new_hours": 1.5, "new_due": "2026-03-01T00:00:00Z"}, {"new_hours": 4, "new_due": "2026-02-01T00:00:00Z"}, {"new_hours": 8}} {
			task["new_name"] = "Task"
			task["new_projectid@odata.bind"] = "new_projects(" + project + ")"
			b.create("new_tasks", task)
		}
		for field, want := range map[string]any{"new_maxhours": 8.0, "new_avghours": 6.0, "new_firstdue": "2026-02-01T00:00:00Z", "new_taskcount": nil} {
			got := b.mustStatus(calc("new_projects("+project+")", field), 200).json(t)
			state := 1.0
			if field == "new_taskcount" {
				state = 2 // three tasks overflow the column's maximum of 2
			}
			if got[field] != want || got[field+"_state"] != state {
				t.Errorf("%s: %v", field, got)
			}
		}

		if code := b.mustStatus(calc("accounts("+parent+")", "name"), 400).errCode(t); code == "" {
			t.Error("a column that is no rollup: no error code")
		}
		b.mustStatus(calc("accounts(00000000-0000-0000-0000-000000000009)", "openrevenue"), 404)
		b.mustStatus(b.do("GET", "CalculateRollupField(FieldName=@p2)?@p2='openrevenue'", nil), 400)
	})
}
