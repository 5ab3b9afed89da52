package cli

import (
	"flag"
	"time"

	"junction/internal/retention"
)

// retentionFlags registers the flags of retention.Settings; what they leave
// unset comes from junction.yaml's retention: section, then the defaults.
func retentionFlags(fs *flag.FlagSet, s *retention.Settings) {
	d := retention.Defaults()
	fs.Var(&s.WorkflowRuns, "retain-workflow-runs", "how long finished workflow runs are kept, from their start, as a `period`: 90d, 36h, forever (default "+d.WorkflowRuns.String()+")")
	fs.Var(&s.FunctionInvocations, "retain-function-invocations", "how long function invocation records and their logs are kept, as a `period` (default "+d.FunctionInvocations.String()+")")
	fs.Var(&s.EventDeadLetters, "retain-event-dead-letters", "how long dead-lettered events are kept, as a `period` (default "+d.EventDeadLetters.String()+": until purged)")
	fs.Var(&s.JobRuns, "retain-job-runs", "how long finished job runs and their rejects files are kept, as a `period` (default "+d.JobRuns.String()+")")
	fs.Var(&s.BrokerDeadLetters, "retain-broker-dead-letters", "how long dead-lettered broker messages are kept, as a `period` (default "+d.BrokerDeadLetters.String()+": until purged)")
	fs.Var(&s.Changes, "retain-changes", "how long the change log keeps a change every reader has passed, as a `period`; older delta links and change-tracking tokens expire (default "+d.Changes.String()+")")
	fs.Var(&s.ChangesMax, "retain-changes-max", "how long the change log keeps a change a reader has not passed, as a `period`: past it the reader is marked lost and resyncs (default "+d.ChangesMax.String()+", at least --retain-changes)")
	fs.Var(&s.Traces, "retain-traces", "how long recorded trace spans are kept, as a `period` (default "+d.Traces.String()+")")
	fs.Var((*unsetDuration)(&s.Interval), "retention-interval", "how often retention runs, as a `duration`; an idle store gets a pass sooner (default "+d.Interval.String()+")")
	fs.IntVar(&s.Batch, "retention-batch", 0, "entries one retention delete removes, each batch its own transaction (default 1000)")
}

// unsetDuration is a duration flag whose zero means "not given", so that the
// project file's value can apply.
type unsetDuration time.Duration

func (d *unsetDuration) String() string {
	if d == nil || *d == 0 {
		return ""
	}
	return time.Duration(*d).String()
}

func (d *unsetDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = unsetDuration(v)
	return err
}
