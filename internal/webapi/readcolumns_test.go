package webapi_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestSelectReadsTheColumnsItAnswersWith checks the columns a list query
// reads: with $select, the columns selected and those the answer needs
// besides (the primary id, the version behind the ETag, the owner the
// row-level check reads, a polymorphic lookup's table, the lookups that
// single-valued expansions follow), not the other columns of the table;
// without $select, or with $select=*, every column.
func TestSelectReadsTheColumnsItAnswersWith(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		h := handler(t, b)
		owner := []string{"ownerid", "ownerid__type", "versionnumber"}
		cases := []struct {
			set, query string
			want       []string // nil: every column of the table
		}{
			{"accounts", "$select=name&$filter=numberofemployees gt 40&$orderby=name&$top=20", append([]string{"accountid", "name"}, owner...)},
			{"accounts", "$select=name,revenue,name", append([]string{"accountid", "name", "revenue"}, owner...)},
			{"contacts", "$select=fullname,_parentcustomerid_value", append([]string{"contactid", "fullname", "parentcustomerid", "parentcustomerid__type"}, owner...)},
			{"accounts", "$select=name&$expand=primarycontactid($select=fullname),contact_customer_accounts($select=fullname)", append([]string{"accountid", "name", "primarycontactid"}, owner...)},
			{"accounts", "$filter=name eq 'x'", nil},
			{"accounts", "$select=*", nil},
			{"accounts", "$select=name&$expand=contact_customer_accounts", append([]string{"accountid", "name"}, owner...)},
		}
		for _, c := range cases {
			q, _, err := h.ListSQL(c.set, c.query)
			if err != nil {
				t.Fatal(err)
			}
			got := selectedColumns(q)
			if c.want == nil {
				if len(got) < 100 || !slices.Contains(got, "revenue") || !slices.Contains(got, "address1_city") {
					t.Errorf("%s?%s reads %d columns, want every column", c.set, c.query, len(got))
				}
				continue
			}
			sort.Strings(c.want)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s?%s reads %v, want %v", c.set, c.query, got, c.want)
			}
		}
	})
}

// selectedColumns are the names in the select list of q (t."name", ...),
// sorted.
func selectedColumns(q string) []string {
	list, _, _ := strings.Cut(strings.TrimPrefix(q, "SELECT "), " FROM ")
	var out []string
	for _, c := range strings.Split(list, ", ") {
		out = append(out, strings.Trim(strings.TrimPrefix(c, "t."), `"`))
	}
	sort.Strings(out)
	return out
}

// TestSelectedColumnsFollowTheSchema: the column set a point read's $select
// names is kept with the table, and forgotten when the table's columns
// change: a column deleted and added again with another type is read as
// the new type. On PostgreSQL the pooled connections' statements prepared
// for the old type are dropped too.
func TestSelectedColumnsFollowTheSchema(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		attr := func(kind string) map[string]any {
			return map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + kind + "AttributeMetadata", "SchemaName": "new_Code", "MaxLength": 20}
		}
		b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='account')/Attributes", attr("String")), 204)
		id := b.create("accounts", map[string]any{"name": "Kept", "new_code": "7"})
		read := func() map[string]any {
			t.Helper()
			return b.mustStatus(b.do("GET", "accounts("+id+")?$select=name,new_code", nil), 200).json(t)
		}
		if m := read(); m["new_code"] != "7" || m["name"] != "Kept" {
			t.Fatalf("string column: %v", m)
		}
		b.mustStatus(b.do("DELETE", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='new_code')", nil), 204)
		if r := b.do("GET", "accounts("+id+")?$select=name,new_code", nil); r.status != 400 {
			t.Fatalf("selecting a deleted column: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='account')/Attributes", attr("Integer")), 204)
		b.mustStatus(b.do("PATCH", "accounts("+id+")", map[string]any{"new_code": 8}), 204)
		if m := read(); m["new_code"] != float64(8) {
			t.Fatalf("the column added again as a whole number: %#v", m["new_code"])
		}
	})
}
