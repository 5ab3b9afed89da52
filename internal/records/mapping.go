package records

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// AttributeMap is Dataverse's entity map: the columns of a row of table From
// copied into a new row of this table created in its context (the
// InitializeFrom message), as "Customize table and column mappings"
// describes. Maps are declared on the target table.
type AttributeMap struct {
	From string `yaml:"from" json:"from"`
	// Source names the documentation the map comes from.
	Source  string      `yaml:"source,omitempty" json:"source,omitempty"`
	Columns []ColumnMap `yaml:"columns" json:"columns"`
}

// ColumnMap maps the source table's column Source to this table's column
// Target. In YAML it is a name (the same on both sides) or [source, target].
type ColumnMap struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// UnmarshalYAML reads "name" or [source, target].
func (m *ColumnMap) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		m.Source, m.Target = n.Value, n.Value
		return nil
	case yaml.SequenceNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[1].Kind == yaml.ScalarNode {
			m.Source, m.Target = n.Content[0].Value, n.Content[1].Value
			return nil
		}
	}
	return fmt.Errorf("line %d: a column map is a column name or [source, target]", n.Line)
}

// checkMaps checks t's attribute maps against the tables they copy from:
// both columns exist, have the same type (and the same targets for a
// lookup), and the target column can be written.
func (t *Table) checkMaps(all map[string]*Table) error {
	for _, m := range t.AttributeMaps {
		where := fmt.Sprintf("table %s: attribute map from %s", t.Name, m.From)
		src, ok := all[m.From]
		if !ok {
			return fmt.Errorf("%s: no table %s", where, m.From)
		}
		for _, cm := range m.Columns {
			sc, ok := src.Column(cm.Source)
			if !ok {
				return fmt.Errorf("%s: %s has no column %s", where, m.From, cm.Source)
			}
			tc, ok := t.Column(cm.Target)
			if !ok {
				return fmt.Errorf("%s: no column %s", where, cm.Target)
			}
			if tc.System {
				return fmt.Errorf("%s: %s is read-only", where, cm.Target)
			}
			if sc.Type != tc.Type && !(sc.Type.IsText() && tc.Type.IsText()) {
				return fmt.Errorf("%s: %s (%s) cannot be mapped to %s (%s)", where, cm.Source, sc.Type, cm.Target, tc.Type)
			}
		}
	}
	return nil
}

// CheckRelated checks what the tables' definitions say about other tables:
// their attribute maps and rollups.
func CheckRelated(all map[string]*Table) error {
	for _, t := range all {
		if err := t.checkRelated(all); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) checkRelated(all map[string]*Table) error {
	if err := t.checkMaps(all); err != nil {
		return err
	}
	for i := range t.Columns {
		if c := &t.Columns[i]; c.Rollup != nil {
			if _, err := RollupSourceOf(all, t, c); err != nil {
				return err
			}
		}
	}
	return nil
}
