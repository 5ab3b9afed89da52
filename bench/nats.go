package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsJS uses a file-storage work-queue stream, synchronous publishes (wait
// for the publish ack) and a durable pull consumer with explicit acks
// (AckSync: wait until the server has the ack).
type natsJS struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	subject string
	cons    jetstream.Consumer
}

func newNATS(url string) (*natsJS, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	id := time.Now().UnixNano()
	return &natsJS{nc: nc, js: js, stream: fmt.Sprintf("BENCH_%d", id), subject: fmt.Sprintf("bench.%d", id)}, nil
}

func (n *natsJS) setup(ctx context.Context) error {
	_, err := n.js.CreateStream(ctx, jetstream.StreamConfig{Name: n.stream, Subjects: []string{n.subject},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		return err
	}
	n.cons, err = n.js.CreateOrUpdateConsumer(ctx, n.stream, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	return err
}

func (n *natsJS) sender(ctx context.Context) (func([]byte) error, func(), error) {
	return func(p []byte) error {
		_, err := n.js.Publish(ctx, n.subject, p)
		return err
	}, func() {}, nil
}

func (n *natsJS) receiver(ctx context.Context) (func() error, func(), error) {
	return func() error {
		batch, err := n.cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			return m.DoubleAck(ctx)
		}
		if batch.Error() != nil {
			return batch.Error()
		}
		return fmt.Errorf("no message")
	}, func() {}, nil
}

func (n *natsJS) close() {
	n.js.DeleteStream(context.Background(), n.stream)
	n.nc.Close()
}
