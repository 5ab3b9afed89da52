package records_test

import (
	"context"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func remove(t *testing.T, s store.Store, rec *records.Service, table, id string) error {
	t.Helper()
	tb, _ := rec.Table(table)
	return s.Tx(context.Background(), func(tx store.Tx) error { return rec.Delete(context.Background(), tx, tb, id, "", records.Caller{}) })
}

func exists(t *testing.T, s store.Store, rec *records.Service, table, id string) bool {
	t.Helper()
	tb, _ := rec.Table(table)
	err := s.Read(context.Background(), func(q store.Querier) error {
		_, err := rec.Get(context.Background(), q, tb, id)
		return err
	})
	if err != nil && records.AsError(err).Code != records.CodeNotFound {
		t.Fatal(err)
	}
	return err == nil
}

func changeCount(t *testing.T, s store.Store) int {
	t.Helper()
	var n int
	if err := s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT COUNT(*) FROM junction_changes").Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func user(t *testing.T, s store.Store, rec *records.Service, name string) string {
	t.Helper()
	u := create(t, s, rec, "systemuser", records.Row{"firstname": name, "lastname": "User", "domainname": name + "@example.com",
		"internalemailaddress": name + "@example.com", "businessunitid": records.Ref{Table: "businessunit", ID: records.BusinessUnitID}}, records.Caller{})
	return u["systemuserid"].(string)
}

// TestDeleteCascades checks what deleting a row does to the rows related to
// it, as each relationship's cascade configuration says: parental
// relationships delete the children (an account's contacts, its tasks),
// RemoveLink clears the references (a child account's parent), and
// Restrict refuses the delete with CannotDeleteDueToAssociation, changing
// nothing, even when the restricted row is reached through a cascade.
// https://learn.microsoft.com/power-apps/developer/data-platform/configure-entity-relationship-cascading-behavior
// https://learn.microsoft.com/power-apps/developer/data-platform/reference/web-service-error-codes
func TestDeleteCascades(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		acc := create(t, s, rec, "account", records.Row{"name": "Parent"}, records.Caller{})["accountid"].(string)
		ref := func(table, id string) records.Ref { return records.Ref{Table: table, ID: id} }
		child := create(t, s, rec, "account", records.Row{"name": "Child", "parentaccountid": ref("account", acc)}, records.Caller{})["accountid"].(string)
		c1 := create(t, s, rec, "contact", records.Row{"lastname": "One", "parentcustomerid": ref("account", acc)}, records.Caller{})["contactid"].(string)
		c2 := create(t, s, rec, "contact", records.Row{"lastname": "Two", "parentcustomerid": ref("account", acc)}, records.Caller{})["contactid"].(string)
		// A contact's own contacts: contact_customer_contacts is RemoveLink.
		c3 := create(t, s, rec, "contact", records.Row{"lastname": "Three", "parentcustomerid": ref("contact", c1)}, records.Caller{})["contactid"].(string)
		task := create(t, s, rec, "task", records.Row{"subject": "Call", "regardingobjectid": ref("account", acc)}, records.Caller{})["activityid"].(string)
		note := create(t, s, rec, "annotation", records.Row{"subject": "Note", "objectid": ref("contact", c2)}, records.Caller{})["annotationid"].(string)
		opp := create(t, s, rec, "opportunity", records.Row{"name": "Deal", "customerid": ref("account", acc)}, records.Caller{})["opportunityid"].(string)

		if err := remove(t, s, rec, "account", acc); err != nil {
			t.Fatal(err)
		}
		for _, gone := range [][2]string{{"account", acc}, {"contact", c1}, {"contact", c2}, {"task", task}, {"activitypointer", task},
			{"annotation", note}, {"opportunity", opp}} {
			if exists(t, s, rec, gone[0], gone[1]) {
				t.Errorf("%s %s outlived the account", gone[0], gone[1])
			}
		}
		if c := get(t, s, rec, "account", child); c["parentaccountid"] != nil {
			t.Errorf("child account still has parent %v", c["parentaccountid"])
		}
		if c := get(t, s, rec, "contact", c3); c["parentcustomerid"] != nil {
			t.Errorf("contact of a deleted contact still has parent %v", c["parentcustomerid"])
		}
		if err := changelog.Sequence(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		var changes []changelog.Change
		s.Read(context.Background(), func(q store.Querier) error {
			var err error
			changes, err = changelog.Read(context.Background(), q, 0, "", 1000)
			return err
		})
		deleted := map[string]int{}
		for _, c := range changes {
			if c.Message == changelog.Delete {
				deleted[c.Table]++
			}
		}
		if deleted["account"] != 1 || deleted["contact"] != 2 || deleted["task"] != 1 || deleted["annotation"] != 1 || deleted["opportunity"] != 1 {
			t.Errorf("deletes in the change log: %v", deleted)
		}

		// Restrict: a product on an opportunity line cannot be deleted.
		sched := create(t, s, rec, "uomschedule", records.Row{"name": "Units", "baseuomname": "Each"}, records.Caller{})["uomscheduleid"].(string)
		uom := create(t, s, rec, "uom", records.Row{"name": "Each", "quantity": 1.0, "uomscheduleid": ref("uomschedule", sched)}, records.Caller{})["uomid"].(string)
		prod := create(t, s, rec, "product", records.Row{"name": "Widget", "productnumber": "W-1", "quantitydecimal": int64(0),
			"defaultuomid": ref("uom", uom), "defaultuomscheduleid": ref("uomschedule", sched)}, records.Caller{})["productid"].(string)
		opp2 := create(t, s, rec, "opportunity", records.Row{"name": "Deal 2"}, records.Caller{})["opportunityid"].(string)
		line := create(t, s, rec, "opportunityproduct", records.Row{"opportunityid": ref("opportunity", opp2), "productid": ref("product", prod),
			"uomid": ref("uom", uom), "quantity": 2.0, "priceperunit": 10.0}, records.Caller{})
		if line["extendedamount"] != 20.0 {
			t.Errorf("extendedamount %v", line["extendedamount"])
		}
		before := changeCount(t, s)
		err := remove(t, s, rec, "product", prod)
		if e := records.AsError(err); e.Code != records.CodeDeleteRestricted || e.Message != "The object you tried to delete is associated with another object and cannot be deleted." {
			t.Fatalf("restricted delete: %v", err)
		}
		// Reached through a cascade: the unit schedule's units are its
		// children, and a product uses the unit.
		err = remove(t, s, rec, "uomschedule", sched)
		if records.AsError(err).Code != records.CodeDeleteRestricted {
			t.Fatalf("restricted delete through a cascade: %v", err)
		}
		if !exists(t, s, rec, "product", prod) || !exists(t, s, rec, "uom", uom) || !exists(t, s, rec, "uomschedule", sched) || changeCount(t, s) != before {
			t.Fatalf("a refused delete changed something")
		}
		// Once the line is gone (with its opportunity, a parental
		// relationship), the product can go.
		if err := remove(t, s, rec, "opportunity", opp2); err != nil {
			t.Fatal(err)
		}
		if exists(t, s, rec, "opportunityproduct", line["opportunityproductid"].(string)) {
			t.Fatal("the opportunity's line outlived it")
		}
		if err := remove(t, s, rec, "product", prod); err != nil {
			t.Fatalf("delete an unused product: %v", err)
		}
	})
}

// TestAssignShareReparentCascades checks the other actions a relationship
// can cascade: assigning an account assigns its contacts, tasks and
// opportunities (Assign: Cascade); sharing and unsharing it shares and
// unshares its contacts (Share, Unshare: Cascade); and moving a contact
// under an account someone else owns gives that owner read access to it
// (Reparent: Cascade).
// https://learn.microsoft.com/power-apps/developer/data-platform/configure-entity-relationship-cascading-behavior#cascading-behavior
func TestAssignShareReparentCascades(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		ann, bob := user(t, s, rec, "ann"), user(t, s, rec, "bob")
		ref := func(table, id string) records.Ref { return records.Ref{Table: table, ID: id} }
		acc := create(t, s, rec, "account", records.Row{"name": "A"}, records.Caller{})["accountid"].(string)
		con := create(t, s, rec, "contact", records.Row{"lastname": "C", "parentcustomerid": ref("account", acc)}, records.Caller{})["contactid"].(string)
		task := create(t, s, rec, "task", records.Row{"subject": "T", "regardingobjectid": ref("account", acc)}, records.Caller{})["activityid"].(string)
		// primarycontactid (account_primary_contact) does not cascade assign.
		other := create(t, s, rec, "contact", records.Row{"lastname": "Primary"}, records.Caller{})["contactid"].(string)
		update(t, s, rec, "account", acc, records.Row{"primarycontactid": ref("contact", other)}, records.Caller{})

		update(t, s, rec, "account", acc, records.Row{"ownerid": ref("systemuser", ann)}, records.Caller{})
		for _, r := range [][2]string{{"contact", con}, {"task", task}, {"activitypointer", task}} {
			if g := get(t, s, rec, r[0], r[1]); g["ownerid"] != ref("systemuser", ann) || r[0] != "activitypointer" && g["owninguser"] != ref("systemuser", ann) {
				t.Errorf("%s %s owned by %v after its account was assigned", r[0], r[1], g["ownerid"])
			}
		}
		if g := get(t, s, rec, "contact", other); g["ownerid"] != ref("systemuser", records.SystemUserID) {
			t.Errorf("primary contact reassigned: %v", g["ownerid"])
		}

		accT, _ := rec.Table("account")
		conT, _ := rec.Table("contact")
		tx(t, s, func(tx store.Tx) error {
			return rec.ShareAccess(ctx, tx, accT, acc, bob, 1|2, false, records.Caller{})
		})
		shares := func(table *records.Table, id string) []records.Share {
			var out []records.Share
			s.Read(ctx, func(q store.Querier) error {
				var err error
				out, err = rec.Shares(ctx, q, table, id)
				return err
			})
			return out
		}
		if sh := shares(conT, con); len(sh) != 1 || sh[0].PrincipalID != bob || sh[0].Mask != 3 {
			t.Fatalf("contact shares after sharing its account: %+v", sh)
		}
		tx(t, s, func(tx store.Tx) error { return rec.RevokeShare(ctx, tx, accT, acc, bob, records.Caller{}) })
		if sh := shares(conT, con); len(sh) != 0 {
			t.Fatalf("contact shares after unsharing its account: %+v", sh)
		}

		// Reparent: bob's account becomes the contact's parent.
		bobs := create(t, s, rec, "account", records.Row{"name": "B", "ownerid": ref("systemuser", bob)}, records.Caller{})["accountid"].(string)
		update(t, s, rec, "contact", con, records.Row{"parentcustomerid": ref("account", bobs)}, records.Caller{})
		if sh := shares(conT, con); len(sh) != 1 || sh[0].PrincipalID != bob || sh[0].Mask != 1 {
			t.Fatalf("contact shares after reparenting: %+v", sh)
		}
	})
}
