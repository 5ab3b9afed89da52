package webapi_test

import (
	"context"
	"testing"

	"junction/internal/auth"
	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
	"junction/internal/webapi"
)

func TestComponentLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				s := storetest.Open(t, d)
				c := webapi.New(webapi.Config{Records: records.New(records.Config{Store: s}), Auth: auth.New(s, "k")})
				if err := s.Migrate(context.Background(), append(append([]store.Migration{}, auth.Migrations...), c.Migrations()...)); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Stop(context.Background()) })
				return c
			})
		})
	}
}
