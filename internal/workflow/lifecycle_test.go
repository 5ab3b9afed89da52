package workflow

import (
	"context"
	"testing"

	"junction/internal/changelog"
	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestRowTriggersLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		if err := s.Migrate(context.Background(), changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
			r := NewRowTriggers(RowTriggersConfig{Store: s, NodeID: t.Name()})
			t.Cleanup(func() { r.Stop(context.Background()) })
			return r
		})
	})
}
