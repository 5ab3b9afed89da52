package records

import (
	"junction/internal/project"
)

// ProjectTables reads tables/*.yaml (one table per file) and checks each
// definition, so that `junction validate` reports problems by file.
func ProjectTables(p *project.Project) ([]Table, []project.Problem) {
	var out []Table
	var problems []project.Problem
	files := append(p.Glob("tables/*.yaml"), p.Glob("tables/*.yml")...)
	names := map[string]bool{}
	for _, b := range Builtin() {
		names[b.Name] = true
	}
	var defs []Table
	var from []string
	for _, f := range files {
		var t Table
		if pr := p.DecodeYAML(f, &t); pr != nil {
			problems = append(problems, *pr)
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
	if len(ready) == 0 {
		return out, problems
	}
	// Attribute maps and rollups name other tables: check them against
	// the standard tables and the project's.
	for _, b := range Builtin() {
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

// Validator checks the project's table files.
type Validator struct{}

// ValidateProject implements project.Validator.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	_, problems := ProjectTables(p)
	return problems
}

var _ project.Validator = Validator{}
