package builtin_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/builtin"
	"junction/internal/connector/connectortest"
	"junction/internal/outbound"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	if err := builtin.Register(r, nil); err != nil {
		t.Fatal(err)
	}
	if err := builtin.Register(r, nil); err == nil {
		t.Fatal("registering twice must fail")
	}
	for _, c := range builtin.Connectors(nil) {
		connectortest.Describe(t, c)
		if _, _, err := r.Lookup(c.Name, c.Operations[0].ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryNetworkConnectorDialsThroughThePolicy: each connector that opens
// a network connection refuses a cloud metadata address when it dials, and a
// loopback server when the policy denies private addresses.
func TestEveryNetworkConnectorDialsThroughThePolicy(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cases := []struct {
		connector, op string
		values        func(host string) map[string]any
		inputs        map[string]any
	}{
		{"http", "request", func(h string) map[string]any { return map[string]any{} }, map[string]any{"uri": "http://HOST/"}},
		{"redis", "get", func(h string) map[string]any { return map[string]any{"address": net.JoinHostPort(h, port)} }, map[string]any{"key": "k"}},
		{"rabbitmq", "publish", func(h string) map[string]any {
			return map[string]any{"url": "amqp://guest:guest@" + net.JoinHostPort(h, port) + "/"}
		}, map[string]any{"message": "m"}},
		{"nats", "publish", func(h string) map[string]any { return map[string]any{"url": "nats://" + net.JoinHostPort(h, port)} }, map[string]any{"subject": "s", "message": "m"}},
		{"mqtt", "publish", func(h string) map[string]any { return map[string]any{"broker": "tcp://" + net.JoinHostPort(h, port)} }, map[string]any{"topic": "t", "message": "m"}},
		{"sftp", "listFiles", func(h string) map[string]any {
			return map[string]any{"host": h, "port": port, "username": "u", "password": "p", "acceptAnyHostKey": true}
		}, map[string]any{"folder": "/"}},
		{"smtp", "sendEmail", func(h string) map[string]any { return map[string]any{"host": h, "port": port, "security": "none"} }, map[string]any{"from": "a@example.org", "to": []any{"b@example.org"}, "subject": "s"}},
	}
	for _, policy := range []struct {
		name    string
		p       *outbound.Policy
		host    string
		refused string
	}{
		{"metadata", nil, "169.254.169.254", "outbound connection to 169.254.169.254 refused"},
		{"loopback denied", &outbound.Policy{DenyPrivate: true}, "127.0.0.1", "outbound connection to 127.0.0.1 refused"},
	} {
		r := connector.NewRegistry()
		if err := builtin.Register(r, policy.p); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(policy.name+"/"+c.connector, func(t *testing.T) {
				t.Parallel()
				inputs := map[string]any{}
				for k, v := range c.inputs {
					if s, ok := v.(string); ok {
						v = strings.ReplaceAll(s, "HOST", net.JoinHostPort(policy.host, port))
					}
					inputs[k] = v
				}
				_, err := r.Invoke(context.Background(), connector.Connection{Name: "c", Connector: c.connector, Values: c.values(policy.host)}, c.op, inputs)
				if err == nil || !strings.Contains(err.Error(), policy.refused) {
					t.Fatalf("%s %s to %s: %v, want %q", c.connector, c.op, policy.host, err, policy.refused)
				}
			})
		}
	}
}
