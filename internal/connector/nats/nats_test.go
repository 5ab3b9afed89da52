package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"junction/internal/connector/connectortest"
	"junction/internal/connector/nats"
)

const url = "nats://127.0.0.1:4222"

func name() string {
	b := make([]byte, 5)
	rand.Read(b)
	return "jt" + hex.EncodeToString(b)
}

func connect(t *testing.T) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(url, natsgo.Timeout(2*time.Second))
	if err != nil {
		t.Fatalf("NATS at 127.0.0.1:4222 is required (scripts/deps/services.sh starts it): %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, nats.New(nil))
}

func TestPublish(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	subj := name() + ".events"
	sub, err := nc.SubscribeSync(subj)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	c := nats.New(nil)
	connectortest.Invoke(t, c, map[string]any{"url": url}, "publish", map[string]any{"subject": subj, "message": map[string]any{"n": 1.0}, "headers": map[string]any{"X-Src": "test"}})
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"n":1}` || m.Header.Get("X-Src") != "test" {
		t.Fatalf("got %s %v", m.Data, m.Header)
	}
}

func TestJetStream(t *testing.T) {
	t.Parallel()
	nc := connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := name()
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
	c := nats.New(nil)
	conn := map[string]any{"url": url}
	out := connectortest.Invoke(t, c, conn, "jetStreamPublish", map[string]any{"subject": stream + ".a", "message": "one", "msgId": "m1"}).(map[string]any)
	if out["stream"] != stream || out["sequence"] != uint64(1) || out["duplicate"] != false {
		t.Fatalf("publish: %v", out)
	}
	out = connectortest.Invoke(t, c, conn, "jetStreamPublish", map[string]any{"subject": stream + ".a", "message": "one", "msgId": "m1"}).(map[string]any)
	if out["duplicate"] != true {
		t.Fatalf("duplicate: %v", out)
	}
	connectortest.Invoke(t, c, conn, "jetStreamPublish", map[string]any{"subject": stream + ".b", "message": map[string]any{"k": "v"}})
	out = connectortest.Invoke(t, c, conn, "jetStreamConsume", map[string]any{"stream": stream, "consumer": "worker", "maxMessages": 10.0, "waitSeconds": 1.0}).(map[string]any)
	msgs := out["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["body"] != "one" || msgs[1].(map[string]any)["body"].(map[string]any)["k"] != "v" {
		t.Fatalf("consume: %v", msgs)
	}
	// Acknowledged: the durable consumer has nothing left.
	out = connectortest.Invoke(t, c, conn, "jetStreamConsume", map[string]any{"stream": stream, "consumer": "worker", "waitSeconds": 0.0}).(map[string]any)
	if len(out["messages"].([]any)) != 0 {
		t.Fatalf("left over: %v", out)
	}
	connectortest.Fails(t, c, conn, "jetStreamPublish", map[string]any{"subject": "nostream-" + name(), "message": "x"}, false)
	connectortest.Fails(t, c, conn, "jetStreamConsume", map[string]any{"stream": "missing-" + name(), "consumer": "w"}, false)
}

func TestFailures(t *testing.T) {
	t.Parallel()
	c := nats.New(nil)
	in := map[string]any{"subject": "x", "message": "x"}
	connectortest.Fails(t, c, map[string]any{"url": "nats://127.0.0.1:1", "timeoutSeconds": 2.0}, "publish", in, true)
	connectortest.Fails(t, c, map[string]any{"url": url}, "publish", map[string]any{"subject": "x"}, false)
	connectortest.Fails(t, c, map[string]any{}, "publish", in, false)
}
