package workflow

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"junction/internal/project"
)

var fixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func FuzzParseFile(f *testing.F) {
	for _, name := range []string{"logicapps/request-upsert-response.json", "logicapps/try-catch.json", "powerautomate/row-change-nested-foreach.json", "invalid/everything-wrong.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"actions":{"A":{"type":"Scope","actions":{"B":{"type":"If","expression":{"and":[{"equals":[1,1]}]}}}}}}`))
	corpus, _ := filepath.Glob("testdata/corpus/*/workflow.json")
	projects, _ := filepath.Glob("testdata/corpus/*/*/workflow.json")
	corpus = append(corpus, projects...)
	for _, name := range corpus {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"definition":{"triggers":{"R":{"type":"Recurrence","recurrence":{"frequency":"Day","interval":"1","schedule":{"hours":["6"],"minutes":30}}}}}}`))
	f.Add([]byte(`{"definition":{"triggers":{"W":{"type":"SlidingWindow","inputs":{"delay":"PT5S"},"recurrence":{"frequency":"Hour","interval":1}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile(data)
		// A byte order mark changes nothing.
		withBOM, errBOM := ParseFile(append([]byte("\xef\xbb\xbf"), data...))
		if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) && ((err == nil) != (errBOM == nil) || (err == nil && jsonOf(file) != jsonOf(withBOM))) {
			t.Fatalf("a BOM changed the result: %v / %v", err, errBOM)
		}
		if err != nil {
			return
		}
		_ = Validate(file.Definition, Environment{})
	})
}

// FuzzReadProject reads connections.json and parameters.json as a project
// folder holds them: never a panic, and every problem names its file.
func FuzzReadProject(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*/connections.json")
	for _, name := range files {
		conns, _ := os.ReadFile(name)
		params, _ := os.ReadFile(filepath.Join(filepath.Dir(name), "parameters.json"))
		f.Add(conns, params)
	}
	f.Add([]byte(`{"managedApiConnections":{"b":{"api":{"id":"x/azureblob"},"connectionRuntimeUrl":"@appsetting('U')","authentication":"@parameters('a')"}}}`),
		[]byte(`{"a":{"type":"object","value":{"type":"Raw","parameter":"@appsetting('K')"}}}`))
	f.Add([]byte(`{"agentConnections":{"agent":{"endpoint":"@appsetting('E')","authentication":{"type":"Key","key":"@appsetting('K')"}}},"serviceProviderConnections":{"s":{"parameterValues":"@parameters('p')","serviceProvider":{"id":"/serviceProviders/serviceBus"}}}}`),
		[]byte(`{"p":{"type":"object","value":{"connectionString":"@appsetting('C')"}}}`))
	env := func(n string) (string, bool) { return "v-" + n, n != "MISSING" }
	f.Fuzz(func(t *testing.T, conns, params []byte) {
		p, problems := project.Open(fstest.MapFS{"connections.json": {Data: conns}, "parameters.json": {Data: params}}, ".")
		if len(problems) > 0 {
			return
		}
		_, ps := ReadProject(p, env)
		for _, pr := range ps {
			if pr.File != "connections.json" && pr.File != "parameters.json" {
				t.Fatalf("a problem without its file: %v", pr)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT7S", "P1DT2H", "PT0.5S", "P1Y2M3W4D", "PT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("%q gave a negative duration %v", s, d)
		}
	})
}

func FuzzRecurrence(f *testing.F) {
	f.Add("Day", 1, "2024-01-01T00:00:00", "W. Europe Standard Time", 6, 30, "Monday")
	f.Add("Week", 2, "", "", 0, 0, "Friday")
	f.Add("Month", 1, "2024-01-31T08:00:00Z", "UTC", 1, 1, "")
	f.Fuzz(func(t *testing.T, freq string, interval int, start, tz string, hour, minute int, day string) {
		r := &Recurrence{Frequency: freq, Interval: interval, StartTime: start, TimeZone: tz}
		if hour >= 0 || minute >= 0 || day != "" {
			r.Schedule = &Schedule{Hours: []int{hour}, Minutes: []int{minute}}
			if day != "" {
				r.Schedule.WeekDays = []string{day}
			}
		}
		s, err := newSchedule(r)
		if err != nil || interval > 1000 {
			return
		}
		now := fixedNow
		if n := s.next(now, now); !n.IsZero() && !n.After(now) {
			t.Fatalf("next occurrence %v is not after %v", n, now)
		}
	})
}

func FuzzLiquidMap(f *testing.F) {
	for _, s := range []string{"{{content.a | Append: 'x' | Upcase}}", "{%- for d in content.l -%}{%- if forloop.Last -%}{{d}}{%- endif -%}{%- endfor -%}",
		"{{ content | Size }}", "{% if x %}", "{{content.n | DividedBy: 0}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := compileLiquid(src)
		if err != nil {
			return
		}
		_, _ = tpl.RenderString(map[string]any{"content": map[string]any{"a": "b", "l": []any{int64(1), "x"}, "n": int64(3)}})
	})
}
