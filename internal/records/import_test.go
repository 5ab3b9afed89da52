package records_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestImportSchema applies table definitions as a solution import does, on
// both stores: new tables, a column added to a standard table, lookups to
// tables that exist nowhere left out, a table only named skipped; again,
// nothing new; a conflict or a failing step after the schema changes nothing.
func TestImportSchema(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		b := setupKeys(t, s)
		defs := []records.Table{
			{Name: "new_site", PrimaryName: "new_name", Columns: []records.Column{
				{Name: "new_name", Type: records.String, MaxLength: 50},
				{Name: "new_accountid", Type: records.Lookup, Targets: []string{"account"}, Links: []records.Link{{Target: "account", Name: "new_account_sites", Cascade: records.Parental}}},
				{Name: "new_fax", Type: records.Lookup, Targets: []string{"fax"}},
				{Name: "new_mapid", Type: records.Lookup, Targets: []string{"new_map"}},
			}},
			{Name: "new_map"}, // named for its forms only
			{Name: "account", Columns: []records.Column{{Name: "name", Type: records.String, MaxLength: 160}, {Name: "new_tier", Type: records.Integer}}},
		}
		res, err := b.rec.ImportSchema(ctx, defs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Created, ",") != "new_site" || strings.Join(res.Added, ",") != "account.new_tier" || res.Kept != 1 {
			t.Fatalf("result %+v", res)
		}
		// Its tables get their message filters at once, as tables made through
		// EntityDefinitions do: a step can be registered on them.
		var filters int
		if err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_sdkmessagefilter" WHERE primaryobjecttypecode = 'new_site'`).Scan(&filters)
		}); err != nil || filters == 0 {
			t.Fatalf("message filters of new_site: %d %v", filters, err)
		}
		skipped := strings.Join(res.Skipped, "\n")
		for _, want := range []string{"new_site.new_fax: Junction has no table fax", "new_site.new_mapid: Junction has no table new_map", "new_map: the solution names the table"} {
			if !strings.Contains(skipped, want) {
				t.Fatalf("skipped %q, want %q", skipped, want)
			}
		}
		site := b.table("new_site")
		if c, ok := site.Column("new_accountid"); !ok || c.Links[0].Cascade.Delete != records.CascadeAll {
			t.Fatalf("lookup %+v", c)
		}
		if _, ok := site.Column("new_fax"); ok {
			t.Fatal("a lookup to no table was created")
		}
		res, err = b.rec.ImportSchema(ctx, defs, nil)
		if err != nil || len(res.Created)+len(res.Added) != 0 {
			t.Fatalf("again: %+v %v", res, err)
		}

		conflict := []records.Table{
			{Name: "new_other", PrimaryName: "new_name", Columns: []records.Column{{Name: "new_name", Type: records.String}}},
			{Name: "account", Columns: []records.Column{{Name: "new_tier", Type: records.DateTime}, {Name: "new_more", Type: records.Integer}}},
		}
		if _, err := b.rec.ImportSchema(ctx, conflict, nil); records.AsError(err).Status != 409 || !strings.Contains(err.Error(), "new_tier of account is a Integer") {
			t.Fatalf("conflict: %v", err)
		}
		boom := errors.New("boom")
		if _, err := b.rec.ImportSchema(ctx, conflict[:1], func(context.Context, store.Tx) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing step: %v", err)
		}
		// What the store holds, read afresh.
		fresh := records.New(records.Config{Store: s})
		if err := fresh.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := fresh.Table("new_other"); ok {
			t.Fatal("a failed import created a table")
		}
		if acc, _ := fresh.Table("account"); acc == nil {
			t.Fatal("no account")
		} else if _, ok := acc.Column("new_more"); ok {
			t.Fatal("a failed import added a column")
		} else if c, _ := acc.Column("new_tier"); c == nil || c.Type != records.Integer {
			t.Fatalf("new_tier after the failed import: %+v", c)
		}
	})
}
