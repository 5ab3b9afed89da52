package records_test

import (
	"context"
	"net/http"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestWritesCheckReferences checks the reference checks a create and an
// update run in the statement that writes the row: a lookup pointing at no
// row is NotFound about that column, with several lookups set the missing
// one is named, and the write leaves nothing behind.
func TestWritesCheckReferences(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		part := records.Table{Name: "part", PrimaryName: "code", Columns: []records.Column{
			{Name: "code", Type: records.String, MaxLength: 10},
			{Name: "maker", Type: records.Lookup, Targets: []string{"account"}},
			{Name: "buyer", Type: records.Lookup, Targets: []string{"contact"}},
			{Name: "parent", Type: records.Lookup, Targets: []string{"part"}},
		}}
		rec := initStore(t, s, part)
		pt, _ := rec.Table("part")
		at, _ := rec.Table("account")
		ct, _ := rec.Table("contact")
		write := func(fn func(tx store.Tx) error) error { return s.Tx(ctx, fn) }
		var maker, buyer, existing records.Row
		err := write(func(tx store.Tx) (err error) {
			if maker, err = rec.Create(ctx, tx, at, records.Row{"name": "Maker"}, records.Caller{}); err != nil {
				return err
			}
			if buyer, err = rec.Create(ctx, tx, ct, records.Row{"lastname": "Buyer"}, records.Caller{}); err != nil {
				return err
			}
			existing, err = rec.Create(ctx, tx, pt, records.Row{"code": "P-0", "maker": records.Ref{Table: "account", ID: maker["accountid"].(string)}}, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		goodMaker := records.Ref{Table: "account", ID: maker["accountid"].(string)}
		goodBuyer := records.Ref{Table: "contact", ID: buyer["contactid"].(string)}
		noMaker := records.Ref{Table: "account", ID: "6d1a2b3c-0000-4000-8000-00000000a001"}
		noBuyer := records.Ref{Table: "contact", ID: "6d1a2b3c-0000-4000-8000-00000000c001"}
		self := "6d1a2b3c-0000-4000-8000-00000000b001"
		cases := []struct {
			name   string
			update bool
			values records.Row
			column string
			want   string
		}{
			{"create, the buyer missing", false, records.Row{"code": "P-1", "maker": goodMaker, "buyer": noBuyer}, "buyer", "contact With Id = " + noBuyer.ID + " Does Not Exist"},
			{"create, the maker missing", false, records.Row{"code": "P-2", "maker": noMaker, "buyer": goodBuyer}, "maker", "account With Id = " + noMaker.ID + " Does Not Exist"},
			{"create, its parent itself", false, records.Row{"partid": self, "code": "P-3", "parent": records.Ref{Table: "part", ID: self}}, "parent", "part With Id = " + self + " Does Not Exist"},
			{"update, the buyer missing", true, records.Row{"code": "P-4", "buyer": noBuyer}, "buyer", "contact With Id = " + noBuyer.ID + " Does Not Exist"},
			{"update, the maker missing", true, records.Row{"maker": noMaker, "buyer": goodBuyer}, "maker", "account With Id = " + noMaker.ID + " Does Not Exist"},
		}
		for _, c := range cases {
			err := write(func(tx store.Tx) error {
				var err error
				if c.update {
					_, err = rec.Update(ctx, tx, pt, existing["partid"].(string), c.values, "", records.Caller{})
				} else {
					_, err = rec.Create(ctx, tx, pt, c.values, records.Caller{})
				}
				return err
			})
			if err == nil {
				t.Errorf("%s: written, want NotFound %q about %s", c.name, c.want, c.column)
				continue
			}
			if e := records.AsError(err); e.Status != http.StatusNotFound || e.Code != records.CodeNotFound || e.Message != c.want || e.Column != c.column {
				t.Errorf("%s: %#v, want NotFound %q about %s", c.name, err, c.want, c.column)
			}
		}
		// Nothing of the refused writes is left.
		err = s.Read(ctx, func(q store.Querier) error {
			var n int
			var code string
			var version int64
			if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_part"`).Scan(&n); err != nil {
				return err
			}
			if err := q.QueryRow(ctx, `SELECT code, versionnumber FROM "rec_part" WHERE partid = ?`, existing["partid"]).Scan(&code, &version); err != nil {
				return err
			}
			if n != 1 || code != "P-0" || version != 1 {
				t.Errorf("after the refused writes: %d parts, the first %q version %d", n, code, version)
			}
			if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM junction_changes WHERE table_name = 'part'`).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				t.Errorf("after the refused writes: %d changes of parts, want the first one's create", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A write whose lookups all exist goes through.
		err = write(func(tx store.Tx) error {
			if _, err := rec.Create(ctx, tx, pt, records.Row{"code": "P-5", "maker": goodMaker, "buyer": goodBuyer,
				"parent": records.Ref{Table: "part", ID: existing["partid"].(string)}}, records.Caller{}); err != nil {
				return err
			}
			_, err := rec.Update(ctx, tx, pt, existing["partid"].(string), records.Row{"buyer": goodBuyer}, "", records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestMoneyNeedsItsCurrency: a write that keeps a row's currency, or falls
// back to the base currency, checks no reference to it, so the exchange
// rate it reads must be there; a currency gone from under a row refuses an
// update of its money rather than storing a rate of 1.
func TestMoneyNeedsItsCurrency(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		rec := initStore(t, s)
		at, _ := rec.Table("account")
		cur, _ := rec.Table("transactioncurrency")
		var account, euro records.Row
		err := s.Tx(ctx, func(tx store.Tx) (err error) {
			euro, err = rec.Create(ctx, tx, cur, records.Row{"currencyname": "Euro", "isocurrencycode": "EUR", "currencysymbol": "€",
				"exchangerate": 2.0, "currencyprecision": int64(2)}, records.Caller{})
			if err != nil {
				return err
			}
			account, err = rec.Create(ctx, tx, at, records.Row{"name": "Priced", "revenue": 10.0,
				"transactioncurrencyid": records.Ref{Table: "transactioncurrency", ID: euro["transactioncurrencyid"].(string)}}, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The currency row goes without the records service seeing it (raw
		// SQL, as a sink writing to the table could), and a write to another
		// currency clears the cached rates.
		err = s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM rec_transactioncurrency WHERE transactioncurrencyid = ?`, euro["transactioncurrencyid"]); err != nil {
				return err
			}
			_, err := rec.Create(ctx, tx, cur, records.Row{"currencyname": "Pound", "isocurrencycode": "GBP", "currencysymbol": "£",
				"exchangerate": 0.9, "currencyprecision": int64(2)}, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Tx(ctx, func(tx store.Tx) error {
			_, err := rec.Update(ctx, tx, at, account["accountid"].(string), records.Row{"revenue": 20.0}, "", records.Caller{})
			return err
		})
		if err == nil {
			t.Fatal("an update of money in a currency that is gone succeeded")
		}
		var got records.Row
		if err := s.Read(ctx, func(q store.Querier) (err error) {
			got, err = rec.Get(ctx, q, at, account["accountid"].(string))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got["revenue"] != 10.0 || got["exchangerate"] != 2.0 {
			t.Errorf("after the refused update: revenue %v, exchange rate %v; want 10 and 2", got["revenue"], got["exchangerate"])
		}
	})
}

// TestCreateWithItsChangeInOneStatement: on PostgreSQL a create writes its
// row, checks its lookups and records its change in one statement (one
// round trip); on SQLite they are two statements. The change is the
// create's, with the new row as its image.
func TestCreateWithItsChangeInOneStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		c := storetest.NewCounting(s)
		rec := initStore(t, c)
		at, _ := rec.Table("account")
		ct, _ := rec.Table("contact")
		var contact, account records.Row
		if err := c.Tx(ctx, func(tx store.Tx) (err error) {
			contact, err = rec.Create(ctx, tx, ct, records.Row{"lastname": "Lee"}, records.Caller{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c.Reset()
		if err := c.Tx(ctx, func(tx store.Tx) (err error) {
			account, err = rec.Create(ctx, tx, at, records.Row{"name": "One", "primarycontactid": records.Ref{Table: "contact", ID: contact["contactid"].(string)}}, records.Caller{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		row, change := `INSERT INTO "rec_account"`, "(source, table_name"
		both := 0
		if s.Dialect() == store.Postgres {
			both = 1
		}
		if r, ch, b := c.Matching(row), c.Matching(change), c.Matching(row, change); r != 1 || ch != 1 || b != both {
			t.Errorf("the create's row in %d statements, its change in %d, both in one %d times; want 1, 1, %d", r, ch, b, both)
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var got []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) (err error) {
			got, err = changelog.Read(ctx, q, 0, "account", 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].RecordID != account["accountid"] || got[0].Message != changelog.Create || got[0].After["name"] != "One" {
			t.Fatalf("changes of accounts: %+v", got)
		}
	})
}
