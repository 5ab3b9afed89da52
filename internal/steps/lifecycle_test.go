package steps_test

import (
	"context"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/records"
	"junction/internal/steps"
	"junction/internal/store/storetest"
)

func TestStepsLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				s := steps.New(steps.Config{Records: records.New(records.Config{Store: storetest.Open(t, d)})})
				t.Cleanup(func() { s.Stop(context.Background()) })
				return s
			})
		})
	}
}
