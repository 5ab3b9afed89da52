package bridge_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/store/storetest"
	"junction/internal/workflow"
)

// A stateful workflow records a run per message before the trigger
// completes it; the run's client tracking id is the message id.
const recordedWorkflow = `{"definition": {
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "triggers": {"Messages": {"type": "ServiceProvider", "inputs": {
      "parameters": {"queueName": "in", "maxMessageCount": 5},
      "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "receiveQueueMessages", "serviceProviderId": "/serviceProviders/serviceBus"}},
    "splitOn": "@triggerOutputs()?['body']",
    "correlation": {"clientTrackingId": "@triggerBody()?['messageId']"}}},
  "actions": {"Name": {"type": "Compose", "inputs": "@triggerBody()?['messageId']", "runAfter": {}}},
  "outputs": {}}, "kind": "Stateful"}`

// A stateless workflow leaves no run behind, so it acknowledges a message
// itself once its work is done: it forwards the message id to the queue
// "done", then completes the peek-locked message.
const forwardingWorkflow = `{"definition": {
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "triggers": {"Messages": {"type": "ServiceProvider", "inputs": {
      "parameters": {"queueName": "in", "maxMessageCount": 5},
      "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "peekLockQueueMessages", "serviceProviderId": "/serviceProviders/serviceBus"}},
    "splitOn": "@triggerOutputs()?['body']"}},
  "actions": {
    "Forward": {"type": "ServiceProvider", "inputs": {
        "parameters": {"entityName": "done", "message": {"contentData": "@triggerBody()?['messageId']", "contentType": "text/plain"}},
        "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "sendMessage", "serviceProviderId": "/serviceProviders/serviceBus"}},
      "runAfter": {}},
    "Complete": {"type": "ServiceProvider", "inputs": {
        "parameters": {"queueName": "in", "lockToken": "@triggerBody()?['lockToken']"},
        "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "completeMessage", "serviceProviderId": "/serviceProviders/serviceBus"}},
      "runAfter": {"Forward": ["Succeeded"]}}},
  "outputs": {}}, "kind": "Stateless"}`

// Stopping the engine, or removing the workflow, while its Service Bus
// trigger is taking messages returns without waiting on itself, and loses
// no message: each one the workflow acknowledged has its effect (a recorded
// run, or its id forwarded), every other one is still in the queue.
func TestStoppingServiceBusTriggeredWorkflows(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		for _, kind := range []string{"Stateful", "Stateless"} {
			for _, how := range []string{"Stop", "Remove"} {
				t.Run(fmt.Sprintf("%s/%s/%s", d, kind, how), func(t *testing.T) {
					t.Parallel()
					j := start(t, d)
					b := j.broker()
					ctx := context.Background()
					// A short lock brings back at once what a stopped run held.
					j.call("PUT", "/admin/v1/servicebus/queues/in", map[string]any{"properties": map[string]any{"lockDuration": "PT5S"}}, 201)
					j.call("PUT", "/admin/v1/servicebus/queues/done", map[string]any{"properties": map[string]any{}}, 201)
					def := recordedWorkflow
					if kind == "Stateless" {
						def = forwardingWorkflow
					}
					j.call("PUT", "/admin/v1/workflows/flow", def, 201)
					eng := j.engine()

					// Messages flow until the stop has returned.
					var mu sync.Mutex
					var sent []string
					sending, stopSending := context.WithCancel(ctx)
					senderDone := make(chan struct{})
					go func() {
						defer close(senderDone)
						for i := 0; sending.Err() == nil; i++ {
							id := fmt.Sprintf("m-%d", i)
							if _, err := b.Send(ctx, "in", broker.Message{MessageID: id, Body: []byte(`{}`), ContentType: "application/json"}); err != nil {
								t.Errorf("send %s: %v", id, err)
								return
							}
							mu.Lock()
							sent = append(sent, id)
							mu.Unlock()
							time.Sleep(5 * time.Millisecond)
						}
					}()
					defer func() { stopSending(); <-senderDone }()

					// Stop once the workflow has acknowledged some messages.
					for j.acknowledgedCount(kind) < 20 {
						time.Sleep(50 * time.Millisecond)
					}
					stopped := make(chan error, 1)
					go func() {
						sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						defer cancel()
						if how == "Stop" {
							stopped <- eng.Stop(sctx)
						} else {
							_, err := eng.Remove(sctx, "flow")
							stopped <- err
						}
					}()
					select {
					case err := <-stopped:
						if err != nil {
							t.Fatalf("%s: %v", how, err)
						}
					case <-time.After(2 * time.Minute):
						t.Fatalf("%s has not returned after two minutes: it waits on itself", how)
					}
					// Messages sent from now on stay in the queue.
					mu.Lock()
					afterStop := len(sent)
					mu.Unlock()
					for n := afterStop; n < afterStop+5; {
						time.Sleep(10 * time.Millisecond)
						mu.Lock()
						n = len(sent)
						mu.Unlock()
					}
					stopSending()
					<-senderDone

					// What is left in the queue (what stopped runs held comes
					// back when its lock expires) ...
					left := map[string]bool{}
					for deadline := time.Now().Add(time.Minute); ; {
						got, err := b.Receive(ctx, "in", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 100, Wait: time.Second})
						if err != nil {
							t.Fatal(err)
						}
						for _, m := range got {
							left[m.MessageID] = true
						}
						c, err := b.Counts(ctx, "in")
						if err != nil {
							t.Fatal(err)
						}
						if c.DeadLetter != 0 {
							t.Fatalf("%d messages dead-lettered", c.DeadLetter)
						}
						if c.Total == 0 && len(got) == 0 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("the queue still holds %+v a minute after the %s", c, how)
						}
					}
					// ... and what the workflow acknowledged account for every
					// message sent.
					acked := j.acknowledged(kind)
					missing := 0
					mu.Lock()
					defer mu.Unlock()
					for i, id := range sent {
						switch {
						case i >= afterStop && (acked[id] || !left[id]):
							t.Errorf("message %s, sent after the %s, was taken from the queue", id, how)
						case !acked[id] && !left[id]:
							missing++
							t.Errorf("message %s was taken from the queue and not acknowledged", id)
						}
					}
					t.Logf("%d sent, %d acknowledged, %d left in the queue, %d lost", len(sent), len(acked), len(left), missing)
				})
			}
		}
	}
}

// engine is the Junction's workflow engine.
func (j *junction) engine() *workflow.Engine {
	for _, c := range j.a.Components() {
		if w, ok := c.(*workflow.Component); ok {
			return w.Engine()
		}
	}
	j.t.Fatal("no workflow engine")
	return nil
}

// acknowledgedCount is how many messages the workflow "flow" has
// acknowledged so far (see acknowledged).
func (j *junction) acknowledgedCount(kind string) int {
	j.t.Helper()
	if kind == "Stateless" {
		c, err := j.broker().Counts(context.Background(), "done")
		if err != nil {
			j.t.Fatal(err)
		}
		return int(c.Active)
	}
	page := j.call("GET", "/admin/v1/workflows/flow/runs?top=20", nil, 200)
	return len(page["value"].([]any))
}

// acknowledged is the ids of the messages the workflow "flow" has
// acknowledged: the client tracking ids of its runs (stateful), or the ids
// it forwarded to the queue "done", taken from it (stateless).
func (j *junction) acknowledged(kind string) map[string]bool {
	j.t.Helper()
	out := map[string]bool{}
	if kind == "Stateless" {
		for {
			got, err := j.broker().Receive(context.Background(), "done", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 100, Wait: time.Second})
			if err != nil {
				j.t.Fatal(err)
			}
			if len(got) == 0 {
				return out
			}
			for _, m := range got {
				out[string(m.Body)] = true
			}
		}
	}
	for path := "/admin/v1/workflows/flow/runs?top=250"; path != ""; {
		page := j.call("GET", path, nil, 200)
		for _, r := range page["value"].([]any) {
			id, _ := r.(map[string]any)["clientTrackingId"].(string)
			if !strings.HasPrefix(id, "m-") {
				j.t.Fatalf("run with client tracking id %q, not a message id", id)
			}
			out[id] = true
		}
		path = ""
		if next, _ := page["nextLink"].(string); next != "" {
			u, err := url.Parse(next)
			if err != nil {
				j.t.Fatal(err)
			}
			path = u.RequestURI()
		}
	}
	return out
}
