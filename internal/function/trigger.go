package function

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"junction/internal/trace"
	"mime"
	"net/http"
	"strings"
	"time"
)

// receive runs a serviceBusTrigger function on each message of its entity:
// complete when the invocation succeeds, abandon when it fails (the broker
// dead-letters after MaxDeliveryCount).
func (h *Host) receive(ctx context.Context, f *fn) {
	b := f.def.Trigger
	e := Entity{Queue: b.QueueName, Topic: b.TopicName, Subscription: b.SubscriptionName}
	src := h.opts.Messages
	backoff := time.Second
	for ctx.Err() == nil {
		m, err := src.Receive(ctx, e, 30*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("receive from Service Bus", "function", f.def.Name, "entity", e.String(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if m == nil {
			continue
		}
		out := h.invoke(ctx, f, Trigger{Type: ServiceBusTrigger, Detail: "message " + m.ID, Value: messageValue(m), BindingData: messageData(m),
			Trace: trace.FromProperties(m.Properties)})
		settle := src.Complete
		if out.Err != nil {
			settle = src.Abandon
		}
		if err := settle(context.WithoutCancel(ctx), e, m); err != nil {
			h.log.Warn("settle a Service Bus message", "function", f.def.Name, "message", m.ID, "err", err)
		}
	}
}

// messageValue is the body as the function sees it: parsed JSON when it is
// JSON, else text.
func messageValue(m *Message) any {
	mt, _, _ := mime.ParseMediaType(m.ContentType)
	if mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
		var v any
		if json.Unmarshal(m.Body, &v) == nil {
			return v
		}
	}
	return string(m.Body)
}

func messageData(m *Message) map[string]any {
	props := map[string]any{}
	for k, v := range m.Properties {
		props[k] = v
	}
	return map[string]any{
		"MessageId": m.ID, "DeliveryCount": m.DeliveryCount, "ContentType": m.ContentType,
		"CorrelationId": m.CorrelationID, "SessionId": m.SessionID, "Label": m.Subject, "Subject": m.Subject,
		"EnqueuedTimeUtc": m.EnqueuedTime.UTC().Format(time.RFC3339Nano), "UserProperties": props, "ApplicationProperties": props,
	}
}

// DeliverEvent runs an eventGridTrigger function on one event (Event Grid or
// CloudEvents schema); the event router calls it for subscriptions whose
// endpoint is a function. An error means the delivery should be retried.
func (h *Host) DeliverEvent(ctx context.Context, function string, event json.RawMessage) error {
	f, ok := h.funcs[strings.ToLower(function)]
	if !ok || f.def.Trigger.Type != EventGridTrigger {
		return fmt.Errorf("function %q: no eventGridTrigger function by that name", function)
	}
	return h.deliverEvent(ctx, f, event)
}

func (h *Host) deliverEvent(ctx context.Context, f *fn, event json.RawMessage) error {
	var v map[string]any
	if err := json.Unmarshal(event, &v); err != nil {
		return fmt.Errorf("the event is not a JSON object: %w", err)
	}
	id, _ := v["id"].(string)
	tp := "" // the delivery's span, else the CloudEvents distributed tracing extension
	if !trace.From(ctx).Valid() {
		tp, _ = v["traceparent"].(string)
	}
	out := h.invoke(ctx, f, Trigger{Type: EventGridTrigger, Detail: "event " + id, Value: v, BindingData: map[string]any{"data": v["data"]}, Trace: tp})
	return out.Err
}

// serveEventGrid is Azure's Event Grid webhook for functions:
// POST /runtime/webhooks/EventGrid?functionName=X&code=KEY. It answers the
// subscription validation handshake and runs the function on each event of
// an Event Grid or CloudEvents batch.
func (h *Host) serveEventGrid(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("functionName")
	f, ok := h.funcs[strings.ToLower(name)]
	if !ok || f.def.Trigger.Type != EventGridTrigger {
		http.Error(w, fmt.Sprintf("no eventGridTrigger function named %q", name), http.StatusNotFound)
		return
	}
	if !h.authorized(r, &Definition{Name: f.def.Name, Trigger: Binding{AuthLevel: "function"}}) {
		http.Error(w, "a valid function key is required (code query parameter or x-functions-key header)", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodOptions { // CloudEvents webhook validation
		w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cannot read the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var events []json.RawMessage
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "{") {
		events = []json.RawMessage{json.RawMessage(trimmed)}
	} else if err := json.Unmarshal(body, &events); err != nil {
		http.Error(w, "the body is not an event or an array of events: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" && len(events) == 1 {
		var ev struct {
			Data struct {
				ValidationCode string `json:"validationCode"`
			} `json:"data"`
		}
		if json.Unmarshal(events[0], &ev) == nil && ev.Data.ValidationCode != "" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": ev.Data.ValidationCode})
			return
		}
	}
	for _, ev := range events {
		if err := h.deliverEvent(r.Context(), f, ev); err != nil {
			http.Error(w, "the function failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
