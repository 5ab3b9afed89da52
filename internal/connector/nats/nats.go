// Package nats is the NATS connector: core publish, JetStream publish (with
// de-duplication ids) and JetStream consume from durable pull consumers with
// an acknowledgement per message.
package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "nats"

// New returns the NATS connector. Each operation opens its own connection.
// Connections dial through p (nil: the default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	subject := map[string]any{"type": "string", "minLength": 1}
	message := map[string]any{"description": "a string, or any JSON value sent as JSON"}
	headers := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	return &connector.Connector{
		Name:        Name,
		Title:       "NATS",
		Description: "Publish to NATS subjects and JetStream streams, and consume from JetStream.",
		Params: []connector.Param{
			{Name: "url", Type: "string", Required: true, Description: "nats://host:4222 (comma-separated for a cluster)"},
			{Name: "user", Type: "string", Description: "user name"},
			{Name: "password", Type: "string", Secret: true, Description: "password"},
			{Name: "token", Type: "string", Secret: true, Description: "authentication token"},
			{Name: "timeoutSeconds", Type: "integer", Default: 10, Description: "time limit of one operation, connecting included"},
		},
		Operations: []connector.Operation{
			{ID: "publish", Kind: connector.Action, Summary: "Publish a message to a subject",
				Inputs:  connector.Schema{"type": "object", "required": []string{"subject", "message"}, "properties": map[string]any{"subject": subject, "message": message, "headers": headers}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"published": map[string]any{"type": "boolean"}}},
				Invoke:  op(p, "publish", corePublish)},
			{ID: "jetStreamPublish", Kind: connector.Action, Summary: "Publish a message to a JetStream stream and wait for its acknowledgement",
				Inputs: connector.Schema{"type": "object", "required": []string{"subject", "message"}, "properties": map[string]any{
					"subject": subject, "message": message, "headers": headers,
					"msgId": map[string]any{"type": "string", "description": "de-duplication id (Nats-Msg-Id)"},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"stream": map[string]any{"type": "string"}, "sequence": map[string]any{"type": "integer"}, "duplicate": map[string]any{"type": "boolean"}}},
				Invoke:  op(p, "jetStreamPublish", jsPublish)},
			{ID: "jetStreamConsume", Kind: connector.Action, Summary: "Fetch up to maxMessages from a durable pull consumer and acknowledge them",
				Inputs: connector.Schema{"type": "object", "required": []string{"stream", "consumer"}, "properties": map[string]any{
					"stream": subject, "consumer": map[string]any{"type": "string", "minLength": 1, "description": "durable consumer name; created when absent"},
					"filterSubject": map[string]any{"type": "string"},
					"maxMessages":   map[string]any{"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
					"waitSeconds":   map[string]any{"type": "integer", "minimum": 0, "maximum": 60, "default": 1},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"messages": map[string]any{"type": "array"}}},
				Invoke:  op(p, "jetStreamConsume", jsConsume)},
		},
	}
}

type badInput struct{ error }

func op(p *outbound.Policy, name string, fn func(ctx context.Context, nc *nats.Conn, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
	return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
		nc, timeout, err := connect(connector.Values(conn.Values), p)
		if err != nil {
			return nil, fail(name, err)
		}
		defer nc.Close()
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := fn(ctx, nc, connector.Values(inputs))
		if err != nil {
			return nil, fail(name, err)
		}
		return out, nil
	}
}

func fail(op string, err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, op, bad.error)
	}
	ce := connector.Fail(Name, op, err)
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrPermissionViolation),
		errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, jetstream.ErrConsumerNotFound):
		ce.Retryable = false
	case errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, context.DeadlineExceeded):
		ce.Retryable = true
	}
	return ce
}

func connect(v connector.Values, p *outbound.Policy) (*nats.Conn, time.Duration, error) {
	u, err := v.Required("url")
	if err != nil {
		return nil, 0, badInput{err}
	}
	secs, err := v.Int("timeoutSeconds", 10)
	if err != nil || secs <= 0 {
		return nil, 0, badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	timeout := time.Duration(secs) * time.Second
	opts := []nats.Option{nats.Name("junction"), nats.Timeout(timeout), nats.MaxReconnects(0), nats.NoCallbacksAfterClientClose(), nats.SetCustomDialer(p.Dialer(timeout))}
	if user, _ := v.String("user", ""); user != "" {
		pw, _ := v.String("password", "")
		opts = append(opts, nats.UserInfo(user, pw))
	}
	if tok, _ := v.String("token", ""); tok != "" {
		opts = append(opts, nats.Token(tok))
	}
	nc, err := nats.Connect(u, opts...)
	if err != nil {
		return nil, 0, err
	}
	return nc, timeout, nil
}

func buildMsg(in connector.Values) (*nats.Msg, error) {
	subj, err := in.Required("subject")
	if err != nil {
		return nil, badInput{err}
	}
	raw, ok := in["message"]
	if !ok || raw == nil {
		return nil, badInput{errors.New("message is required")}
	}
	m := nats.NewMsg(subj)
	if s, ok := raw.(string); ok {
		m.Data = []byte(s)
	} else {
		m.Data, _ = json.Marshal(raw)
		m.Header.Set("Content-Type", "application/json")
	}
	h, err := in.Object("headers")
	if err != nil {
		return nil, badInput{err}
	}
	for k, v := range h {
		m.Header.Set(k, fmt.Sprint(v))
	}
	return m, nil
}

func corePublish(ctx context.Context, nc *nats.Conn, in connector.Values) (any, error) {
	m, err := buildMsg(in)
	if err != nil {
		return nil, err
	}
	if err := nc.PublishMsg(m); err != nil {
		return nil, err
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return nil, err
	}
	return map[string]any{"published": true}, nil
}

func jsPublish(ctx context.Context, nc *nats.Conn, in connector.Values) (any, error) {
	m, err := buildMsg(in)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	var opts []jetstream.PublishOpt
	if id, _ := in.String("msgId", ""); id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	ack, err := js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stream": ack.Stream, "sequence": ack.Sequence, "duplicate": ack.Duplicate}, nil
}

func jsConsume(ctx context.Context, nc *nats.Conn, in connector.Values) (any, error) {
	stream, err := in.Required("stream")
	if err != nil {
		return nil, badInput{err}
	}
	name, err := in.Required("consumer")
	if err != nil {
		return nil, badInput{err}
	}
	filter, _ := in.String("filterSubject", "")
	max, err := in.Int("maxMessages", 10)
	if err != nil || max < 1 || max > 1000 {
		return nil, badInput{errors.New("maxMessages must be from 1 to 1000")}
	}
	wait, err := in.Int("waitSeconds", 1)
	if err != nil || wait < 0 || wait > 60 {
		return nil, badInput{errors.New("waitSeconds must be from 0 to 60")}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return nil, err
	}
	var batch jetstream.MessageBatch
	if wait == 0 {
		batch, err = cons.FetchNoWait(int(max))
	} else {
		batch, err = cons.Fetch(int(max), jetstream.FetchMaxWait(time.Duration(wait)*time.Second))
	}
	if err != nil {
		return nil, err
	}
	out := []any{}
	for m := range batch.Messages() {
		var body any = string(m.Data())
		if m.Headers().Get("Content-Type") == "application/json" {
			var v any
			if json.Unmarshal(m.Data(), &v) == nil {
				body = v
			}
		}
		md, _ := m.Metadata()
		item := map[string]any{"subject": m.Subject(), "body": body}
		if md != nil {
			item["sequence"] = md.Sequence.Stream
			item["deliveries"] = md.NumDelivered
		}
		if err := m.DoubleAck(ctx); err != nil {
			return nil, fmt.Errorf("acknowledge message %v: %w", item["sequence"], err)
		}
		out = append(out, item)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return nil, err
	}
	return map[string]any{"messages": out}, nil
}
