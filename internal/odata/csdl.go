package odata

import (
	"encoding/xml"
	"sort"
	"strings"

	"junction/internal/records"
)

// Param is a parameter or a response property of an operation.
type Param struct {
	Name string
	Type string // an EDM type such as Edm.String, or mscrm.account
}

// Operation is an action or function for $metadata.
type Operation struct {
	Name     string
	Function bool
	Bound    string // "" unbound, a table name, "*" (crmbaseentity), "<t>[]" or "[]"
	Params   []Param
	Response string // complex type name, or ""
	Returns  []Param
	// Entity marks Response as an entity type, not a complex type to write.
	Entity bool
	// Types are further complex types the Returns use.
	Types []ComplexType
}

// ComplexType is a complex type an operation's response uses.
type ComplexType struct {
	Name  string
	Props []Param
}

// EdmType is the EDM type of a column.
func EdmType(c *records.Column) string {
	switch c.Type {
	case records.Integer, records.Picklist, records.State, records.Status:
		return "Edm.Int32"
	case records.BigInt:
		return "Edm.Int64"
	case records.Decimal, records.Money:
		return "Edm.Decimal"
	case records.Double:
		return "Edm.Double"
	case records.Boolean:
		return "Edm.Boolean"
	case records.DateTime:
		return "Edm.DateTimeOffset"
	case records.UniqueIdentifier, records.Lookup, records.Customer, records.Owner:
		return "Edm.Guid"
	}
	return "Edm.String"
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&quot;")
}

// CSDL writes the $metadata document for tables and operations.
func CSDL(tables map[string]*records.Table, ops []Operation) string {
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	w(`<?xml version="1.0" encoding="utf-8"?>`, "\n")
	w(`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">`, "\n")
	w(`<edmx:DataServices>`, "\n")
	w(`<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">`, "\n")
	w(`<EntityType Name="crmbaseentity" Abstract="true"/>`, "\n")
	for _, n := range names {
		t := tables[n]
		w(`<EntityType Name="`, esc(t.Name), `" BaseType="mscrm.crmbaseentity">`, "\n")
		w(`<Key><PropertyRef Name="`, esc(t.PrimaryID()), `"/></Key>`, "\n")
		for i := range t.Columns {
			c := &t.Columns[i]
			name := c.Name
			if c.Type.IsLookup() {
				name = "_" + c.Name + "_value"
			}
			w(`<Property Name="`, esc(name), `" Type="`, EdmType(c), `"`)
			if c.Type == records.String || c.Type == records.Memo {
				w(` Unicode="false"`)
			}
			w(`/>`, "\n")
		}
		for _, nv := range t.Navs(tables) {
			other := "mscrm." + nv.Other
			if nv.Collection {
				w(`<NavigationProperty Name="`, esc(nv.Name), `" Type="Collection(`, esc(other), `)" Partner="`, esc(nv.Column.NavName(t.Name)), `"/>`, "\n")
				continue
			}
			w(`<NavigationProperty Name="`, esc(nv.Name), `" Type="`, esc(other), `" Nullable="false" Partner="`, esc(nv.Column.RelName(nv.Other)), `">`)
			ref := nv.Other + "id"
			if o, ok := tables[nv.Other]; ok {
				ref = o.PrimaryID()
			}
			w(`<ReferentialConstraint Property="_`, esc(nv.Column.Name), `_value" ReferencedProperty="`, esc(ref), `"/></NavigationProperty>`, "\n")
		}
		for _, m := range manyToMany(tables, t.Name) {
			w(`<NavigationProperty Name="`, esc(m.nav), `" Type="Collection(mscrm.`, esc(m.other), `)" Partner="`, esc(m.partner), `"/>`, "\n")
		}
		w(`</EntityType>`, "\n")
	}
	sorted := append([]Operation(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Name != sorted[j].Name {
			return sorted[i].Name < sorted[j].Name
		}
		return sorted[i].Bound < sorted[j].Bound
	})
	seenType := map[string]bool{}
	complexType := func(name string, props []Param) {
		if seenType[name] {
			return
		}
		seenType[name] = true
		w(`<ComplexType Name="`, esc(name), `">`, "\n")
		for _, p := range props {
			w(`<Property Name="`, esc(p.Name), `" Type="`, esc(p.Type), `"/>`, "\n")
		}
		w(`</ComplexType>`, "\n")
	}
	for _, op := range sorted {
		for _, ct := range op.Types {
			complexType(ct.Name, ct.Props)
		}
		if op.Response != "" && !op.Entity {
			complexType(op.Response, op.Returns)
		}
	}
	for _, op := range sorted {
		kind := "Action"
		if op.Function {
			kind = "Function"
		}
		bound := op.Bound != ""
		w(`<`, kind, ` Name="`, esc(op.Name), `"`)
		if bound {
			w(` IsBound="true"`)
		}
		w(`>`, "\n")
		switch {
		case op.Bound == "":
		case op.Bound == "*":
			w(`<Parameter Name="entity" Type="mscrm.crmbaseentity" Nullable="false"/>`, "\n")
		case op.Bound == "[]":
			w(`<Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>`, "\n")
		case strings.HasSuffix(op.Bound, "[]"):
			w(`<Parameter Name="entityset" Type="Collection(mscrm.`, esc(strings.TrimSuffix(op.Bound, "[]")), `)" Nullable="false"/>`, "\n")
		default:
			w(`<Parameter Name="entity" Type="mscrm.`, esc(op.Bound), `" Nullable="false"/>`, "\n")
		}
		for _, p := range op.Params {
			w(`<Parameter Name="`, esc(p.Name), `" Type="`, esc(p.Type), `"/>`, "\n")
		}
		switch {
		case strings.HasPrefix(op.Response, "Collection("):
			w(`<ReturnType Type="`, esc(op.Response), `" Nullable="false"/>`, "\n")
		case op.Response != "":
			w(`<ReturnType Type="mscrm.`, esc(op.Response), `" Nullable="false"/>`, "\n")
		}
		w(`</`, kind, `>`, "\n")
	}
	w(`<EntityContainer Name="System">`, "\n")
	for _, n := range names {
		t := tables[n]
		w(`<EntitySet Name="`, esc(t.SetName), `" EntityType="Microsoft.Dynamics.CRM.`, esc(t.Name), `">`, "\n")
		for _, nv := range t.Navs(tables) {
			if o, ok := tables[nv.Other]; ok {
				w(`<NavigationPropertyBinding Path="`, esc(nv.Name), `" Target="`, esc(o.SetName), `"/>`, "\n")
			}
		}
		for _, m := range manyToMany(tables, t.Name) {
			if o, ok := tables[m.other]; ok {
				w(`<NavigationPropertyBinding Path="`, esc(m.nav), `" Target="`, esc(o.SetName), `"/>`, "\n")
			}
		}
		w(`</EntitySet>`, "\n")
	}
	seenImport := map[string]bool{}
	for _, op := range sorted {
		if op.Bound != "" || seenImport[op.Name] {
			continue
		}
		seenImport[op.Name] = true
		if op.Function {
			w(`<FunctionImport Name="`, esc(op.Name), `" Function="Microsoft.Dynamics.CRM.`, esc(op.Name), `"/>`, "\n")
		} else {
			w(`<ActionImport Name="`, esc(op.Name), `" Action="Microsoft.Dynamics.CRM.`, esc(op.Name), `"/>`, "\n")
		}
	}
	w(`</EntityContainer>`, "\n")
	w(`</Schema>`, "\n", `</edmx:DataServices>`, "\n", `</edmx:Edmx>`, "\n")
	return b.String()
}

// manySide is one table's navigation property of a many-to-many
// relationship.
type manySide struct{ nav, other, partner string }

// manyToMany lists table's many-to-many navigation properties, from the
// intersect tables.
func manyToMany(tables map[string]*records.Table, table string) []manySide {
	names := make([]string, 0, len(tables))
	for n, t := range tables {
		if t.Intersect != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []manySide
	for _, n := range names {
		in := tables[n].Intersect
		if in.Entity1 == table {
			out = append(out, manySide{in.Nav1, in.Entity2, in.Nav2})
		}
		if in.Entity2 == table && (in.Entity1 != table || in.Nav2 != in.Nav1) {
			out = append(out, manySide{in.Nav2, in.Entity1, in.Nav1})
		}
	}
	return out
}
