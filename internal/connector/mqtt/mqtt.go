// Package mqtt is the MQTT connector: publish with QoS 0-2 and retain, and
// receive from a topic filter, with Subscribe for Go callers.
package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "mqtt"

// New returns the MQTT connector. Each operation opens its own connection.
// Connections dial through p (nil: the default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	topic := map[string]any{"type": "string", "minLength": 1}
	qos := map[string]any{"type": "integer", "minimum": 0, "maximum": 2, "default": 1}
	return &connector.Connector{
		Name:        Name,
		Title:       "MQTT",
		Description: "Publish to and receive from MQTT 3.1.1 brokers (Mosquitto, EMQX, HiveMQ, ...).",
		Params: []connector.Param{
			{Name: "broker", Type: "string", Required: true, Description: "tcp://host:1883, ssl://host:8883 or ws://host/mqtt"},
			{Name: "clientId", Type: "string", Description: "client id; a fixed id with cleanSession false keeps QoS 1-2 messages queued between receives"},
			{Name: "cleanSession", Type: "boolean", Default: true, Description: "start each connection with a clean session"},
			{Name: "username", Type: "string", Description: "user name"},
			{Name: "password", Type: "string", Secret: true, Description: "password"},
			{Name: "timeoutSeconds", Type: "integer", Default: 10, Description: "time limit of connecting and of each acknowledgement"},
		},
		Operations: []connector.Operation{
			{ID: "publish", Kind: connector.Action, Summary: "Publish a message to a topic",
				Inputs: connector.Schema{"type": "object", "required": []string{"topic", "message"}, "properties": map[string]any{
					"topic": topic, "message": map[string]any{"description": "a string, or any JSON value sent as JSON"}, "qos": qos,
					"retain": map[string]any{"type": "boolean", "default": false},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"published": map[string]any{"type": "boolean"}}},
				Invoke: func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
					return publish(ctx, conn, inputs, p)
				}},
			{ID: "receiveMessages", Kind: connector.Action, Summary: "Subscribe to a topic filter and return the messages that arrive within waitSeconds (at most maxMessages)",
				Inputs: connector.Schema{"type": "object", "required": []string{"topic"}, "properties": map[string]any{
					"topic": topic, "qos": qos,
					"maxMessages": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
					"waitSeconds": map[string]any{"type": "integer", "minimum": 1, "maximum": 60, "default": 2},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"messages": map[string]any{"type": "array"}}},
				Invoke: func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
					return receive(ctx, conn, inputs, p)
				}},
		},
	}
}

type badInput struct{ error }

func fail(op string, err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, op, bad.error)
	}
	ce := connector.Fail(Name, op, err)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not Authorized"), strings.Contains(msg, "bad user name or password"), strings.Contains(msg, "identifier rejected"):
		ce.Retryable = false
	case strings.Contains(msg, "network Error"), strings.Contains(msg, "timed out"), strings.Contains(msg, "Server Unavailable"):
		ce.Retryable = true
	}
	return ce
}

// Connect opens a connection for conn; the caller disconnects it.
func Connect(conn connector.Connection, p *outbound.Policy) (paho.Client, time.Duration, error) {
	v := connector.Values(conn.Values)
	broker, err := v.Required("broker")
	if err != nil {
		return nil, 0, badInput{err}
	}
	secs, err := v.Int("timeoutSeconds", 10)
	if err != nil || secs <= 0 {
		return nil, 0, badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	timeout := time.Duration(secs) * time.Second
	id, _ := v.String("clientId", "")
	if id == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		id = "junction-" + hex.EncodeToString(b)
	}
	clean, err := v.Bool("cleanSession", true)
	if err != nil {
		return nil, 0, badInput{err}
	}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(clean).
		SetConnectTimeout(timeout).SetAutoReconnect(false).SetConnectRetry(false).SetWriteTimeout(timeout).SetOrderMatters(false).
		SetDialer(p.Dialer(timeout))
	if u, _ := v.String("username", ""); u != "" {
		pw, _ := v.String("password", "")
		opts.SetUsername(u).SetPassword(pw)
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(timeout) {
		return nil, 0, fmt.Errorf("connect to %s: timed out after %s", broker, timeout)
	}
	if err := tok.Error(); err != nil {
		return nil, 0, fmt.Errorf("connect to %s: %w", broker, err)
	}
	return c, timeout, nil
}

func wait(tok paho.Token, timeout time.Duration, what string) error {
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("%s: timed out after %s", what, timeout)
	}
	return tok.Error()
}

func qosOf(in connector.Values) (byte, error) {
	q, err := in.Int("qos", 1)
	if err != nil || q < 0 || q > 2 {
		return 0, badInput{errors.New("qos must be 0, 1 or 2")}
	}
	return byte(q), nil
}

func publish(ctx context.Context, conn connector.Connection, inputs map[string]any, p *outbound.Policy) (any, error) {
	in := connector.Values(inputs)
	topic, err := in.Required("topic")
	if err != nil {
		return nil, fail("publish", badInput{err})
	}
	if strings.ContainsAny(topic, "+#") {
		return nil, fail("publish", badInput{errors.New("a publish topic has no wildcards")})
	}
	payload, err := in.Bytes("message")
	if err != nil || payload == nil {
		return nil, fail("publish", badInput{errors.New("message is required")})
	}
	q, err := qosOf(in)
	if err != nil {
		return nil, fail("publish", err)
	}
	retain, err := in.Bool("retain", false)
	if err != nil {
		return nil, fail("publish", badInput{err})
	}
	c, timeout, err := Connect(conn, p)
	if err != nil {
		return nil, fail("publish", err)
	}
	defer c.Disconnect(100)
	if err := wait(c.Publish(topic, q, retain, payload), timeout, "publish"); err != nil {
		return nil, fail("publish", err)
	}
	return map[string]any{"published": true}, nil
}

func receive(ctx context.Context, conn connector.Connection, inputs map[string]any, p *outbound.Policy) (any, error) {
	in := connector.Values(inputs)
	topic, err := in.Required("topic")
	if err != nil {
		return nil, fail("receiveMessages", badInput{err})
	}
	q, err := qosOf(in)
	if err != nil {
		return nil, fail("receiveMessages", err)
	}
	max, err := in.Int("maxMessages", 10)
	if err != nil || max < 1 || max > 1000 {
		return nil, fail("receiveMessages", badInput{errors.New("maxMessages must be from 1 to 1000")})
	}
	secs, err := in.Int("waitSeconds", 2)
	if err != nil || secs < 1 || secs > 60 {
		return nil, fail("receiveMessages", badInput{errors.New("waitSeconds must be from 1 to 60")})
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second)
	defer cancel()
	out := []any{}
	err = Subscribe(ctx, p, conn, topic, q, func(m map[string]any) error {
		out = append(out, m)
		if int64(len(out)) >= max {
			cancel()
		}
		return nil
	})
	if err != nil {
		return nil, fail("receiveMessages", err)
	}
	return map[string]any{"messages": out}, nil
}

// Subscribe delivers the messages of a topic filter to handle, one at a
// time, until ctx ends. Messages are acknowledged (QoS 1-2) after handle
// returns.
func Subscribe(ctx context.Context, p *outbound.Policy, conn connector.Connection, topic string, qos byte, handle func(msg map[string]any) error) error {
	c, timeout, err := Connect(conn, p)
	if err != nil {
		return err
	}
	defer c.Disconnect(100)
	msgs := make(chan paho.Message)
	done := make(chan struct{})
	defer close(done)
	tok := c.Subscribe(topic, qos, func(_ paho.Client, m paho.Message) {
		select {
		case msgs <- m:
		case <-done:
		}
	})
	if err := wait(tok, timeout, "subscribe"); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			var body any = string(m.Payload())
			var v any
			if json.Valid(m.Payload()) && json.Unmarshal(m.Payload(), &v) == nil {
				if _, isObj := v.(map[string]any); isObj {
					body = v
				} else if _, isArr := v.([]any); isArr {
					body = v
				}
			}
			if err := handle(map[string]any{"topic": m.Topic(), "body": body, "qos": int(m.Qos()), "retained": m.Retained(), "duplicate": m.Duplicate()}); err != nil {
				return err
			}
		}
	}
}
