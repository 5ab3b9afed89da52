package records_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// setup migrates s and starts a records service on it with the standard
// tables (initStore with none of its own).
func setup(t *testing.T, s store.Store) *records.Service {
	t.Helper()
	return initStore(t, s)
}

// TestWritesAppendChanges checks that creates, updates, deletes and the
// references a delete clears all reach the change log, in order.
func TestWritesAppendChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		acc, _ := rec.Table("account")
		con, _ := rec.Table("contact")
		var cid, aid string
		err := s.Tx(ctx, func(tx store.Tx) error {
			c, err := rec.Create(ctx, tx, con, records.Row{"lastname": "Lee"}, records.Caller{CorrelationID: "r1"})
			if err != nil {
				return err
			}
			cid = c["contactid"].(string)
			a, err := rec.Create(ctx, tx, acc, records.Row{"name": "A", "primarycontactid": records.Ref{Table: "contact", ID: cid}}, records.Caller{})
			if err != nil {
				return err
			}
			aid = a["accountid"].(string)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return rec.Delete(ctx, tx, con, cid, "", records.Caller{}) }); err != nil {
			t.Fatal(err)
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var changes []changelog.Change
		s.Read(ctx, func(q store.Querier) error {
			changes, err = changelog.Read(ctx, q, 0, "", 100)
			return err
		})
		var got []string
		for _, c := range changes {
			got = append(got, c.Table+":"+c.Message)
		}
		want := "contact:Create account:Create account:Update contact:Delete"
		if s := join(got); s != want {
			t.Fatalf("changes %q, want %q", s, want)
		}
		if changes[0].CorrelationID != "r1" || changes[2].RecordID != aid || changes[2].After["primarycontactid"] != nil {
			t.Fatalf("change details %+v", changes)
		}
		// A failed write leaves neither row nor change.
		err = s.Tx(ctx, func(tx store.Tx) error {
			if _, err := rec.Create(ctx, tx, acc, records.Row{"name": "B"}, records.Caller{}); err != nil {
				return err
			}
			_, err := rec.Create(ctx, tx, acc, records.Row{"name": "C", "primarycontactid": records.Ref{Table: "contact", ID: cid}}, records.Caller{})
			return err
		})
		if records.AsError(err).Code != records.CodeNotFound {
			t.Fatalf("bad reference: %v", err)
		}
		var n int
		s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM junction_changes").Scan(&n)
		})
		if n != 4 {
			t.Fatalf("changes after a rolled back write: %d", n)
		}
	})
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestAutoNumberAndValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		inc, _ := rec.Table("incident")
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			var row records.Row
			err := s.Tx(ctx, func(tx store.Tx) error {
				var err error
				row, err = rec.Create(ctx, tx, inc, records.Row{"title": "t"}, records.Caller{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			tn := row["ticketnumber"].(string)
			if len(tn) != len("CAS-01001-A1B2C3") || tn[:9] != []string{"CAS-01001", "CAS-01002", "CAS-01003"}[i] || seen[tn] {
				t.Fatalf("ticket %q", tn)
			}
			seen[tn] = true
		}
		c, _ := inc.Column("prioritycode")
		if _, err := records.Convert(inc, c, int64(9)); err == nil {
			t.Fatal("bad option accepted")
		}
	})
}

func TestTableDefinitionErrors(t *testing.T) {
	t.Parallel()
	bad := []records.Table{
		{Name: "Bad", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: records.String}}},
		{Name: "t", PrimaryName: "missing"},
		{Name: "t", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: "Weird"}}},
		{Name: "t", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: records.String}, {Name: "p", Type: records.Picklist}}},
		{Name: "t", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: records.String}, {Name: "a", Type: records.AutoNumber, Format: "X-{RANDSTRING:3}"}}},
		{Name: "t", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: records.String}}, Keys: []records.Key{{Name: "k", Columns: []string{"zz"}}}},
	}
	for i, tb := range bad {
		if err := tb.Prepare(func(string) bool { return true }); err == nil {
			t.Errorf("definition %d accepted", i)
		}
	}
}

func TestMoneyAndDecimalPrecision(t *testing.T) {
	t.Parallel()
	acc := &records.Table{Name: "t", PrimaryName: "n", Columns: []records.Column{{Name: "n", Type: records.String},
		{Name: "m", Type: records.Money}, {Name: "d", Type: records.Decimal, Precision: 4}, {Name: "f", Type: records.Double}}}
	if err := acc.Prepare(nil); err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]float64{"m": 0.3, "d": 0.3, "f": 0.1 + 0.2} {
		c, _ := acc.Column(col)
		v, err := records.Convert(acc, c, 0.1+0.2)
		if err != nil || v != want {
			t.Errorf("%s: %v %v, want %v", col, v, err, want)
		}
	}
	c, _ := acc.Column("d")
	if v, _ := records.Convert(acc, c, 1.23456); v != 1.2346 {
		t.Errorf("decimal(4): %v", v)
	}
}

func TestUpsertByKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		acc, _ := rec.Table("account")
		var ids []string
		for i, name := range []string{"First", "Second"} {
			err := s.Tx(ctx, func(tx store.Tx) error {
				id, created, err := rec.Upsert(ctx, tx, acc, map[string]any{"accountnumber": "K1"}, records.Row{"name": name}, records.Caller{})
				if err == nil && created != (i == 0) {
					t.Errorf("upsert %d: created=%v", i, created)
				}
				ids = append(ids, id)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var row records.Row
		s.Read(ctx, func(q store.Querier) error {
			var err error
			row, err = rec.Get(ctx, q, acc, ids[0])
			return err
		})
		if ids[0] != ids[1] || row["name"] != "Second" || row["accountnumber"] != "K1" {
			t.Fatalf("upserted %v %v", ids, row)
		}
		err := s.Tx(ctx, func(tx store.Tx) error {
			_, _, err := rec.Upsert(ctx, tx, acc, map[string]any{"name": "not a key"}, records.Row{}, records.Caller{})
			return err
		})
		if err == nil {
			t.Fatal("upsert by a non-key accepted")
		}
	})
}

// TestCheckMatchesWrites checks that Check refuses what Create and Update
// refuse, with the same error naming the column, and writes nothing.
func TestCheckMatchesWrites(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
			t.Fatal(err)
		}
		rec := records.New(records.Config{Store: s})
		part := records.Table{Name: "part", PrimaryName: "code", Columns: []records.Column{
			{Name: "code", Type: records.String, MaxLength: 10, Required: records.RequiredSystem},
			{Name: "maker", Type: records.Lookup, Targets: []string{"account"}},
		}}
		if err := rec.Init(ctx, []records.Table{part}); err != nil {
			t.Fatal(err)
		}
		pt, _ := rec.Table("part")
		var existing records.Row
		err := s.Tx(ctx, func(tx store.Tx) error {
			var err error
			existing, err = rec.Create(ctx, tx, pt, records.Row{"code": "P-1"}, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		missing := records.Ref{Table: "account", ID: "6d1a2b3c-0000-4000-8000-00000000beef"}
		cases := []struct {
			name   string
			before records.Row
			values records.Row
			column string
		}{
			{"required missing on create", nil, records.Row{"maker": nil}, "code"},
			{"required cleared on update", existing, records.Row{"code": nil}, "code"},
			{"unknown lookup target row", nil, records.Row{"code": "P-2", "maker": missing}, "maker"},
			{"status not of the state", existing, records.Row{"statecode": int64(0), "statuscode": int64(2)}, "statuscode"},
			{"unknown column", nil, records.Row{"code": "P-3", "colour": "red"}, "colour"},
			{"state cleared", existing, records.Row{"statecode": nil}, "statecode"},
		}
		for _, c := range cases {
			var checked, wrote error
			s.Read(ctx, func(q store.Querier) error {
				checked = rec.Check(ctx, q, pt, c.before, c.values, records.Caller{})
				return nil
			})
			s.Tx(ctx, func(tx store.Tx) error {
				if c.before == nil {
					_, wrote = rec.Create(ctx, tx, pt, c.values, records.Caller{})
				} else {
					_, wrote = rec.Update(ctx, tx, pt, c.before["partid"].(string), c.values, "", records.Caller{})
				}
				return wrote
			})
			if checked == nil || wrote == nil || checked.Error() != wrote.Error() {
				t.Errorf("%s: Check said %v, the write %v", c.name, checked, wrote)
				continue
			}
			if col := records.AsError(checked).Column; col != c.column {
				t.Errorf("%s: the error names column %q, want %q", c.name, col, c.column)
			}
		}
		// What a write accepts, Check accepts.
		s.Read(ctx, func(q store.Querier) error {
			if err := rec.Check(ctx, q, pt, nil, records.Row{"code": "P-9"}, records.Caller{}); err != nil {
				t.Errorf("a good create: %v", err)
			}
			if err := rec.Check(ctx, q, pt, existing, records.Row{"statecode": int64(1)}, records.Caller{}); err != nil {
				t.Errorf("a good update: %v", err)
			}
			return nil
		})
		// Convert's errors name the column too.
		c, _ := pt.Column("code")
		if _, err := records.Convert(pt, c, "much too long a code"); records.AsError(err).Column != "code" {
			t.Errorf("Convert's error: %#v", err)
		}
	})
}

// TestPreparedCreate: a create prepared before its transaction, with a read
// (as the Web API prepares one), writes the row and change Create writes:
// computed columns, the whole image with its nulls, an auto-number drawn in
// the write. A prepared create refused in its write changes nothing.
func TestPreparedCreate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		prepare := func(table string, values records.Row) *records.Creation {
			t.Helper()
			tb, _ := rec.Table(table)
			var p *records.Creation
			if err := s.Read(ctx, func(q store.Querier) (err error) {
				p, err = rec.PrepareCreate(ctx, q, tb, values, records.Caller{})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return p
		}
		write := func(p *records.Creation) (row records.Row, err error) {
			err = s.Tx(ctx, func(tx store.Tx) error {
				row, err = rec.CreatePrepared(ctx, tx, p)
				return err
			})
			return row, err
		}
		acc, _ := rec.Table("account")
		row, err := write(prepare("account", records.Row{"name": "Prepared", "revenue": 12.5, "description": nil}))
		if err != nil {
			t.Fatal(err)
		}
		id := row["accountid"].(string)
		if len(row) != len(acc.Columns) || row["revenue_base"] != 12.5 || row["exchangerate"] != 1.0 || row["fax"] != nil {
			t.Fatalf("created row of %d columns (want %d): %v", len(row), len(acc.Columns), row)
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var changes []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) (err error) {
			changes, err = changelog.Read(ctx, q, 0, "account", 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 {
			t.Fatalf("%d changes", len(changes))
		}
		c := changes[0]
		if c.RecordID != id || c.Message != changelog.Create || len(c.After) != len(acc.Columns) || c.After["name"] != "Prepared" ||
			c.After["revenue_base"] != 12.5 || c.After["fax"] != nil || !slices.Contains(c.Changed, "description") {
			t.Fatalf("change %+v", c)
		}
		if _, present := c.After["fax"]; !present {
			t.Fatal("the change's image lacks the row's null columns")
		}

		// An auto-number is drawn in the write.
		inc, err := write(prepare("incident", records.Row{"title": "t"}))
		if err != nil || !strings.HasPrefix(inc["ticketnumber"].(string), "CAS-") {
			t.Fatalf("incident %v: %v", inc, err)
		}

		// A lookup to no row is refused in the write, which leaves nothing.
		orphan := records.Row{"name": "Orphan", "parentaccountid": records.Ref{Table: "account", ID: "00000000-0000-4000-8000-00000000dead"}}
		var refused *records.Error
		if _, err := write(prepare("account", orphan)); !errors.As(err, &refused) || refused.Code != records.CodeNotFound {
			t.Fatalf("a create pointing at no row: %v", err)
		}

		// WriteCreation: on PostgreSQL a create of one statement commits by
		// itself; one with an auto-number takes a transaction.
		before := s.Stats()
		alone, err := rec.WriteCreation(ctx, prepare("account", records.Row{"name": "Alone", "parentaccountid": records.Ref{Table: "account", ID: id}}))
		if err != nil || alone["parentaccountid"] != (records.Ref{Table: "account", ID: id}) {
			t.Fatalf("WriteCreation: %v %v", alone, err)
		}
		if _, err := rec.WriteCreation(ctx, prepare("incident", records.Row{"title": "t2"})); err != nil {
			t.Fatal(err)
		}
		after := s.Stats()
		wantAlone, wantTx := int64(0), int64(2)
		if s.Dialect() == store.Postgres {
			wantAlone, wantTx = 1, 1
		}
		if after.Autocommits-before.Autocommits != wantAlone || after.Transactions-before.Transactions != wantTx {
			t.Errorf("two creates took %d autocommits and %d transactions, want %d and %d", after.Autocommits-before.Autocommits,
				after.Transactions-before.Transactions, wantAlone, wantTx)
		}
		// Refused by itself, a create is made again in a transaction, which
		// names the lookup; nothing is written.
		if _, err := rec.WriteCreation(ctx, prepare("account", orphan)); !errors.As(err, &refused) || refused.Code != records.CodeNotFound || refused.Column != "parentaccountid" {
			t.Fatalf("WriteCreation pointing at no row: %v", err)
		}
		dup := prepare("account", records.Row{"accountid": id, "name": "Again"})
		if _, err := rec.WriteCreation(ctx, dup); !errors.As(err, &refused) || refused.Code != records.CodeDuplicateKey {
			t.Fatalf("WriteCreation of an id taken: %v", err)
		}
		var n int
		if err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, `SELECT COUNT(*) FROM rec_account WHERE name IN ('Orphan', 'Again')`).Scan(&n)
		}); err != nil || n != 0 {
			t.Fatalf("%d orphan rows: %v", n, err)
		}
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := s.Read(ctx, func(q store.Querier) (err error) {
			changes, err = changelog.Read(ctx, q, 0, "account", 10)
			return err
		}); err != nil || len(changes) != 2 {
			t.Fatalf("%d changes of accounts, want 2 (Prepared and Alone): %v", len(changes), err)
		}
	})
}
