package bridge

import (
	"context"
	"errors"
	"fmt"
	"junction/internal/trace"
	"slices"
	"strings"
	"time"

	"junction/internal/broker"
	"junction/internal/connector/servicebus"
	"junction/internal/lifecycle"
	"junction/internal/store"
	"junction/internal/workflow"
)

// ServiceBusTriggers fires workflows from broker messages: the Service Bus
// built-in triggers of Logic Apps Standard. receiveQueueMessages and
// receiveTopicMessages complete each message once its run is recorded;
// peekLockQueueMessages and peekLockTopicMessages leave it locked for the
// workflow to settle with completeMessage, abandonMessage or
// deadLetterMessage (the lock token is in the trigger body), so that a run
// that never settles sees the message again and, after MaxDeliveryCount, in
// the dead-letter queue.
type ServiceBusTriggers struct{ b *Bridge }

// ServiceBusTriggers returns the broker trigger source.
func (b *Bridge) ServiceBusTriggers() ServiceBusTriggers { return ServiceBusTriggers{b} }

var _ workflow.TriggerSource = ServiceBusTriggers{}

func (ServiceBusTriggers) Types() []string { return []string{"serviceprovider"} }

func (ServiceBusTriggers) Match(t *workflow.Trigger) bool {
	cfg, _ := workflow.ConnectorInputs(t)
	if !strings.HasSuffix(strings.ToLower(strInput(cfg, "serviceProviderId")), "servicebus") {
		return false
	}
	_, _, err := sbEntity(t)
	return err == nil
}

// sbEntity is the entity a trigger reads and whether it auto-completes.
func sbEntity(t *workflow.Trigger) (path string, autoComplete bool, err error) {
	cfg, p := workflow.ConnectorInputs(t)
	op := strings.ToLower(strInput(cfg, "operationId"))
	switch {
	case strings.HasPrefix(op, "receivequeuemessage"), strings.HasPrefix(op, "peeklockqueuemessages"):
		path = strInput(p, "queueName")
	case strings.HasPrefix(op, "receivetopicmessage"), strings.HasPrefix(op, "peeklocktopicmessages"):
		if t, s := strInput(p, "topicName"), strInput(p, "subscriptionName"); t != "" && s != "" {
			path = t + "/subscriptions/" + s
		}
	default:
		return "", false, fmt.Errorf("operation %q is not a Service Bus trigger", op)
	}
	if path == "" {
		return "", false, errors.New("the trigger names no queue (queueName) or topic subscription (topicName, subscriptionName)")
	}
	return path, strings.HasPrefix(op, "receive"), nil
}

// DefaultTriggerLoops is how many receive loops a Service Bus trigger runs
// when its runtimeConfiguration.concurrency.runs sets no limit.
const DefaultTriggerLoops = 16

// Subscribe implements workflow.TriggerSource: the receive loops run on a
// lifecycle group of their own until the returned function stops them,
// waiting within its context's deadline for a batch in flight to be
// recorded and settled.
func (s ServiceBusTriggers) Subscribe(ctx context.Context, sub workflow.Subscription) (func(context.Context) error, error) {
	path, auto, err := sbEntity(sub.Def)
	if err != nil {
		return nil, err
	}
	_, p := workflow.ConnectorInputs(sub.Def)
	max := 1
	if n, ok := workflow.IntInput(p["maxMessageCount"]); ok && n >= 1 && n <= 100 {
		max = n
	}
	// Runs are recorded by the loops and run on their own, so the loops
	// bound how fast runs start, not how many run: the engine holds runs
	// past concurrency.runs as waiting runs. With a limit, no more loops
	// than it allows take messages.
	loops := DefaultTriggerLoops
	if rc := sub.Def.RuntimeConfiguration; rc != nil && rc.Concurrency != nil && rc.Concurrency.Runs > 0 {
		loops = min(loops, rc.Concurrency.Runs)
	}
	g := new(lifecycle.Group)
	receive := func(ctx context.Context) { s.b.receiveLoop(ctx, sub, path, auto, max) }
	g.Start(ctx, slices.Repeat([]func(context.Context){receive}, loops)...)
	return g.Stop, nil
}

func (b *Bridge) receiveLoop(ctx context.Context, sub workflow.Subscription, path string, auto bool, max int) {
	log := b.Log.With("workflow", sub.Workflow, "trigger", sub.Trigger, "entity", path)
	for ctx.Err() == nil {
		got, err := b.Broker.Receive(ctx, path, broker.ReceiveOptions{Mode: broker.PeekLock, Max: max, Wait: 20 * time.Second})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("workflow trigger cannot receive; retrying", "err", err)
				sleep(ctx, 5*time.Second)
			}
			continue
		}
		if len(got) == 0 {
			continue
		}
		body := make([]any, len(got))
		for i, m := range got {
			body[i] = servicebus.MessageOutput(m)
		}
		// The run joins the trace of the first message, as a batch's
		// receiver span does in the Service Bus SDKs.
		fctx := trace.Remote(ctx, trace.FromProperties(got[0].Properties))
		if auto && b.sharesStore() {
			// The complete below is a durable commit in the same store,
			// after the runs' creation: it makes relaxed creations durable
			// too (store.Relaxed), and nothing is acknowledged before it.
			fctx = store.Relaxed(fctx)
		}
		_, err = sub.Fire(fctx, map[string]any{"body": body})
		if err == nil && !auto {
			continue
		}
		items := make([]broker.SettleItem, len(got))
		for i, m := range got {
			items[i] = broker.SettleItem{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: m.LockToken}}
			if err != nil {
				items[i].Op = broker.SettleAbandon
			}
		}
		// One commit settles the batch.
		results, serr := b.Broker.SettleBatch(context.WithoutCancel(ctx), path, items)
		if serr == nil {
			for _, r := range results {
				if r.Err != nil {
					serr = r.Err
				}
			}
		}
		switch {
		case err != nil:
			log.Warn("workflow trigger could not start a run; the messages will be delivered again", "err", err)
			if errors.Is(err, workflow.ErrTooManyWaitingRuns) {
				// Wait for runs to finish rather than spend deliveries.
				sleep(ctx, time.Second)
			}
		case serr != nil:
			log.Warn("complete after the run was recorded failed; the message may start a second run", "err", serr)
		}
	}
}

// sharesStore reports whether the broker keeps its messages in the bridge's
// store, where the workflows' runs are.
func (b *Bridge) sharesStore() bool {
	d, ok := b.Broker.Storage().(interface{ Store() store.Store })
	return ok && b.Store != nil && d.Store() == b.Store
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func strInput(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
