package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"junction/internal/broker"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/workflow"
)

// RegisterDispatchers lets event subscriptions deliver to broker queues and
// topics, workflows and functions.
func (b *Bridge) RegisterDispatchers(r *events.Router) {
	toBroker := events.DispatcherFunc(b.deliverToBroker)
	r.RegisterDispatcher(events.EndpointServiceBusQueue, toBroker)
	r.RegisterDispatcher(events.EndpointServiceBusTopic, toBroker)
	r.RegisterDispatcher(events.EndpointWorkflow, events.DispatcherFunc(b.deliverToWorkflow))
	toFunction := events.DispatcherFunc(b.deliverToFunction)
	r.RegisterDispatcher(events.EndpointFunction, toFunction)
	r.RegisterDispatcher(events.EndpointAzureFunction, toFunction)
}

// delivery is what the router says about the delivery: the subscription's
// delivery schema above all (the events' own schema when it says nothing).
func delivery(ctx context.Context, evs []events.Event) events.Delivery {
	d, ok := events.DeliveryFrom(ctx)
	if !ok || d.Schema == "" {
		if len(evs) > 0 {
			d.Schema = evs[0].Schema
		}
	}
	return d
}

// lastSegment takes an entity or function name out of an Azure resource id
// (".../queues/orders") or returns a plain name as it is.
func lastSegment(target string) string {
	target = strings.TrimRight(target, "/")
	if i := strings.LastIndex(target, "/"); i >= 0 {
		return target[i+1:]
	}
	return target
}

// deliverToBroker sends each event as one message, its body the event in the
// schema it was published in and its MessageId the event id, in one
// transaction (all or none).
func (b *Bridge) deliverToBroker(ctx context.Context, target string, evs []events.Event) error {
	path := lastSegment(target)
	del := delivery(ctx, evs)
	msgs := make([]broker.Message, len(evs))
	for i := range evs {
		body, err := json.Marshal(evs[i].Render(del.Schema))
		if err != nil {
			return events.Permanent(err)
		}
		msgs[i] = broker.Message{MessageID: evs[i].ID, Body: body, ContentType: "application/json", Subject: evs[i].Subject,
			Properties: map[string]any{"aeg-event-type": "Notification", "aeg-subscription-name": del.Subscription,
				"aeg-delivery-count": strconv.Itoa(del.Attempt), "aeg-metadata-version": "1", "aeg-data-version": evs[i].DataVersion}}
	}
	if _, err := b.Broker.Send(ctx, path, broker.Traced(ctx, msgs)...); err != nil {
		var be *broker.Error
		if errors.As(err, &be) && (be.Kind == broker.KindEntityNotFound || be.Kind == broker.KindBadRequest || be.Kind == broker.KindTooLarge) {
			return events.Permanent(err)
		}
		return err
	}
	return nil
}

// deliverToWorkflow fires a workflow's trigger with the batch, as Logic Apps
// receives Event Grid deliveries on a Request trigger: the body is the array
// of events. target is "workflow" (its first trigger) or "workflow/trigger".
func (b *Bridge) deliverToWorkflow(ctx context.Context, target string, evs []events.Event) error {
	name, trigger, _ := strings.Cut(strings.TrimPrefix(target, "/"), "/")
	trigger = strings.TrimPrefix(trigger, "triggers/")
	l, ok := b.Engine.Workflow(name)
	if !ok {
		return events.Permanent(fmt.Errorf("no workflow %q", name))
	}
	if trigger == "" {
		for t := range l.Def.Triggers {
			if trigger == "" || t < trigger {
				trigger = t
			}
		}
	}
	// The body is plain JSON values, as a Request trigger parses it: the
	// rendered events hold raw JSON (data) that expressions cannot select in.
	raw, err := json.Marshal(renderAll(evs, delivery(ctx, evs).Schema))
	if err != nil {
		return events.Permanent(err)
	}
	var body []any
	if err := json.Unmarshal(raw, &body); err != nil {
		return events.Permanent(err)
	}
	outputs := map[string]any{"headers": map[string]any{"aeg-event-type": "Notification"}, "body": body}
	if _, err := b.Engine.Fire(ctx, l, trigger, outputs); err != nil {
		if errors.Is(err, workflow.ErrNotFound) {
			return events.Permanent(err)
		}
		return err
	}
	return nil
}

// deliverToFunction invokes an eventGridTrigger function once per event, as
// Azure Functions does; a failed invocation fails the delivery so the retry
// ladder applies.
func (b *Bridge) deliverToFunction(ctx context.Context, target string, evs []events.Event) error {
	name := lastSegment(target)
	if _, ok := b.Host.Function(name); !ok {
		return events.Permanent(fmt.Errorf("no function %q", name))
	}
	schema := delivery(ctx, evs).Schema
	for i := range evs {
		out, err := b.Host.Invoke(ctx, name, function.Trigger{Type: "eventGridTrigger", Detail: evs[i].ID, Value: evs[i].Render(schema)})
		if err != nil {
			return err
		}
		if out.Status != function.StatusSucceeded {
			return fmt.Errorf("function %s failed (invocation %s): %v", name, out.InvocationID, out.Err)
		}
	}
	return nil
}

func renderAll(evs []events.Event, schema string) []any {
	out := make([]any, len(evs))
	for i := range evs {
		out[i] = evs[i].Render(schema)
	}
	return out
}
