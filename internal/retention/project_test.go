package retention

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"junction/internal/project"
)

func TestProjectSettings(t *testing.T) {
	t.Parallel()
	open := func(manifest string) *project.Project {
		p, problems := project.Open(fstest.MapFS{"junction.yaml": {Data: []byte(manifest)}}, "p")
		if len(problems) > 0 {
			t.Fatalf("open: %v", problems)
		}
		return p
	}
	s, problems := fromProject(open("name: x\nretention:\n  workflowRuns: 30d\n  brokerDeadLetters: forever\n  interval: 5m\n  batch: 200\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := Settings{WorkflowRuns: Period(30 * 24 * time.Hour), BrokerDeadLetters: Forever, Interval: 5 * time.Minute, Batch: 200}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	// Flags win over the project file, which wins over the defaults.
	flags := Settings{WorkflowRuns: Period(time.Hour)}
	got := flags.Or(s).WithDefaults()
	if got.WorkflowRuns != Period(time.Hour) || got.BrokerDeadLetters != Forever || got.JobRuns != Defaults().JobRuns || got.Batch != 200 {
		t.Fatalf("merged: %+v", got)
	}

	for _, c := range []struct{ manifest, want string }{
		{"retention:\n  workflowRun: 30d\n", "junction.yaml:2:3: retention.workflowRun: no such setting; did you mean workflowRuns?"},
		{"retention:\n  jobRuns: 30 days\n", `junction.yaml:2:12: retention.jobRuns: "30 days" is not a period`},
		{"retention:\n  jobRuns: 0\n", `junction.yaml:2:12: retention.jobRuns: "0" is not a positive period`},
		{"retention:\n  interval: 10ms\n", `junction.yaml:2:13: retention.interval: "10ms" is not a duration of at least 1s`},
		{"retention:\n  batch: 100000\n", `junction.yaml:2:10: retention.batch: "100000" is not a number between 1 and 10000`},
		{"retention: 7d\n", "junction.yaml:1:12: retention: give a mapping of settings"},
		{"retention:\n  jobRuns: [1, 2]\n", "junction.yaml:2:12: retention.jobRuns: give one value"},
		{"retention:\n  changes: 10d\n  changesMax: 2d\n", "junction.yaml:3:15: retention.changesMax: 2d is shorter than changes (10d)"},
	} {
		problems := Validator{}.ValidateProject(open(c.manifest))
		if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), c.want) {
			t.Errorf("%q: got %v, want %q", c.manifest, problems, c.want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	if err := (Settings{}).Validate(); err != nil {
		t.Fatalf("zero settings: %v", err)
	}
	for _, c := range []struct {
		s    Settings
		flag string
	}{
		{Settings{JobRuns: -5}, "--retain-job-runs"},
		{Settings{Interval: time.Millisecond}, "--retention-interval"},
		{Settings{Batch: -1}, "--retention-batch"},
		{Settings{Batch: 20000}, "--retention-batch"},
	} {
		err := c.s.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.flag+": ") {
			t.Errorf("%+v: %v, want an error naming %s", c.s, err, c.flag)
		}
	}
}
