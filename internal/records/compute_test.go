package records_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// tx runs fn in a transaction and fails t on error.
func tx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, s store.Store, rec *records.Service, table string, row records.Row, who records.Caller) records.Row {
	t.Helper()
	tb, _ := rec.Table(table)
	var out records.Row
	tx(t, s, func(tx store.Tx) error {
		var err error
		out, err = rec.Create(context.Background(), tx, tb, row, who)
		return err
	})
	return out
}

func update(t *testing.T, s store.Store, rec *records.Service, table, id string, row records.Row, who records.Caller) records.Row {
	t.Helper()
	tb, _ := rec.Table(table)
	var out records.Row
	tx(t, s, func(tx store.Tx) error {
		var err error
		out, err = rec.Update(context.Background(), tx, tb, id, row, "", who)
		return err
	})
	return out
}

func get(t *testing.T, s store.Store, rec *records.Service, table, id string) records.Row {
	t.Helper()
	tb, _ := rec.Table(table)
	var out records.Row
	if err := s.Read(context.Background(), func(q store.Querier) error {
		var err error
		out, err = rec.Get(context.Background(), q, tb, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestComputedColumns checks the columns the platform computes on create and
// update: full names in the organization's order, composite addresses,
// currency and base-currency values, who created and modified the row, the
// owner's user, team and business unit. The rules follow the contact
// reference (fullname "Combines and shows the contact's first and last
// names", _base "converted to the system's default base currency ... use the
// exchange rate"):
// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact
func TestComputedColumns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		admin := records.Caller{}
		c := create(t, s, rec, "contact", records.Row{"firstname": "Ann", "middlename": "Beth", "lastname": "Lee", "fullname": "ignored",
			"annualincome": 1000.0, "address1_line1": "1 Main St", "address1_city": "Seattle", "address1_stateorprovince": "WA",
			"address1_postalcode": "98052", "address1_country": "USA"}, admin)
		id := c["contactid"].(string)
		got := get(t, s, rec, "contact", id)
		for col, want := range map[string]any{
			"fullname": "Ann Lee", "address1_composite": "1 Main St\r\nSeattle, WA 98052\r\nUSA",
			"transactioncurrencyid": records.Ref{Table: "transactioncurrency", ID: records.BaseCurrencyID}, "exchangerate": 1.0,
			"annualincome_base": 1000.0, "createdby": records.Ref{Table: "systemuser", ID: records.SystemUserID},
			"modifiedby": records.Ref{Table: "systemuser", ID: records.SystemUserID}, "owninguser": records.Ref{Table: "systemuser", ID: records.SystemUserID},
			"owningbusinessunit": records.Ref{Table: "businessunit", ID: records.BusinessUnitID}, "owningteam": nil, "versionnumber": int64(1),
			"yomifullname": nil,
		} {
			if got[col] != want {
				t.Errorf("%s = %#v, want %#v", col, got[col], want)
			}
		}

		// Another currency: the rate and the base values follow it.
		eur := create(t, s, rec, "transactioncurrency", records.Row{"currencyname": "Euro", "isocurrencycode": "EUR", "currencysymbol": "€",
			"exchangerate": 0.5, "currencyprecision": int64(2)}, admin)
		up := update(t, s, rec, "contact", id, records.Row{"transactioncurrencyid": records.Ref{Table: "transactioncurrency", ID: eur["transactioncurrencyid"].(string)},
			"lastname": "Lee-Smith", "address1_line2": "Suite 2"}, admin)
		if up["exchangerate"] != 0.5 || up["annualincome_base"] != 2000.0 || up["fullname"] != "Ann Lee-Smith" ||
			up["address1_composite"] != "1 Main St\r\nSuite 2\r\nSeattle, WA 98052\r\nUSA" {
			t.Fatalf("after update: %v %v %v %q", up["exchangerate"], up["annualincome_base"], up["fullname"], up["address1_composite"])
		}
		// The change log has the computed values, as changed columns.
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var changes []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) error {
			var err error
			changes, err = changelog.Read(ctx, q, 0, "", 1000)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		last := changes[len(changes)-1]
		if last.Table != "contact" || last.Message != changelog.Update || !slices.Contains(last.Changed, "fullname") ||
			!slices.Contains(last.Changed, "annualincome_base") || last.After["fullname"] != "Ann Lee-Smith" || last.Before["fullname"] != "Ann Lee" {
			t.Fatalf("change log: %+v", last)
		}
		if slices.Contains(last.Changed, "owningbusinessunit") {
			t.Fatalf("an update that keeps the owner recomputed owningbusinessunit: %v", last.Changed)
		}

		// The organization's full-name order.
		update(t, s, rec, "organization", records.OrganizationID, records.Row{"fullnameconventioncode": int64(0)}, admin)
		c2 := create(t, s, rec, "contact", records.Row{"firstname": "Bo", "lastname": "Ng", "yomifirstname": "ボ", "yomilastname": "ン"}, admin)
		if c2["fullname"] != "Ng, Bo" || c2["yomifullname"] != "ン, ボ" {
			t.Fatalf("Last, First: %q %q", c2["fullname"], c2["yomifullname"])
		}

		// Assigned to a team: the team owns it, in the team's business unit.
		team := create(t, s, rec, "team", records.Row{"name": "Support", "businessunitid": records.Ref{Table: "businessunit", ID: records.BusinessUnitID},
			"administratorid": records.Ref{Table: "systemuser", ID: records.SystemUserID}}, admin)
		tid := team["teamid"].(string)
		as := update(t, s, rec, "contact", id, records.Row{"ownerid": records.Ref{Table: "team", ID: tid}}, admin)
		if as["owningteam"] != (records.Ref{Table: "team", ID: tid}) || as["owninguser"] != nil ||
			as["owningbusinessunit"] != (records.Ref{Table: "businessunit", ID: records.BusinessUnitID}) {
			t.Fatalf("team owner: %v %v %v", as["owningteam"], as["owninguser"], as["owningbusinessunit"])
		}
		if g := get(t, s, rec, "contact", id); g["ownerid"] != (records.Ref{Table: "team", ID: tid}) {
			t.Fatalf("ownerid read back as %v", g["ownerid"])
		}

		// A note's attachment.
		body := base64.StdEncoding.EncodeToString([]byte("hello, world"))
		n := create(t, s, rec, "annotation", records.Row{"subject": "Contract", "filename": "c.txt", "documentbody": body, "mimetype": "text/plain",
			"objectid": records.Ref{Table: "contact", ID: id}}, admin)
		if n["filesize"] != int64(12) || n["isdocument"] != true {
			t.Fatalf("note: %v %v", n["filesize"], n["isdocument"])
		}
	})
}

// TestActivityPointer checks that an activity has its activitypointer row,
// with the same activityid, kept in step, and that activitypointer is not
// written directly:
// https://learn.microsoft.com/power-apps/developer/data-platform/activity-entities
func TestActivityPointer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		acc := create(t, s, rec, "account", records.Row{"name": "A"}, records.Caller{})
		aid := acc["accountid"].(string)
		task := create(t, s, rec, "task", records.Row{"subject": "Call back", "regardingobjectid": records.Ref{Table: "account", ID: aid}}, records.Caller{})
		id := task["activityid"].(string)
		if task["activitytypecode"] != "task" {
			t.Fatalf("activitytypecode %v", task["activitytypecode"])
		}
		p := get(t, s, rec, "activitypointer", id)
		if p["subject"] != "Call back" || p["activitytypecode"] != "task" || p["regardingobjectid"] != (records.Ref{Table: "account", ID: aid}) {
			t.Fatalf("pointer: %v", p)
		}
		update(t, s, rec, "task", id, records.Row{"subject": "Call back today", "statecode": int64(1)}, records.Caller{})
		if p := get(t, s, rec, "activitypointer", id); p["subject"] != "Call back today" || p["statecode"] != int64(1) || p["statuscode"] != int64(5) {
			t.Fatalf("pointer after update: %v %v %v", p["subject"], p["statecode"], p["statuscode"])
		}
		ap, _ := rec.Table("activitypointer")
		err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := rec.Create(ctx, tx, ap, records.Row{"subject": "x"}, records.Caller{})
			return err
		})
		if records.AsError(err).Code != records.CodeNotSupported {
			t.Fatalf("direct activitypointer create: %v", err)
		}
		tt, _ := rec.Table("task")
		tx(t, s, func(tx store.Tx) error { return rec.Delete(ctx, tx, tt, id, "", records.Caller{}) })
		err = s.Read(ctx, func(q store.Querier) error {
			_, err := rec.Get(ctx, q, ap, id)
			return err
		})
		if records.AsError(err).Code != records.CodeNotFound {
			t.Fatalf("pointer after delete: %v", err)
		}
	})
}
