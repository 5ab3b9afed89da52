package builtin_test

import (
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/builtin"
	"junction/internal/connector/connectortest"
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
