package app

import (
	"errors"

	"junction/internal/broker/httpapi"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/job"
	"junction/internal/retention"
	"junction/internal/workflow"
)

// newRetention builds the retention worker over the histories of the
// components built before it.
func newRetention(d Deps, components []Component) *retention.Worker {
	var hs []retention.History
	for _, c := range components {
		switch c := c.(type) {
		case *workflow.Component:
			hs = append(hs, retention.History{Name: "workflow runs", Setting: "workflowRuns", Prune: c.Engine().PruneRuns})
		case *function.Component:
			hs = append(hs, retention.History{Name: "function invocations", Setting: "functionInvocations", Prune: c.Host().PruneInvocations})
		case *events.Router:
			hs = append(hs, retention.History{Name: "event dead letters", Setting: "eventDeadLetters", Prune: c.PruneDeadLetters})
		case *job.Service:
			hs = append(hs, retention.History{Name: "job runs", Setting: "jobRuns", Prune: c.PruneRuns})
		case *httpapi.API:
			hs = append(hs, retention.History{Name: "broker dead letters", Setting: "brokerDeadLetters", Prune: c.Broker().PruneDeadLetters})
		}
	}
	return retention.New(retention.Options{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, Registry: d.Registry,
		Settings: d.Config.Retention, Histories: hs})
}

// validateRetention checks the retention settings, naming the flag.
func (c *Config) validateRetention() error {
	err := c.Retention.Validate()
	var fe *retention.FieldError
	if errors.As(err, &fe) {
		return &ConfigError{Field: fe.Flag, Err: fe.Err}
	}
	return err
}
