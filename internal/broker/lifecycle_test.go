package broker_test

import (
	"context"
	"testing"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/store/storetest"
)

func TestBrokerLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				s := storetest.Open(t, d)
				if err := s.Migrate(context.Background(), sqlstorage.Migrations()); err != nil {
					t.Fatal(err)
				}
				b := broker.New(broker.Config{Driver: sqlstorage.New(s)})
				t.Cleanup(func() { b.Stop(context.Background()) })
				return b
			})
		})
	}
}
