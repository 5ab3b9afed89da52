package retention

import (
	"errors"
	"fmt"
	"time"
)

// Settings are how long each history is kept and how the pruning runs. A
// zero field takes its default (see Defaults); docs/operations.md lists them
// with their flags.
type Settings struct {
	WorkflowRuns        Period // --retain-workflow-runs: finished runs, from their start (Logic Apps' 90 days)
	FunctionInvocations Period // --retain-function-invocations: invocation records with their logs
	EventDeadLetters    Period // --retain-event-dead-letters: undeliverable events (forever: until purged)
	JobRuns             Period // --retain-job-runs: finished job runs with their rejects files
	BrokerDeadLetters   Period // --retain-broker-dead-letters: dead-lettered messages, from when they were dead-lettered
	// Changes is how long the change log keeps a change that every reader
	// with a cursor has passed (--retain-changes); ChangesMax is how long
	// it keeps one that a reader has not (--retain-changes-max): past it the
	// change goes and the reader is marked lost, and resyncs.
	Changes    Period
	ChangesMax Period
	Traces     Period // --retain-traces: recorded spans, from their start

	// Interval is how often a pass runs (--retention-interval); an idle
	// store gets one sooner.
	Interval time.Duration
	// Batch is how many entries one delete removes, each batch in its own
	// transaction (--retention-batch).
	Batch int
}

// maxBatch keeps one batch's keys within both databases' limit on
// statement parameters.
const maxBatch = 10000

// Defaults are the settings of a Junction started without any.
func Defaults() Settings {
	return Settings{
		WorkflowRuns:        Period(90 * 24 * time.Hour),
		FunctionInvocations: Period(7 * 24 * time.Hour),
		EventDeadLetters:    Forever,
		JobRuns:             Period(30 * 24 * time.Hour),
		BrokerDeadLetters:   Forever,
		Changes:             Period(7 * 24 * time.Hour),
		ChangesMax:          Period(30 * 24 * time.Hour),
		Traces:              Period(7 * 24 * time.Hour),
		Interval:            time.Hour,
		Batch:               1000,
	}
}

// field is one setting as the three places that set it name it.
type field struct {
	Flag, Key string // --flag and the key under retention: in junction.yaml
	period    func(*Settings) *Period
}

// fields are the period settings.
var fields = []field{
	{"--retain-workflow-runs", "workflowRuns", func(s *Settings) *Period { return &s.WorkflowRuns }},
	{"--retain-function-invocations", "functionInvocations", func(s *Settings) *Period { return &s.FunctionInvocations }},
	{"--retain-event-dead-letters", "eventDeadLetters", func(s *Settings) *Period { return &s.EventDeadLetters }},
	{"--retain-job-runs", "jobRuns", func(s *Settings) *Period { return &s.JobRuns }},
	{"--retain-broker-dead-letters", "brokerDeadLetters", func(s *Settings) *Period { return &s.BrokerDeadLetters }},
	{"--retain-changes", "changes", func(s *Settings) *Period { return &s.Changes }},
	{"--retain-changes-max", "changesMax", func(s *Settings) *Period { return &s.ChangesMax }},
	{"--retain-traces", "traces", func(s *Settings) *Period { return &s.Traces }},
}

// FieldError names the setting that is wrong by its flag.
type FieldError struct {
	Flag string
	Err  error
}

func (e *FieldError) Error() string { return e.Flag + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate refuses settings that cannot be right, naming the flag.
func (s Settings) Validate() error {
	var errs []error
	for _, f := range fields {
		if p := *f.period(&s); p < 0 && p != Forever {
			errs = append(errs, &FieldError{f.Flag, fmt.Errorf("%d is not a period", p)})
		}
	}
	if s.Interval < 0 || (s.Interval > 0 && s.Interval < time.Second) {
		errs = append(errs, &FieldError{"--retention-interval", fmt.Errorf("%s is too short; give at least 1s, or 0 for the default of %s", s.Interval, Defaults().Interval)})
	}
	if s.Batch < 0 || s.Batch > maxBatch {
		errs = append(errs, &FieldError{"--retention-batch", fmt.Errorf("%d is not between 1 and %d; or give 0 for the default of %d", s.Batch, maxBatch, Defaults().Batch)})
	}
	if err := s.checkChanges(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkChanges refuses a hard maximum shorter than the change log's
// retention. An unset maximum is the default, or the retention when that is
// longer, so that setting only --retain-changes never fails.
func (s Settings) checkChanges() error {
	keep, most := s.Changes, s.ChangesMax
	if keep == 0 {
		keep = Defaults().Changes
	}
	if most == 0 {
		return nil
	}
	if (most != Forever && keep == Forever) || (most != Forever && most < keep) {
		return &FieldError{"--retain-changes-max", fmt.Errorf("%s is shorter than --retain-changes (%s): the hard maximum must be at least the retention", most, keep)}
	}
	return nil
}

// Or fills the fields s leaves unset from o: flags and the environment
// first, then the project file.
func (s Settings) Or(o Settings) Settings {
	for _, f := range fields {
		if p := f.period(&s); *p == 0 {
			*p = *f.period(&o)
		}
	}
	if s.Interval == 0 {
		s.Interval = o.Interval
	}
	if s.Batch == 0 {
		s.Batch = o.Batch
	}
	return s
}

// WithDefaults fills every unset field with its default. The change log's
// hard maximum defaults to its default, or to the change log's retention
// when that is longer.
func (s Settings) WithDefaults() Settings {
	if s.ChangesMax == 0 && (s.Changes == Forever || s.Changes > Defaults().ChangesMax) {
		s.ChangesMax = s.Changes
	}
	return s.Or(Defaults())
}
