package webapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"

	"junction/internal/server"
)

// The solutions under internal/solution/testdata are real exports from
// public repositories (see the README there).
func solutionZip(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../solution/testdata/" + name + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rezip returns the zip with each entry passed through edit (nil drops it).
func rezip(t *testing.T, data []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		if body = edit(f.Name, body); body == nil {
			continue
		}
		w, _ := zw.Create(f.Name)
		w.Write(body)
	}
	zw.Close()
	return buf.Bytes()
}

func importBody(zipData []byte) map[string]any {
	return map[string]any{"CustomizationFile": base64.StdEncoding.EncodeToString(zipData), "OverwriteUnmanagedCustomizations": true,
		"PublishWorkflows": true, "ImportJobId": "3bbf7b5f-3a36-4b5f-8d0f-2c0b6a1b6a01"}
}

// TestImportSolutionTimesheet imports a real exported solution (five
// custom tables, lookups between them and to task, choices, auto-numbers,
// a many-to-many relationship) through ImportSolution, then finds its
// tables in EntityDefinitions and RelationshipDefinitions, writes and
// queries rows through them, and imports it again without change.
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/importsolution
func TestImportSolutionTimesheet(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		sol := solutionZip(t, "timesheet")
		r := b.mustStatus(b.do("POST", "ImportSolution", importBody(sol), "Prefer", "return=representation"), 200).json(t)
		created := strings.Join(toStrings(r["CreatedTables"]), ",")
		for _, n := range []string{"pm_approvallog", "pm_employee", "pm_task", "pm_timeentries", "pm_timesheet", "pm_task_pm_employee"} {
			if !strings.Contains(","+created+",", ","+n+",") {
				t.Fatalf("created %s, want %s among them: %v", created, n, r)
			}
		}
		if !strings.Contains(strings.Join(toStrings(r["Skipped"]), "\n"), "pm_task.pm_duration: a calculated") {
			t.Fatalf("skipped %v", r["Skipped"])
		}
		m := b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='pm_employee')?$select=EntitySetName,PrimaryNameAttribute,IsCustomEntity", nil), 200).json(t)
		if m["EntitySetName"] != "pm_employees" || m["PrimaryNameAttribute"] != "pm_name" || m["IsCustomEntity"] != true {
			t.Fatalf("pm_employee %v", m)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='pm_employee')/Attributes(LogicalName='pm_email')", nil), 200).json(t)
		if m["AttributeType"] != "String" || m["MaxLength"] != float64(100) || m["RequiredLevel"].(map[string]any)["Value"] != "ApplicationRequired" {
			t.Fatalf("pm_email %v", m)
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='pm_employee')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `{"Label":"HR","LanguageCode":1033}},"Value":125570001`) {
			t.Fatalf("pm_department options %s", mustJSON(m))
		}
		m = b.mustStatus(b.do("GET", "RelationshipDefinitions(SchemaName='pm_employee_Manager_pm_employee')/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", nil), 200).json(t)
		if m["ReferencingAttribute"] != "pm_manager" || m["ReferencedEntity"] != "pm_employee" || m["CascadeConfiguration"].(map[string]any)["Delete"] != "RemoveLink" {
			t.Fatalf("manager relationship %v", m)
		}
		m = b.mustStatus(b.do("GET", "RelationshipDefinitions(SchemaName='pm_Task_pm_Employee_pm_Employee')", nil), 200).json(t)
		if m["IntersectEntityName"] != "pm_task_pm_employee" || m["Entity1LogicalName"] != "pm_employee" || m["Entity2LogicalName"] != "pm_task" {
			t.Fatalf("many-to-many %v", m)
		}

		// Rows through the imported tables.
		boss := b.create("pm_employees", map[string]any{"pm_name": "Ada", "pm_email": "ada@example.com", "pm_department": 125570000})
		emp := b.create("pm_employees", map[string]any{"pm_name": "Bo", "pm_email": "bo@example.com", "pm_Manager@odata.bind": "/pm_employees(" + boss + ")"})
		if r := b.do("POST", "pm_employees", map[string]any{"pm_name": "Cy", "pm_email": "cy@example.com", "pm_department": 7}); r.status != 400 {
			t.Fatalf("a value outside the choice: %d %s", r.status, r.body)
		}
		sheet := b.create("pm_timesheets", map[string]any{"pm_Employee@odata.bind": "/pm_employees(" + emp + ")", "pm_startdatetime": "2026-01-05T09:00:00Z"})
		m = b.mustStatus(b.do("GET", "pm_timesheets("+sheet+")?$select=pm_sheetid,_pm_employee_value", nil), 200).json(t)
		if m["_pm_employee_value"] != emp || m["pm_sheetid"] == nil {
			t.Fatalf("time sheet %v", m)
		}
		task := b.create("pm_tasks", map[string]any{"pm_name": "Design"})
		b.mustStatus(b.do("POST", "pm_employees("+emp+")/pm_Task_pm_Employee_pm_Employee/$ref", map[string]any{"@odata.id": b.base + "pm_tasks(" + task + ")"}), 204)
		got := ids(t, b.mustStatus(b.do("GET", "pm_employees("+emp+")/pm_Task_pm_Employee_pm_Employee?$select=pm_name", nil), 200).json(t), "pm_name")
		if strings.Join(got, ",") != "Design" {
			t.Fatalf("related tasks %v", got)
		}
		got = ids(t, b.mustStatus(b.do("GET", "pm_employees?$select=pm_name&$filter=_pm_manager_value eq "+boss, nil), 200).json(t), "pm_name")
		if strings.Join(got, ",") != "Bo" {
			t.Fatalf("reports of the manager %v", got)
		}

		// The solution and its publisher are rows.
		m = b.mustStatus(b.do("GET", "solutions?$select=version,friendlyname&$filter=uniquename eq 'Time_Management'&$expand=publisherid($select=uniquename,customizationprefix)", nil), 200).json(t)
		v := m["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["version"] != "1.0.0.1" || v[0].(map[string]any)["publisherid"].(map[string]any)["customizationprefix"] != "pm" {
			t.Fatalf("solution rows %v", m)
		}

		// Importing it again changes nothing and keeps the rows.
		r = b.mustStatus(b.do("POST", "ImportSolution", importBody(sol), "Prefer", "return=representation"), 200).json(t)
		if len(toStrings(r["CreatedTables"])) != 0 || len(toStrings(r["Added"])) != 0 || r["KeptColumns"].(float64) == 0 {
			t.Fatalf("second import %v", r)
		}
		b.mustStatus(b.do("POST", "ImportSolution", importBody(sol)), 204)
		m = b.mustStatus(b.do("GET", "pm_employees("+emp+")?$select=pm_name", nil), 200).json(t)
		if m["pm_name"] != "Bo" {
			t.Fatalf("row after re-import %v", m)
		}
		m = b.mustStatus(b.do("GET", "solutions?$select=uniquename&$filter=uniquename eq 'Time_Management'", nil), 200).json(t)
		if len(m["value"].([]any)) != 1 {
			t.Fatalf("solution rows after re-import %v", m)
		}
	})
}

// TestImportSolutionExtendsStandardTables imports a real solution that adds
// columns to account, contact and lead, with global choices, a Boolean, a
// self-referencing lookup and an alternate key on lead.
func TestImportSolutionExtendsStandardTables(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		r := b.mustStatus(b.do("POST", "ImportSolution", importBody(solutionZip(t, "salescrm")), "Prefer", "return=representation"), 200).json(t)
		added := "," + strings.Join(toStrings(r["Added"]), ",") + ","
		for _, n := range []string{"account.cis_accounttype", "contact.cis_contacttype", "lead.cis_vehicle", "lead:cis_topic"} {
			if !strings.Contains(added, ","+n+",") {
				t.Fatalf("added %s, want %s: %v", added, n, r)
			}
		}
		m := b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$filter=LogicalName eq 'cis_accounttype'&$expand=OptionSet", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"Label":"Resource Partner"`) || !strings.Contains(string(mustJSON(m)), `767330000`) {
			t.Fatalf("global choice on account %s", mustJSON(m))
		}
		m = b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='lead')/Keys", nil), 200).json(t)
		if !strings.Contains(string(mustJSON(m)), `"KeyAttributes":["subject"]`) {
			t.Fatalf("lead keys %s", mustJSON(m))
		}
		parent := b.create("accounts", map[string]any{"name": "Crown", "cis_accounttype": 767330001, "cis_abbreviation": "CR"})
		child := b.create("accounts", map[string]any{"name": "Branch", "cis_TopLevelAccount@odata.bind": "/accounts(" + parent + ")"})
		m = b.mustStatus(b.do("GET", "accounts("+child+")?$select=name&$expand=cis_TopLevelAccount($select=cis_abbreviation,cis_accounttype)", nil), 200).json(t)
		if top, _ := m["cis_TopLevelAccount"].(map[string]any); top == nil || top["cis_abbreviation"] != "CR" || top["cis_accounttype"] != float64(767330001) {
			t.Fatalf("expanded top-level account %v", m)
		}
		if r := b.do("PATCH", "accounts("+child+")", map[string]any{"cis_accounttype": 1}); r.status != 400 {
			t.Fatalf("a value outside the global choice: %d %s", r.status, r.body)
		}
		b.create("contacts", map[string]any{"lastname": "Lee", "cis_contacttype": true})
		b.create("leads", map[string]any{"subject": "Cloud move", "lastname": "Ng", "description": "x"})
		if r := b.do("POST", "leads", map[string]any{"subject": "Cloud move", "lastname": "Ox", "description": "y"}); r.status != 412 && r.status != 409 {
			t.Fatalf("a second lead with the key's subject: %d %s", r.status, r.body)
		}
	})
}

// TestImportSolutionFailureChangesNothing imports broken solutions: each
// answers a Dataverse error and leaves tables, columns and rows as they
// were.
func TestImportSolutionFailureChangesNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		quiz := solutionZip(t, "quiz")
		listener, _ := b.newKey(t, "listener", server.RoleListener)
		refused(t, listener.do("POST", "ImportSolution", importBody(quiz)), "prvCreateEntity")
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='matt_quizanswers')", nil), 404)
		b.mustStatus(b.do("POST", "ImportSolution", importBody(quiz)), 204)
		replace := func(file, old, new string) []byte {
			return rezip(t, quiz, func(name string, body []byte) []byte {
				if name == file {
					if !bytes.Contains(body, []byte(old)) {
						t.Fatalf("%s holds no %q", file, old)
					}
					return bytes.Replace(body, []byte(old), []byte(new), 1)
				}
				return body
			})
		}
		// A second version of the solution that adds a column and a table
		// but turns an existing text column into a number.
		// (The export's lines end in CR LF.)
		v2 := rezip(t, replace("customizations.xml", "<Name>matt_quizquestion5</Name>\r\n              <LogicalName>matt_quizquestion5</LogicalName>",
			"<Name>matt_quizquestion6</Name>\r\n              <LogicalName>matt_quizquestion6</LogicalName>"), func(name string, body []byte) []byte {
			if name == "customizations.xml" {
				body = bytes.Replace(body, []byte("<Type>nvarchar</Type>\r\n              <Name>matt_quizquestion1</Name>"), []byte("<Type>int</Type>\r\n              <Name>matt_quizquestion1</Name>"), 1)
				body = bytes.Replace(body, []byte(`<Name LocalizedName="Quiz Responses" OriginalName="Quiz Responses">matt_QuizResponses</Name>`),
					[]byte(`<Name LocalizedName="Quiz Responses" OriginalName="Quiz Responses">matt_QuizResponsesTwo</Name>`), 1)
				return body
			}
			if name == "solution.xml" {
				return bytes.Replace(body, []byte("<Version>1.0.0.1</Version>"), []byte("<Version>2.0.0.0</Version>"), 1)
			}
			return body
		})
		cases := []struct {
			name   string
			zip    []byte
			status int
			code   string
			msg    string
		}{
			{"conflicting column type", v2, 409, "0x80040203", "matt_quizquestion1"},
			{"bad XML", replace("customizations.xml", "</Entities>", "</Entitie>"), 400, "0x80040203", "customizations.xml"},
			{"unknown attribute type", replace("customizations.xml", "<Type>nvarchar</Type>", "<Type>hologram</Type>"), 400, "0x80040203", "hologram"},
			{"no customizations.xml", rezip(t, quiz, func(name string, body []byte) []byte {
				if name == "customizations.xml" {
					return nil
				}
				return body
			}), 400, "0x80040203", "customizations.xml"},
			{"not a zip", []byte("PK but not a zip"), 400, "0x80040203", "not a zip"},
		}
		for _, c := range cases {
			r := b.do("POST", "ImportSolution", importBody(c.zip))
			if r.status != c.status || r.errCode(t) != c.code || !strings.Contains(string(r.body), c.msg) || !strings.Contains(string(r.body), "Nothing was imported") {
				t.Fatalf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		if r := b.do("POST", "ImportSolution", map[string]any{"CustomizationFile": "%%%"}); r.status != 400 || r.errCode(t) != "0x80040203" {
			t.Fatalf("not base64: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='matt_quizresponsestwo')", nil), 404)
		b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='matt_quizanswers')/Attributes(LogicalName='matt_quizquestion6')", nil), 404)
		m := b.mustStatus(b.do("GET", "EntityDefinitions(LogicalName='matt_quizanswers')/Attributes(LogicalName='matt_quizquestion1')", nil), 200).json(t)
		if m["AttributeType"] != "String" {
			t.Fatalf("column after the failed import %v", m)
		}
		m = b.mustStatus(b.do("GET", "solutions?$select=version&$filter=uniquename eq 'Quiz'", nil), 200).json(t)
		if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["version"] != "1.0.0.1" {
			t.Fatalf("solution row after the failed import %v", m)
		}
		b.create("matt_quizanswerses", map[string]any{"matt_name": "still writable", "matt_quizquestion1": "text"})
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
