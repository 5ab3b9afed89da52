package project_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"junction/internal/project"
)

func TestValidateReportsEveryProblemWithPosition(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"junction.yaml":          {Data: []byte("name: demo\nnmae: typo\n")},
		"tables/a.yaml":          {Data: []byte("a: [1, 2\n")},
		"servicebus/config.json": {Data: []byte("{\n  \"a\": 1,\n  \"b\": ]\n}")},
		"ok.json":                {Data: []byte(`{"fine": true}`)},
		"empty.yaml":             {Data: []byte("")},
		".git/x.json":            {Data: []byte("{")},
	}
	p, problems := project.Open(fsys, "proj")
	if len(problems) != 1 || problems[0].Line != 2 {
		t.Fatalf("open problems: %v", problems)
	}
	got := p.Validate().Error()
	for _, want := range []string{
		`junction.yaml:2:1: unknown key "nmae"; did you mean "name"?`,
		"servicebus/config.json:3:8: invalid character ']'",
		"tables/a.yaml:1: did not find expected",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, ".git") || strings.Contains(got, "ok.json") || strings.Contains(got, "empty.yaml") {
		t.Fatalf("unexpected problems:\n%s", got)
	}
}
