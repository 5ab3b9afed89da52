package records_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestNewOrderedID checks the ids of new rows: GUIDs of version 7 (RFC
// 9562) that carry the time they were made and sort, as text, in the order
// they were made, however many goroutines make them at once.
func TestNewOrderedID(t *testing.T) {
	t.Parallel()
	before := time.Now().UnixMilli()
	const workers, each = 8, 2000
	made := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				made[w] = append(made[w], records.NewOrderedID())
			}
		}()
	}
	wg.Wait()
	after := time.Now().UnixMilli()
	seen := map[string]bool{}
	for _, ids := range made {
		for i, id := range ids {
			if !records.IsGUID(id) || id[14] != '7' || !slices.Contains([]byte("89ab"), id[19]) {
				t.Fatalf("%q is not a version 7 GUID of variant 10", id)
			}
			if seen[id] {
				t.Fatalf("%q made twice", id)
			}
			seen[id] = true
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("%q made after %q sorts before it", id, ids[i-1])
			}
			ms, err := strconv.ParseInt(id[0:8]+id[9:13], 16, 64)
			if err != nil || ms < before || ms > after+1 {
				t.Fatalf("%q carries the time %d, made between %d and %d", id, ms, before, after)
			}
		}
	}
	if id := records.NewID(); !records.IsGUID(id) || id[14] != '4' {
		t.Errorf("NewID gave %q, want a random (version 4) GUID", id)
	}
}

// TestCreatedRowsSortByID checks that rows created without an id come back,
// ordered by their primary key, in the order they were created, on both
// stores: a new row goes to the end of the primary key's index.
func TestCreatedRowsSortByID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		acc, _ := rec.Table("account")
		var created []string
		for i := range 40 {
			err := s.Tx(ctx, func(tx store.Tx) error {
				a, err := rec.Create(ctx, tx, acc, records.Row{"name": "A" + strconv.Itoa(i)}, records.Caller{})
				if err == nil {
					created = append(created, a["accountid"].(string))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var ordered []string
		err := s.Read(ctx, func(q store.Querier) error {
			rows, err := q.Query(ctx, "SELECT accountid FROM rec_account ORDER BY accountid")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ordered = append(ordered, id)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ordered, created) {
			t.Errorf("ordered by id:\n%v\ncreated:\n%v", ordered, created)
		}
	})
}
