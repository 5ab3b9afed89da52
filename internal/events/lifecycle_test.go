package events_test

import (
	"context"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/store/storetest"
)

func TestRouterLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				r := newRouter(t, storetest.Open(t, d), fastOptions())
				t.Cleanup(func() { r.Stop(context.Background()) })
				return r
			})
		})
	}
}
