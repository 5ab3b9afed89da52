package records_test

import (
	"context"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestFreshStoreGetsItsShapes checks that what one store's records service
// knows of the change log's row shapes is not taken for another's: a second
// store with the same tables is sent every shape its changes use.
func TestFreshStoreGetsItsShapes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			if d == store.Postgres {
				storetest.RequirePostgres(t)
			}
			ctx := context.Background()
			for i := range 2 {
				s := storetest.Open(t, d)
				rec := initStore(t, s)
				at, _ := rec.Table("account")
				if err := s.Tx(ctx, func(tx store.Tx) error {
					_, err := rec.Create(ctx, tx, at, records.Row{"name": "Shaped"}, records.Caller{})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if err := changelog.Sequence(ctx, s); err != nil {
					t.Fatal(err)
				}
				err := s.Read(ctx, func(q store.Querier) error {
					got, err := changelog.Read(ctx, q, 0, "account", 10)
					if err == nil && (len(got) != 1 || got[0].After["name"] != "Shaped") {
						t.Errorf("store %d: read %+v", i+1, got)
					}
					return err
				})
				if err != nil {
					t.Fatalf("store %d: %v", i+1, err)
				}
			}
		})
	}
}
