package expr

import (
	"strings"
	"testing"
)

// countScope counts the workflow functions an expression calls, to show which
// arguments were evaluated.
type countScope struct {
	testScope
	calls *[]string
}

func (s countScope) Workflow(name string, args []any) (any, error) {
	*s.calls = append(*s.calls, name+"("+ToString(args[0])+")")
	return s.testScope.Workflow(name, args)
}

// Microsoft Learn, "Reference guide to workflow expression functions in Azure
// Logic Apps and Power Automate" (workflow-definition-language-functions-reference):
// if() returns the value for the result of its condition ("Based on the result,
// return a specified value"); function parameters are evaluated from left to
// right. Logic Apps evaluates only the branch it returns, so a branch that
// would fail (int(”) in a Microsoft sample) fails nothing when not taken;
// and/or stop at the first argument that decides the result and coalesce at
// the first non-null value.
func TestLogicalFunctionsEvaluateOnlyWhatTheyNeed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src       string
		want      any
		wantErr   string
		evaluated []string
	}{
		{src: "@if(equals(1, 1), 'one', int(''))", want: "one"},
		{src: "@if(equals(1, 2), int(''), 'two')", want: "two"},
		{src: "@if(equals(variables('s'), ''), 0, int(variables('s')))", wantErr: "int", evaluated: []string{"variables(s)", "variables(s)"}},
		{src: "@if(true, variables('n'), variables('missing'))", want: int64(5), evaluated: []string{"variables(n)"}},
		{src: "@if(false, variables('missing'), variables('n'))", want: int64(5), evaluated: []string{"variables(n)"}},
		{src: "@if(true, 1, 2, 3)", wantErr: "expects 3 parameter(s)"},
		{src: "@if('yes', 1, 2)", wantErr: "expects its parameter 1 to be a boolean"},
		{src: "@and(false, equals(int(''), 1))", want: false},
		{src: "@and(true, equals(variables('n'), 5), false, variables('missing'))", want: false, evaluated: []string{"variables(n)"}},
		{src: "@and(true, true)", want: true},
		{src: "@and(true, int(''))", wantErr: "int"},
		{src: "@and(true, 'x')", wantErr: "expects its parameter 2 to be a boolean"},
		{src: "@or(true, equals(int(''), 1))", want: true},
		{src: "@or(false, equals(variables('n'), 5), variables('missing'))", want: true, evaluated: []string{"variables(n)"}},
		{src: "@or(false, false)", want: false},
		{src: "@coalesce(null, variables('n'), variables('missing'))", want: int64(5), evaluated: []string{"variables(n)"}},
		{src: "@coalesce(null, null)", want: nil},
		{src: "@coalesce('a', int(''))", want: "a"},
		{src: "@IF(true, 'a', int(''))", want: "a"},
		{src: "x=@{if(empty(variables('s')), int(''), length(variables('s')))}", want: "x=3"},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			t.Parallel()
			tpl, err := Compile(c.src)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			got, err := tpl.Evaluate(countScope{testScope{vars: map[string]any{"n": int64(5), "s": "abc"}}, &calls})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, %v; want an error with %q", got, err, c.wantErr)
				}
			} else if err != nil || !Equal(got, c.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, c.want)
			}
			if c.evaluated != nil && strings.Join(calls, " ") != strings.Join(c.evaluated, " ") {
				t.Fatalf("evaluated %v, want %v", calls, c.evaluated)
			}
		})
	}
}

// Forms found in published definitions (Microsoft's Logic Apps gallery
// templates and Power Automate samples), with the results Logic Apps gives
// (Microsoft Learn, workflow-definition-language-functions-reference:
// base64ToBinary, binary, dataUriToBinary, decodeDataUri,
// uriComponentToBinary).
func TestPublishedFunctionForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		want string // JSON
	}{
		// templates/cancel-runs-by-tracking-id.json, service-bus-sessions.json
		{"@encodeURIComponent('', 'a b')", `"a%20b"`},
		{"@encodeURIComponent('sess', '-topic')", `"sess-topic"`},
		{"@base64ToBinary('aGVsbG8=')", `{"$content":"aGVsbG8=","$content-type":"application/octet-stream"}`},
		{"@binary('hello')", `{"$content":"aGVsbG8=","$content-type":"application/octet-stream"}`},
		{"@dataUriToBinary('data:text/plain;charset=utf-8;base64,aGVsbG8=')", `{"$content":"aGVsbG8=","$content-type":"text/plain;charset=utf-8"}`},
		{"@decodeDataUri('data:text/plain,hello%20there')", `{"$content":"aGVsbG8gdGhlcmU=","$content-type":"text/plain"}`},
		{"@uriComponentToBinary('http%3A%2F%2Fcontoso.com')", `{"$content":"aHR0cDovL2NvbnRvc28uY29t","$content-type":"application/octet-stream"}`},
	}
	for _, c := range cases {
		got, err := eval1(t, c.src)
		if err != nil || render(got) != c.want {
			t.Errorf("%s = %s, %v; want %s", c.src, render(got), err, c.want)
		}
	}
	if _, err := eval1(t, "@base64ToBinary('not base64!')"); err == nil {
		t.Error("invalid base64 accepted")
	}
}
