package app

import (
	"context"
	"errors"
	"path/filepath"

	"junction/internal/broker"
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
		case *traces:
			hs = append(hs, retention.History{Name: "traces", Setting: "traces", Prune: c.Prune})
		case *httpapi.API:
			hs = append(hs, retention.History{Name: "broker dead letters", Setting: "brokerDeadLetters", Prune: c.Broker().PruneDeadLetters})
		}
	}
	report := retention.ReportOptions{Groups: storageGroups, DataDir: d.DataDir, Consumers: retention.Consumers(d.Store)}
	if d.Config.Store == "" {
		report.SQLitePath = filepath.Join(d.DataDir, "junction.db")
	}
	for _, c := range components {
		if bus, ok := c.(*httpapi.API); ok {
			report.Entities = brokerUsage(bus.Broker())
		}
	}
	return retention.New(retention.Options{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, Registry: d.Registry,
		Settings: d.Config.Retention, Histories: hs, ChangeLog: true, Report: report})
}

// storageGroups are the parts of Junction the storage report shows, by their
// tables; a table no group names is reported under "other".
var storageGroups = []retention.Group{
	{Name: "tables", Prefix: "rec_"},
	{Name: "table definitions", Tables: []string{"records_tables", "records_autonumbers", "records_key_users"}},
	{Name: "change log", Tables: []string{"junction_changes", "junction_changelog_cursors", "junction_changelog_trim", "junction_changes_shapes"},
		Setting: "changes"},
	{Name: "broker", Tables: []string{"broker_entities", "broker_messages", "broker_sessions", "broker_rules", "broker_dedupe", "broker_deadletter_seen"},
		Setting: "brokerDeadLetters"},
	{Name: "events", Tables: []string{"events_topics", "events_subscriptions", "events_events", "events_deliveries", "events_dataverse_requests"}},
	{Name: "event dead letters", Tables: []string{"events_deadletters"}, Setting: "eventDeadLetters"},
	{Name: "workflows", Tables: []string{"wf_workflows", "wf_versions", "wf_schedules"}},
	{Name: "workflow runs", Tables: []string{"wf_runs", "wf_actions"}, Setting: "workflowRuns"},
	{Name: "function invocations", Tables: []string{"func_invocations", "func_timer_fires"}, Setting: "functionInvocations"},
	{Name: "jobs", Tables: []string{"batch_jobs", "batch_connections", "batch_schedules", "batch_watermarks"}},
	{Name: "job runs", Tables: []string{"batch_runs", "batch_run_files"}, Setting: "jobRuns"},
	{Name: "traces", Tables: []string{"junction_spans"}, Setting: "traces"},
	{Name: "keys", Tables: []string{"junction_api_keys", "func_keys", "broker_auth_rules"}},
	{Name: "store", Tables: []string{"junction_leases", "junction_migrations", "sqlite_sequence"}},
}

// brokerUsage lists every queue and subscription with its messages.
func brokerUsage(b *broker.Broker) func(ctx context.Context) ([]retention.Entity, error) {
	return func(ctx context.Context) ([]retention.Entity, error) {
		queues, err := receivers(ctx, b)
		if err != nil {
			return nil, err
		}
		out := []retention.Entity{}
		for _, e := range queues {
			c, err := b.Counts(ctx, e.Path)
			if broker.KindOf(err) == broker.KindEntityNotFound {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			out = append(out, retention.Entity{Path: e.Path, Kind: string(e.Kind), Active: c.Active, Scheduled: c.Scheduled,
				DeadLetter: c.DeadLetter, Messages: c.Total, Bytes: c.SizeBytes})
		}
		return out, nil
	}
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
