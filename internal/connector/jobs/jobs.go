// Package jobs is the connector with which workflows start Junction's batch
// and file jobs, and optionally wait for the run's outcome.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"junction/internal/connector"
	"junction/internal/job"
	"junction/internal/store"
)

// Name is the connector's name in the registry.
const Name = "jobs"

// Runner is the job service as the connector uses it.
type Runner interface {
	Enqueue(ctx context.Context, job, trigger, occurrence, file string) (int64, error)
	Run(ctx context.Context, job string, id int64) (job.Run, error)
}

// New returns the connector over r.
func New(r Runner) *connector.Connector {
	return &connector.Connector{
		Name:        Name,
		Title:       "Jobs",
		Description: "Start Junction's batch and file jobs from a workflow.",
		Operations: []connector.Operation{{
			ID: "runJob", Kind: connector.Action, Summary: "Start a run of a job, and wait for its outcome if asked",
			Inputs: connector.Schema{"type": "object", "required": []string{"jobName"}, "properties": map[string]any{
				"jobName":        map[string]any{"type": "string"},
				"wait":           map[string]any{"type": "boolean", "default": false, "description": "wait until the run ends; a failed or rejected run fails the action"},
				"timeoutSeconds": map[string]any{"type": "integer", "default": 3600},
			}},
			Outputs: connector.Schema{"type": "object", "description": "the run: id, status, counts, error"},
			Invoke: func(ctx context.Context, _ connector.Connection, in map[string]any) (any, error) {
				v := connector.Values(in)
				name, err := v.Required("jobName")
				if err != nil {
					return nil, connector.BadInput(Name, "runJob", err)
				}
				wait, _ := v.Bool("wait", false)
				timeout, _ := v.Int("timeoutSeconds", 3600)
				id, err := r.Enqueue(ctx, name, "workflow", "", "")
				if errors.Is(err, store.ErrNotFound) {
					return nil, &connector.Error{Connector: Name, Operation: "runJob", Status: 404, Err: fmt.Errorf("no job %q", name)}
				}
				if err != nil {
					return nil, connector.Fail(Name, "runJob", err)
				}
				run, err := r.Run(ctx, name, id)
				if err != nil {
					return nil, connector.Fail(Name, "runJob", err)
				}
				if !wait {
					return run, nil
				}
				wctx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
				defer cancel()
				for run.Status == job.StatusQueued || run.Status == job.StatusRunning {
					select {
					case <-wctx.Done():
						return nil, &connector.Error{Connector: Name, Operation: "runJob", Status: 504, Retryable: false,
							Err: fmt.Errorf("run %d of %s still %s after %d s", id, name, run.Status, timeout)}
					case <-time.After(250 * time.Millisecond):
					}
					if run, err = r.Run(ctx, name, id); err != nil {
						return nil, connector.Fail(Name, "runJob", err)
					}
				}
				if run.Status != job.StatusSucceeded {
					return nil, &connector.Error{Connector: Name, Operation: "runJob", Status: 500,
						Err: fmt.Errorf("run %d of %s ended %s: %s", id, name, run.Status, run.Error)}
				}
				return run, nil
			},
		}},
	}
}
