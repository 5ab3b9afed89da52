package records

import (
	"fmt"
	"reflect"

	"junction/internal/project"
)

// ProjectTables reads tables/*.yaml (one table per file) and checks each
// definition, so that `junction validate` reports problems by file. A file
// with `extends: <standard table>` adds its columns and keys to that table
// (see Extension); it comes back with Extends set, for Init to merge.
func ProjectTables(p *project.Project) ([]Table, []project.Problem) {
	var out []Table
	var problems []project.Problem
	files := append(p.Glob("tables/*.yaml"), p.Glob("tables/*.yml")...)
	names := map[string]bool{}
	builtin := map[string]Table{}
	for _, b := range Builtin() {
		names[b.Name] = true
		builtin[b.Name] = b
	}
	var defs []Table
	var from []string
	var exts []Table
	var extFrom []string
	extended := map[string]bool{}
	for _, f := range files {
		var t Table
		if pr := p.DecodeYAML(f, &t); pr != nil {
			problems = append(problems, pr...)
			continue
		}
		if t.Extends != "" {
			if err := checkExtension(&t, builtin); err != nil {
				problems = append(problems, project.Problem{File: f, Message: err.Error()})
				continue
			}
			if extended[t.Extends] {
				problems = append(problems, project.Problem{File: f, Message: "table " + t.Extends + " is already extended in another file"})
				continue
			}
			extended[t.Extends] = true
			exts = append(exts, t)
			extFrom = append(extFrom, f)
			continue
		}
		if names[t.Name] {
			problems = append(problems, project.Problem{File: f, Message: "table " + t.Name + " is already defined (built in or in another file)"})
			continue
		}
		names[t.Name] = true
		defs = append(defs, t)
		from = append(from, f)
	}
	known := func(n string) bool { return names[n] }
	all := map[string]*Table{}
	var ready []int
	for i, t := range defs {
		if err := t.Prepare(known); err != nil {
			problems = append(problems, project.Problem{File: from[i], Message: err.Error()})
			continue
		}
		// Prepare added the system columns; the stored form is rebuilt by Init.
		out = append(out, defs[i])
		all[t.Name] = &t
		ready = append(ready, i)
	}
	for i, x := range exts {
		b := Extension(builtin[x.Extends].clone(), x)
		if err := b.Prepare(known); err != nil {
			problems = append(problems, project.Problem{File: extFrom[i], Message: err.Error()})
			continue
		}
		all[b.Name] = &b
		out = append(out, x)
	}
	if len(ready) == 0 {
		return out, problems
	}
	// Attribute maps and rollups name other tables: check them against
	// the standard tables and the project's.
	for _, b := range Builtin() {
		if _, ok := all[b.Name]; ok {
			continue // extended above
		}
		if err := b.Prepare(known); err == nil {
			all[b.Name] = &b
		}
	}
	for _, i := range ready {
		if err := all[defs[i].Name].checkRelated(all); err != nil {
			problems = append(problems, project.Problem{File: from[i], Message: err.Error()})
		}
	}
	return out, problems
}

// checkExtension checks that x, a file with extends, names a standard
// table and holds only columns and keys.
func checkExtension(x *Table, builtin map[string]Table) error {
	if _, ok := builtin[x.Extends]; !ok {
		return fmt.Errorf("extends: %q is not a standard table (a custom table is defined in full, without extends)", x.Extends)
	}
	if x.Name != "" && x.Name != x.Extends {
		return fmt.Errorf("name %q and extends %q name different tables", x.Name, x.Extends)
	}
	rest := *x
	rest.Name, rest.Extends, rest.Columns, rest.Keys = "", "", nil, nil
	if !reflect.DeepEqual(rest, Table{}) {
		return fmt.Errorf("a file that extends %s may give only columns and keys", x.Extends)
	}
	x.Name = x.Extends
	for _, c := range x.Columns {
		if _, ok := findColumn(builtin[x.Extends].Columns, c.Name); ok {
			return fmt.Errorf("column %s is a standard column of %s", c.Name, x.Extends)
		}
	}
	return nil
}

// Extension is base (a standard table) with the columns and keys of x, a
// project file that extends it; its columns are custom columns, as if added
// at runtime.
func Extension(base Table, x Table) Table {
	for _, c := range x.Columns {
		c.Custom = true
		base.Columns = append(base.Columns, c)
	}
	base.Keys = append(base.Keys, x.Keys...)
	return base
}

// Validator checks the project's table files.
type Validator struct{}

// ValidateProject implements project.Validator.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	_, problems := ProjectTables(p)
	return problems
}

var _ project.Validator = Validator{}
