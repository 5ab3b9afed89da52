// Package events is Junction's event router, with the semantics of Azure Event
// Grid: topics that accept events in the Event Grid schema or CloudEvents 1.0,
// event subscriptions with Event Grid's filters, push delivery to webhooks (with
// the validation handshake, the retry ladder, batching and dead letters) and to
// pluggable destinations (broker queues and topics, workflows, functions), pull
// delivery in the style of namespace topics, a dispatcher that turns the record
// change log into events, and the webhook real Dataverse orgs post to.
//
// Everything is kept in the store: a publish commits its events and one delivery
// row per matching subscription before it answers, and workers on any node claim
// due deliveries with leases, so two nodes on one PostgreSQL deliver each event
// to each subscription once (again only after a node died mid-delivery).
package events

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Schemas of a topic's input and a subscription's delivery.
const (
	SchemaEventGrid   = "EventGridSchema"
	SchemaCloudEvents = "CloudEventSchemaV1_0"
)

// Event is one published event, kept in the shape it was published in so that it
// can be delivered in either schema.
type Event struct {
	// Schema is the schema the event was published in (SchemaEventGrid or SchemaCloudEvents).
	Schema string `json:"schema"`
	ID     string `json:"id"`
	// Topic is the topic path the router stamps on Event Grid events.
	Topic string `json:"topic,omitempty"`
	// Source is the CloudEvents source; for Event Grid events it is the topic.
	Source          string          `json:"source,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	DataVersion     string          `json:"dataVersion,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	// DataBase64 holds binary data (CloudEvents data_base64 or a binary-mode body
	// that is not JSON).
	DataBase64 string `json:"dataBase64,omitempty"`
	// Extensions are CloudEvents extension attributes.
	Extensions map[string]any `json:"extensions,omitempty"`
	// Trace is the traceparent the event was published under: its
	// CloudEvents traceparent extension, else the publishing request's or
	// work's. Kept with the event, never rendered into it.
	Trace string `json:"trace,omitempty"`
}

// topicPath is how a topic is named in the events' topic and source fields.
func topicPath(topic string) string { return "/eventgrid/topics/" + topic }

// EventGrid renders the event in the Event Grid schema, as delivered.
func (e *Event) EventGrid() map[string]any {
	m := map[string]any{
		"id":              e.ID,
		"topic":           e.Topic,
		"subject":         e.Subject,
		"eventType":       e.Type,
		"eventTime":       e.Time,
		"dataVersion":     e.DataVersion,
		"metadataVersion": "1",
	}
	if m["topic"] == "" {
		m["topic"] = e.Source
	}
	switch {
	case e.Data != nil:
		m["data"] = e.Data
	case e.DataBase64 != "":
		m["data"] = e.DataBase64
	}
	return m
}

// CloudEvent renders the event as a structured CloudEvents 1.0 JSON object.
func (e *Event) CloudEvent() map[string]any {
	m := map[string]any{"specversion": "1.0", "id": e.ID, "type": e.Type}
	for k, v := range e.Extensions {
		m[k] = v
	}
	m["source"] = e.Source
	if e.Source == "" {
		m["source"] = e.Topic
	}
	if e.Subject != "" {
		m["subject"] = e.Subject
	}
	if e.Time != "" {
		m["time"] = e.Time
	}
	if e.DataSchema != "" {
		m["dataschema"] = e.DataSchema
	}
	if e.Schema == SchemaEventGrid && e.DataVersion != "" {
		// dataschema must be a URI; the Event Grid data version rides along as
		// an extension attribute instead.
		m["dataversion"] = e.DataVersion
	}
	ct := e.DataContentType
	switch {
	case e.Data != nil:
		if ct == "" {
			ct = "application/json"
		}
		m["data"] = e.Data
	case e.DataBase64 != "":
		m["data_base64"] = e.DataBase64
	}
	if ct != "" {
		m["datacontenttype"] = ct
	}
	return m
}

// Render renders the event in schema.
func (e *Event) Render(schema string) map[string]any {
	if schema == SchemaCloudEvents {
		return e.CloudEvent()
	}
	return e.EventGrid()
}

// envelope returns the event's attributes as filters see them, in the schema it
// was published in, with data decoded.
func (e *Event) envelope() map[string]any {
	raw := e.Render(e.Schema)
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		out[k] = v
	}
	if e.Data != nil {
		var d any
		if json.Unmarshal(e.Data, &d) == nil {
			out["data"] = d
		}
	} else if e.DataBase64 != "" {
		delete(out, "data_base64")
		if b, err := base64.StdEncoding.DecodeString(e.DataBase64); err == nil {
			out["data"] = string(b)
		}
	}
	return out
}

// isJSONContentType reports whether a content type carries JSON.
func isJSONContentType(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	return ct == "" || ct == "application/json" || ct == "text/json" || strings.HasSuffix(ct, "+json")
}

// nowString formats t the way Event Grid stamps times.
func nowString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
