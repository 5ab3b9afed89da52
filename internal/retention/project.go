package retention

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"junction/internal/project"
	"junction/internal/suggest"
)

// fromProject reads the retention: section of junction.yaml. Every problem
// names the key and its line.
func fromProject(p *project.Project) (Settings, []project.Problem) {
	var s Settings
	if p == nil {
		return s, nil
	}
	n := p.Manifest.Retention
	if n.Kind == 0 {
		return s, nil
	}
	problem := func(at *yaml.Node, format string, args ...any) project.Problem {
		return project.Problem{File: project.ManifestFile, Line: at.Line, Column: at.Column, Message: fmt.Sprintf(format, args...)}
	}
	if n.Kind != yaml.MappingNode {
		return s, []project.Problem{problem(&n, "retention: give a mapping of settings, such as workflowRuns: 90d")}
	}
	keys := []string{"interval", "batch"}
	for _, f := range fields {
		keys = append(keys, f.Key)
	}
	var problems []project.Problem
	var maxAt *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			problems = append(problems, problem(v, "retention.%s: give one value", k.Value))
			continue
		}
		switch k.Value {
		case "interval":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d < time.Second {
				problems = append(problems, problem(v, "retention.interval: %q is not a duration of at least 1s, such as 1h", v.Value))
			}
			s.Interval = d
			continue
		case "batch":
			b, err := strconv.Atoi(v.Value)
			if err != nil || b <= 0 || b > maxBatch {
				problems = append(problems, problem(v, "retention.batch: %q is not a number between 1 and %d", v.Value, maxBatch))
			}
			s.Batch = b
			continue
		}
		f, ok := fieldByKey(k.Value)
		if !ok {
			msg := fmt.Sprintf("retention.%s: no such setting", k.Value)
			if m := suggest.Closest(k.Value, keys); m != "" {
				msg += "; did you mean " + m + "?"
			}
			problems = append(problems, problem(k, "%s", msg))
			continue
		}
		per, err := ParsePeriod(v.Value)
		if err != nil {
			problems = append(problems, problem(v, "retention.%s: %v", k.Value, err))
			continue
		}
		*f.period(&s) = per
		if f.Key == "changesMax" {
			maxAt = v
		}
	}
	if maxAt != nil && s.Changes != 0 {
		if err := s.checkChanges(); err != nil {
			problems = append(problems, problem(maxAt, "retention.changesMax: %s is shorter than changes (%s): the hard maximum must be at least the retention", s.ChangesMax, s.Changes))
		}
	}
	if len(problems) > 0 {
		return Settings{}, problems
	}
	return s, nil
}

func fieldByKey(key string) (field, bool) {
	for _, f := range fields {
		if f.Key == key {
			return f, true
		}
	}
	return field{}, false
}

// Validator checks the retention: section of junction.yaml, for `junction
// validate`.
type Validator struct{}

// ValidateProject reports the section's problems.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	_, problems := fromProject(p)
	return problems
}
