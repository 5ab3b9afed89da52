package workflow

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"junction/internal/expr"
	"junction/internal/store"
)

type bundle struct {
	e *Engine
}

// setup builds an engine; with s nil, runs are in memory only.
func setup(t *testing.T, s store.Store, opts ...func(*Config)) *bundle {
	t.Helper()
	if s != nil {
		if err := s.Migrate(context.Background(), Migrations()); err != nil {
			t.Fatal(err)
		}
	}
	o := Config{Store: s, TimeScale: 1000, LeaseTTL: 10 * time.Second, PollInterval: 50 * time.Millisecond,
		AppSetting: func(n string) (string, bool) {
			if n == "GREETING" {
				return "hello", true
			}
			return "", false
		}}
	for _, f := range opts {
		f(&o)
	}
	e := New(o)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return &bundle{e: e}
}

func (b *bundle) deploy(t *testing.T, name, doc string) *Loaded {
	t.Helper()
	f, err := ParseFile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.e.Compile(name, f, Project{})
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
		t.Fatal(err)
	}
	return l
}

func (b *bundle) run(t *testing.T, l *Loaded, body any) *Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := b.e.StartRun(ctx, l, StartOptions{Outputs: map[string]any{"headers": map[string]any{}, "body": expr.Normalize(body)}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rec(r *Run, path string) *ActionRecord {
	for _, a := range r.Actions {
		if a.Path == path {
			return a
		}
	}
	return nil
}

func jsonOf(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func def(actions string) string {
	return `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":` + actions + `}}`
}

func TestActionsInMemory(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	cases := []struct {
		name    string
		actions string
		body    any
		status  string
		path    string // record to check
		want    string // JSON of its outputs (or body for non-Compose)
	}{
		{"compose", `{"C":{"type":"Compose","inputs":{"sum":"@add(1,2)","who":"@{triggerBody()?['name']} @{appsetting('GREETING')}"}}}`,
			map[string]any{"name": "Ann"}, "Succeeded", "C", `{"sum":3,"who":"Ann hello"}`},
		{"parsejson", `{"P":{"type":"ParseJson","inputs":{"content":"{\"a\":1}","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
			nil, "Succeeded", "P", `{"body":{"a":1}}`},
		{"parsejson invalid", `{"P":{"type":"ParseJson","inputs":{"content":"@triggerBody()","schema":{"type":"object","required":["a"]}}}}`,
			map[string]any{"b": 1}, "Failed", "P", `{"body":{"b":1}}`},
		{"query", `{"Q":{"type":"Query","inputs":{"from":"@range(1,6)","where":"@greater(item(), 3)"}}}`, nil, "Succeeded", "Q", `{"body":[4,5,6]}`},
		{"select", `{"S":{"type":"Select","inputs":{"from":"@triggerBody()","select":{"n":"@item()?['name']","u":"@toUpper(item()?['name'])"}}}}`,
			[]any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}, "Succeeded", "S", `{"body":[{"n":"a","u":"A"},{"n":"b","u":"B"}]}`},
		{"join", `{"J":{"type":"Join","inputs":{"from":["a","b","c"],"joinWith":";"}}}`, nil, "Succeeded", "J", `{"body":"a;b;c"}`},
		{"table csv", `{"T":{"type":"Table","inputs":{"from":"@triggerBody()","format":"CSV"}}}`,
			[]any{map[string]any{"id": 1, "name": "x,y"}}, "Succeeded", "T", `{"body":"id,name\r\n1,\"x,y\"\r\n"}`},
		{"table html columns", `{"T":{"type":"Table","inputs":{"from":"@triggerBody()","format":"HTML","columns":[{"header":"Name","value":"@item()?['name']"}]}}}`,
			[]any{map[string]any{"name": "<b>"}}, "Succeeded", "T", `{"body":"<table><thead><tr><th>Name</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>"}`},
		{"variables", `{
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":1},{"name":"s","type":"string","value":"a"},{"name":"arr","type":"array"}]}},
			"Inc":{"type":"IncrementVariable","inputs":{"name":"n","value":5},"runAfter":{"Init":["Succeeded"]}},
			"Dec":{"type":"DecrementVariable","inputs":{"name":"n"},"runAfter":{"Inc":["Succeeded"]}},
			"App":{"type":"AppendToStringVariable","inputs":{"name":"s","value":"@{variables('n')}"},"runAfter":{"Dec":["Succeeded"]}},
			"Arr":{"type":"AppendToArrayVariable","inputs":{"name":"arr","value":{"x":1}},"runAfter":{"App":["Succeeded"]}},
			"Set":{"type":"SetVariable","inputs":{"name":"n","value":42},"runAfter":{"Arr":["Succeeded"]}},
			"Out":{"type":"Compose","inputs":["@variables('n')","@variables('s')","@variables('arr')"],"runAfter":{"Set":["Succeeded"]}}}`,
			nil, "Succeeded", "Out", `[42,"a5",[{"x":1}]]`},
		{"set variable wrong type", `{
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":1}]}},
			"Set":{"type":"SetVariable","inputs":{"name":"n","value":"x"},"runAfter":{"Init":["Succeeded"]}}}`,
			nil, "Failed", "Set", `null`},
		{"if expression object", `{"I":{"type":"If","expression":{"and":[{"greater":["@triggerBody()?['qty']",5]},{"not":{"equals":["@triggerBody()?['x']","no"]}}]},
			"actions":{"Yes":{"type":"Compose","inputs":"big"}},"else":{"actions":{"No":{"type":"Compose","inputs":"small"}}}}}`,
			map[string]any{"qty": 9, "x": "yes"}, "Succeeded", "I/Yes", `"big"`},
		{"if else", `{"I":{"type":"If","expression":"@equals(triggerBody()?['qty'], 1)","actions":{"Yes":{"type":"Compose","inputs":"one"}},"else":{"actions":{"No":{"type":"Compose","inputs":"other"}}}}}`,
			map[string]any{"qty": 2}, "Succeeded", "I/No", `"other"`},
		{"if untaken branch is skipped", `{"I":{"type":"If","expression":"@equals(1, 2)","actions":{"Yes":{"type":"Compose","inputs":"one"}},"else":{"actions":{"No":{"type":"Compose","inputs":"other"}}}}}`,
			nil, "Succeeded", "I/Yes", `null`},
		{"switch", `{"Sw":{"type":"Switch","expression":"@triggerBody()?['kind']","cases":{"A":{"case":"a","actions":{"CA":{"type":"Compose","inputs":"was a"}}},"B":{"case":2,"actions":{"CB":{"type":"Compose","inputs":"was 2"}}}},"default":{"actions":{"D":{"type":"Compose","inputs":"default"}}}}}`,
			map[string]any{"kind": 2}, "Succeeded", "Sw/CB", `"was 2"`},
		{"switch default", `{"Sw":{"type":"Switch","expression":"@triggerBody()?['kind']","cases":{"A":{"case":"a","actions":{"CA":{"type":"Compose","inputs":"was a"}}}},"default":{"actions":{"D":{"type":"Compose","inputs":"default"}}}}}`,
			map[string]any{"kind": "z"}, "Succeeded", "Sw/D", `"default"`},
		{"foreach sequential", `{
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"s","type":"string"}]}},
			"L":{"type":"Foreach","foreach":"@createArray('a','b','c')","operationOptions":"Sequential","runAfter":{"Init":["Succeeded"]},
				"actions":{"A":{"type":"AppendToStringVariable","inputs":{"name":"s","value":"@{items('L')}@{iterationIndexes('L')}"}}}},
			"Out":{"type":"Compose","inputs":"@variables('s')","runAfter":{"L":["Succeeded"]}}}`,
			nil, "Succeeded", "Out", `"a0b1c2"`},
		{"foreach concurrent increments", `{
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":0}]}},
			"L":{"type":"Foreach","foreach":"@range(0, 200)","runtimeConfiguration":{"concurrency":{"repetitions":50}},"runAfter":{"Init":["Succeeded"]},
				"actions":{"Inc":{"type":"IncrementVariable","inputs":{"name":"n","value":"@item()"}}}},
			"Out":{"type":"Compose","inputs":"@variables('n')","runAfter":{"L":["Succeeded"]}}}`,
			nil, "Succeeded", "Out", `19900`},
		{"foreach iteration output", `{"L":{"type":"Foreach","foreach":"@createArray(1,2)","actions":{"Sq":{"type":"Compose","inputs":"@mul(item(), item())"},"Again":{"type":"Compose","inputs":"@outputs('Sq')","runAfter":{"Sq":["Succeeded"]}}}}}`,
			nil, "Succeeded", "L#1/Again", `4`},
		{"until", `{
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":0}]}},
			"U":{"type":"Until","expression":"@greaterOrEquals(variables('n'), 5)","limit":{"count":100,"timeout":"PT1H"},"runAfter":{"Init":["Succeeded"]},
				"actions":{"Inc":{"type":"IncrementVariable","inputs":{"name":"n"}}}}}`,
			nil, "Succeeded", "U", `{"iterations":5}`},
		{"until count limit", `{"U":{"type":"Until","expression":"@equals(1, 2)","limit":{"count":3},"actions":{"C":{"type":"Compose","inputs":1}}}}`,
			nil, "Succeeded", "U", `{"iterations":3}`},
		{"terminate", `{"T":{"type":"Terminate","inputs":{"runStatus":"Failed","runError":{"code":"Bad","message":"stop"}}},"After":{"type":"Compose","inputs":1,"runAfter":{"T":["Succeeded"]}}}`,
			nil, "Failed", "T", `null`},
		{"wait", `{"W":{"type":"Wait","inputs":{"interval":{"count":2,"unit":"Second"}}},"After":{"type":"Compose","inputs":"done","runAfter":{"W":["Succeeded"]}}}`,
			nil, "Succeeded", "After", `"done"`},
		{"timeout", `{"W":{"type":"Wait","inputs":{"interval":{"count":1,"unit":"Hour"}},"limit":{"timeout":"PT1S"}},"Handle":{"type":"Compose","inputs":"@actions('W')?['status']","runAfter":{"W":["TimedOut"]}}}`,
			nil, "Succeeded", "Handle", `"TimedOut"`},
		{"runAfter skipped chain", `{"A":{"type":"Compose","inputs":"@div(1,0)"},"B":{"type":"Compose","inputs":1,"runAfter":{"A":["Succeeded"]}},"C":{"type":"Compose","inputs":"@actions('B')['status']","runAfter":{"B":["Skipped"]}}}`,
			nil, "Failed", "C", `"Skipped"`},
		{"expression error is recorded", `{"A":{"type":"Compose","inputs":"@triggerBody()['missing']"}}`,
			map[string]any{}, "Failed", "A", `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := b.deploy(t, "t-"+strings.ReplaceAll(tc.name, " ", "-"), def(tc.actions))
			r := b.run(t, l, tc.body)
			if r.Status != tc.status {
				t.Errorf("run status %s, want %s (error %v)", r.Status, tc.status, jsonOf(r.Error))
			}
			a := rec(r, tc.path)
			if a == nil {
				t.Fatalf("no record %s; have %v", tc.path, paths(r))
			}
			if got := jsonOf(a.Outputs); got != tc.want {
				t.Errorf("%s outputs = %s, want %s (status %s, error %v)", tc.path, got, tc.want, a.Status, jsonOf(a.Error))
			}
		})
	}
}

func paths(r *Run) []string {
	var out []string
	for _, a := range r.Actions {
		out = append(out, a.Path+"="+a.Status)
	}
	return out
}

func TestTryCatchSample(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := loadSample(t, "logicapps/try-catch.json")
	l, err := b.e.Compile("try-catch", f, Project{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
		t.Fatal(err)
	}
	ok := b.run(t, l, map[string]any{"qty": 4})
	if ok.Status != StatusSucceeded || rec(ok, "Try/Double").Outputs != int64(8) || rec(ok, "Catch").Status != StatusSkipped {
		t.Fatalf("happy path: %s %v", ok.Status, paths(ok))
	}
	bad := b.run(t, l, map[string]any{"qty": "four"})
	if bad.Status != StatusSucceeded {
		t.Fatalf("a handled failure must leave the run Succeeded, got %s %v", bad.Status, paths(bad))
	}
	if rec(bad, "Try").Status != StatusFailed || rec(bad, "Catch").Status != StatusSucceeded {
		t.Fatalf("try/catch statuses: %v", paths(bad))
	}
	fin := rec(bad, "Finally").Outputs.(map[string]any)
	log := jsonOf(fin["log"])
	if !strings.Contains(log, "Parse failed: The schema validation failed") {
		t.Fatalf("catch log = %s", log)
	}
	if n := len(fin["try"].([]any)); n != 2 {
		t.Fatalf("result('Try') has %d entries, want 2", n)
	}
}
