package records_test

import (
	"strings"
	"testing"

	"junction/internal/records"
)

// TestRollupAndMapDefinitions checks what a table description may say of
// rollup columns and attribute maps, and the companions a rollup gets.
func TestRollupAndMapDefinitions(t *testing.T) {
	t.Parallel()
	base := func(extra ...records.Column) records.Table {
		cols := []records.Column{{Name: "n", Type: records.String}, {Name: "d", Type: records.DateTime},
			{Name: "p", Type: records.Lookup, Targets: []string{"x"}, Relationship: "x_children"}}
		return records.Table{Name: "x", PrimaryName: "n", Columns: append(cols, extra...)}
	}
	roll := func(name string, typ records.Type, r records.Rollup) records.Column {
		return records.Column{Name: name, Type: typ, Rollup: &r}
	}
	cases := []struct {
		name string
		t    records.Table
		want string // "" when it is valid
	}{
		{"count", base(roll("c", records.Integer, records.Rollup{Relationship: "x_children", Aggregate: "count"})), ""},
		{"max date", base(roll("m", records.DateTime, records.Rollup{Relationship: "x_children", Aggregate: "MAX", Column: "d"})), ""},
		{"hierarchy without hierarchy", base(roll("c", records.Integer, records.Rollup{Relationship: "x_children", Aggregate: "COUNT", Hierarchy: true})), "hierarchical lookup"},
		{"unknown aggregate", base(roll("c", records.Integer, records.Rollup{Relationship: "x_children", Aggregate: "MEDIAN"})), "must be SUM, COUNT"},
		{"sum needs a column", base(roll("s", records.Decimal, records.Rollup{Relationship: "x_children", Aggregate: "SUM"})), "names the related column"},
		{"count into text", base(roll("s", records.String, records.Rollup{Relationship: "x_children", Aggregate: "COUNT"})), "whole number"},
		{"date into number", base(roll("s", records.Decimal, records.Rollup{Relationship: "x_children", Aggregate: "MAX", Column: "d"})), "cannot roll up"},
		{"no relationship", base(roll("c", records.Integer, records.Rollup{Relationship: "nothing", Aggregate: "COUNT"})), "not a one-to-many relationship"},
		{"map", func() records.Table {
			t := base()
			t.AttributeMaps = []records.AttributeMap{{From: "x", Columns: []records.ColumnMap{{Source: "n", Target: "n"}, {Source: "x" + "id", Target: "p"}}}}
			return t
		}(), "cannot be mapped"},
		{"map to read-only", func() records.Table {
			t := base()
			t.AttributeMaps = []records.AttributeMap{{From: "x", Columns: []records.ColumnMap{{Source: "n", Target: "createdon"}}}}
			return t
		}(), "read-only"},
		{"map from nowhere", func() records.Table {
			t := base()
			t.AttributeMaps = []records.AttributeMap{{From: "y", Columns: []records.ColumnMap{{Source: "n", Target: "n"}}}}
			return t
		}(), "no table y"},
	}
	for _, c := range cases {
		tb := c.t
		err := tb.Prepare(nil)
		if err == nil {
			err = records.CheckRelated(map[string]*records.Table{"x": &tb})
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	tb := base(roll("c", records.Integer, records.Rollup{Relationship: "x_children", Aggregate: "COUNT"}))
	if err := tb.Prepare(nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"c", "c_date", "c_state"} {
		if c, ok := tb.Column(n); !ok || !c.System || c.Writable(true) {
			t.Errorf("%s: want a read-only column, got %+v", n, c)
		}
	}
}
