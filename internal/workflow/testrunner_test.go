package workflow

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"junction/demo"
	"junction/internal/project"
)

func TestRunTestsOnDemoProject(t *testing.T) {
	t.Parallel()
	p, problems := project.Open(demo.Project(), "demo")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	results, err := RunTests(context.Background(), p, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if !PrintTestResults(&out, results) || len(results) < 3 {
		t.Fatalf("%s", out.String())
	}
}

func TestRunTestsReportsFailures(t *testing.T) {
	t.Parallel()
	m := fstest.MapFS{}
	_ = fs.WalkDir(demo.Project(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(demo.Project(), path)
			m[path] = &fstest.MapFile{Data: data}
		}
		return nil
	})
	m["order-intake/tests/wrong.test.json"] = &fstest.MapFile{Data: []byte(`{
		"trigger": {"outputs": {"body": {"customer": "C", "lines": [{"sku": "a", "qty": 1, "price": 3}]}}},
		"expect": {"status": "Succeeded", "actions": {"Priced_lines": {"outputs": {"body": [{"amount": 4}]}}, "Nowhere": {"status": "Succeeded"}},
			"response": {"statusCode": 201}}}`)}
	m["nightly-report/tests/unmocked.test.json"] = &fstest.MapFile{Data: []byte(`{"trigger": {"outputs": {}}, "expect": {"status": "Succeeded"}}`)}
	m["nightly-report/tests/typo.test.json"] = &fstest.MapFile{Data: []byte(`{"trigger": {"outputs": {}}, "expcet": {}}`)}
	demoTests := 0
	for path := range m {
		if strings.HasSuffix(path, ".test.json") {
			demoTests++
		}
	}
	p, _ := project.Open(m, "copy")
	results, err := RunTests(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if PrintTestResults(&out, results) {
		t.Fatal("failing tests passed")
	}
	for _, want := range []string{
		"FAIL order-intake/tests/wrong.test.json",
		"action Priced_lines: outputs.body[0].amount: got 3, want 4",
		"action Nowhere: it did not run",
		"response status code: got 200, want 201",
		"FAIL nightly-report/tests/unmocked.test.json",
		"an offline test must mock it",
		`typo.test.json:1:30: unknown key "expcet"; did you mean "expect"?`,
		fmt.Sprintf("%d passed, 3 failed", demoTests-3),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
