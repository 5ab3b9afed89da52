// Package servicebus is the connector to Junction's own broker, with the
// operation ids of the Service Bus built-in connector of Logic Apps Standard
// (sendMessage, completeMessage, ...) and of the managed connector that Power
// Automate uses (SendMessage).
package servicebus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"junction/internal/broker"
	"junction/internal/connector"
	"junction/internal/store"
)

// Name is the connector's name in the registry.
const Name = "servicebus"

// New returns the connector over b.
func New(b *broker.Broker) *connector.Connector {
	str := map[string]any{"type": "string"}
	message := map[string]any{"type": "object", "properties": map[string]any{
		"contentData": map[string]any{"description": "the body: a string, or any JSON value sent as JSON"},
		"contentType": str, "messageId": str, "sessionId": str, "correlationId": str, "label": str, "subject": str,
		"to": str, "replyTo": str, "timeToLive": map[string]any{"type": "string", "description": "a .NET TimeSpan (00:05:00) or ISO 8601 duration"},
		"scheduledEnqueueTimeUtc": map[string]any{"type": "string", "format": "date-time"},
		"userProperties":          map[string]any{"type": "object"},
	}}
	entity := map[string]any{"type": "string", "description": "queue or topic name"}
	lockInputs := func(extra map[string]any) connector.Schema {
		props := map[string]any{"entityName": map[string]any{"type": "string", "description": "queue, or topic/subscriptions/subscription"},
			"queueName": str, "topicName": str, "subscriptionName": str, "lockToken": str}
		for k, v := range extra {
			props[k] = v
		}
		return connector.Schema{"type": "object", "required": []string{"lockToken"}, "properties": props}
	}
	op := func(id string, fn func(ctx context.Context, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
		return func(ctx context.Context, _ connector.Connection, inputs map[string]any) (any, error) {
			out, err := fn(ctx, connector.Values(inputs))
			if err != nil {
				return nil, classify(id, err)
			}
			return out, nil
		}
	}
	send := op("sendMessage", func(ctx context.Context, in connector.Values) (any, error) {
		path, err := sendPath(in)
		if err != nil {
			return nil, err
		}
		m, err := in.Object("message")
		if err != nil || m == nil {
			m = map[string]any(in) // the managed connector's flat shape
		}
		msg, err := toMessage(m)
		if err != nil {
			return nil, err
		}
		return sendVia(ctx, b, path, []broker.Message{msg}, func(seqs []int64) any { return map[string]any{"sequenceNumber": seqs[0]} })
	})
	return &connector.Connector{
		Name:        Name,
		Title:       "Service Bus (Junction broker)",
		Description: "Send, receive and settle messages of Junction's queues, topics and subscriptions.",
		Operations: []connector.Operation{
			{ID: "sendMessage", Kind: connector.Action, Summary: "Send a message to a queue or topic",
				Inputs: connector.Schema{"type": "object", "required": []string{"entityName", "message"}, "properties": map[string]any{"entityName": entity, "message": message}},
				Invoke: send},
			{ID: "SendMessage", Kind: connector.Action, Summary: "Send a message (Power Automate's shape: entityName and message fields)",
				Inputs: connector.Schema{"type": "object", "required": []string{"entityName"}, "properties": map[string]any{"entityName": entity, "message": message, "ContentData": map[string]any{}}},
				Invoke: send},
			{ID: "sendMessages", Kind: connector.Action, Summary: "Send a batch of messages to a queue or topic in one transaction",
				Inputs: connector.Schema{"type": "object", "required": []string{"entityName", "messages"}, "properties": map[string]any{"entityName": entity, "messages": map[string]any{"type": "array", "items": message}}},
				Invoke: op("sendMessages", func(ctx context.Context, in connector.Values) (any, error) {
					path, err := sendPath(in)
					if err != nil {
						return nil, err
					}
					items, err := in.Array("messages")
					if err != nil {
						return nil, err
					}
					msgs := make([]broker.Message, 0, len(items))
					for i, it := range items {
						m, ok := it.(map[string]any)
						if !ok {
							return nil, badInput("messages[%d] is not an object", i)
						}
						msg, err := toMessage(m)
						if err != nil {
							return nil, fmt.Errorf("messages[%d]: %w", i, err)
						}
						msgs = append(msgs, msg)
					}
					return sendVia(ctx, b, path, msgs, func(seqs []int64) any { return map[string]any{"sequenceNumbers": seqs} })
				})},
			{ID: "receiveQueueMessages", Kind: connector.Action, Summary: "Receive messages from a queue with a peek-lock",
				Inputs: connector.Schema{"type": "object", "required": []string{"queueName"}, "properties": map[string]any{
					"queueName": str, "maxMessageCount": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}, "waitSeconds": map[string]any{"type": "integer"}}},
				Invoke: op("receiveQueueMessages", func(ctx context.Context, in connector.Values) (any, error) {
					q, err := in.Required("queueName")
					if err != nil {
						return nil, badInput("%v", err)
					}
					return receive(ctx, b, q, in)
				})},
			{ID: "receiveTopicMessages", Kind: connector.Action, Summary: "Receive messages from a topic subscription with a peek-lock",
				Inputs: connector.Schema{"type": "object", "required": []string{"topicName", "subscriptionName"}, "properties": map[string]any{
					"topicName": str, "subscriptionName": str, "maxMessageCount": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}, "waitSeconds": map[string]any{"type": "integer"}}},
				Invoke: op("receiveTopicMessages", func(ctx context.Context, in connector.Values) (any, error) {
					t, err := in.Required("topicName")
					if err != nil {
						return nil, badInput("%v", err)
					}
					s, err := in.Required("subscriptionName")
					if err != nil {
						return nil, badInput("%v", err)
					}
					return receive(ctx, b, t+"/subscriptions/"+s, in)
				})},
			{ID: "completeMessage", Kind: connector.Action, Summary: "Complete a peek-locked message", Inputs: lockInputs(nil),
				Invoke: op("completeMessage", settle(b, func(ctx context.Context, path string, s broker.Settlement) error { return b.Complete(ctx, path, s) }))},
			{ID: "abandonMessage", Kind: connector.Action, Summary: "Abandon a peek-locked message so it is delivered again", Inputs: lockInputs(nil),
				Invoke: op("abandonMessage", settle(b, func(ctx context.Context, path string, s broker.Settlement) error { return b.Abandon(ctx, path, s) }))},
			{ID: "deadLetterMessage", Kind: connector.Action, Summary: "Move a peek-locked message to the dead-letter queue",
				Inputs: lockInputs(map[string]any{"deadLetterReason": str, "deadLetterErrorDescription": str}),
				Invoke: op("deadLetterMessage", settle(b, func(ctx context.Context, path string, s broker.Settlement) error { return b.DeadLetter(ctx, path, s) }))},
		},
	}
}

// sendVia sends msgs to path and answers with result(their sequence
// numbers). When the caller offers to join its transaction
// (connector.JoinFrom) in the store the broker keeps its messages in, the
// messages are only checked here and sent in the caller's transaction.
func sendVia(ctx context.Context, b *broker.Broker, path string, msgs []broker.Message, result func([]int64) any) (any, error) {
	msgs = broker.Traced(ctx, msgs)
	if j := connector.JoinFrom(ctx); j != nil {
		write, ok, err := b.SendJoined(ctx, j.Store, path, msgs...)
		if err != nil {
			return nil, err
		}
		if ok {
			j.Defer(func(ctx context.Context, tx store.Tx) (any, error) {
				seqs, err := write(ctx, tx)
				if err != nil {
					return nil, classify("sendMessage", err)
				}
				return result(seqs), nil
			})
			return map[string]any{}, nil
		}
	}
	seqs, err := b.Send(ctx, path, msgs...)
	if err != nil {
		return nil, err
	}
	return result(seqs), nil
}

// sendPath is the entity a send goes to.
func sendPath(in connector.Values) (string, error) {
	for _, k := range []string{"entityName", "queueName", "topicName"} {
		if v, _ := in.String(k, ""); v != "" {
			return v, nil
		}
	}
	return "", badInput("entityName is required")
}

// lockPath is the entity a settlement applies to.
func lockPath(in connector.Values) (string, error) {
	if v, _ := in.String("entityName", ""); v != "" {
		return v, nil
	}
	if q, _ := in.String("queueName", ""); q != "" {
		return q, nil
	}
	t, _ := in.String("topicName", "")
	s, _ := in.String("subscriptionName", "")
	if t != "" && s != "" {
		return t + "/subscriptions/" + s, nil
	}
	return "", badInput("entityName (or queueName, or topicName and subscriptionName) is required")
}

func settle(b *broker.Broker, fn func(context.Context, string, broker.Settlement) error) func(context.Context, connector.Values) (any, error) {
	return func(ctx context.Context, in connector.Values) (any, error) {
		path, err := lockPath(in)
		if err != nil {
			return nil, err
		}
		token, err := in.Required("lockToken")
		if err != nil {
			return nil, badInput("%v", err)
		}
		s := broker.Settlement{LockToken: token}
		s.Reason, _ = in.String("deadLetterReason", "")
		s.Description, _ = in.String("deadLetterErrorDescription", "")
		if err := fn(ctx, path, s); err != nil {
			return nil, err
		}
		return map[string]any{}, nil
	}
}

func receive(ctx context.Context, b *broker.Broker, path string, in connector.Values) (any, error) {
	max, err := in.Int("maxMessageCount", 1)
	if err != nil {
		return nil, badInput("%v", err)
	}
	wait, err := in.Int("waitSeconds", 0)
	if err != nil {
		return nil, badInput("%v", err)
	}
	got, err := b.Receive(ctx, path, broker.ReceiveOptions{Mode: broker.PeekLock, Max: int(max), Wait: time.Duration(wait) * time.Second})
	if err != nil {
		return nil, err
	}
	out := make([]any, len(got))
	for i, m := range got {
		out[i] = MessageOutput(m)
	}
	return out, nil
}

// MessageOutput is a received message as workflows see it: the shape of the
// Logic Apps Service Bus connector's outputs.
func MessageOutput(m broker.Received) map[string]any {
	var content any = string(m.Body)
	if json.Valid(m.Body) && (m.ContentType == "" || strings.Contains(m.ContentType, "json")) {
		var v any
		if json.Unmarshal(m.Body, &v) == nil {
			content = v
		}
	}
	out := map[string]any{
		"contentData":    content,
		"contentBase64":  base64.StdEncoding.EncodeToString(m.Body),
		"contentType":    m.ContentType,
		"messageId":      m.MessageID,
		"correlationId":  m.CorrelationID,
		"sessionId":      m.SessionID,
		"label":          m.Subject,
		"subject":        m.Subject,
		"lockToken":      m.LockToken,
		"sequenceNumber": m.SequenceNumber,
		"deliveryCount":  m.DeliveryCount,
		"enqueuedTime":   m.EnqueuedTime.UTC().Format(time.RFC3339Nano),
		"entityName":     m.Entity,
	}
	props := map[string]any{}
	for k, v := range m.Properties {
		props[k] = v
	}
	out["userProperties"] = props
	return out
}

func toMessage(m map[string]any) (broker.Message, error) {
	in := connector.Values(m)
	var msg broker.Message
	var body any
	for _, k := range []string{"contentData", "ContentData", "body"} {
		if v, ok := m[k]; ok {
			body = v
			break
		}
	}
	switch v := body.(type) {
	case nil:
	case string:
		msg.Body = []byte(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return msg, badInput("contentData: %v", err)
		}
		msg.Body = raw
		msg.ContentType = "application/json"
	}
	if ct, _ := in.String("contentType", ""); ct != "" {
		msg.ContentType = ct
	}
	msg.MessageID, _ = in.String("messageId", "")
	msg.SessionID, _ = in.String("sessionId", "")
	msg.CorrelationID, _ = in.String("correlationId", "")
	msg.To, _ = in.String("to", "")
	msg.ReplyTo, _ = in.String("replyTo", "")
	msg.Subject, _ = in.String("label", "")
	if s, _ := in.String("subject", ""); s != "" {
		msg.Subject = s
	}
	if ttl, _ := in.String("timeToLive", ""); ttl != "" {
		d, err := parseDuration(ttl)
		if err != nil {
			return msg, badInput("timeToLive: %v", err)
		}
		msg.TimeToLive = d
	}
	if at, _ := in.String("scheduledEnqueueTimeUtc", ""); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return msg, badInput("scheduledEnqueueTimeUtc: %v", err)
		}
		msg.ScheduledEnqueueTime = t
	}
	if p, ok := m["userProperties"].(map[string]any); ok {
		msg.Properties = p
	}
	return msg, nil
}

// parseDuration reads a .NET TimeSpan ("1.02:03:04", "00:05:00") or a Go duration.
func parseDuration(s string) (time.Duration, error) {
	if d, err := broker.ParseDuration(s); err == nil {
		return d, nil
	}
	return time.ParseDuration(s)
}

type inputError struct{ error }

func badInput(format string, args ...any) error { return inputError{fmt.Errorf(format, args...)} }

// classify turns broker errors into connector errors with HTTP-like statuses.
func classify(op string, err error) error {
	var in inputError
	if errors.As(err, &in) {
		return connector.BadInput(Name, op, in.error)
	}
	ce := &connector.Error{Connector: Name, Operation: op, Err: err, Status: 500}
	var be *broker.Error
	if errors.As(err, &be) {
		switch be.Kind {
		case broker.KindBadRequest, broker.KindTooLarge:
			ce.Status = 400
		case broker.KindEntityNotFound, broker.KindMessageNotFound:
			ce.Status = 404
		case broker.KindLockLost:
			ce.Status = 410
		case broker.KindConflict:
			ce.Status = 409
		case broker.KindQuotaExceeded:
			ce.Status, ce.Retryable = 429, true
		}
	}
	return ce
}
