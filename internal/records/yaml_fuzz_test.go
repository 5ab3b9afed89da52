package records_test

import (
	"bytes"
	"testing"

	"go.yaml.in/yaml/v3"

	"junction/internal/records"
)

// FuzzTableDefinition reads table definitions as a project's tables/*.yaml
// (and the standard descriptions) are read: options in both forms, cascade
// words and maps, links. Whatever the input, decoding and preparing never
// panic, and a definition that prepares has a column map that agrees with
// its columns.
func FuzzTableDefinition(f *testing.F) {
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: new_c, type: Picklist, options: [[1, A], [2, B]]}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: statuscode, type: Status, options: [[1, On, 0], [2, Off, 1]]}\n- {name: statecode, type: State, options: [[0, On], [1, Off]]}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: new_a, type: Lookup, targets: [new_x], cascade: parental}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: new_a, type: Lookup, targets: [new_x], cascade: {delete: Restrict}}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: new_r, type: Lookup, links: [{target: new_x, name: r1, nav: n1, cascade: restrict}]}\n"))
	f.Add([]byte("name: new_x\nprimaryName: new_name\ncolumns:\n- {name: new_name, type: String}\n- {name: new_n, type: String, computed: fullname}\n"))
	f.Add([]byte("name: x\nprimaryName: n\nownership: None\nintersect: {name: a, entity1: x, attribute1: n, entity2: x, attribute2: n}\ncolumns: [{name: n, type: String}]\n"))
	f.Add([]byte("name: x\nprimaryName: n\ncolumns:\n- {name: n, type: String}\n- {name: p, type: Lookup, targets: [x], relationship: x_p}\n- {name: c, type: Integer, rollup: {relationship: x_p, aggregate: COUNT}}\nattributeMaps: [{from: x, columns: [n, [n, n]]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tb records.Table
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&tb); err != nil {
			return
		}
		if err := tb.Prepare(func(n string) bool { return n == tb.Name }); err != nil {
			return
		}
		_ = records.CheckRelated(map[string]*records.Table{tb.Name: &tb})
		for i := range tb.Columns {
			c, ok := tb.Column(tb.Columns[i].Name)
			if !ok || c != &tb.Columns[i] {
				t.Fatalf("column %s is not in the column map", tb.Columns[i].Name)
			}
			if c.Type.IsLookup() && len(c.Links) != len(c.Targets) {
				t.Fatalf("lookup %s has %d links for %d targets", c.Name, len(c.Links), len(c.Targets))
			}
		}
	})
}

// FuzzOptionYAML writes an option in the short form, as `junction tables
// pull` writes the org's choices, and reads it back: whatever the label
// (quotes, brackets, colons, line breaks), it comes back the same.
func FuzzOptionYAML(f *testing.F) {
	f.Add(int64(100000000), "Planning", false, int64(0))
	f.Add(int64(-1), "No: [not] \"this\"", true, int64(1))
	f.Add(int64(2), "yes", true, int64(-3))
	f.Add(int64(0), "", false, int64(0))
	f.Add(int64(7), "line\nbreak # not a comment", false, int64(0))
	f.Fuzz(func(t *testing.T, value int64, label string, hasState bool, state int64) {
		o := records.Option{Value: value, Label: label}
		if hasState {
			o.State = &state
		}
		data, err := yaml.Marshal([]records.Option{o})
		if err != nil {
			return // labels yaml cannot hold (invalid UTF-8) are refused, not mangled
		}
		var back []records.Option
		if err := yaml.Unmarshal(data, &back); err != nil {
			t.Fatalf("%q does not read back: %v", data, err)
		}
		if len(back) != 1 || back[0].Value != o.Value || back[0].Label != o.Label || (back[0].State == nil) != (o.State == nil) ||
			o.State != nil && *back[0].State != *o.State {
			t.Fatalf("%+v came back as %+v through %q", o, back, data)
		}
	})
}
