// Package eventgrid is the connector that publishes to Junction's own event
// topics, in the Event Grid schema or as CloudEvents, with the operation ids
// of the Event Grid publisher connector (PublishEvent, publishEvents).
package eventgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"junction/internal/connector"
	"junction/internal/events"
)

// Name is the connector's name in the registry.
const Name = "events"

// Publisher is the event router as the connector uses it.
type Publisher interface {
	Publish(ctx context.Context, topic string, evs []events.Event) error
}

// New returns the connector over p.
func New(p Publisher) *connector.Connector {
	inputs := connector.Schema{"type": "object", "required": []string{"topicName", "events"}, "properties": map[string]any{
		"topicName": map[string]any{"type": "string", "description": "the Junction event topic"},
		"schema":    map[string]any{"type": "string", "enum": []string{"EventGridSchema", "CloudEventSchemaV1_0"}, "default": "EventGridSchema"},
		"events":    map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": "events in the chosen schema; one object is taken as a batch of one"},
	}}
	invoke := func(op string) func(context.Context, connector.Connection, map[string]any) (any, error) {
		return func(ctx context.Context, _ connector.Connection, in map[string]any) (any, error) {
			v := connector.Values(in)
			topic, err := v.String("topicName", "")
			if err == nil && topic == "" {
				topic, err = v.Required("topic")
			}
			if err != nil {
				return nil, connector.BadInput(Name, op, errors.New("topicName is required"))
			}
			raw := in["events"]
			if raw == nil {
				raw = in["body"]
			}
			if obj, ok := raw.(map[string]any); ok {
				raw = []any{obj}
			}
			body, err := json.Marshal(raw)
			if err != nil || raw == nil {
				return nil, connector.BadInput(Name, op, errors.New("events must be an array of events"))
			}
			schema, _ := v.String("schema", "EventGridSchema")
			var evs []events.Event
			switch schema {
			case "EventGridSchema":
				evs, err = events.DecodeEventGrid(body, topic)
			case "CloudEventSchemaV1_0":
				h := http.Header{"Content-Type": {"application/cloudevents-batch+json"}}
				evs, err = events.DecodeCloudEvents(h, body)
			default:
				err = fmt.Errorf("schema must be EventGridSchema or CloudEventSchemaV1_0, not %q", schema)
			}
			if err != nil {
				return nil, connector.BadInput(Name, op, err)
			}
			if err := p.Publish(ctx, topic, evs); err != nil {
				return nil, connector.Fail(Name, op, err)
			}
			ids := make([]string, len(evs))
			for i, e := range evs {
				ids[i] = e.ID
			}
			return map[string]any{"published": len(evs), "ids": ids}, nil
		}
	}
	return &connector.Connector{
		Name:        Name,
		Title:       "Event Grid (Junction event router)",
		Description: "Publish events to Junction's event topics.",
		Operations: []connector.Operation{
			{ID: "publishEvents", Kind: connector.Action, Summary: "Publish events to a topic", Inputs: inputs, Invoke: invoke("publishEvents")},
			{ID: "PublishEvent", Kind: connector.Action, Summary: "Publish events to a topic (the managed connector's id)", Inputs: inputs, Invoke: invoke("PublishEvent")},
		},
	}
}
