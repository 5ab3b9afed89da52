// Package connectortest is the behaviour every connector shares: its
// description is complete (parameters typed, operations with object input
// schemas naming their required fields), it registers, and its failures are
// *connector.Error values naming the connector and the operation.
package connectortest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"junction/internal/connector"
)

// Describe checks a connector's description and registers it.
func Describe(t *testing.T, c *connector.Connector) {
	t.Helper()
	if c.Name == "" || c.Title == "" || c.Description == "" {
		t.Fatalf("connector needs a name, title and description: %+v", c)
	}
	types := map[string]bool{"string": true, "integer": true, "boolean": true, "object": true, "array": true, "number": true}
	for _, p := range c.Params {
		if p.Name == "" || !types[p.Type] || p.Description == "" {
			t.Errorf("parameter %+v needs a name, a JSON type and a description", p)
		}
		lower := strings.ToLower(p.Name)
		if (strings.Contains(lower, "password") || strings.Contains(lower, "secret") || lower == "connectionstring" || lower == "token" || lower == "privatekey" || lower == "apikeyvalue") && !p.Secret {
			t.Errorf("parameter %q looks secret but is not marked Secret", p.Name)
		}
	}
	if len(c.Operations) == 0 {
		t.Fatal("a connector needs operations")
	}
	for _, op := range c.Operations {
		if op.Summary == "" || (op.Kind != connector.Action && op.Kind != connector.Trigger) {
			t.Errorf("operation %q needs a summary and a kind", op.ID)
		}
		if op.Inputs["type"] != "object" {
			t.Errorf("operation %q: inputs must be an object schema", op.ID)
		}
		props, _ := op.Inputs["properties"].(map[string]any)
		if req, ok := op.Inputs["required"].([]string); ok {
			for _, r := range req {
				if _, ok := props[r]; !ok {
					t.Errorf("operation %q: required input %q is not a property", op.ID, r)
				}
			}
		}
	}
	r := connector.NewRegistry()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
}

// Fails invokes an operation that must fail and returns its error, checking
// that it names the connector and operation and is retryable as expected.
func Fails(t *testing.T, c *connector.Connector, conn map[string]any, op string, inputs map[string]any, retryable bool) *connector.Error {
	t.Helper()
	r := connector.NewRegistry()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	_, err := r.Invoke(context.Background(), connector.Connection{Name: "test", Connector: c.Name, Values: conn}, op, inputs)
	if err == nil {
		t.Fatalf("%s.%s succeeded, want an error", c.Name, op)
	}
	var ce *connector.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s.%s: error %T is not a *connector.Error: %v", c.Name, op, err, err)
	}
	if ce.Connector != c.Name || ce.Operation != op {
		t.Fatalf("error names %s.%s, want %s.%s: %v", ce.Connector, ce.Operation, c.Name, op, err)
	}
	if ce.Retryable != retryable {
		t.Fatalf("%s.%s: retryable = %v, want %v: %v", c.Name, op, ce.Retryable, retryable, err)
	}
	for k, v := range conn {
		if s, ok := v.(string); ok && len(s) >= 6 && isSecret(c, k) && strings.Contains(err.Error(), s) {
			t.Fatalf("%s.%s: the error shows secret parameter %q: %v", c.Name, op, k, err)
		}
	}
	return ce
}

// Invoke runs an operation that must succeed.
func Invoke(t *testing.T, c *connector.Connector, conn map[string]any, op string, inputs map[string]any) any {
	t.Helper()
	_, o, ok := lookup(c, op)
	if !ok {
		t.Fatalf("no operation %q", op)
	}
	out, err := o.Invoke(context.Background(), connector.Connection{Name: "test", Connector: c.Name, Values: conn}, inputs)
	if err != nil {
		t.Fatalf("%s.%s: %v", c.Name, op, err)
	}
	return out
}

func lookup(c *connector.Connector, op string) (*connector.Connector, *connector.Operation, bool) {
	o, ok := c.Op(op)
	return c, o, ok
}

func isSecret(c *connector.Connector, name string) bool {
	for _, p := range c.Params {
		if p.Name == name {
			return p.Secret
		}
	}
	return false
}
