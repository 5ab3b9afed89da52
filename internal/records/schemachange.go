package records

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"junction/internal/store"
)

// IsCustomColumn reports whether c of t was defined by a customizer (a
// custom table's column, or one added to a standard table) rather than by
// Junction or the standard description; only those can be changed or
// deleted.
func IsCustomColumn(t *Table, c *Column) bool {
	return !c.System && (t.Custom || c.Custom)
}

// checkNewColumn holds a column a customizer defines to Dataverse's limits
// (NewColumnLimits), which the standard tables exceed in places.
func checkNewColumn(c *Column) error {
	if max := NewColumnLimits[c.Type]; max > 0 && c.MaxLength > max {
		return Invalid("The MaxLength of the %s attribute %s must be 1..%d.", c.Type, c.Name, max)
	}
	return nil
}

// changeSchema runs fn on the stored definitions under the schema lock, in
// one transaction, and reloads the metadata after it commits.
func (s *Service) changeSchema(ctx context.Context, fn func(tx store.Tx, stored map[string]*Table) error) error {
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		if err := lockSchema(ctx, tx); err != nil {
			return err
		}
		stored, err := loadDefs(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(tx, stored); err != nil {
			return err
		}
		tx.Notify(SchemaChannel)
		return nil
	})
	if err != nil {
		return err
	}
	return s.Reload(ctx)
}

func noTable(name string) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, "Could not find an entity with the logical name %s.", name)
}

func noColumn(table, name string) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, "Could not find an attribute with the logical name %s on %s.", name, table)
}

// UpdateColumn replaces the definition of a custom column (PUT
// EntityDefinitions(...)/Attributes(...)): its display name, required level,
// length, range, precision, choices or lookup cascade. The type cannot
// change, a length cannot fall below the longest value a row holds, and a
// choice value rows hold cannot be removed.
func (s *Service) UpdateColumn(ctx context.Context, table string, c Column) (*Table, error) {
	err := s.changeSchema(ctx, func(tx store.Tx, stored map[string]*Table) error {
		old, ok := stored[table]
		if !ok {
			return noTable(table)
		}
		oc, ok := old.Column(c.Name)
		if !ok {
			return noColumn(table, c.Name)
		}
		if !IsCustomColumn(old, oc) {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The attribute %s of %s is not customizable: only custom attributes can be changed.", c.Name, table)
		}
		if c.Type != oc.Type {
			return Invalid("The attribute %s of %s is a %s; its type cannot change to %s.", c.Name, table, oc.Type, c.Type)
		}
		if c.Type.IsLookup() && (len(c.Targets) == 0 || strings.Join(c.Targets, ",") == strings.Join(oc.Targets, ",")) {
			c.Targets = oc.Targets
			if c.Relationship == "" && len(c.Links) == 0 {
				c.Relationship, c.Links = oc.Relationship, oc.Links
			}
		} else if c.Type.IsLookup() {
			return Invalid("The targets of the lookup %s of %s cannot change.", c.Name, table)
		}
		if err := checkNewColumn(&c); err != nil {
			return err
		}
		c.Custom = oc.Custom
		nt := *old
		nt.Columns = append([]Column(nil), old.Columns...)
		for i := range nt.Columns {
			if nt.Columns[i].Name == c.Name {
				nt.Columns[i] = c
			}
		}
		if err := nt.Prepare(func(n string) bool { _, ok := stored[n]; return ok }); err != nil {
			return Invalid("%v", err)
		}
		nc, _ := nt.Column(c.Name)
		if err := checkExisting(ctx, tx, &nt, nc); err != nil {
			return err
		}
		return s.apply(ctx, tx, old, &nt)
	})
	if err != nil {
		return nil, err
	}
	nt, _ := s.Table(table)
	return nt, nil
}

// checkExisting refuses a column definition the rows already break: text
// longer than the length, numbers out of range, choice values no longer
// offered.
func checkExisting(ctx context.Context, tx store.Tx, t *Table, c *Column) error {
	col, tbl := Quote(c.Name), Quote(t.SQLName())
	var n int
	var q string
	var args []any
	switch {
	case c.Type.IsText():
		length := "LENGTH"
		if tx.Dialect() == store.Postgres {
			length = "CHAR_LENGTH"
		}
		q, args = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s(%s) > ?", tbl, length, col), []any{c.MaxLength}
	case c.Type.IsChoice() && len(c.Options) > 0:
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(c.Options)), ", ")
		q = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s IS NOT NULL AND %s NOT IN (%s)", tbl, col, col, marks)
		for _, o := range c.Options {
			args = append(args, o.Value)
		}
	case c.Min != nil || c.Max != nil:
		lo, hi := -1e308, 1e308
		if c.Min != nil {
			lo = *c.Min
		}
		if c.Max != nil {
			hi = *c.Max
		}
		q, args = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s < ? OR %s > ?", tbl, col, col), []any{lo, hi}
	default:
		return nil
	}
	if err := tx.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return Invalid("%d row(s) of %s hold values of %s the new definition does not allow.", n, t.Name, c.Name)
	}
	return nil
}

// DeleteColumn removes a custom column and its values (DELETE
// EntityDefinitions(...)/Attributes(...)). A column an alternate key uses
// cannot be deleted before the key.
func (s *Service) DeleteColumn(ctx context.Context, table, name string) error {
	return s.changeSchema(ctx, func(tx store.Tx, stored map[string]*Table) error {
		old, ok := stored[table]
		if !ok {
			return noTable(table)
		}
		oc, ok := old.Column(name)
		if !ok {
			return noColumn(table, name)
		}
		if !IsCustomColumn(old, oc) || name == old.PrimaryName {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The attribute %s of %s cannot be deleted: only custom attributes other than the primary name can.", name, table)
		}
		for _, k := range old.Keys {
			if contains(k.Columns, name) {
				return Errorf(http.StatusBadRequest, CodeNotSupported, "The attribute %s of %s is part of the key %s; delete the key first.", name, table, k.Name)
			}
		}
		if in := old.Intersect; in != nil && (in.Attribute1 == name || in.Attribute2 == name) {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The attribute %s of %s belongs to the relationship %s; delete the relationship instead.", name, table, in.Name)
		}
		var ddl []string
		if oc.Type.IsLookup() {
			ddl = append(ddl, "DROP INDEX IF EXISTS "+Quote(old.SQLName()+"_"+lookupIndex(oc)), "DROP INDEX IF EXISTS "+Quote(old.SQLName()+"_"+name))
		}
		ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", Quote(old.SQLName()), Quote(name)))
		if oc.Polymorphic() {
			ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", Quote(old.SQLName()), Quote(TypeColumn(oc))))
		}
		for _, q := range ddl {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("delete column %s.%s: %w", table, name, err)
			}
		}
		nt := *old
		nt.Columns = nil
		for _, c := range old.Columns {
			if c.Name != name {
				nt.Columns = append(nt.Columns, c)
			}
		}
		if err := nt.Prepare(func(n string) bool { _, ok := stored[n]; return ok }); err != nil {
			return Invalid("%v", err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM records_autonumbers WHERE table_name = ? AND column_name = ?", table, name); err != nil {
			return err
		}
		return s.store(ctx, tx, &nt)
	})
}

// DeleteTable removes a custom table, its rows, its privileges and its
// many-to-many relationships (DELETE EntityDefinitions(...)). A table other
// tables' lookups reference cannot be deleted before those relationships.
func (s *Service) DeleteTable(ctx context.Context, name string) error {
	return s.changeSchema(ctx, func(tx store.Tx, stored map[string]*Table) error {
		t, ok := stored[name]
		if !ok {
			return noTable(name)
		}
		if !t.Custom {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The entity %s is not a custom entity and cannot be deleted.", name)
		}
		// Its own many-to-many relationships go with it.
		drop := []*Table{t}
		for _, o := range stored {
			if in := o.Intersect; in != nil && o.Name != name && (in.Entity1 == name || in.Entity2 == name) {
				drop = append(drop, o)
			}
		}
		dropped := map[string]bool{}
		for _, d := range drop {
			dropped[d.Name] = true
		}
		for _, o := range stored {
			if dropped[o.Name] {
				continue
			}
			for i := range o.Columns {
				c := &o.Columns[i]
				if c.Type.IsLookup() && contains(c.Targets, name) {
					return Errorf(http.StatusBadRequest, CodeNotSupported, "The entity %s is referenced by %s.%s (%s); delete that relationship first.",
						name, o.Name, c.Name, c.RelName(name))
				}
			}
		}
		for _, d := range drop {
			if err := dropTable(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropTable removes table t's SQL table, definition, counters,
// privileges and sdk message filters.
func dropTable(ctx context.Context, tx store.Tx, t *Table) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{"DROP TABLE " + Quote(t.SQLName()), nil},
		{"DELETE FROM records_tables WHERE name = ?", []any{t.Name}},
		{"DELETE FROM records_autonumbers WHERE table_name = ?", []any{t.Name}},
	}
	for _, p := range tablePrivileges(t) {
		pid := PrivilegeID(p.name)
		stmts = append(stmts, struct {
			q    string
			args []any
		}{`DELETE FROM "rec_roleprivileges" WHERE privilegeid = ?`, []any{pid}}, struct {
			q    string
			args []any
		}{`DELETE FROM "rec_privilege" WHERE privilegeid = ?`, []any{pid}})
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("delete table %s: %w", t.Name, err)
		}
	}
	return dropMessageFilters(ctx, tx, t.Name)
}

// OneToMany is a one-to-many relationship: a lookup of Referencing to
// Referenced.
type OneToMany struct {
	Referenced  *Table
	Referencing *Table
	Column      *Column
	Link        Link
}

// Custom reports whether a customizer made the relationship.
func (r OneToMany) Custom() bool { return IsCustomColumn(r.Referencing, r.Column) }

// Relationships lists every one-to-many relationship and the intersect
// tables of the many-to-many ones, by schema name.
func (s *Service) Relationships() ([]OneToMany, []*Table) {
	var ones []OneToMany
	var many []*Table
	all := s.All()
	for _, t := range s.Tables() {
		if t.Intersect != nil {
			many = append(many, t)
		}
		for i := range t.Columns {
			c := &t.Columns[i]
			if !c.Type.IsLookup() {
				continue
			}
			for _, l := range c.Links {
				if ref, ok := all[l.Target]; ok {
					ones = append(ones, OneToMany{Referenced: ref, Referencing: t, Column: c, Link: l})
				}
			}
		}
	}
	sort.Slice(ones, func(i, j int) bool { return ones[i].Link.Name < ones[j].Link.Name })
	sort.Slice(many, func(i, j int) bool { return many[i].Intersect.Name < many[j].Intersect.Name })
	return ones, many
}

// DefineManyToMany creates a many-to-many relationship between entity1 and
// entity2 (POST RelationshipDefinitions of a ManyToManyRelationshipMetadata)
// and its intersect table, whose rows are created by associating two rows.
func (s *Service) DefineManyToMany(ctx context.Context, in Intersect, intersect string) (*Table, error) {
	if !ValidName(strings.ToLower(in.Name)) && !validSchemaName(in.Name) {
		return nil, Invalid("The relationship name %q must be letters, digits and underscores.", in.Name)
	}
	t := ManyToManyTable(in, intersect)
	for _, tr := range s.Tables() {
		if tr.Intersect != nil && strings.EqualFold(tr.Intersect.Name, in.Name) {
			return nil, Errorf(http.StatusConflict, CodeDuplicateKey, "A relationship named %s already exists.", in.Name)
		}
		if l := tr.relationshipNamed(in.Name); l != "" {
			return nil, Errorf(http.StatusConflict, CodeDuplicateKey, "A relationship named %s already exists.", in.Name)
		}
	}
	return s.DefineTable(ctx, t)
}

// ManyToManyTable is the intersect table of the many-to-many relationship
// in, named intersect (the relationship's name in lower case when empty):
// a lookup to each table, parental, and a key on the pair.
func ManyToManyTable(in Intersect, intersect string) Table {
	if intersect == "" {
		intersect = strings.ToLower(in.Name)
	}
	a1, a2 := in.Entity1+"id", in.Entity2+"id"
	if in.Entity1 == in.Entity2 {
		a1, a2 = in.Entity1+"idone", in.Entity2+"idtwo"
	}
	in.Attribute1, in.Attribute2 = a1, a2
	return Table{Name: intersect, DisplayName: in.Name, PrimaryName: "name", Ownership: NoOwnership, Intersect: &in,
		Columns: []Column{
			{Name: "name", Type: String, MaxLength: 200},
			{Name: a1, Type: Lookup, Targets: []string{in.Entity1}, Relationship: in.Name + "_" + in.Entity1, Required: RequiredSystem, Cascade: &Parental},
			{Name: a2, Type: Lookup, Targets: []string{in.Entity2}, Relationship: in.Name + "_" + in.Entity2, Required: RequiredSystem, Cascade: &Parental},
		},
		Keys: []Key{{Name: intersect + "_pair", Columns: []string{a1, a2}}}}
}

func validSchemaName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// relationshipNamed returns name when one of t's lookups has a
// relationship of that name.
func (t *Table) relationshipNamed(name string) string {
	for i := range t.Columns {
		for _, l := range t.Columns[i].Links {
			if strings.EqualFold(l.Name, name) {
				return l.Name
			}
		}
	}
	return ""
}

// DeleteRelationship removes a custom relationship by schema name (DELETE
// RelationshipDefinitions(SchemaName='x')): a many-to-many relationship
// with its intersect table, a one-to-many one with its lookup column.
func (s *Service) DeleteRelationship(ctx context.Context, name string) error {
	for _, t := range s.Tables() {
		if in := t.Intersect; in != nil && strings.EqualFold(in.Name, name) {
			if !t.Custom {
				return Errorf(http.StatusBadRequest, CodeNotSupported, "The relationship %s is not custom and cannot be deleted.", name)
			}
			return s.changeSchema(ctx, func(tx store.Tx, stored map[string]*Table) error {
				if d, ok := stored[t.Name]; ok {
					return dropTable(ctx, tx, d)
				}
				return nil
			})
		}
	}
	ones, _ := s.Relationships()
	for _, r := range ones {
		if !strings.EqualFold(r.Link.Name, name) {
			continue
		}
		if !r.Custom() {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The relationship %s is not custom and cannot be deleted.", name)
		}
		if len(r.Column.Targets) > 1 {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The relationship %s is one target of the lookup %s.%s; delete the lookup instead.", name, r.Referencing.Name, r.Column.Name)
		}
		return s.DeleteColumn(ctx, r.Referencing.Name, r.Column.Name)
	}
	return Errorf(http.StatusNotFound, CodeNotFound, "Could not find a relationship with the schema name %s.", name)
}
