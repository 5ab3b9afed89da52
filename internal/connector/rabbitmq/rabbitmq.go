// Package rabbitmq is the RabbitMQ (AMQP 0-9-1) connector: publish with
// publisher confirms, receive messages with acknowledgements, and Consume for
// Go callers that acknowledge each message after handling it.
package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "rabbitmq"

// New returns the RabbitMQ connector. Each operation opens its own
// connection and channel and closes them when done.
// Connections dial through p (nil: the default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	msgSchema := map[string]any{"type": "object", "properties": map[string]any{
		"body": map[string]any{}, "contentType": map[string]any{"type": "string"}, "messageId": map[string]any{"type": "string"},
		"correlationId": map[string]any{"type": "string"}, "headers": map[string]any{"type": "object"}, "redelivered": map[string]any{"type": "boolean"},
		"routingKey": map[string]any{"type": "string"}, "exchange": map[string]any{"type": "string"},
	}}
	recvInputs := connector.Schema{"type": "object", "required": []string{"queue"}, "properties": map[string]any{
		"queue":       map[string]any{"type": "string", "minLength": 1},
		"maxMessages": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
	}}
	recvOutputs := connector.Schema{"type": "object", "properties": map[string]any{"messages": map[string]any{"type": "array", "items": msgSchema}}}
	return &connector.Connector{
		Name:        Name,
		Title:       "RabbitMQ",
		Description: "Publish to RabbitMQ exchanges and receive from queues over AMQP 0-9-1.",
		Params: []connector.Param{
			{Name: "url", Type: "string", Required: true, Secret: true, Description: "amqp://user:password@host:5672/vhost (amqps:// for TLS)"},
			{Name: "timeoutSeconds", Type: "integer", Default: 30, Description: "time limit of one operation, connecting included"},
		},
		Operations: []connector.Operation{
			{ID: "publish", Kind: connector.Action, Summary: "Publish a message and wait for the broker's confirm",
				Inputs: connector.Schema{"type": "object", "required": []string{"message"}, "properties": map[string]any{
					"exchange":   map[string]any{"type": "string", "default": "", "description": "empty: the default exchange, where the routing key is a queue name"},
					"routingKey": map[string]any{"type": "string"}, "message": map[string]any{"description": "a string, or any JSON value sent as JSON"},
					"contentType": map[string]any{"type": "string"}, "messageId": map[string]any{"type": "string"}, "correlationId": map[string]any{"type": "string"},
					"headers": map[string]any{"type": "object"}, "persistent": map[string]any{"type": "boolean", "default": true},
					"mandatory": map[string]any{"type": "boolean", "default": false, "description": "fail when no queue is bound to take the message"},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"confirmed": map[string]any{"type": "boolean"}}},
				Invoke: func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
					return publish(ctx, conn, inputs, p)
				}},
			{ID: "receiveMessages", Kind: connector.Action, Summary: "Take up to maxMessages messages from a queue and acknowledge them",
				Inputs: recvInputs, Outputs: recvOutputs, Invoke: receive(p, "receiveMessages")},
			{ID: "whenMessagesReceived", Kind: connector.Trigger, Summary: "Poll a queue: the messages taken (and acknowledged) since the last poll",
				Inputs: recvInputs, Outputs: recvOutputs, Invoke: receive(p, "whenMessagesReceived")},
		},
	}
}

// dialer is amqp.DefaultDial through the outbound policy: the deadline covers
// the TLS and AMQP handshakes and is cleared once the connection is open.
func dialer(p *outbound.Policy, timeout time.Duration) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		c, err := p.Dialer(timeout).Dial(network, addr)
		if err != nil {
			return nil, err
		}
		if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

func open(ctx context.Context, conn connector.Connection, p *outbound.Policy) (*amqp.Connection, *amqp.Channel, time.Duration, error) {
	v := connector.Values(conn.Values)
	u, err := v.Required("url")
	if err != nil {
		return nil, nil, 0, badInput{err}
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "amqp" && p.Scheme != "amqps") {
		return nil, nil, 0, badInput{errors.New("url must be amqp:// or amqps://")}
	}
	secs, err := v.Int("timeoutSeconds", 30)
	if err != nil || secs <= 0 {
		return nil, nil, 0, badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	timeout := time.Duration(secs) * time.Second
	c, err := amqp.DialConfig(u, amqp.Config{Dial: dialer(p, timeout), Heartbeat: 10 * time.Second, Properties: amqp.Table{"connection_name": "junction"}})
	if err != nil {
		return nil, nil, 0, err
	}
	ch, err := c.Channel()
	if err != nil {
		c.Close()
		return nil, nil, 0, err
	}
	return c, ch, timeout, nil
}

type badInput struct{ error }

func fail(op string, err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, op, bad.error)
	}
	ce := connector.Fail(Name, op, err)
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused, amqp.NotFound, amqp.PreconditionFailed, amqp.NotAllowed, amqp.NoRoute, amqp.ContentTooLarge, amqp.SyntaxError, amqp.CommandInvalid:
			ce.Retryable = false
		default:
			ce.Retryable = ae.Recover || ae.Code == amqp.ConnectionForced || ae.Code == amqp.ResourceError || ae.Code == amqp.ChannelError
		}
	}
	if errors.Is(err, amqp.ErrSASL) || errors.Is(err, amqp.ErrCredentials) {
		ce.Retryable = false
	}
	return ce
}

func publish(ctx context.Context, conn connector.Connection, inputs map[string]any, p *outbound.Policy) (any, error) {
	in := connector.Values(inputs)
	c, ch, timeout, err := open(ctx, conn, p)
	if err != nil {
		return nil, fail("publish", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := doPublish(ctx, ch, in)
	if err != nil {
		return nil, fail("publish", err)
	}
	return out, nil
}

func doPublish(ctx context.Context, ch *amqp.Channel, in connector.Values) (any, error) {
	exchange, err := in.String("exchange", "")
	if err != nil {
		return nil, badInput{err}
	}
	key, err := in.String("routingKey", "")
	if err != nil {
		return nil, badInput{err}
	}
	msg := amqp.Publishing{DeliveryMode: amqp.Persistent, Timestamp: time.Now()}
	raw, ok := in["message"]
	if !ok || raw == nil {
		return nil, badInput{errors.New("message is required")}
	}
	if s, ok := raw.(string); ok {
		msg.Body, msg.ContentType = []byte(s), "text/plain"
	} else {
		msg.Body, _ = json.Marshal(raw)
		msg.ContentType = "application/json"
	}
	if ct, _ := in.String("contentType", ""); ct != "" {
		msg.ContentType = ct
	}
	msg.MessageId, _ = in.String("messageId", "")
	msg.CorrelationId, _ = in.String("correlationId", "")
	if h, err := in.Object("headers"); err != nil {
		return nil, badInput{err}
	} else if h != nil {
		msg.Headers = amqp.Table(h)
		if err := msg.Headers.Validate(); err != nil {
			return nil, badInput{fmt.Errorf("headers: %w", err)}
		}
	}
	if p, err := in.Bool("persistent", true); err != nil {
		return nil, badInput{err}
	} else if !p {
		msg.DeliveryMode = amqp.Transient
	}
	mandatory, err := in.Bool("mandatory", false)
	if err != nil {
		return nil, badInput{err}
	}
	if err := ch.Confirm(false); err != nil {
		return nil, err
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msg)
	if err != nil {
		return nil, err
	}
	acked, err := conf.WaitContext(ctx)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-returns:
		return nil, &connector.Error{Status: 404, Err: fmt.Errorf("the broker returned the message: %d %s (no queue bound for routing key %q)", r.ReplyCode, r.ReplyText, key)}
	default:
	}
	if !acked {
		return nil, &connector.Error{Retryable: true, Err: errors.New("the broker refused the message (nack)")}
	}
	return map[string]any{"confirmed": true}, nil
}

func receive(p *outbound.Policy, op string) func(context.Context, connector.Connection, map[string]any) (any, error) {
	return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
		in := connector.Values(inputs)
		queue, err := in.Required("queue")
		if err != nil {
			return nil, connector.BadInput(Name, op, err)
		}
		max, err := in.Int("maxMessages", 10)
		if err != nil || max < 1 || max > 1000 {
			return nil, connector.BadInput(Name, op, errors.New("maxMessages must be from 1 to 1000"))
		}
		c, ch, _, err := open(ctx, conn, p)
		if err != nil {
			return nil, fail(op, err)
		}
		defer c.Close()
		msgs := []any{}
		var last uint64
		for int64(len(msgs)) < max {
			d, ok, err := ch.Get(queue, false)
			if err != nil {
				return nil, fail(op, err)
			}
			if !ok {
				break
			}
			msgs = append(msgs, message(d))
			last = d.DeliveryTag
		}
		if last != 0 {
			if err := ch.Ack(last, true); err != nil {
				return nil, fail(op, err)
			}
		}
		return map[string]any{"messages": msgs}, nil
	}
}

func message(d amqp.Delivery) map[string]any {
	var body any = string(d.Body)
	if d.ContentType == "application/json" {
		var v any
		if json.Unmarshal(d.Body, &v) == nil {
			body = v
		}
	}
	h := map[string]any{}
	for k, v := range d.Headers {
		h[k] = v
	}
	return map[string]any{"body": body, "contentType": d.ContentType, "messageId": d.MessageId, "correlationId": d.CorrelationId,
		"headers": h, "redelivered": d.Redelivered, "routingKey": d.RoutingKey, "exchange": d.Exchange}
}

// Consume delivers a queue's messages to handle until ctx ends: a message is
// acknowledged when handle returns nil and rejected back to the queue when it
// fails. prefetch bounds the unacknowledged messages in flight.
func Consume(ctx context.Context, p *outbound.Policy, conn connector.Connection, queue string, prefetch int, handle func(ctx context.Context, msg map[string]any) error) error {
	c, ch, _, err := open(ctx, conn, p)
	if err != nil {
		return fail("consume", err)
	}
	defer c.Close()
	if prefetch <= 0 {
		prefetch = 10
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return fail("consume", err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, queue, "", false, false, false, false, nil)
	if err != nil {
		return fail("consume", err)
	}
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-closed:
			if e == nil {
				return nil
			}
			return fail("consume", e)
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fail("consume", errors.New("the broker closed the consumer"))
			}
			if err := handle(ctx, message(d)); err != nil {
				_ = d.Nack(false, true)
				continue
			}
			if err := d.Ack(false); err != nil {
				return fail("consume", err)
			}
		}
	}
}
