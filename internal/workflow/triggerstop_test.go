package workflow

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// deliveringSource is a trigger source whose delivery is in flight when the
// trigger is stopped, as a Service Bus receive loop's is when messages came
// in just before: unsubscribing lets the delivery fire its run and waits for
// it, within the stopper's deadline.
type deliveringSource struct {
	fired chan fireResult
}

type fireResult struct {
	handles []*Handle
	err     error
}

func (*deliveringSource) Types() []string     { return []string{"OpenApiConnectionWebhook"} }
func (*deliveringSource) Match(*Trigger) bool { return true }
func (s *deliveringSource) Subscribe(ctx context.Context, sub Subscription) (func(context.Context) error, error) {
	release, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		<-release
		hs, err := sub.Fire(context.Background(), map[string]any{"body": "in flight"})
		s.fired <- fireResult{hs, err}
	}()
	return func(ctx context.Context) error {
		close(release)
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

const deliveredWorkflow = `{"definition": {
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "triggers": {"delivered": {"type": "OpenApiConnectionWebhook", "inputs": {"host": {"operationId": "SubscribeWebhookTrigger"}}}},
  "actions": {"echo": {"type": "Compose", "inputs": "@triggerBody()", "runAfter": {}}},
  "outputs": {}}, "kind": "%s"}`

// Stopping the engine or removing the workflow while a trigger's delivery is
// in flight returns, and the delivery gets its answer: a run (stop), or not
// found (remove). The engine does not hold its lock while the trigger stops,
// which the delivery takes to start its run.
func TestStopWhileATriggerDelivers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		// Remove drops the workflow's row-trigger cursors too.
		if err := s.Migrate(context.Background(), changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"Stateful", "Stateless"} {
			for _, how := range []string{"Stop", "Remove"} {
				t.Run(kind+"/"+how, func(t *testing.T) {
					src := &deliveringSource{fired: make(chan fireResult, 1)}
					b := setup(t, s)
					b.e.AddTriggerSource(src)
					name := "delivered-" + kind + "-" + how
					b.deploy(t, name, fmt.Sprintf(deliveredWorkflow, kind))
					stopped := make(chan error, 1)
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer cancel()
						if how == "Stop" {
							stopped <- b.e.Stop(ctx)
						} else {
							_, err := b.e.Remove(ctx, name)
							stopped <- err
						}
					}()
					select {
					case err := <-stopped:
						if err != nil {
							t.Fatalf("%s: %v", how, err)
						}
					case <-time.After(time.Minute):
						t.Fatalf("%s has not returned after a minute: it waits for a delivery that waits for it", how)
					}
					got := <-src.fired
					if how == "Remove" {
						// The workflow is gone: the delivery is refused, and
						// its source delivers it again (to no one).
						if !errors.Is(got.err, ErrNotFound) {
							t.Fatalf("a delivery to a removed workflow: %v, want not found", got.err)
						}
						return
					}
					if got.err != nil || len(got.handles) != 1 {
						t.Fatalf("the delivery in flight: %d runs, %v", len(got.handles), got.err)
					}
					if kind == "Stateful" {
						if _, err := loadRun(context.Background(), s, got.handles[0].ID, false); err != nil {
							t.Fatalf("the delivered run was not recorded: %v", err)
						}
					}
				})
			}
		}
	})
}
