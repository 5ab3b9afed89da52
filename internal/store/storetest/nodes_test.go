package storetest

import (
	"context"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/postgres"
)

// TestNotifyCrossesNodes opens two stores on one PostgreSQL schema, as two
// nodes would, with polling effectively off, and checks a commit on one wakes a
// subscriber on the other through LISTEN/NOTIFY.
func TestNotifyCrossesNodes(t *testing.T) {
	t.Parallel()
	url := RequirePostgres(t)
	schema := NewSchema(t)
	ctx := context.Background()
	open := func() store.Store {
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, Poll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	sub := b.Listen("work")
	defer sub.Close()
	other := b.Listen("other")
	defer other.Close()
	// The listener connects in the background: notify until it hears.
	deadline := time.After(20 * time.Second)
	for {
		if err := a.Tx(ctx, func(tx store.Tx) error { tx.Notify("work"); return nil }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sub.C:
			select {
			case <-other.C:
				t.Fatal("a subscriber of another channel woke")
			default:
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification crossed nodes")
		}
	}
}
