package rabbitmq_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"junction/internal/connector"
	"junction/internal/connector/connectortest"
	"junction/internal/connector/rabbitmq"
)

const url = "amqp://guest:guest@127.0.0.1:5672/"

// queue declares a fresh auto-deleted queue.
func queue(t *testing.T) string {
	t.Helper()
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ at 127.0.0.1:5672 is required (scripts/deps/services.sh starts it): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	rand.Read(b)
	name := "junction-test-" + hex.EncodeToString(b)
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ch.QueueDelete(name, false, false, false) })
	return name
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, rabbitmq.New(nil))
}

func TestPublishReceive(t *testing.T) {
	t.Parallel()
	q := queue(t)
	c := rabbitmq.New(nil)
	conn := map[string]any{"url": url}
	for i, m := range []any{map[string]any{"order": 1.0}, "plain text"} {
		out := connectortest.Invoke(t, c, conn, "publish", map[string]any{"routingKey": q, "message": m, "messageId": string(rune('a' + i)), "headers": map[string]any{"x-n": float64(i)}}).(map[string]any)
		if out["confirmed"] != true {
			t.Fatalf("publish: %v", out)
		}
	}
	out := connectortest.Invoke(t, c, conn, "receiveMessages", map[string]any{"queue": q, "maxMessages": 5.0}).(map[string]any)
	msgs := out["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages: %v", msgs)
	}
	first, second := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if first["body"].(map[string]any)["order"] != 1.0 || first["messageId"] != "a" || second["body"] != "plain text" || second["contentType"] != "text/plain" {
		t.Fatalf("messages: %v", msgs)
	}
	// Acknowledged: the queue is empty now.
	out = connectortest.Invoke(t, c, conn, "whenMessagesReceived", map[string]any{"queue": q}).(map[string]any)
	if len(out["messages"].([]any)) != 0 {
		t.Fatalf("left over: %v", out)
	}
	// mandatory with no queue bound: the broker returns the message.
	connectortest.Fails(t, c, conn, "publish", map[string]any{"routingKey": q + "-nobody", "message": "x", "mandatory": true}, false)
	connectortest.Fails(t, c, conn, "receiveMessages", map[string]any{"queue": q + "-missing"}, false)
}

func TestConsumeAcks(t *testing.T) {
	t.Parallel()
	q := queue(t)
	c := rabbitmq.New(nil)
	conn := connector.Connection{Name: "t", Connector: rabbitmq.Name, Values: map[string]any{"url": url}}
	connectortest.Invoke(t, c, conn.Values, "publish", map[string]any{"routingKey": q, "message": "work"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var seen []map[string]any
	err := rabbitmq.Consume(ctx, nil, conn, q, 1, func(ctx context.Context, m map[string]any) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m)
		if len(seen) == 1 {
			return errors.New("first try fails")
		}
		cancel()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0]["redelivered"] != false || seen[1]["redelivered"] != true || seen[1]["body"] != "work" {
		t.Fatalf("seen: %v", seen)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	c := rabbitmq.New(nil)
	in := map[string]any{"routingKey": "x", "message": "x"}
	connectortest.Fails(t, c, map[string]any{"url": "amqp://guest:guest@127.0.0.1:1/"}, "publish", in, true)
	connectortest.Fails(t, c, map[string]any{"url": "amqp://guest:wrong-password@127.0.0.1:5672/"}, "publish", in, false)
	connectortest.Fails(t, c, map[string]any{"url": "http://x"}, "publish", in, false)
	connectortest.Fails(t, c, map[string]any{"url": url}, "publish", map[string]any{"routingKey": "x"}, false)
}
