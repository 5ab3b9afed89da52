package webapi_test

import (
	"net/http"
	"testing"

	"junction/internal/records"
	"junction/internal/server"
)

// TestSharing shares a row the way "Sharing and assigning" and the
// GrantAccess, ModifyAccess, RevokeAccess and RetrieveSharedPrincipalsAndAccess
// reference pages (Learn, Dataverse Web API) describe: the actions answer
// 204, the function answers PrincipalAccesses with the AccessMask as the
// AccessRights member names and the principal as a systemuser keyed by
// ownerid, and a user whose privilege is at user depth may use it on a row
// shared with it for that access right only.
func TestSharing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		alice, _ := b.newKey(t, "alice", server.RoleSender) // Basic User: shares its own rows
		bob, bobID := b.newKey(t, "bob", server.RoleListener)
		b.mustStatus(b.do("DELETE", "systemusers("+bobID+")/systemuserroles_association("+records.RoleReader+")/$ref", nil), 204)
		b.giveRole(t, bobID, "Own accounts", "prvReadAccount", "Basic", "prvWriteAccount", "Basic")

		acct := alice.create("accounts", map[string]any{"name": "Alice's"})
		adminRow := b.create("accounts", map[string]any{"name": "the admin's"})
		target := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": acct}
		toBob := func(mask string) map[string]any {
			return map[string]any{"Target": target, "PrincipalAccess": map[string]any{
				"Principal": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": bobID}, "AccessMask": mask}}
		}
		reads := func(want int) {
			t.Helper()
			if n := len(bob.mustStatus(bob.do("GET", "accounts?$select=name", nil), 200).json(t)["value"].([]any)); n != want {
				t.Fatalf("bob reads %d accounts, want %d", n, want)
			}
		}
		shared := func() []any {
			t.Helper()
			r := alice.mustStatus(alice.do("GET", "RetrieveSharedPrincipalsAndAccess(Target=@t)?@t={'@odata.id':'accounts("+acct+")'}", nil), 200).json(t)
			if r["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.RetrieveSharedPrincipalsAndAccessResponse" {
				t.Fatalf("context: %v", r)
			}
			return r["PrincipalAccesses"].([]any)
		}

		reads(0)
		refused(t, bob.do("GET", "accounts("+acct+")?$select=name", nil), "prvReadAccount")
		if s := shared(); len(s) != 0 {
			t.Fatalf("not shared yet: %v", s)
		}

		alice.mustStatus(alice.do("POST", "GrantAccess", toBob("ReadAccess")), 204)
		reads(1)
		bob.mustStatus(bob.do("GET", "accounts("+acct+")?$select=name", nil), 200)
		refused(t, bob.do("PATCH", "accounts("+acct+")", map[string]any{"name": "bob was here"}), "prvWriteAccount")

		// GrantAccess adds to what the principal has.
		alice.mustStatus(alice.do("POST", "GrantAccess", toBob("WriteAccess")), 204)
		bob.mustStatus(bob.do("PATCH", "accounts("+acct+")", map[string]any{"name": "bob was here"}), 204)
		s := shared()
		want := map[string]any{"AccessMask": "ReadAccess, WriteAccess", "Principal": map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.systemuser", "ownerid": bobID}}
		if len(s) != 1 || !sameJSON(s[0], want) {
			t.Fatalf("shared principals: %v", s)
		}

		// Refusals, each changing nothing.
		refused(t, bob.do("POST", "GrantAccess", toBob("ReadAccess")), "prvShareAccount")
		refused(t, alice.do("POST", "GrantAccess", map[string]any{"Target": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": adminRow},
			"PrincipalAccess": toBob("ReadAccess")["PrincipalAccess"]}), "prvShareAccount")
		for _, body := range []map[string]any{toBob("EverythingAccess"), {"Target": target}, {"PrincipalAccess": toBob("ReadAccess")["PrincipalAccess"]},
			{"Target": target, "PrincipalAccess": map[string]any{"Principal": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": adminRow}, "AccessMask": "ReadAccess"}}} {
			if r := alice.do("POST", "GrantAccess", body); r.status != http.StatusBadRequest {
				t.Fatalf("GrantAccess %v: %d %s", body, r.status, r.body)
			}
		}
		if r := b.do("POST", "principalobjectaccessset", map[string]any{"objectid": adminRow, "objecttypecode": "account", "accessrightsmask": 1,
			"principalid@odata.bind": "/systemusers(" + bobID + ")"}); r.status != http.StatusBadRequest || r.errCode(t) != records.CodeNotSupported {
			t.Fatalf("writing principalobjectaccess directly: %d %s", r.status, r.body)
		}
		reads(1)

		// ModifyAccess replaces the rights.
		alice.mustStatus(alice.do("POST", "ModifyAccess", toBob("ReadAccess")), 204)
		refused(t, bob.do("PATCH", "accounts("+acct+")", map[string]any{"name": "again"}), "prvWriteAccount")
		if s := shared(); len(s) != 1 || s[0].(map[string]any)["AccessMask"] != "ReadAccess" {
			t.Fatalf("after ModifyAccess: %v", s)
		}

		// RevokeAccess takes it all away.
		alice.mustStatus(alice.do("POST", "RevokeAccess", map[string]any{"Target": target,
			"Revokee": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": bobID}}), 204)
		reads(0)
		refused(t, bob.do("GET", "accounts("+acct+")?$select=name", nil), "prvReadAccount")
		if s := shared(); len(s) != 0 {
			t.Fatalf("after RevokeAccess: %v", s)
		}

		// Deleting a shared row deletes its shares.
		alice.mustStatus(alice.do("POST", "GrantAccess", toBob("ReadAccess")), 204)
		if n := len(b.mustStatus(b.do("GET", "principalobjectaccessset?$filter=objectid eq "+acct, nil), 200).json(t)["value"].([]any)); n != 1 {
			t.Fatalf("%d share rows, want 1", n)
		}
		alice.mustStatus(alice.do("DELETE", "accounts("+acct+")", nil), 204)
		if n := len(b.mustStatus(b.do("GET", "principalobjectaccessset?$filter=objectid eq "+acct, nil), 200).json(t)["value"].([]any)); n != 0 {
			t.Fatalf("%d share rows left after the delete", n)
		}
	})
}

// giveRole creates a role holding the privileges given as name, depth pairs
// and gives it to the user.
func (b *bundle) giveRole(t *testing.T, userID, name string, privileges ...string) {
	t.Helper()
	role := b.create("roles", map[string]any{"name": name, "businessunitid@odata.bind": "/businessunits(" + records.BusinessUnitID + ")"})
	var list []any
	for i := 0; i+1 < len(privileges); i += 2 {
		v := b.mustStatus(b.do("GET", "privileges?$select=name&$filter=name eq '"+privileges[i]+"'", nil), 200).json(t)["value"].([]any)
		list = append(list, map[string]any{"PrivilegeId": v[0].(map[string]any)["privilegeid"], "Depth": privileges[i+1]})
	}
	b.mustStatus(b.do("POST", "roles("+role+")/Microsoft.Dynamics.CRM.AddPrivilegesRole", map[string]any{"Privileges": list}), 204)
	b.mustStatus(b.do("POST", "systemusers("+userID+")/systemuserroles_association/$ref", map[string]any{"@odata.id": b.base + "roles(" + role + ")"}), 204)
}

// sameJSON compares two values as their JSON encodings.
func sameJSON(a, b any) bool { return string(mustJSON(a)) == string(mustJSON(b)) }
