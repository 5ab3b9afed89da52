package function_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// rabbitSource is a MessageSource over a RabbitMQ queue: a real peek-lock
// (unacknowledged delivery), complete (ack) and abandon (requeue). It stands
// where the broker's own source goes, so the trigger's plumbing runs against
// a real message server.
type rabbitSource struct{ ch *amqp.Channel }

var _ function.MessageSource = rabbitSource{}

func (s rabbitSource) Receive(ctx context.Context, e function.Entity, _ int, wait time.Duration) ([]*function.Message, error) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		d, ok, err := s.ch.Get(e.Queue, false)
		if err != nil {
			return nil, err
		}
		if ok {
			count := 1
			if d.Redelivered {
				count = 2
			}
			return []*function.Message{{ID: d.MessageId, Body: d.Body, ContentType: d.ContentType, DeliveryCount: count, LockToken: strconv.FormatUint(d.DeliveryTag, 10)}}, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, nil
}

func (s rabbitSource) settle(m *function.Message, ok bool) error {
	tag, err := strconv.ParseUint(m.LockToken, 10, 64)
	if err != nil {
		return err
	}
	if ok {
		return s.ch.Ack(tag, false)
	}
	return s.ch.Nack(tag, false, true)
}

func (s rabbitSource) Complete(_ context.Context, _ function.Entity, m *function.Message) error {
	return s.settle(m, true)
}

func (s rabbitSource) Abandon(_ context.Context, _ function.Entity, m *function.Message) error {
	return s.settle(m, false)
}

func TestServiceBusTrigger(t *testing.T) {
	t.Parallel()
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatalf("RabbitMQ at 127.0.0.1:5672 is required (scripts/deps/services.sh starts it): %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	rand.Read(b)
	queue := "junction-fn-" + hex.EncodeToString(b)
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"functions/host.json":            `{"version": "2.0"}`,
		"functions/orders/function.json": `{"bindings": [{"type": "serviceBusTrigger", "direction": "in", "name": "order", "queueName": "` + queue + `", "connection": "SB"}]}`,
		"functions/orders/index.js": `
module.exports = async function (context, order) {
    context.log("order", order.id, "delivery", context.bindingData.deliveryCount);
    if (context.bindingData.deliveryCount < 2) throw new Error("not yet");
};`,
	}
	bundle := setup(t, storetest.Open(t, store.SQLite), files, function.Config{Messages: rabbitSource{ch}})
	pub, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishWithContext(context.Background(), "", queue, false, false, amqp.Publishing{MessageId: "m-1", ContentType: "application/json", Body: []byte(`{"id": 7}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried message to succeed", func() bool {
		invs := bundle.invocations("orders")
		return len(invs) == 2
	})
	invs := bundle.invocations("orders")
	if invs[1].Status != function.StatusFailed || invs[0].Status != function.StatusSucceeded || invs[0].Detail != "message m-1" || invs[0].Logs[0].Message != "order 7 delivery 2" {
		t.Fatalf("history: %+v", invs)
	}
	waitFor(t, "the queue to be empty", func() bool {
		q, err := pub.QueueDeclarePassive(queue, false, true, false, false, nil)
		return err == nil && q.Messages == 0
	})
}
