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
	"sync"
	"time"

	"junction/internal/store"
)

// receive runs a serviceBusTrigger function on its entity's messages (for a
// session-enabled one, see receiveSessions), up to
// host.json's extensions.serviceBus.maxConcurrentCalls at once (default 16):
// complete when the invocation succeeds, abandon when it fails (the broker
// dead-letters after MaxDeliveryCount). Without a prefetchCount each of those
// loops takes its own message; with one, a single receiver keeps up to
// prefetchCount locked messages ready for them.
func (h *Host) receive(ctx context.Context, f *fn) {
	b := f.def.Trigger
	e := Entity{Queue: b.QueueName, Topic: b.TopicName, Subscription: b.SubscriptionName}
	if b.IsSessionsEnabled {
		h.receiveSessions(ctx, f, e)
		return
	}
	calls, prefetch := h.cfg.ServiceBus.concurrentCalls(), h.cfg.ServiceBus.PrefetchCount
	var wg sync.WaitGroup
	if prefetch <= 0 {
		for range calls {
			wg.Go(func() {
				h.fetch(ctx, f, e, func() int { return 1 }, func(ms []*Message) {
					for _, m := range ms {
						h.process(ctx, f, e, m)
					}
				})
			})
		}
		wg.Wait()
		return
	}
	ready := make(chan *Message, prefetch)
	for range calls {
		wg.Go(func() {
			for m := range ready {
				if ctx.Err() != nil {
					// Stopping: give the prefetched message back at once
					// rather than wait for its lock to expire.
					h.abandon(ctx, f, e, m)
					continue
				}
				h.process(ctx, f, e, m)
			}
		})
	}
	h.fetch(ctx, f, e, func() int { return max(1, prefetch-len(ready)) }, func(ms []*Message) {
		for _, m := range ms {
			ready <- m
		}
	})
	close(ready)
	wg.Wait()
}

// fetch receives batches of up to size() messages until ctx ends.
func (h *Host) fetch(ctx context.Context, f *fn, e Entity, size func() int, take func([]*Message)) {
	h.loop(ctx, f, e, func() error {
		ms, err := h.opts.Messages.Receive(ctx, e, size(), 30*time.Second)
		if err == nil {
			take(ms)
		}
		return err
	})
}

// receiveSessions runs a session-enabled serviceBusTrigger function: up to
// maxConcurrentSessions sessions at once (default 8), each accepted by one
// loop that processes its messages one at a time, in order, and releases it
// once no message came for sessionIdleTimeout.
func (h *Host) receiveSessions(ctx context.Context, f *fn, e Entity) {
	src := h.opts.Messages.(SessionSource)
	idle := h.cfg.ServiceBus.sessionIdle()
	var wg sync.WaitGroup
	for range h.cfg.ServiceBus.concurrentSessions() {
		wg.Go(func() {
			h.loop(ctx, f, e, func() error {
				s, err := src.AcceptSession(ctx, e, 30*time.Second)
				if err != nil || s == nil {
					return err
				}
				defer func() {
					if err := s.Close(context.WithoutCancel(ctx)); err != nil {
						h.log.Warn("release a Service Bus session", "function", f.def.Name, "err", err)
					}
				}()
				for ctx.Err() == nil {
					ms, err := s.Receive(ctx, 1, idle)
					if err != nil || len(ms) == 0 {
						return err
					}
					for _, m := range ms {
						h.process(ctx, f, e, m)
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
}

// loop runs step until ctx ends, backing off while it fails (the broker is
// unavailable, the entity missing).
func (h *Host) loop(ctx context.Context, f *fn, e Entity, step func() error) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := step()
		if err == nil {
			backoff = time.Second
			continue
		}
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
	}
}

// process runs the function on one locked message and settles it. When the
// message source is a Committer (Junction's own broker), the complete, the
// serviceBus outputs and the invocation's record commit in one transaction;
// if that fails, nothing was sent and the message is abandoned.
func (h *Host) process(ctx context.Context, f *fn, e Entity, m *Message) {
	t := Trigger{Type: ServiceBusTrigger, Detail: "message " + m.ID, Value: messageValue(m), BindingData: messageData(m),
		Trace: trace.FromProperties(m.Properties)}
	settleCtx := context.WithoutCancel(ctx)
	if h.committer == nil {
		out := h.invoke(ctx, f, t)
		settle := h.opts.Messages.Complete
		if out.Err != nil {
			settle = h.opts.Messages.Abandon
		}
		if err := settle(settleCtx, e, m); err != nil {
			h.log.Warn("settle a Service Bus message", "function", f.def.Name, "message", m.ID, "err", err)
		}
		return
	}
	out := h.run(ctx, f, t, true)
	if out.Err == nil {
		rec := recordOf(f, t, out)
		var record func(store.Tx) error
		if h.opts.Store != nil {
			record = func(tx store.Tx) error { return h.history.insert(settleCtx, tx, rec) }
		}
		// The held outputs leave in the invocation's span, as the ones sent
		// at once do.
		err := h.committer.CompleteWith(trace.Remote(settleCtx, out.span), e, m, out.held, record)
		if err == nil {
			h.observe(f, out)
			return
		}
		out.Err, out.Status = fmt.Errorf("complete the message with the function's outputs: %w", err), ""
	}
	h.finish(f, t, out)
	h.abandon(ctx, f, e, m)
}

func (h *Host) abandon(ctx context.Context, f *fn, e Entity, m *Message) {
	if err := h.opts.Messages.Abandon(context.WithoutCancel(ctx), e, m); err != nil {
		h.log.Warn("abandon a Service Bus message", "function", f.def.Name, "message", m.ID, "err", err)
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
	if out.Err == nil {
		// The delivery counts as done once this returns: its record is
		// written first (in the writer's next batch), so that the history
		// of completed work is never lost.
		h.history.flush(ctx)
	}
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
