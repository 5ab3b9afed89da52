package amqp_test

import (
	"context"
	"net"
	"testing"

	"junction/internal/broker/amqp"
	"junction/internal/lifecycle/lifecycletest"
)

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
		s := amqp.New(amqp.Config{Listen: "127.0.0.1:0"})
		t.Cleanup(func() { s.Stop(context.Background()) })
		return s
	})
}

// TestServerStopClosesConnections stops a listener with a client connected:
// the stop waits for the connection to end and the listener is closed.
func TestServerStopClosesConnections(t *testing.T) {
	t.Parallel()
	s := amqp.New(amqp.Config{Listen: "127.0.0.1:0"})
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if c2, err := net.Dial("tcp", addr); err == nil {
		c2.Close()
		t.Fatalf("%s still accepts connections after stop", addr)
	}
}
