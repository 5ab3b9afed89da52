package function_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"junction/internal/function"
	"junction/internal/project"
)

// FuzzLoadFunctionApp feeds arbitrary function.json, host.json and
// local.settings.json to the loader: it must never panic, and a function it
// reports as failed is never also loaded.
func FuzzLoadFunctionApp(f *testing.F) {
	f.Add(`{"version":"2.0"}`, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"blob","direction":"out","name":"b","path":"x"}]}`, `{"Values":{"FUNCTIONS_WORKER_RUNTIME":"node"}}`)
	f.Add("\ufeff{\"version\":\"2.0\"}", "\ufeff{\"bindings\":[{\"type\":\"timerTrigger\",\"direction\":\"in\",\"name\":\"t\",\"schedule\":\"0 * * * * *\"}]}", `{}`)
	f.Add(`{`, `{"bindings":[{"type":"queueTrigger"}],"scriptFile":"x.mjs"}`, `{"IsEncrypted":true}`)
	f.Fuzz(func(t *testing.T, host, fn, settings string) {
		fsys := fstest.MapFS{
			"functions/host.json":           {Data: []byte(host)},
			"functions/local.settings.json": {Data: []byte(settings)},
			"functions/a/function.json":     {Data: []byte(fn)},
			"functions/a/index.js":          {Data: []byte("module.exports = async () => {};")},
			"functions/a/x.mjs":             {Data: []byte("export default async () => {};")},
			"functions/b/function.json":     {Data: []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`)},
			"functions/b/index.js":          {Data: []byte("module.exports = async () => {};")},
		}
		p, problems := project.Open(fsys, "fuzz")
		if len(problems) > 0 {
			return
		}
		cfg, _ := function.Load(p)
		failed := map[string]bool{}
		for _, ff := range cfg.Failed {
			failed[strings.ToLower(ff.Name)] = true
		}
		for _, d := range cfg.Functions {
			if failed[strings.ToLower(d.Name)] {
				t.Fatalf("function %s is both loaded and failed", d.Name)
			}
		}
	})
}
