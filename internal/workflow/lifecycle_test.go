package workflow

import (
	"context"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/store/storetest"
)

func TestEngineLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				s := storetest.Open(t, d)
				if err := s.Migrate(context.Background(), Migrations()); err != nil {
					t.Fatal(err)
				}
				c := NewComponent(Config{Store: s, NodeID: "n"})
				t.Cleanup(func() { c.Stop(context.Background()) })
				return c
			})
		})
	}
}
