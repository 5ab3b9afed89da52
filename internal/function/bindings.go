package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"junction/internal/store"
)

// Entity names a Service Bus queue, or a topic and (for receiving) a subscription.
type Entity struct {
	Queue        string
	Topic        string
	Subscription string
}

func (e Entity) String() string {
	switch {
	case e.Queue != "":
		return "queue " + e.Queue
	case e.Subscription != "":
		return "topic " + e.Topic + " subscription " + e.Subscription
	}
	return "topic " + e.Topic
}

// Message is a Service Bus message as the host receives or sends it.
type Message struct {
	ID            string
	Body          []byte
	ContentType   string
	CorrelationID string
	SessionID     string
	Subject       string
	DeliveryCount int
	EnqueuedTime  time.Time
	Properties    map[string]any
	// LockToken identifies a peek-locked message to Complete and Abandon.
	LockToken string
}

// MessageSource is the broker as a serviceBusTrigger consumes it: peek-lock
// receive, complete on success, abandon on failure. The broker dead-letters a
// message once its delivery count passes the entity's MaxDeliveryCount.
type MessageSource interface {
	// Receive waits up to wait for a first message and returns up to max
	// (none when ctx ends or the wait expires).
	Receive(ctx context.Context, e Entity, max int, wait time.Duration) ([]*Message, error)
	Complete(ctx context.Context, e Entity, m *Message) error
	Abandon(ctx context.Context, e Entity, m *Message) error
}

// SessionSource is a MessageSource that serves session-enabled entities
// (a serviceBusTrigger with isSessionsEnabled).
type SessionSource interface {
	MessageSource
	// AcceptSession locks the next session with a message available for
	// this receiver, waiting up to wait (nil when none came).
	AcceptSession(ctx context.Context, e Entity, wait time.Duration) (MessageSession, error)
}

// MessageSession is an accepted session: its messages come in order, to this
// receiver only, until Close. Its messages are settled through the
// MessageSource.
type MessageSession interface {
	// Receive waits up to wait for the session's next messages, up to max,
	// keeping the session's lock renewed.
	Receive(ctx context.Context, max int, wait time.Duration) ([]*Message, error)
	// Close releases the session for any receiver to accept.
	Close(ctx context.Context) error
}

// Output is messages a serviceBus output binding sends to one entity.
type Output struct {
	Entity   Entity
	Messages []Message
}

// Committer is a MessageSource that is also the host's MessageSender and
// keeps its messages in the host's store: it completes a message, sends the
// invocation's serviceBus outputs and writes the invocation's record in one
// transaction, so a message whose outputs stay inside Junction is processed
// exactly once, and the history of completed work is never lost.
type Committer interface {
	MessageSource
	// CompleteWith completes m, sends out and runs record (when not nil) in
	// one transaction of the host's store; on any error nothing changed.
	CompleteWith(ctx context.Context, e Entity, m *Message, out []Output, record func(tx store.Tx) error) error
}

// MessageSender is the broker as the serviceBus output binding writes to it.
type MessageSender interface {
	Send(ctx context.Context, e Entity, msgs []Message) error
}

// EventPublisher is the event router as the eventGrid output binding writes
// to it in-process. Without one, the binding posts to the topic endpoint URL
// over HTTP (Junction's own or any Event Grid topic).
type EventPublisher interface {
	Publish(ctx context.Context, topicEndpoint string, events []json.RawMessage) error
}

// RowWriter is the Dataverse tables (Junction's own or a real org) as the
// dataverse output binding writes to them.
type RowWriter interface {
	// WriteRows creates rows, or upserts them by primary or alternate key.
	WriteRows(ctx context.Context, entitySet string, mode string, rows []map[string]any) error
}

// HTTPResponse is an http output binding's value.
type HTTPResponse struct {
	Status  int
	Headers http.Header
	Body    []byte
}

// deliver writes the outputs of a successful invocation to their bindings.
// An output that fails fails the invocation.
// With holdSend, serviceBus outputs are kept in out.held instead of sent.
func (h *Host) deliver(ctx context.Context, f *fn, out *Outcome, holdSend bool) error {
	for _, o := range f.def.Outputs {
		v, ok := out.Outputs[o.Name]
		if o.Type == HTTPOutput {
			resp, err := toHTTPResponse(v)
			if err != nil {
				return fmt.Errorf("http output %q: %w", o.Name, err)
			}
			out.Response = resp
			continue
		}
		if !ok || v == nil {
			continue
		}
		items := asItems(v)
		var err error
		switch o.Type {
		case ServiceBusOutput:
			var msgs []Message
			if msgs, err = outputMessages(items); err != nil {
				break
			}
			e := Entity{Queue: o.QueueName, Topic: o.TopicName}
			if holdSend {
				out.held = append(out.held, Output{Entity: e, Messages: msgs})
				continue
			}
			if h.opts.Sender == nil {
				err = errors.New("no Service Bus sender is connected to the function host")
				break
			}
			err = h.opts.Sender.Send(ctx, e, msgs)
		case EventGridOutput:
			err = h.publishEvents(ctx, o, items)
		case DataverseOutput:
			err = h.writeRows(ctx, o, items)
		}
		if err != nil {
			return fmt.Errorf("%s output %q: %w", o.Type, o.Name, err)
		}
	}
	return nil
}

// asItems turns an output value into the items it sends: an array is one
// item per element, anything else one item.
func asItems(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

// outputMessages are a serviceBus output's items as messages: a string as
// text, anything else as JSON.
func outputMessages(items []any) ([]Message, error) {
	msgs := make([]Message, 0, len(items))
	for _, it := range items {
		m := Message{ID: newID()}
		switch x := it.(type) {
		case string:
			m.Body, m.ContentType = []byte(x), "text/plain"
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			m.Body, m.ContentType = b, "application/json"
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// publishEvents sends events to the topic named by the binding's app
// settings: in-process when a publisher is connected, else over HTTP with the
// aeg-sas-key header, as Azure's binding does.
func (h *Host) publishEvents(ctx context.Context, o Binding, items []any) error {
	endpoint := h.getenv(o.TopicEndpointURI)
	if endpoint == "" {
		return fmt.Errorf("app setting %q (topicEndpointUri) is not set", o.TopicEndpointURI)
	}
	events := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		ev, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("an event must be an object, got %T", it)
		}
		if _, ok := ev["id"]; !ok {
			ev["id"] = newID()
		}
		if _, ok := ev["eventTime"]; !ok {
			if _, cloud := ev["specversion"]; !cloud {
				ev["eventTime"] = time.Now().UTC().Format(time.RFC3339Nano)
			}
		}
		if _, ok := ev["dataVersion"]; !ok {
			if _, cloud := ev["specversion"]; !cloud {
				ev["dataVersion"] = "1.0"
			}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		events = append(events, b)
	}
	if h.opts.Publisher != nil {
		return h.opts.Publisher.Publish(ctx, endpoint, events)
	}
	body, _ := json.Marshal(events)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("topic endpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if o.TopicKeySetting != "" {
		key := h.getenv(o.TopicKeySetting)
		if key == "" {
			return fmt.Errorf("app setting %q (topicKeySetting) is not set", o.TopicKeySetting)
		}
		req.Header.Set("aeg-sas-key", key)
	}
	resp, err := h.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("publish to the topic: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish to the topic: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (h *Host) writeRows(ctx context.Context, o Binding, items []any) error {
	if h.opts.Rows == nil {
		return errors.New("no Dataverse row writer is connected to the function host")
	}
	rows := make([]map[string]any, 0, len(items))
	for _, it := range items {
		r, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("a row must be an object, got %T", it)
		}
		rows = append(rows, r)
	}
	mode := o.Mode
	if mode == "" {
		mode = "upsert"
	}
	return h.opts.Rows.WriteRows(ctx, o.EntityName, mode, rows)
}

// toHTTPResponse reads context.res / an http output: {status|statusCode,
// headers, body}. A string body is sent as it is; anything else as JSON.
func toHTTPResponse(v any) (*HTTPResponse, error) {
	resp := &HTTPResponse{Status: http.StatusOK, Headers: http.Header{}}
	if v == nil {
		resp.Status = http.StatusNoContent
		return resp, nil
	}
	if r, ok := v.(*HTTPResponse); ok {
		return r, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the response must be an object with status, headers and body, got %T", v)
	}
	var body any
	hasBody := false
	for k, val := range m {
		switch strings.ToLower(k) {
		case "status", "statuscode":
			n, err := statusOf(val)
			if err != nil {
				return nil, err
			}
			resp.Status = n
		case "headers":
			hm, ok := val.(map[string]any)
			if !ok && val != nil {
				return nil, fmt.Errorf("headers must be an object")
			}
			for hk, hv := range hm {
				switch x := hv.(type) {
				case []any:
					for _, e := range x {
						resp.Headers.Add(hk, fmt.Sprint(e))
					}
				default:
					resp.Headers.Set(hk, fmt.Sprint(x))
				}
			}
		case "body":
			body, hasBody = val, true
		case "cookies":
			cs, ok := val.([]any)
			if !ok && val != nil {
				return nil, fmt.Errorf("cookies must be an array")
			}
			for _, c := range cs {
				cm, ok := c.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("a cookie must be an object with name and value")
				}
				resp.Headers.Add("Set-Cookie", setCookie(cm))
			}
		}
	}
	if hasBody && body != nil {
		switch b := body.(type) {
		case string:
			resp.Body = []byte(b)
			if resp.Headers.Get("Content-Type") == "" {
				resp.Headers.Set("Content-Type", "text/plain; charset=utf-8")
			}
		default:
			enc, err := json.Marshal(b)
			if err != nil {
				return nil, err
			}
			resp.Body = enc
			if resp.Headers.Get("Content-Type") == "" {
				resp.Headers.Set("Content-Type", "application/json; charset=utf-8")
			}
		}
	}
	return resp, nil
}

// setCookie serialises a response cookie ({name, value, domain, path,
// expires, maxAge, secure, httpOnly, sameSite}) as the Azure host does: the
// path defaults to "/".
func setCookie(c map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v=%v", c["name"], c["value"])
	if e, ok := c["expires"]; ok && e != nil {
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e)); err == nil {
			b.WriteString("; expires=" + t.UTC().Format(http.TimeFormat))
		}
	}
	if m, ok := c["maxAge"]; ok && m != nil {
		var n float64
		switch x := m.(type) {
		case float64:
			n = x
		case string:
			fmt.Sscan(x, &n)
		}
		fmt.Fprintf(&b, "; max-age=%d", int64(n))
	}
	if d, ok := c["domain"].(string); ok && d != "" {
		b.WriteString("; domain=" + d)
	}
	p, _ := c["path"].(string)
	if p == "" {
		p = "/"
	}
	b.WriteString("; path=" + p)
	if s, _ := c["secure"].(bool); s {
		b.WriteString("; secure")
	}
	switch ss, _ := c["sameSite"].(string); strings.ToLower(ss) {
	case "lax", "strict", "none":
		b.WriteString("; samesite=" + strings.ToLower(ss))
	}
	if h, _ := c["httpOnly"].(bool); h {
		b.WriteString("; httponly")
	}
	return b.String()
}

func statusOf(v any) (int, error) {
	var n int
	switch x := v.(type) {
	case float64:
		n = int(x)
	case string:
		if _, err := fmt.Sscanf(x, "%d", &n); err != nil {
			return 0, fmt.Errorf("status %q is not a number", x)
		}
	default:
		return 0, fmt.Errorf("status must be a number")
	}
	if n < 100 || n > 599 {
		return 0, fmt.Errorf("status %d is not an HTTP status", n)
	}
	return n, nil
}
