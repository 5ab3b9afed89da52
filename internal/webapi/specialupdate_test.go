package webapi_test

import (
	"net/http"
	"testing"

	"junction/internal/records"
	"junction/internal/server"
)

// TestSpecializedUpdates covers "Behavior of specialized update operations"
// (Learn): SetState and Assign are done by updating statecode/statuscode and
// ownerid. A state without a status gets the state's default status; a
// status that does not belong to the state is refused and changes nothing;
// changing the owner needs the Assign privilege on the row.
func TestSpecializedUpdates(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acct := b.create("accounts", map[string]any{"name": "Contoso"})
		inc := b.create("incidents", map[string]any{"title": "Broken", "customerid_account@odata.bind": "/accounts(" + acct + ")"})
		state := func(set, id string) (any, any) {
			m := b.mustStatus(b.do("GET", set+"("+id+")?$select=statecode,statuscode", nil), 200).json(t)
			return m["statecode"], m["statuscode"]
		}
		for _, c := range []struct {
			name, set, id         string
			body                  map[string]any
			status                int
			wantState, wantStatus float64
		}{
			{"state alone takes its default status", "accounts", acct, map[string]any{"statecode": 1}, 204, 1, 2},
			{"state and status", "accounts", acct, map[string]any{"statecode": 0, "statuscode": 1}, 204, 0, 1},
			{"a status of another state", "accounts", acct, map[string]any{"statecode": 0, "statuscode": 2}, 400, 0, 1},
			{"a status alone must fit the current state", "accounts", acct, map[string]any{"statuscode": 2}, 400, 0, 1},
			{"null state", "accounts", acct, map[string]any{"statecode": nil}, 400, 0, 1},
			{"case resolved with a status", "incidents", inc, map[string]any{"statecode": 1, "statuscode": 5}, 204, 1, 5},
			{"case cancelled takes Cancelled", "incidents", inc, map[string]any{"statecode": 2}, 204, 2, 6},
			{"case: In Progress is not a cancelled status", "incidents", inc, map[string]any{"statecode": 2, "statuscode": 1}, 400, 2, 6},
		} {
			r := b.do("PATCH", c.set+"("+c.id+")", c.body)
			if r.status != c.status {
				t.Fatalf("%s: %d %s", c.name, r.status, r.body)
			}
			if c.status == http.StatusBadRequest && r.errCode(t) != records.CodeValidation {
				t.Fatalf("%s: code %s", c.name, r.body)
			}
			if st, sc := state(c.set, c.id); st != c.wantState || sc != c.wantStatus {
				t.Fatalf("%s: statecode %v statuscode %v, want %v %v", c.name, st, sc, c.wantState, c.wantStatus)
			}
		}

		// Assign: a Basic User assigns its own row away and then cannot
		// write it; a role with Write but no Assign cannot change the owner.
		sender, _ := b.newKey(t, "sender", server.RoleSender)
		_, operatorID := b.newKey(t, "operator", server.RoleOperator)
		own := sender.create("accounts", map[string]any{"name": "mine"})
		sender.mustStatus(sender.do("PATCH", "accounts("+own+")", map[string]any{"ownerid@odata.bind": "/systemusers(" + operatorID + ")"}), 204)
		if m := b.mustStatus(b.do("GET", "accounts("+own+")?$select=_ownerid_value", nil), 200).json(t); m["_ownerid_value"] != operatorID {
			t.Fatalf("owner after assign: %v", m)
		}
		refused(t, sender.do("PATCH", "accounts("+own+")", map[string]any{"name": "still mine?"}), "prvWriteAccount")

		writer, writerID := b.newKey(t, "writer", server.RoleListener)
		b.giveRole(t, writerID, "Writes accounts", "prvWriteAccount", "Global")
		writer.mustStatus(writer.do("PATCH", "accounts("+acct+")", map[string]any{"name": "renamed"}), 204)
		refused(t, writer.do("PATCH", "accounts("+acct+")", map[string]any{"ownerid@odata.bind": "/systemusers(" + writerID + ")"}), "prvAssignAccount")
		if m := b.mustStatus(b.do("GET", "accounts("+acct+")?$select=_ownerid_value", nil), 200).json(t); m["_ownerid_value"] != records.SystemUserID {
			t.Fatalf("owner after a refused assign: %v", m)
		}
	})
}
