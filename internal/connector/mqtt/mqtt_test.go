package mqtt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"junction/internal/connector"
	"junction/internal/connector/connectortest"
	"junction/internal/connector/mqtt"
)

const broker = "tcp://127.0.0.1:1883"

func requireMosquitto(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:1883", 2*time.Second)
	if err != nil {
		t.Fatalf("Mosquitto at 127.0.0.1:1883 is required (scripts/deps/services.sh starts it): %v", err)
	}
	c.Close()
}

func topic() string {
	b := make([]byte, 5)
	rand.Read(b)
	return "junction-test/" + hex.EncodeToString(b)
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, mqtt.New(nil))
}

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	requireMosquitto(t)
	c := mqtt.New(nil)
	conn := connector.Connection{Name: "t", Connector: mqtt.Name, Values: map[string]any{"broker": broker}}
	base := topic()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan map[string]any, 4)
	ready := make(chan error, 1)
	go func() {
		ready <- mqtt.Subscribe(ctx, nil, conn, base+"/+", 1, func(m map[string]any) error {
			got <- m
			return nil
		})
	}()
	// Publish until the subscription (which starts asynchronously) sees one.
	var first map[string]any
	for first == nil {
		connectortest.Invoke(t, c, conn.Values, "publish", map[string]any{"topic": base + "/a", "message": map[string]any{"n": 1.0}, "qos": 1.0})
		select {
		case first = <-got:
		case <-time.After(200 * time.Millisecond):
		case err := <-ready:
			t.Fatalf("subscribe ended: %v", err)
		}
	}
	if first["topic"] != base+"/a" || first["body"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("message: %v", first)
	}
	cancel()

	// A retained message is received by a later receive.
	retained := topic()
	connectortest.Invoke(t, c, conn.Values, "publish", map[string]any{"topic": retained, "message": "kept", "retain": true})
	out := connectortest.Invoke(t, c, conn.Values, "receiveMessages", map[string]any{"topic": retained, "maxMessages": 1.0, "waitSeconds": 5.0}).(map[string]any)
	msgs := out["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["body"] != "kept" || msgs[0].(map[string]any)["retained"] != true {
		t.Fatalf("retained: %v", msgs)
	}
	connectortest.Invoke(t, c, conn.Values, "publish", map[string]any{"topic": retained, "message": "", "retain": true}) // clears it
}

func TestFailures(t *testing.T) {
	t.Parallel()
	c := mqtt.New(nil)
	in := map[string]any{"topic": "x", "message": "x"}
	connectortest.Fails(t, c, map[string]any{"broker": "tcp://127.0.0.1:1", "timeoutSeconds": 2.0}, "publish", in, true)
	connectortest.Fails(t, c, map[string]any{"broker": broker}, "publish", map[string]any{"topic": "a/#", "message": "x"}, false)
	connectortest.Fails(t, c, map[string]any{"broker": broker}, "publish", map[string]any{"topic": "a", "message": "x", "qos": 3.0}, false)
	// A server that accepts and never answers CONNACK: a timeout, retryable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	connectortest.Fails(t, c, map[string]any{"broker": "tcp://" + l.Addr().String(), "timeoutSeconds": 1.0}, "publish", in, true)
}
