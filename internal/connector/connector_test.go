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

func TestPagedOperations(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	list := func(_ context.Context, _ connector.Connection, _ map[string]any) (any, error) {
		return map[string]any{"value": []any{1}, "next": "p2"}, nil
	}
	if err := r.Register(&connector.Connector{Name: "half", Operations: []connector.Operation{{ID: "list", Invoke: list, Paging: &connector.Paging{NextLinkName: "next"}}}}); err == nil {
		t.Fatal("registered a paged operation without Next")
	}
	next := func(_ context.Context, _ connector.Connection, link string) (any, error) {
		if link != "p2" {
			return nil, errors.New("no such page")
		}
		return map[string]any{"value": []any{2}}, nil
	}
	c := &connector.Connector{Name: "pages", Operations: []connector.Operation{
		{ID: "list", Invoke: list, Paging: &connector.Paging{NextLinkName: "next", Next: next}},
		{ID: "one", Invoke: list}}}
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	conn := connector.Connection{Connector: "pages"}
	if out, err := r.NextPage(context.Background(), conn, "list", "p2"); err != nil || len(out.(map[string]any)["value"].([]any)) != 1 {
		t.Fatalf("next page: %v %v", out, err)
	}
	var ce *connector.Error
	if _, err := r.NextPage(context.Background(), conn, "list", "p9"); !errors.As(err, &ce) || ce.Operation != "list" {
		t.Fatalf("a failing page: %v", err)
	}
	if _, err := r.NextPage(context.Background(), conn, "one", "p2"); err == nil {
		t.Fatal("an operation that does not page gave a next page")
	}
	if c.Operations[0].Paging.Items() != "value" || (&connector.Paging{ItemName: "rows"}).Items() != "rows" {
		t.Fatal("items")
	}
}
