package webapi_test

import (
	"testing"
)

// TestDeleteCascadesOverTheWebAPI checks a DELETE through the Web API: a
// parental relationship deletes an account's contacts with it, and a
// Restrict relationship refuses to delete a unit a product uses, answering
// Dataverse's CannotDeleteDueToAssociation and deleting nothing.
// https://learn.microsoft.com/power-apps/developer/data-platform/configure-entity-relationship-cascading-behavior
// https://learn.microsoft.com/power-apps/developer/data-platform/reference/web-service-error-codes
func TestDeleteCascadesOverTheWebAPI(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acc := b.create("accounts", map[string]any{"name": "Parent"})
		con := b.create("contacts", map[string]any{"lastname": "Kid", "parentcustomerid_account@odata.bind": "/accounts(" + acc + ")"})
		b.mustStatus(b.do("DELETE", "accounts("+acc+")", nil), 204)
		b.mustStatus(b.do("GET", "contacts("+con+")", nil), 404)

		sched := b.create("uomschedules", map[string]any{"name": "Units", "baseuomname": "Each"})
		uom := b.create("uoms", map[string]any{"name": "Each", "quantity": 1, "uomscheduleid@odata.bind": "/uomschedules(" + sched + ")"})
		prod := b.create("products", map[string]any{"name": "Widget", "productnumber": "W-1", "quantitydecimal": 0,
			"defaultuomid@odata.bind": "/uoms(" + uom + ")", "defaultuomscheduleid@odata.bind": "/uomschedules(" + sched + ")"})
		r := b.do("DELETE", "uomschedules("+sched+")", nil)
		if r.status != 400 || r.errCode(t) != "0x80040227" {
			t.Fatalf("restricted delete: %d %s", r.status, r.body)
		}
		if m := r.json(t)["error"].(map[string]any); m["message"] != "The object you tried to delete is associated with another object and cannot be deleted." {
			t.Fatalf("message %v", m["message"])
		}
		for _, u := range []string{"uomschedules(" + sched + ")", "uoms(" + uom + ")", "products(" + prod + ")"} {
			b.mustStatus(b.do("GET", u, nil), 200)
		}
	})
}
