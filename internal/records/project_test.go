package records_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestProjectExtendsStandardTable: a file with extends adds columns and
// keys to a standard table; anything else in it, a standard table's own
// column, a table that is not standard and a second extension of the same
// table are each a problem named by file.
func TestProjectExtendsStandardTable(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"tables/account.yaml": {Data: []byte("extends: account\ncolumns:\n  - {name: new_tier, type: Picklist, options: [[1, Gold]]}\n" +
			"  - {name: new_projectid, type: Lookup, targets: [new_project]}\nkeys:\n  - {name: new_tier_key, columns: [new_tier]}\n")},
		"tables/new_project.yaml": {Data: []byte("name: new_project\nprimaryName: new_name\ncolumns:\n  - {name: new_name, type: String}\n")},
		"tables/bad1.yaml":        {Data: []byte("extends: new_project\ncolumns: []\n")},
		"tables/bad2.yaml":        {Data: []byte("extends: contact\ndisplayName: People\ncolumns: []\n")},
		"tables/bad3.yaml":        {Data: []byte("extends: lead\ncolumns:\n  - {name: subject, type: String}\n")},
		"tables/bad4.yaml":        {Data: []byte("extends: account\ncolumns:\n  - {name: new_other, type: String}\n")},
		"tables/bad5.yaml":        {Data: []byte("extends: incident\nname: task\ncolumns: []\n")},
		"tables/bad6.yaml":        {Data: []byte("extends: task\ncolumns:\n  - {name: new_x, type: Lookup, targets: [nosuch]}\n")},
	}
	p, problems := project.Open(files, ".")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	tables, problems := records.ProjectTables(p)
	want := map[string]string{
		"bad1.yaml": `"new_project" is not a standard table`,
		"bad2.yaml": "may give only columns and keys",
		"bad3.yaml": "subject is a standard column of lead",
		"bad4.yaml": "account is already extended in another file",
		"bad5.yaml": "name different tables",
		"bad6.yaml": `target table "nosuch" does not exist`,
	}
	if len(problems) != len(want) {
		t.Errorf("problems: %v", problems)
	}
	for _, pr := range problems {
		if w, ok := want[strings.TrimPrefix(pr.File, "tables/")]; !ok || !strings.Contains(pr.Message, w) {
			t.Errorf("%s: %s (want %q)", pr.File, pr.Message, w)
		}
	}
	var ext *records.Table
	for i := range tables {
		if tables[i].Extends == "account" {
			ext = &tables[i]
		}
	}
	if ext == nil || len(ext.Columns) != 2 || len(ext.Keys) != 1 {
		t.Fatalf("extension of account: %+v", tables)
	}
}

// TestExtensionAcrossRestarts: a standard table extended by a project file
// has the file's columns as custom columns and its key, once, start after
// start, and keeps them with a row written to them.
func TestExtensionAcrossRestarts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := setup(t, s)
		ext := records.Table{Extends: "account", Columns: []records.Column{{Name: "new_code", Type: records.String, MaxLength: 20}},
			Keys: []records.Key{{Name: "new_account_code", Columns: []string{"new_code"}}}}
		for i := 0; i < 2; i++ {
			if err := rec.Init(ctx, []records.Table{ext}); err != nil {
				t.Fatal(err)
			}
			a, _ := rec.Table("account")
			n := 0
			for j := range a.Columns {
				if a.Columns[j].Name == "new_code" {
					n++
					if !records.IsCustomColumn(a, &a.Columns[j]) || a.Columns[j].MaxLength != 20 {
						t.Fatalf("start %d: new_code %+v", i, a.Columns[j])
					}
				}
			}
			keys := 0
			for _, k := range a.Keys {
				if k.Name == "new_account_code" {
					keys++
				}
			}
			if n != 1 || keys != 1 || a.Custom {
				t.Fatalf("start %d: account has new_code %d times, the key %d times (custom table %v)", i, n, keys, a.Custom)
			}
			if i == 0 {
				err := s.Tx(ctx, func(tx store.Tx) error {
					_, err := rec.Create(ctx, tx, a, records.Row{"name": "A", "new_code": "X1"}, records.Caller{})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
