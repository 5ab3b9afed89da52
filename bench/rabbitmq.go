package main

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbit uses a durable classic queue, persistent messages, publisher
// confirms (one outstanding publish per client) and manual acks.
type rabbit struct {
	conn     *amqp.Connection
	queue    string
	prefetch int // consumer prefetch (default 1)
}

func newRabbit(url string) (*rabbit, error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return nil, err
	}
	return &rabbit{conn: conn, queue: fmt.Sprintf("bench-%d", time.Now().UnixNano())}, nil
}

func (r *rabbit) setup(ctx context.Context) error {
	ch, err := r.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	_, err = ch.QueueDeclare(r.queue, true, false, false, false, nil)
	return err
}

func (r *rabbit) sender(ctx context.Context) (func([]byte) error, func(), error) {
	ch, err := r.conn.Channel()
	if err != nil {
		return nil, nil, err
	}
	if err := ch.Confirm(false); err != nil {
		return nil, nil, err
	}
	return func(p []byte) error {
		conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", r.queue, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/octet-stream", Body: p})
		if err != nil {
			return err
		}
		ok, err := conf.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("publish nacked")
		}
		return nil
	}, func() { ch.Close() }, nil
}

func (r *rabbit) receiver(ctx context.Context) (func() error, func(), error) {
	ch, err := r.conn.Channel()
	if err != nil {
		return nil, nil, err
	}
	if err := ch.Qos(max(r.prefetch, 1), 0, false); err != nil {
		return nil, nil, err
	}
	deliveries, err := ch.ConsumeWithContext(ctx, r.queue, "", false, false, false, false, nil)
	if err != nil {
		return nil, nil, err
	}
	return func() error {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("consumer closed")
			}
			return d.Ack(false)
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no message")
		}
	}, func() { ch.Close() }, nil
}

func (r *rabbit) close() {
	if ch, err := r.conn.Channel(); err == nil {
		ch.QueueDelete(r.queue, false, false, false)
		ch.Close()
	}
	r.conn.Close()
}
