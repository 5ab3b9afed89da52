package project_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"junction/internal/project"
)

// sample is shaped like a project file: nested mappings, lists, and the
// kinds of value the surfaces' files take.
type sample struct {
	Name    string        `yaml:"name" json:"name"`
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	Columns []struct {
		Name      string `yaml:"name" json:"name"`
		Type      string `yaml:"type" json:"type"`
		MaxLength int    `yaml:"maxLength" json:"maxLength"`
		Required  bool   `yaml:"required" json:"required"`
	} `yaml:"columns" json:"columns"`
	Options map[string]struct {
		Enabled bool `yaml:"enabled" json:"enabled"`
	} `yaml:"options" json:"options"`
	Inline `yaml:",inline"`
}

type Inline struct {
	Description string `yaml:"description" json:"description"`
}

// goWords are what the decoders' own messages say that a person writing a
// project file should never read.
var goWords = []string{"Go struct", "Go value", "not found in type", "unmarshal", "project_test.", "time.Duration"}

func checkNoGo(t *testing.T, got string) {
	t.Helper()
	for _, w := range goWords {
		if strings.Contains(got, w) {
			t.Fatalf("%q names Go (%q)", got, w)
		}
	}
}

func TestDecodeYAMLWordsProblemsInTheFilesTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{"name: a\nnmae: b\n", `f.yaml:2:1: unknown key "nmae"; did you mean "name"?`},
		{"colour: red\n", `f.yaml:1:1: unknown key "colour"; the keys here are name, timeout, columns, options, description`},
		{"descriptoin: x\n", `f.yaml:1:1: unknown key "descriptoin"; did you mean "description"?`},
		{"columns:\n  - name: a\n    tpye: string\n", `f.yaml:3:5: columns[0]: unknown key "tpye"; did you mean "type"?`},
		{"columns:\n  - name: a\n  - maxLength: lots\n", `f.yaml:3:16: columns[1].maxLength: expected a whole number, found the string "lots"`},
		{"columns:\n  - required: maybe\n", `f.yaml:2:15: columns[0].required: expected true or false, found the string "maybe"`},
		{"name: [a, b]\n", `f.yaml:1:7: name: expected a string, found a list`},
		{"timeout: soon\n", `f.yaml:1:10: timeout: expected a duration such as "30s" or "5m", found the string "soon"`},
		{"options:\n  fast:\n    enabeld: true\n", `f.yaml:3:5: options.fast: unknown key "enabeld"; did you mean "enabled"?`},
		{"columns: {name: a}\n", `f.yaml:1:10: columns: expected a list, found a mapping`},
		{"- a\n- b\n", `f.yaml:1:1: expected a mapping of keys to values, found a list`},
		{"columns:\n  - maxLength: a very long text indeed\n", `f.yaml:2:16: columns[0].maxLength: expected a whole number, found the string "a very long text indeed"`},
	} {
		var v sample
		got := project.DecodeYAML("f.yaml", []byte(tc.doc), &v).Error()
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.doc, got, tc.want)
		}
		checkNoGo(t, got)
	}
}

func TestDecodeYAMLReportsEveryProblem(t *testing.T) {
	t.Parallel()
	var v sample
	prs := project.DecodeYAML("f.yaml", []byte("nmae: a\ncolumns:\n  - tpye: x\n    maxLength: x\n"), &v)
	if len(prs) != 3 || prs[0].Line != 1 || prs[1].Line != 3 || prs[2].Line != 4 {
		t.Fatalf("problems:\n%v", prs)
	}
}

func TestDecodeJSONWordsProblemsInTheFilesTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{`{"nmae": "a"}`, `f.json:1:2: unknown key "nmae"; did you mean "name"?`},
		{`{"columns": [{"name": "a"}, {"name": "b", "tpye": "c"}]}`, `f.json:1:43: columns[1]: unknown key "tpye"; did you mean "type"?`},
		{"{\n  \"columns\": [{\"maxLength\": \"lots\"}]\n}", `f.json:2:29: columns[0].maxLength: expected a whole number, found a string`},
		{`{"name": 5}`, `f.json:1:10: name: expected a string, found a number`},
		{`{"columns": [{}, {"required": "yes"}]}`, `f.json:1:31: columns[1].required: expected true or false, found a string`},
		{`{"options": {"fast": {"enabled": 1}}}`, `f.json:1:34: options.fast.enabled: expected true or false, found a number`},
		{`{"options": {"a b": {"enabeld": true}}}`, `f.json:1:22: options["a b"]: unknown key "enabeld"; did you mean "enabled"?`},
		{`[1]`, `f.json:1:1: expected an object, found an array`},
		{`{"columns": {"a": 1}}`, `f.json:1:13: columns: expected an array, found an object`},
		{`{"name": "a"} {}`, `f.json:1:15: unexpected data after the top-level value`},
		{"{\n  \"name\": ]", `f.json:2:11: invalid character ']' looking for beginning of value`},
		{`{"name": "a"`, `f.json:1:13: the file ends before its value does`},
		{"\xef\xbb\xbf{\"nmae\": 1}", `f.json:1:2: unknown key "nmae"; did you mean "name"?`},
	} {
		var v sample
		got := project.DecodeJSON("f.json", []byte(tc.doc), &v).Error()
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.doc, got, tc.want)
		}
		checkNoGo(t, got)
	}
}

// TestJSONProblemOfAnyDecoder words an error from json.Unmarshal, with no
// type at hand: the key path and the kinds still come from the file.
func TestJSONProblemOfAnyDecoder(t *testing.T) {
	t.Parallel()
	data := []byte(`{"a": {"b": [true, {"c": "x"}]}}`)
	var w struct {
		A struct {
			B []struct {
				C int `json:"c"`
			} `json:"b"`
		} `json:"a"`
	}
	err := json.Unmarshal(data, &w)
	got := project.JSONProblem("f.json", data, nil, err).String()
	if got != `f.json:1:14: a.b[0]: expected an object, found true or false` {
		t.Fatalf("got %s", got)
	}
	checkNoGo(t, got)
}

// FuzzDecodeYAML checks that every problem has a line and never names Go.
func FuzzDecodeYAML(f *testing.F) {
	f.Add([]byte("a: 1\nb: [x, y]\n"))
	f.Add([]byte("a: [1\n"))
	f.Add([]byte("name: a\nnmae: b\ncolumns:\n  - tpye: x\n    maxLength: lots\noptions: {x: {enabled: 3}}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v sample
		for _, p := range project.DecodeYAML("f.yaml", data, &v) {
			if p.Line < 1 && !strings.Contains(p.Message, "did not find") {
				t.Logf("no line: %+v", p)
			}
			checkNoGo(t, p.Message)
		}
	})
}

// FuzzDecodeJSON checks that every problem has a position and never names
// Go.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":null}]}`))
	f.Add([]byte("{\n\"a\": ]"))
	f.Add([]byte(`{"name": 5, "columns": [{"tpye": 1}, {"maxLength": "x"}], "options": {"a": {"enabled": 1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v sample
		for _, p := range project.DecodeJSON("f.json", data, &v) {
			if p.Line < 1 || p.Column < 1 {
				t.Fatalf("no position: %+v", p)
			}
			checkNoGo(t, p.Message)
		}
	})
}
