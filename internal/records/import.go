package records

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"junction/internal/store"
)

// ImportResult says what ImportSchema did.
type ImportResult struct {
	// Created are the tables the import created.
	Created []string
	// Added are the columns (table.column) and keys (table:key) it added to
	// tables that existed.
	Added []string
	// Kept counts the columns that existed as the import defines them.
	Kept int
	// Skipped says what the import left out, one sentence each.
	Skipped []string
}

// ImportSchema applies a set of table definitions together, as a solution
// import does: a table that does not exist is created; a table that exists
// keeps its definition and gains the columns and keys it lacks, while a
// column it has must be of the imported type. Lookups to tables that exist
// neither here nor in defs are left out (and listed). Everything happens in
// one transaction with then, which writes the rows that record the import:
// on any error nothing changes.
func (s *Service) ImportSchema(ctx context.Context, defs []Table, then func(ctx context.Context, tx store.Tx) error) (*ImportResult, error) {
	res := &ImportResult{}
	err := s.changeSchema(ctx, func(tx store.Tx, stored map[string]*Table) error {
		*res = ImportResult{}
		seen, importing := map[string]bool{}, map[string]bool{}
		for _, d := range defs {
			if seen[d.Name] {
				return Invalid("The table %s is defined twice.", d.Name)
			}
			seen[d.Name] = true
			// A table the solution only names (for its forms) is no target
			// unless it exists.
			importing[d.Name] = len(d.Columns) > 0
		}
		known := func(n string) bool { _, ok := stored[n]; return ok || importing[n] }
		sets := map[string]string{}
		for _, t := range stored {
			sets[t.SetName] = t.Name
		}
		var created []*Table
		for i := range defs {
			d := defs[i]
			old := stored[d.Name]
			cols, kept, skipped := KnownTargets(&d, old, known)
			d.Columns, res.Kept, res.Skipped = cols, res.Kept+kept, append(res.Skipped, skipped...)
			if old == nil && len(d.Columns) == 0 {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s: the solution names the table without defining it, and Junction has no such table", d.Name))
				continue
			}
			if old == nil {
				t, err := importNew(d, known, sets)
				if err != nil {
					return err
				}
				if err := s.apply(ctx, tx, nil, t); err != nil {
					return err
				}
				stored[t.Name] = t
				created = append(created, t)
				res.Created = append(res.Created, t.Name)
				continue
			}
			nt, err := res.merge(old, &d, known)
			if err != nil {
				return err
			}
			if nt == nil {
				continue
			}
			if err := s.apply(ctx, tx, old, nt); err != nil {
				return err
			}
			stored[nt.Name] = nt
		}
		if err := syncPrivileges(ctx, tx, created, s.now()); err != nil {
			return err
		}
		if err := syncMessages(ctx, tx, created, s.now()); err != nil {
			return err
		}
		if then != nil {
			return then(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// KnownTargets are t's columns without the lookup targets that exist
// nowhere (Junction does not have every standard table), and without a
// lookup left with none (or given none: a standard lookup whose
// relationship the solution does not carry stands as old, the table as it
// exists, has it). kept counts those; skipped says what was left out.
func KnownTargets(t, old *Table, known func(string) bool) (cols []Column, kept int, skipped []string) {
	for _, c := range t.Columns {
		if !c.Type.IsLookup() {
			cols = append(cols, c)
			continue
		}
		var targets []string
		var links []Link
		for i, tg := range c.Targets {
			if tg == t.Name || known(tg) {
				targets = append(targets, tg)
				if i < len(c.Links) {
					links = append(links, c.Links[i])
				}
				continue
			}
			skipped = append(skipped, fmt.Sprintf("%s.%s: Junction has no table %s; the lookup leaves it out", t.Name, c.Name, tg))
		}
		if len(targets) == 0 {
			if old != nil {
				if _, ok := old.Column(c.Name); ok {
					kept++
					continue
				}
			}
			if len(c.Targets) == 0 {
				skipped = append(skipped, fmt.Sprintf("%s.%s: no relationship of the solution gives the lookup a target", t.Name, c.Name))
			}
			continue
		}
		if len(c.Links) > 0 && len(links) != len(targets) {
			links = nil
		}
		c.Targets, c.Links = targets, links
		cols = append(cols, c)
	}
	return cols, kept, skipped
}

// importNew prepares a table the import creates.
func importNew(d Table, known func(string) bool, sets map[string]string) (*Table, error) {
	d.Custom = true
	for i := range d.Columns {
		if err := checkNewColumn(&d.Columns[i]); err != nil {
			return nil, err
		}
	}
	if err := d.Prepare(known); err != nil {
		return nil, Invalid("%v", err)
	}
	if o, ok := sets[d.SetName]; ok {
		return nil, Errorf(http.StatusConflict, CodeDuplicateKey, "The entity set name %s of %s is already used by %s.", d.SetName, d.Name, o)
	}
	sets[d.SetName] = d.Name
	return &d, nil
}

// merge is old with the columns and keys of d it lacks, or nil when it
// lacks none.
func (r *ImportResult) merge(old, d *Table, known func(string) bool) (*Table, error) {
	nt := *old
	nt.Columns = append([]Column(nil), old.Columns...)
	nt.Keys = append([]Key(nil), old.Keys...)
	changed := false
	for _, c := range d.Columns {
		if oc, ok := old.Column(c.Name); ok {
			if !sameKind(oc.Type, c.Type) {
				return nil, Errorf(http.StatusConflict, CodeInvalidMessage,
					"The attribute %s of %s is a %s; the solution defines it as a %s. Nothing was imported.", c.Name, old.Name, oc.Type, c.Type)
			}
			r.Kept++
			continue
		}
		if isSystemName(old, c.Name) {
			continue
		}
		c.Custom = !old.Custom
		if c.Required == RequiredSystem {
			c.Required = RequiredApp // a column added to a table with rows cannot be system-required
		}
		if err := checkNewColumn(&c); err != nil {
			return nil, err
		}
		nt.Columns = append(nt.Columns, c)
		r.Added = append(r.Added, old.Name+"."+c.Name)
		changed = true
	}
	for _, k := range d.Keys {
		if hasKey(old, k.Name) || hasKeyOn(old, k.Columns) {
			continue
		}
		nt.Keys = append(nt.Keys, k)
		r.Added = append(r.Added, old.Name+":"+k.Name)
		changed = true
	}
	if !changed {
		return nil, nil
	}
	if err := nt.Prepare(known); err != nil {
		return nil, Invalid("%v", err)
	}
	return &nt, nil
}

// sameKind reports whether a column of type have can stand for one of type
// want: the same type, or types Junction stores alike (text and
// auto-number, the choice types, the lookup types).
func sameKind(have, want Type) bool {
	switch {
	case have == want:
		return true
	case have.IsText() && want.IsText() && (have == Memo) == (want == Memo):
		return true
	case have.IsLookup() && want.IsLookup(), have.IsChoice() && want.IsChoice():
		return true
	}
	return false
}

// hasKeyOn reports whether t has a key on exactly these columns.
func hasKeyOn(t *Table, cols []string) bool {
	want := append([]string(nil), cols...)
	sort.Strings(want)
	for _, k := range t.Keys {
		have := append([]string(nil), k.Columns...)
		sort.Strings(have)
		if strings.Join(have, ",") == strings.Join(want, ",") {
			return true
		}
	}
	return false
}
