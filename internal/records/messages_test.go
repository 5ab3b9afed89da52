package records_test

import (
	"context"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestSdkMessagesAreSeeded: an org has its sdkmessage rows and a
// sdkmessagefilter row per message and table (the sdkmessage and
// sdkmessagefilter table references), a project table's and one defined
// later included, with the same ids on every start; a deleted table's
// filters go with it.
func TestSdkMessagesAreSeeded(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		project := records.Table{Name: "new_site", PrimaryName: "new_name", Ownership: records.OrganizationOwned,
			Columns: []records.Column{{Name: "new_name", Type: records.String, MaxLength: 100}}}
		rec := initStore(t, s, project)
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := s.Read(ctx, func(qr store.Querier) error { return qr.QueryRow(ctx, q, args...).Scan(&n) }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		filter := func(message, table string) int {
			return count(`SELECT COUNT(*) FROM "rec_sdkmessagefilter" f JOIN "rec_sdkmessage" m ON m.sdkmessageid = f.sdkmessageid
				WHERE m.name = ? AND f.primaryobjecttypecode = ? AND f.iscustomprocessingstepallowed = 1`, message, table)
		}
		if n := count(`SELECT COUNT(*) FROM "rec_sdkmessage" WHERE sdkmessageid = ? AND name = 'Create'`, "9ebdbb1b-ea3e-db11-86a7-000a3a5473e8"); n != 1 {
			t.Fatalf("Create message: %d", n)
		}
		for _, c := range []struct {
			message, table string
			want           int
		}{
			{"Create", "account", 1}, {"Update", "account", 1}, {"Delete", "contact", 1}, {"Assign", "account", 1},
			{"Create", "new_site", 1}, {"Assign", "new_site", 0}, {"Associate", "none", 1}, {"Create", "none", 0},
		} {
			if n := filter(c.message, c.table); n != c.want {
				t.Errorf("%s of %s: %d filters, want %d", c.message, c.table, n, c.want)
			}
		}
		messages, filters := count(`SELECT COUNT(*) FROM "rec_sdkmessage"`), count(`SELECT COUNT(*) FROM "rec_sdkmessagefilter"`)
		if messages < 13 || filters < 5*len(rec.Tables()) {
			t.Fatalf("%d messages, %d filters for %d tables", messages, filters, len(rec.Tables()))
		}
		// Another node starting (or a restart) adds nothing and agrees on ids.
		again := records.New(records.Config{Store: s})
		if err := again.Init(ctx, []records.Table{project}); err != nil {
			t.Fatal(err)
		}
		if m, f := count(`SELECT COUNT(*) FROM "rec_sdkmessage"`), count(`SELECT COUNT(*) FROM "rec_sdkmessagefilter"`); m != messages || f != filters {
			t.Fatalf("a second start: %d messages, %d filters; was %d, %d", m, f, messages, filters)
		}
		if n := count(`SELECT COUNT(*) FROM "rec_sdkmessagefilter" WHERE sdkmessagefilterid = ? AND primaryobjecttypecode = 'account'`,
			records.SdkMessageFilterID("Update", "account")); n != 1 {
			t.Fatalf("Update of account filter id: %d", n)
		}

		// A table defined later gets its filters, and loses them when deleted.
		if _, err := rec.DefineTable(ctx, records.Table{Name: "new_bank", PrimaryName: "new_name",
			Columns: []records.Column{{Name: "new_name", Type: records.String, MaxLength: 100}}}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"Create", "Update", "Delete", "Assign", "SetState"} {
			if n := filter(m, "new_bank"); n != 1 {
				t.Errorf("%s of new_bank: %d filters", m, n)
			}
		}
		if err := rec.DeleteTable(ctx, "new_bank"); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM "rec_sdkmessagefilter" WHERE primaryobjecttypecode = 'new_bank'`); n != 0 {
			t.Fatalf("%d filters of the deleted table", n)
		}
	})
}

// TestHandMadeSdkMessageIsKept: an sdkmessage row made by hand before the
// org seeded its own is kept with its id, and the filters refer to it.
func TestHandMadeSdkMessageIsKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := initStore(t, s)
		const mine = "0b6b1a50-0000-4000-8000-000000000001"
		// As an org upgraded from a version without the seeded rows has it.
		err := s.Tx(ctx, func(tx store.Tx) error {
			for _, q := range []string{`DELETE FROM "rec_sdkmessagefilter"`, `DELETE FROM "rec_sdkmessage"`} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			msgs, _ := rec.Table("sdkmessage")
			_, err := rec.Create(ctx, tx, msgs, records.Row{"sdkmessageid": mine, "name": "Update"}, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := records.New(records.Config{Store: s}).Init(ctx, nil); err != nil {
			t.Fatal(err)
		}
		var n int
		err = s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_sdkmessagefilter" WHERE sdkmessageid = ? AND primaryobjecttypecode = 'account'`, mine).Scan(&n)
		})
		if err != nil || n != 1 {
			t.Fatalf("filters of the hand-made Update on account: %d (%v)", n, err)
		}
	})
}

// initStore migrates s and starts a records service on it with the extra
// tables.
func initStore(t *testing.T, s store.Store, extra ...records.Table) *records.Service {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	if err := rec.Init(ctx, extra); err != nil {
		t.Fatal(err)
	}
	return rec
}
