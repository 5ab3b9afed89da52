package changelog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestAppendAndReadInCommitOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		sub := s.Listen(changelog.Channel)
		defer sub.Close()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					err := s.Tx(ctx, func(tx store.Tx) error {
						_, err := changelog.Append(ctx, tx, changelog.Change{
							Table: "account", RecordID: fmt.Sprintf("%d-%d", w, i), Message: changelog.Create,
							Changed: []string{"name"}, After: map[string]any{"name": "A", "n": float64(i)},
						})
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}
			}()
		}
		// A rolled-back write leaves no change behind.
		_ = s.Tx(ctx, func(tx store.Tx) error {
			changelog.Append(ctx, tx, changelog.Change{Table: "account", RecordID: "ghost", Message: changelog.Delete})
			return fmt.Errorf("rolled back")
		})
		wg.Wait()
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var got []changelog.Change
		err := s.Read(ctx, func(q store.Querier) error {
			var err error
			got, err = changelog.Read(ctx, q, 0, "account", 1000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 80 {
			t.Fatalf("got %d changes, want 80", len(got))
		}
		for i, c := range got {
			if i > 0 && c.Seq <= got[i-1].Seq {
				t.Fatalf("out of order at %d", i)
			}
			if c.RecordID == "ghost" || c.After["name"] != "A" || c.Before != nil || c.Source != "junction" {
				t.Fatalf("bad change %+v", c)
			}
		}
		select {
		case <-sub.C:
		default:
			t.Fatal("no notification")
		}
	})
}

func TestHistoryNewestFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{changelog.Create, changelog.Update, changelog.Delete} {
			if err := s.Tx(ctx, func(tx store.Tx) error {
				_, err := changelog.Append(ctx, tx, changelog.Change{Table: "contact", RecordID: "c1", Message: msg})
				if err == nil {
					_, err = changelog.Append(ctx, tx, changelog.Change{Table: "contact", RecordID: "other", Message: msg})
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var got []changelog.Change
		s.Read(ctx, func(q store.Querier) error {
			var err error
			got, err = changelog.History(ctx, q, "contact", "c1", 10)
			return err
		})
		if len(got) != 3 || got[0].Message != changelog.Delete || got[2].Message != changelog.Create {
			t.Fatalf("history: %+v", got)
		}
	})
}
