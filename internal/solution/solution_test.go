package solution

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"junction/internal/records"
)

func read(t testing.TB, name string) *Solution {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Read(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func table(t *testing.T, s *Solution, name string) *records.Table {
	t.Helper()
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	t.Fatalf("no table %s", name)
	return nil
}

func column(t *testing.T, tb *records.Table, name string) records.Column {
	t.Helper()
	for _, c := range tb.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s.%s", tb.Name, name)
	return records.Column{}
}

// TestReadTimesheet reads a real export (see testdata/README.md).
func TestReadTimesheet(t *testing.T) {
	t.Parallel()
	s := read(t, "timesheet")
	if s.UniqueName != "Time_Management" || s.Version != "1.0.0.1" || !s.Managed || s.Publisher.UniqueName != "Pr_Management" ||
		s.Publisher.Prefix != "pm" || s.Publisher.OptionValuePrefix != 12557 {
		t.Fatalf("manifest %+v", s)
	}
	emp := table(t, s, "pm_employee")
	if emp.SchemaName != "pm_Employee" || emp.SetName != "pm_employees" || emp.PrimaryName != "pm_name" || emp.Ownership != records.UserOwned || emp.DisplayName != "Employee" {
		t.Fatalf("pm_employee %+v", emp)
	}
	if c := column(t, emp, "pm_email"); c.Type != records.String || c.MaxLength != 100 || c.Required != records.RequiredApp {
		t.Fatalf("pm_email %+v", c)
	}
	mgr := column(t, emp, "pm_manager")
	if mgr.Type != records.Lookup || strings.Join(mgr.Targets, ",") != "pm_employee" || len(mgr.Links) != 1 ||
		mgr.Links[0].Name != "pm_employee_Manager_pm_employee" || mgr.Links[0].Nav != "pm_Manager" || mgr.Links[0].Cascade.Delete != records.CascadeRemoveLink {
		t.Fatalf("pm_manager %+v", mgr)
	}
	if c := column(t, emp, "statuscode"); c.Type != records.Status || len(c.Options) != 2 || c.Options[1].State == nil || *c.Options[1].State != 1 {
		t.Fatalf("statuscode %+v", c)
	}
	for _, c := range emp.Columns {
		if c.Name == "pm_employeeid" || c.Name == "createdby" || c.Name == "ownerid" {
			t.Fatalf("system column %s read", c.Name)
		}
	}
	if c := column(t, table(t, s, "pm_timeentries"), "pm_task"); strings.Join(c.Targets, ",") != "task" {
		t.Fatalf("lookup to task %+v", c)
	}
	if c := column(t, table(t, s, "pm_task"), "pm_duration"); c.Type != records.Decimal || !c.ReadOnly || c.Precision != 2 {
		t.Fatalf("formula column %+v", c)
	}
	if c := column(t, table(t, s, "pm_timesheet"), "pm_sheetid"); c.Type != records.AutoNumber || c.Format == "" {
		t.Fatalf("auto-number %+v", c)
	}
	in := table(t, s, "pm_task_pm_employee").Intersect
	if in == nil || in.Name != "pm_Task_pm_Employee_pm_Employee" || in.Entity1 != "pm_employee" || in.Entity2 != "pm_task" {
		t.Fatalf("intersect %+v", in)
	}
}

// TestReadGlobalChoicesAndKeys reads a real export that extends standard
// tables with global choices and a key.
func TestReadGlobalChoicesAndKeys(t *testing.T) {
	t.Parallel()
	s := read(t, "salescrm")
	c := column(t, table(t, s, "account"), "cis_accounttype")
	if c.Type != records.Picklist || len(c.Options) != 6 || c.Options[0].Value != 767330000 || c.Options[0].Label != "Resource Partner" {
		t.Fatalf("global choice %+v", c)
	}
	if c := column(t, table(t, s, "contact"), "cis_contacttype"); c.Type != records.Boolean || len(c.Options) != 2 || c.Options[0].Value != 1 {
		t.Fatalf("Boolean %+v", c)
	}
	lead := table(t, s, "lead")
	if len(lead.Keys) != 1 || lead.Keys[0].Name != "cis_topic" || strings.Join(lead.Keys[0].Columns, ",") != "subject" {
		t.Fatalf("lead keys %+v", lead.Keys)
	}
	if !strings.Contains(strings.Join(s.Skipped, "\n"), "lead.purchaseprocess: its choice is the global option set purchaseprocess") {
		t.Fatalf("skipped %v", s.Skipped)
	}
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, body := range files {
		w, _ := zw.Create(n)
		io.WriteString(w, body)
	}
	zw.Close()
	return buf.Bytes()
}

const manifest = `<ImportExportXml><SolutionManifest><UniqueName>s</UniqueName><Version>1.0</Version><Publisher><UniqueName>p</UniqueName></Publisher></SolutionManifest></ImportExportXml>`

func entityXML(attrs string) string {
	return `<ImportExportXml><Entities><Entity><Name>new_Thing</Name><EntityInfo><entity Name="new_Thing"><attributes>` + attrs +
		`</attributes></entity></EntityInfo></Entity></Entities></ImportExportXml>`
}

// TestReadRejects lists files that are no solution, each an ErrInvalid
// naming the reason.
func TestReadRejects(t *testing.T) {
	t.Parallel()
	name := `<attribute PhysicalName="new_Name"><Type>nvarchar</Type><Name>new_name</Name><DisplayMask>PrimaryName</DisplayMask></attribute>`
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"not a zip", "not a zip", []byte("nope")},
		{"no customizations", "no customizations.xml", zipOf(t, map[string]string{"solution.xml": manifest})},
		{"no manifest", "no solution.xml", zipOf(t, map[string]string{"customizations.xml": entityXML(name)})},
		{"bad xml", "customizations.xml", zipOf(t, map[string]string{"solution.xml": manifest, "customizations.xml": "<ImportExportXml><Entities>"})},
		{"unknown type", `unknown attribute type "hologram"`, zipOf(t, map[string]string{"solution.xml": manifest,
			"customizations.xml": entityXML(name + `<attribute><Type>hologram</Type><Name>new_x</Name></attribute>`)})},
		{"bad name", "letters, digits", zipOf(t, map[string]string{"solution.xml": manifest,
			"customizations.xml": entityXML(`<attribute><Type>int</Type><Name>new x</Name></attribute>`)})},
		{"bad number", "MaxLength", zipOf(t, map[string]string{"solution.xml": manifest,
			"customizations.xml": entityXML(`<attribute><Type>nvarchar</Type><Name>new_x</Name><MaxLength>lots</MaxLength></attribute>`)})},
		{"twice", "defined twice", zipOf(t, map[string]string{"solution.xml": manifest,
			"customizations.xml": entityXML(name + name)})},
	} {
		_, err := Read(c.data)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", c.name, err, c.want)
		}
	}
}

// FuzzParseCustomizations feeds arbitrary customizations.xml: the parser
// answers tables or ErrInvalid, never panics, and what it answers names
// only valid tables and columns.
func FuzzParseCustomizations(f *testing.F) {
	f.Add([]byte(entityXML(`<attribute><Type>nvarchar</Type><Name>new_name</Name><DisplayMask>PrimaryName</DisplayMask><MaxLength>10</MaxLength></attribute>`)))
	f.Add([]byte(entityXML(`<attribute><Type>picklist</Type><Name>new_c</Name><OptionSetName>g</OptionSetName></attribute>`)))
	f.Add([]byte(`<ImportExportXml><EntityRelationships><EntityRelationship Name="r"><EntityRelationshipType>ManyToMany</EntityRelationshipType><FirstEntityName>a</FirstEntityName><SecondEntityName>b</SecondEntityName></EntityRelationship></EntityRelationships></ImportExportXml>`))
	for _, n := range []string{"quiz"} {
		data, _ := os.ReadFile("testdata/" + n + ".zip")
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range zr.File {
			if file.Name == "customizations.xml" {
				rc, _ := file.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tables, _, err := ParseCustomizations(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		for _, tb := range tables {
			if !records.ValidName(tb.Name) {
				t.Fatalf("table name %q", tb.Name)
			}
			for _, c := range tb.Columns {
				if !records.ValidName(c.Name) {
					t.Fatalf("column name %q", c.Name)
				}
			}
		}
	})
}
