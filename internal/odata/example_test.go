package odata_test

import (
	"fmt"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

func ExampleCompiler_Filter() {
	tables := map[string]*records.Table{}
	defs := records.Builtin()
	for i := range defs {
		tables[defs[i].Name] = &defs[i]
	}
	for _, t := range tables {
		t.Prepare(nil)
	}
	e, _ := odata.ParseFilter("name eq 'Contoso' and revenue gt 1000", nil)
	c := &odata.Compiler{Tables: tables, Dialect: store.SQLite}
	f, _ := c.Filter(tables["account"], "t", e)
	fmt.Println(f.SQL)
	fmt.Println(f.Args)
	// Output:
	// ((LOWER(t."name") = LOWER(?)) AND (t."revenue" > ?))
	// [Contoso 1000]
}
