package workflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadSample(t *testing.T, name string) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func testEnv() Environment {
	return Environment{
		AppSetting: func(n string) (string, bool) {
			switch n {
			case "ORDERS_USER", "ORDERS_PASSWORD":
				return "x", true
			}
			return "", false
		},
		TriggerTypes: map[string]bool{"openapiconnectionwebhook": true},
	}
}

func TestValidateSamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"logicapps/request-upsert-response.json", "logicapps/recurrence-http-foreach-send.json",
		"logicapps/try-catch.json", "powerautomate/row-change-nested-foreach.json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := loadSample(t, name)
			if ps := Validate(f.Definition, testEnv()); len(ps) > 0 {
				t.Fatalf("unexpected problems:\n%v", ps)
			}
		})
	}
}

func TestValidateReportsEveryProblemWithPath(t *testing.T) {
	t.Parallel()
	f := loadSample(t, "invalid/everything-wrong.json")
	ps := Validate(f.Definition, testEnv())
	want := []string{
		`definition.actions.A.inputs: expression "@add('x', 1)": position 4: the template language function 'add' expects its parameter 1 to be of type integer or float, but the provided value is of type string`,
		`definition.actions.B.inputs: expression "@nosuchfunction()": position 0: the template function 'nosuchfunction' is not defined or not valid`,
		`definition.actions.C.inputs: expression "@body('Nowhere')": position 0: body('Nowhere') refers to an action that does not exist`,
		`definition.actions.C.runAfter.B[0]: unknown status "Done"`,
		`definition.actions.D.type: unknown action type "Teleport"`,
		`definition.actions.D.runAfter.Ghost: runAfter names the unknown action "Ghost"`,
		`definition.actions.E.inputs.name: the variable "undeclared" is not initialized by any InitializeVariable action`,
		`parameters('missing') refers to a parameter that is neither declared`,
		`appsetting('NOT_SET'): the app setting is not set`,
		`definition.actions.G.inputs: expression "@concat('a'"`,
		`runAfter forms a cycle: A -> C -> B -> A`,
	}
	text := ps.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q in:\n%s", w, text)
		}
	}
}

func TestValidateStructure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		def  string
		want string
	}{
		{`{"actions":{"L":{"type":"Foreach","actions":{}}}}`, "definition.actions.L.foreach: a Foreach action needs a foreach expression"},
		{`{"actions":{"L":{"type":"Foreach","foreach":"@createArray()","runtimeConfiguration":{"concurrency":{"repetitions":80}}}}}`, "must be between 1 and 50"},
		{`{"actions":{"I":{"type":"If","actions":{}}}}`, "definition.actions.I.expression: an If action needs an expression"},
		{`{"actions":{"I":{"type":"If","expression":{"and":[{"bogus":[1,2]}]}}}}`, `unknown condition operator "bogus"`},
		{`{"actions":{"T":{"type":"Terminate","inputs":{"runStatus":"Exploded"}}}}`, "runStatus must be Failed, Cancelled or Succeeded"},
		{`{"actions":{"V":{"type":"InitializeVariable","inputs":{"variables":[{"name":"v","type":"decimal"}]}}}}`, `unknown variable type "decimal"`},
		{`{"actions":{"V":{"type":"InitializeVariable","inputs":{"variables":[{"name":"v","type":"string"}]}},"X":{"type":"IncrementVariable","inputs":{"name":"v","value":1}}}}`, "needs an integer or float variable"},
		{`{"actions":{"H":{"type":"Http","inputs":{"method":"GET","uri":"http://x","retryPolicy":{"type":"sometimes"}}}}}`, "retryPolicy.type must be exponential, fixed or none"},
		{`{"actions":{"H":{"type":"Http","inputs":{"method":"GET","uri":"http://x","authentication":{"type":"ManagedServiceIdentity"}}}}}`, "not available outside Azure"},
		{`{"actions":{"P":{"type":"ParseJson","inputs":{"content":"{}","schema":{"type":"nonsense"}}}}}`, "invalid JSON schema"},
		{`{"actions":{"W":{"type":"Wait","inputs":{},"limit":{"timeout":"10 minutes"}}}}`, "is not an ISO 8601 duration"},
		{`{"actions":{"S":{"type":"ServiceProvider","inputs":{"serviceProviderConfiguration":{"connectionName":"nope","operationId":"x"}}}}}`, `the connection "nope" is not defined in connections.json`},
		{`{"triggers":{"r":{"type":"Recurrence","recurrence":{"frequency":"Fortnight","interval":1}}}}`, "frequency must be Second"},
		{`{"triggers":{"r":{"type":"Carrier pigeon"}}}`, `unknown trigger type "Carrier pigeon"`},
		{`{"actions":{"A":{"type":"Scope","actions":{"B":{"type":"Compose","inputs":1}}},"C":{"type":"Compose","inputs":1,"runAfter":{"B":["Succeeded"]}}}}`, "runAfter must name an action of the same scope"},
		{`{"actions":{"A":{"type":"Compose","inputs":"@items('A')"}}}`, "refers to a loop that does not exist"},
		{`{"actions":{"Sw":{"type":"Switch","expression":"@triggerBody()","cases":{"a":{"case":1},"b":{"case":1}}}}}`, "is also used by case"},
	}
	for _, tc := range cases {
		d, err := ParseDefinition([]byte(tc.def))
		if err != nil {
			t.Fatal(err)
		}
		env := testEnv()
		env.Connections = map[string]bool{}
		ps := Validate(d, env)
		if !strings.Contains(ps.Error(), tc.want) {
			t.Errorf("%s: want %q, got:\n%v", tc.def, tc.want, ps)
		}
	}
}

func TestValidateDepthAndSize(t *testing.T) {
	t.Parallel()
	inner := `{"type":"Compose","inputs":1}`
	for i := 0; i < 9; i++ {
		inner = `{"type":"Scope","actions":{"S` + string(rune('a'+i)) + `":` + inner + `}}`
	}
	d, err := ParseDefinition([]byte(`{"actions":{"Top":` + inner + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(d, Environment{}); !strings.Contains(ps.Error(), "nested more than 8 levels") {
		t.Fatalf("got %v", ps)
	}
}

func TestParseFileShapes(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"definition":{"actions":{"A":{"type":"Compose","inputs":1}}},"kind":"Stateless"}`,
		`{"properties":{"definition":{"actions":{"A":{"type":"Compose","inputs":1}}}}}`,
		`{"actions":{"A":{"type":"Compose","inputs":1}}}`,
	} {
		f, err := ParseFile([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if f.Definition.Actions["A"] == nil || f.Definition.Actions["A"].Inputs != int64(1) {
			t.Fatalf("%s: got %#v", doc, f.Definition.Actions["A"])
		}
	}
	if _, err := ParseFile([]byte(`{"properties":{}}`)); err == nil {
		t.Fatal("a file without a definition was accepted")
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{"PT7S": "7s", "PT1H30M": "1h30m0s", "P1D": "24h0m0s", "PT0.5S": "500ms", "P1DT1H": "25h0m0s"} {
		d, err := ParseDuration(s)
		if err != nil || d.String() != want {
			t.Errorf("%s: got %v %v, want %s", s, d, err, want)
		}
	}
	for _, s := range []string{"", "P", "7S", "PT", "P1H", "PTxS"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("%q was accepted", s)
		}
	}
}
