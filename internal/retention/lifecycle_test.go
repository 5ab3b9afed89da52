package retention_test

import (
	"context"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/retention"
	"junction/internal/store/storetest"
)

func TestWorkerLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				w := retention.New(retention.Options{Store: st, NodeID: t.Name()})
				t.Cleanup(func() { w.Stop(context.Background()) })
				return w
			})
		})
	}
}
