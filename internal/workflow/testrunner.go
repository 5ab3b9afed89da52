package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"junction/internal/expr"
	"junction/internal/project"
)

// TestFile is one offline workflow test: <workflow>/tests/<name>.test.json.
// The trigger's outputs go in, actions that reach outside the workflow are
// mocked, and the run's status, actions, response and outputs are checked.
type TestFile struct {
	Description string           `json:"description,omitempty"`
	Now         string           `json:"now,omitempty"` // fixes utcNow(); RFC 3339
	Trigger     TestTrigger      `json:"trigger"`
	Mocks       map[string]*Mock `json:"mocks,omitempty"`
	Expect      TestExpect       `json:"expect"`
}

// TestTrigger is the trigger's name and outputs.
type TestTrigger struct {
	Name    string         `json:"name,omitempty"`
	Outputs map[string]any `json:"outputs"`
}

// TestExpect is what the run must produce. Objects match when every
// expected property matches (extra properties are ignored); arrays and
// scalars must be equal.
type TestExpect struct {
	Status   string                 `json:"status"`
	Actions  map[string]*TestAction `json:"actions,omitempty"`
	Response *Response              `json:"response,omitempty"`
	Outputs  map[string]any         `json:"outputs,omitempty"`
}

// TestAction is the expected result of one action, by record path
// ("Scope/Action", "Loop#0/Action").
type TestAction struct {
	Status  string `json:"status,omitempty"`
	Outputs any    `json:"outputs,omitempty"`
	Inputs  any    `json:"inputs,omitempty"`
	Error   any    `json:"error,omitempty"`
}

// TestResult is the outcome of one test file.
type TestResult struct {
	File     string
	Failures []string
	Duration time.Duration
}

// externalTypes reach outside the workflow; offline tests must mock them.
var externalTypes = map[string]bool{"http": true, "serviceprovider": true, "openapiconnection": true, "apiconnection": true, "javascriptcode": true,
	"function": true, "apiconnectionwebhook": true, "openapiconnectionwebhook": true}

// RunTests runs every <workflow>/tests/*.test.json of a project folder.
func RunTests(ctx context.Context, p *project.Project, env func(string) (string, bool)) ([]TestResult, error) {
	if env == nil {
		env = noSettings
	}
	pf, problems := ReadProject(p, env)
	if len(problems) > 0 {
		return nil, project.Problems(problems)
	}
	files := p.Glob("*/tests/*.test.json")
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files (<workflow>/tests/*.test.json) in %s", p.Root)
	}
	var results []TestResult
	for _, file := range files {
		results = append(results, runTestFile(ctx, p, pf, env, file))
	}
	return results, nil
}

func runTestFile(ctx context.Context, p *project.Project, pf *ProjectFiles, env func(string) (string, bool), file string) TestResult {
	start := time.Now()
	res := TestResult{File: file}
	fail := func(format string, args ...any) TestResult {
		res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
		res.Duration = time.Since(start)
		return res
	}
	wfName := strings.Split(file, "/")[0]
	data, err := p.ReadFile(file)
	if err != nil {
		return fail("%v", err)
	}
	var tf TestFile
	if pr := project.DecodeJSON(file, data, &tf); pr != nil {
		return fail("%s", pr.Error())
	}
	tf.Trigger.Outputs = normalizeMap(tf.Trigger.Outputs)
	for _, m := range tf.Mocks {
		if m != nil {
			m.Outputs = expr.Normalize(m.Outputs)
		}
	}
	f, ok := pf.Workflows[wfName]
	if !ok {
		return fail("there is no workflow %q (no %s/workflow.json)", wfName, wfName)
	}
	opt := Config{AppSetting: pf.setting(env), TimeScale: 1e6}
	if tf.Now != "" {
		t, err := time.Parse(time.RFC3339Nano, tf.Now)
		if err != nil {
			return fail("now: %v", err)
		}
		opt.Now = func() time.Time { return t }
	}
	e := New(opt)
	defer e.Stop(context.Background())
	e.project = pf.Project
	for name, wf := range pf.Workflows {
		l, err := e.Compile(name, wf, pf.Project)
		if err != nil {
			if name == wfName {
				return fail("%s", err)
			}
			continue
		}
		_ = e.Deploy(ctx, l, "test")
	}
	l, ok := e.Workflow(wfName)
	if !ok {
		return fail("workflow %s did not compile", wfName)
	}
	_ = f
	mocks := tf.Mocks
	if mocks == nil {
		mocks = map[string]*Mock{}
	}
	trigName, trigOutputs := tf.Trigger.Name, tf.Trigger.Outputs
	for name, m := range mocks {
		// A mock may stand for the trigger, by its name: its outputs are
		// the trigger's outputs.
		if tn, t := l.triggerNamed(name); t != nil && findAction(l.Def.Actions, name) == nil {
			if len(trigOutputs) == 0 && m != nil {
				trigOutputs, _ = m.Outputs.(map[string]any)
			}
			trigName = tn
			delete(mocks, name)
			continue
		}
		if l.Def != nil && findAction(l.Def.Actions, name) == nil {
			return fail("mocks: the workflow has no action or trigger %q", name)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	h, err := e.StartRun(rctx, l, StartOptions{Trigger: trigName, Outputs: trigOutputs, Mocks: mocks})
	if err != nil {
		return fail("%v", err)
	}
	run, err := h.Wait(rctx)
	if err != nil {
		return fail("the run did not finish: %v", err)
	}
	byPath := map[string]*ActionRecord{}
	for _, a := range run.Actions {
		byPath[a.Path] = a
	}
	if tf.Expect.Status != "" && !strings.EqualFold(tf.Expect.Status, run.Status) {
		res.Failures = append(res.Failures, fmt.Sprintf("run status: got %s, want %s%s", run.Status, tf.Expect.Status, failedHint(run)))
	}
	for _, p := range sortedKeys(tf.Expect.Actions) {
		want := tf.Expect.Actions[p]
		got, ok := byPath[p]
		if !ok {
			res.Failures = append(res.Failures, fmt.Sprintf("action %s: it did not run (ran: %s)", p, strings.Join(recordPaths(run), ", ")))
			continue
		}
		if want.Status != "" && !strings.EqualFold(want.Status, got.Status) {
			res.Failures = append(res.Failures, fmt.Sprintf("action %s: status %s, want %s%s", p, got.Status, want.Status, errorHint(got)))
		}
		for _, c := range []struct {
			field     string
			got, want any
		}{{"outputs", got.Outputs, want.Outputs}, {"inputs", got.Inputs, want.Inputs}, {"error", got.Error, want.Error}} {
			if c.want != nil {
				if msg := match(c.field, c.got, expr.Normalize(c.want)); msg != "" {
					res.Failures = append(res.Failures, fmt.Sprintf("action %s: %s", p, msg))
				}
			}
		}
	}
	if w := tf.Expect.Response; w != nil {
		r := run.response
		switch {
		case r == nil:
			res.Failures = append(res.Failures, "response: no Response action ran")
		default:
			if w.StatusCode != 0 && w.StatusCode != r.StatusCode {
				res.Failures = append(res.Failures, fmt.Sprintf("response status code: got %d, want %d", r.StatusCode, w.StatusCode))
			}
			if w.Body != nil {
				if msg := match("response.body", r.Body, expr.Normalize(w.Body)); msg != "" {
					res.Failures = append(res.Failures, msg)
				}
			}
			for k, v := range w.Headers {
				if r.Headers[k] != v {
					res.Failures = append(res.Failures, fmt.Sprintf("response header %s: got %q, want %q", k, r.Headers[k], v))
				}
			}
		}
	}
	for name, want := range tf.Expect.Outputs {
		got := any(nil)
		if o, ok := run.Outputs[name].(map[string]any); ok {
			got = o["value"]
		}
		if msg := match("outputs."+name, got, expr.Normalize(want)); msg != "" {
			res.Failures = append(res.Failures, msg)
		}
	}
	res.Duration = time.Since(start)
	return res
}

func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out, _ := expr.Normalize(m).(map[string]any)
	return out
}

func findAction(set map[string]*Action, name string) *Action {
	var found *Action
	walkActions(set, func(n string, a *Action) {
		if n == name || strings.EqualFold(n, name) || strings.EqualFold(n, strings.ReplaceAll(name, " ", "_")) {
			found = a
		}
	})
	return found
}

func recordPaths(r *Run) []string {
	var out []string
	for _, a := range r.Actions {
		out = append(out, a.Path)
	}
	sort.Strings(out)
	return out
}

func failedHint(r *Run) string {
	if r.Error == nil {
		return ""
	}
	return fmt.Sprintf(" (%s)", jsonText(r.Error))
}

func errorHint(a *ActionRecord) string {
	if a.Error == nil {
		return ""
	}
	return fmt.Sprintf(" (%s)", jsonText(a.Error))
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// match compares got with want: objects by the expected properties only.
func match(where string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object %s", where, jsonText(got), jsonText(want))
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing (want %s)", where, k, jsonText(w[k]))
			}
			if msg := match(where+"."+k, gv, w[k]); msg != "" {
				return msg
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %s, want %s", where, jsonText(got), jsonText(want))
		}
		for i := range w {
			if msg := match(fmt.Sprintf("%s[%d]", where, i), g[i], w[i]); msg != "" {
				return msg
			}
		}
		return ""
	}
	if !expr.Equal(got, want) {
		return fmt.Sprintf("%s: got %s, want %s", where, jsonText(got), jsonText(want))
	}
	return ""
}

// PrintTestResults writes one line per test and a summary; it reports
// whether every test passed.
func PrintTestResults(w io.Writer, results []TestResult) bool {
	failed := 0
	for _, r := range results {
		if len(r.Failures) == 0 {
			fmt.Fprintf(w, "PASS %s (%s)\n", r.File, r.Duration.Round(time.Millisecond))
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s\n", r.File)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(results)-failed, failed)
	return failed == 0
}
