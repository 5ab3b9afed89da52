package connector_test

import (
	"context"
	"errors"
	"testing"

	"junction/internal/connector"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	echo := &connector.Connector{Name: "echo", Operations: []connector.Operation{{
		ID: "say", Kind: connector.Action,
		Invoke: func(_ context.Context, c connector.Connection, in map[string]any) (any, error) {
			if in["fail"] == true {
				return nil, errors.New("asked to fail")
			}
			return map[string]any{"said": in["text"], "to": c.Values["host"]}, nil
		},
	}}}
	if err := r.Register(echo); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(echo); err == nil {
		t.Fatal("registered twice")
	}
	if err := r.Register(&connector.Connector{Name: "bad", Operations: []connector.Operation{{ID: "x"}}}); err == nil {
		t.Fatal("registered an operation without Invoke")
	}
	conn := connector.Connection{Connector: "echo", Values: map[string]any{"host": "h"}}
	out, err := r.Invoke(context.Background(), conn, "say", map[string]any{"text": "hi"})
	if err != nil || out.(map[string]any)["said"] != "hi" || out.(map[string]any)["to"] != "h" {
		t.Fatalf("invoke: %v %v", out, err)
	}
	_, err = r.Invoke(context.Background(), conn, "say", map[string]any{"fail": true})
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Connector != "echo" || ce.Operation != "say" {
		t.Fatalf("failure not wrapped: %v", err)
	}
	if _, err := r.Invoke(context.Background(), conn, "shout", nil); !errors.Is(err, connector.ErrUnknownOperation) {
		t.Fatalf("unknown operation: %v", err)
	}
	if _, err := r.Invoke(context.Background(), connector.Connection{Connector: "nope"}, "say", nil); !errors.Is(err, connector.ErrUnknownConnector) {
		t.Fatalf("unknown connector: %v", err)
	}
	if len(r.List()) != 1 {
		t.Fatal("list")
	}
}
