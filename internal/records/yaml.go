package records

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML reads an option as {value, label[, state]} or as the short
// [value, label] ([value, label, state] for a status).
func (o *Option) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) < 2 || len(n.Content) > 3 {
			return fmt.Errorf("line %d: an option is [value, label] or [value, label, state]", n.Line)
		}
		if err := n.Content[0].Decode(&o.Value); err != nil {
			return err
		}
		if err := n.Content[1].Decode(&o.Label); err != nil {
			return err
		}
		if len(n.Content) == 3 {
			var st int64
			if err := n.Content[2].Decode(&st); err != nil {
				return err
			}
			o.State = &st
		}
		return nil
	}
	type plain Option
	return n.Decode((*plain)(o))
}

// MarshalYAML writes an option in the short form, [value, label] or
// [value, label, state].
func (o Option) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	parts := []any{o.Value, o.Label}
	if o.State != nil {
		parts = append(parts, *o.State)
	}
	for _, p := range parts {
		var c yaml.Node
		if err := c.Encode(p); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &c)
	}
	return n, nil
}

// UnmarshalYAML reads a cascade configuration as a map of behaviours or as
// one of the words parental, referential and restrict.
func (c *Cascade) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "parental":
			*c = Parental
		case "referential":
			*c = Referential
		case "restrict":
			*c = RestrictDelete
		default:
			return fmt.Errorf("line %d: cascade %q must be parental, referential, restrict or a map of behaviours", n.Line, n.Value)
		}
		return nil
	}
	type plain Cascade
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Cascade(p)
	return nil
}
