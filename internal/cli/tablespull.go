package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	dv "junction/internal/dataverse"
	"junction/internal/records"
)

// tablesPull is `junction tables pull`: it reads tables' definitions from an
// org's EntityDefinitions and writes them as project table files, one a
// table: a custom table in full, a standard table as the file that extends
// Junction's with the org's custom columns and keys, and each many-to-many
// relationship as its intersect table.
func tablesPull(ctx context.Context, args []string, stdio IO) int {
	fs := newFlags("tables pull", stdio)
	var o orgFlags
	o.register(fs)
	var list, out string
	fs.StringVar(&list, "tables", "", "the tables to pull, by logical name, comma-separated")
	fs.StringVar(&out, "out", "tables", "the folder to write the table files to (a project's tables/)")
	if code, ok := parse(fs, args, stdio.Env); !ok {
		return code
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Stderr, "usage: junction tables pull --org URL --tables a,b,c [--out DIR] (or --url and --api-key for a Junction server)")
		return exitUsage
	}
	_, c, err := o.resolve(stdio.Env)
	if err != nil {
		return failf(stdio, "tables pull: %v", err)
	}
	var defs []*dv.TableDefinition
	for _, n := range names {
		d, err := c.TableDefinition(ctx, n)
		if err != nil {
			return failf(stdio, "tables pull: %s: %v", n, err)
		}
		defs = append(defs, d)
	}
	files, warnings := pullTables(defs)
	for _, w := range warnings {
		fmt.Fprintf(stdio.Stderr, "warning: %s\n", w)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return failf(stdio, "tables pull: %v", err)
	}
	source := o.org
	if source == "" {
		source = o.url
	}
	for _, t := range files {
		data, err := yaml.Marshal(t)
		if err != nil {
			return failf(stdio, "tables pull: %s: %v", t.Name+t.Extends, err)
		}
		name := t.Name
		if name == "" {
			name = t.Extends
		}
		head := fmt.Sprintf("# %s as %s defines it (junction tables pull)\n", name, source)
		path := filepath.Join(out, name+".yaml")
		if err := os.WriteFile(path, append([]byte(head), data...), 0o644); err != nil {
			return failf(stdio, "tables pull: %v", err)
		}
		what := "table"
		if t.Extends != "" {
			what = "custom columns of the standard table"
		} else if t.Intersect != nil {
			what = "intersect table of " + t.Intersect.Name
		}
		fmt.Fprintf(stdio.Stdout, "wrote %s (%s, %d columns, %d keys)\n", path, what, len(t.Columns), len(t.Keys))
	}
	return exitOK
}

// pullTables turns the org's definitions into project table files, and
// says what it could not carry over.
func pullTables(defs []*dv.TableDefinition) ([]records.Table, []string) {
	standard := map[string]records.Table{}
	for _, b := range records.Builtin() {
		standard[b.Name] = b
	}
	pulled := map[string]bool{}
	for _, d := range defs {
		pulled[d.LogicalName] = true
	}
	available := func(n string) bool { _, ok := standard[n]; return ok || pulled[n] }
	var out []records.Table
	var warnings []string
	intersects := map[string]bool{}
	for _, d := range defs {
		if d.IsIntersect {
			warnings = append(warnings, fmt.Sprintf("%s is the intersect table of a many-to-many relationship: pull the tables it relates instead", d.LogicalName))
			continue
		}
		var p tablePull
		p.d, p.available = d, available
		if std, ok := standard[d.LogicalName]; ok {
			p.extension(std)
			if len(p.t.Columns) > 0 || len(p.t.Keys) > 0 {
				out = append(out, p.t)
			}
		} else {
			p.custom()
			out = append(out, p.t)
		}
		warnings = append(warnings, p.warnings...)
		var standardMissing []string
		for _, m := range d.ManyToMany {
			if intersects[m.IntersectEntityName] || available(m.IntersectEntityName) && !pulled[m.IntersectEntityName] {
				continue // written already, or one of Junction's standard relationships
			}
			if !m.IsCustomRelationship {
				standardMissing = append(standardMissing, m.SchemaName)
				continue
			}
			if !available(m.Entity1LogicalName) || !available(m.Entity2LogicalName) {
				warnings = append(warnings, fmt.Sprintf("%s: many-to-many relationship %s relates %s and %s; not pulled, as Junction does not have both (add them to --tables)",
					d.LogicalName, m.SchemaName, m.Entity1LogicalName, m.Entity2LogicalName))
				continue
			}
			intersects[m.IntersectEntityName] = true
			in := records.Intersect{Name: m.SchemaName, Entity1: m.Entity1LogicalName, Entity2: m.Entity2LogicalName}
			if m.Entity1NavigationPropertyName != m.SchemaName {
				in.Nav1 = m.Entity1NavigationPropertyName
			}
			if m.Entity2NavigationPropertyName != m.SchemaName {
				in.Nav2 = m.Entity2NavigationPropertyName
			}
			it := records.ManyToManyTable(in, m.IntersectEntityName)
			if a1, a2 := it.Intersect.Attribute1, it.Intersect.Attribute2; a1 != m.Entity1IntersectAttribute || a2 != m.Entity2IntersectAttribute {
				warnings = append(warnings, fmt.Sprintf("%s: many-to-many relationship %s: Junction names its intersect columns %s and %s, not %s and %s",
					d.LogicalName, m.SchemaName, a1, a2, m.Entity1IntersectAttribute, m.Entity2IntersectAttribute))
			}
			out = append(out, it)
		}
		if len(standardMissing) > 0 {
			sort.Strings(standardMissing)
			warnings = append(warnings, fmt.Sprintf("%s: %d standard many-to-many relationships of the org that Junction does not have are not pulled: %s",
				d.LogicalName, len(standardMissing), strings.Join(standardMissing, ", ")))
		}
	}
	return out, warnings
}

// tablePull converts one table's definition.
type tablePull struct {
	d         *dv.TableDefinition
	available func(string) bool
	t         records.Table
	warnings  []string
}

func (p *tablePull) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, p.d.LogicalName+": "+fmt.Sprintf(format, args...))
}

// custom writes a custom table in full.
func (p *tablePull) custom() {
	d := p.d
	p.t = records.Table{Name: d.LogicalName, SetName: d.EntitySetName, DisplayName: d.DisplayName, PrimaryName: d.PrimaryNameAttribute,
		Activity: d.IsActivity}
	if d.SchemaName != d.LogicalName {
		p.t.SchemaName = d.SchemaName
	}
	if d.DisplayCollectionName != d.DisplayName {
		p.t.DisplayCollectionName = d.DisplayCollectionName
	}
	if d.PrimaryIDAttribute != d.LogicalName+"id" {
		p.t.PrimaryIDName = d.PrimaryIDAttribute
	}
	switch d.OwnershipType {
	case records.UserOwned, records.OrganizationOwned, records.BusinessOwned, records.NoOwnership:
		p.t.Ownership = d.OwnershipType
	default:
		p.warnf("ownership %s is written as UserOwned", d.OwnershipType)
		p.t.Ownership = records.UserOwned
	}
	for _, a := range d.Attributes {
		if a.AttributeOf != "" || p.t.IsSystemColumn(a.LogicalName) && a.LogicalName != "statecode" && a.LogicalName != "statuscode" {
			continue // part of another column, or a column Junction keeps itself
		}
		if c, ok := p.column(a); ok {
			p.t.Columns = append(p.t.Columns, c)
		}
	}
	p.keys(nil)
	p.computed()
}

// extension writes a standard table's custom columns and keys, as the file
// that extends Junction's table.
func (p *tablePull) extension(std records.Table) {
	d := p.d
	p.t = records.Table{Extends: d.LogicalName}
	has := map[string]bool{}
	for _, c := range std.Columns {
		has[c.Name] = true
	}
	var missing []string
	for _, a := range d.Attributes {
		if a.AttributeOf != "" || has[a.LogicalName] || std.IsSystemColumn(a.LogicalName) {
			continue
		}
		if !a.IsCustomAttribute {
			missing = append(missing, a.LogicalName)
			continue
		}
		if c, ok := p.column(a); ok {
			p.t.Columns = append(p.t.Columns, c)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		p.warnf("%d standard columns of the org that Junction's %s does not have are not pulled: %s", len(missing), d.LogicalName, strings.Join(missing, ", "))
	}
	std.Columns = append(std.Columns, p.t.Columns...)
	p.keys(&std)
	p.computed()
}

// keys adds the org's alternate keys (those std has not), when their columns
// were pulled.
func (p *tablePull) keys(std *records.Table) {
	cols := map[string]bool{}
	for _, c := range p.t.Columns {
		cols[c.Name] = true
	}
	base := &p.t
	if std != nil {
		base = std
	}
	for _, k := range p.d.Keys {
		name := k.LogicalName
		if name == "" {
			name = strings.ToLower(k.SchemaName)
		}
		if std != nil && hasKey(std, name) {
			continue
		}
		ok := true
		for _, cn := range k.KeyAttributes {
			if _, in := findColumn(base, cn); !in && !cols[cn] && !base.IsSystemColumn(cn) {
				p.warnf("key %s is not pulled: its column %s is not", name, cn)
				ok = false
				break
			}
		}
		if ok {
			p.t.Keys = append(p.t.Keys, records.Key{Name: name, Columns: k.KeyAttributes})
		}
	}
}

func hasKey(t *records.Table, name string) bool {
	for _, k := range t.Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

func findColumn(t *records.Table, name string) (records.Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return records.Column{}, false
}

// computed marks the columns Dataverse computes as Junction computes them:
// the exchange rate and the base-currency value of each money column.
func (p *tablePull) computed() {
	_, cur := findColumn(&p.t, "transactioncurrencyid")
	for i := range p.t.Columns {
		c := &p.t.Columns[i]
		switch {
		case c.Name == "exchangerate" && c.Type == records.Decimal && cur:
			c.Computed = "exchangerate"
		case c.Type == records.Money && strings.HasSuffix(c.Name, "_base") && cur:
			if src, ok := findColumn(&p.t, strings.TrimSuffix(c.Name, "_base")); ok && src.Type == records.Money {
				c.Computed = "base"
			}
		}
		if c.Computed != "" {
			c.Min, c.Max = nil, nil
		}
	}
}

// columnTypes are the attribute types Junction models.
var columnTypes = map[string]records.Type{
	"String": records.String, "Memo": records.Memo, "Integer": records.Integer, "BigInt": records.BigInt,
	"Decimal": records.Decimal, "Double": records.Double, "Money": records.Money, "Boolean": records.Boolean,
	"DateTime": records.DateTime, "Picklist": records.Picklist, "State": records.State, "Status": records.Status,
	"Lookup": records.Lookup, "Customer": records.Customer, "Uniqueidentifier": records.UniqueIdentifier,
}

// column converts one attribute, or says why it cannot.
func (p *tablePull) column(a dv.AttributeDefinition) (records.Column, bool) {
	typ, ok := columnTypes[a.AttributeType]
	if !ok {
		kind := a.AttributeType
		if a.AttributeTypeName != "" && !strings.EqualFold(a.AttributeTypeName, a.AttributeType+"Type") {
			kind += " (" + a.AttributeTypeName + ")"
		}
		p.warnf("column %s is not pulled: Junction has no %s columns", a.LogicalName, kind)
		return records.Column{}, false
	}
	c := records.Column{Name: a.LogicalName, Type: typ, MaxLength: a.MaxLength, Min: a.MinValue, Max: a.MaxValue, Behavior: a.DateTimeBehavior,
		Default: a.DefaultFormValue}
	if a.DisplayName != a.LogicalName {
		c.DisplayName = a.DisplayName
	}
	if a.RequiredLevel != records.RequiredNone {
		c.Required = a.RequiredLevel
	}
	if a.Precision != nil && *a.Precision > 0 {
		c.Precision = *a.Precision
	}
	if c.Behavior == "UserLocal" {
		c.Behavior = ""
	}
	if typ == records.String && a.AutoNumberFormat != "" {
		c.Type, c.Format = records.AutoNumber, a.AutoNumberFormat
	}
	if !typ.IsText() && typ != records.AutoNumber {
		c.MaxLength = 0
	}
	if typ.IsChoice() || typ == records.Boolean {
		for _, o := range a.Options {
			c.Options = append(c.Options, records.Option{Value: o.Value, Label: o.Label, State: o.State})
		}
		if a.GlobalOptionSet != "" {
			p.warnf("column %s uses the global choice %s: its options are written as the column's own", a.LogicalName, a.GlobalOptionSet)
		}
		if typ.IsChoice() && len(c.Options) == 0 {
			p.warnf("column %s is not pulled: the org gave no options for it", a.LogicalName)
			return records.Column{}, false
		}
	}
	switch a.SourceType {
	case 1:
		p.warnf("column %s is calculated in the org; it is pulled as a plain column", a.LogicalName)
	case 2:
		p.warnf("column %s is a rollup in the org; it is pulled as a plain column", a.LogicalName)
	}
	if typ.IsLookup() {
		return p.lookup(a, c)
	}
	return c, true
}

// lookup gives a lookup its targets and, from the org's many-to-one
// relationships, each target's relationship name, navigation property and
// cascade configuration.
func (p *tablePull) lookup(a dv.AttributeDefinition, c records.Column) (records.Column, bool) {
	var missing []string
	for _, tg := range a.Targets {
		if !p.available(tg) {
			missing = append(missing, tg)
			continue
		}
		c.Targets = append(c.Targets, tg)
		for _, r := range p.d.ManyToOne {
			if r.ReferencingAttribute != a.LogicalName || r.ReferencedEntity != tg {
				continue
			}
			cc := r.CascadeConfiguration
			c.Links = append(c.Links, records.Link{Target: tg, Name: r.SchemaName, Nav: r.ReferencingEntityNavigationPropertyName,
				Cascade: records.Cascade{Assign: cc.Assign, Delete: cc.Delete, Merge: cc.Merge, Reparent: cc.Reparent, Share: cc.Share, Unshare: cc.Unshare}})
			c.Hierarchical = c.Hierarchical || r.IsHierarchical
			if r.ReferencedEntityNavigationPropertyName != "" && r.ReferencedEntityNavigationPropertyName != r.SchemaName {
				p.warnf("relationship %s: Junction names the navigation property on %s %s, not %s", r.SchemaName, tg, r.SchemaName, r.ReferencedEntityNavigationPropertyName)
			}
		}
	}
	if len(c.Targets) == 0 {
		p.warnf("lookup %s is not pulled: none of its targets (%s) is a table Junction has (add them to --tables)", a.LogicalName, strings.Join(a.Targets, ", "))
		return records.Column{}, false
	}
	if len(missing) > 0 {
		p.warnf("lookup %s: its targets %s are left out, as Junction does not have them (add them to --tables)", a.LogicalName, strings.Join(missing, ", "))
	}
	return c, true
}
