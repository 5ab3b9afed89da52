package records_test

import (
	"context"
	"testing"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestDefaultRoles pins what each key role's default security role grants,
// read back through the role tables as any request reads it, and that a
// table defined later brings its privileges to the built-in roles.
func TestDefaultRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		if _, err := rec.DefineTable(ctx, records.Table{Name: "new_project", PrimaryName: "new_name", Columns: []records.Column{{Name: "new_name", Type: records.String}}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			keyRole   string
			privilege string
			want      int64
		}{
			{"operator", "prvCreateEntity", records.DepthGlobal},
			{"operator", "prvWriteAccount", records.DepthGlobal},
			{"operator", "prvDeletenew_project", records.DepthGlobal},
			{"operator", "prvReadUser", records.DepthGlobal},
			{"operator", "prvWriteUser", 0},
			{"operator", "prvCreateRole", 0},
			{"sender", "prvReadAccount", records.DepthGlobal},
			{"sender", "prvWriteAccount", records.DepthBasic},
			{"sender", "prvDeletenew_project", records.DepthBasic},
			{"sender", "prvAppendToContact", records.DepthGlobal},
			{"sender", "prvReadEntity", records.DepthGlobal},
			{"sender", "prvCreateEntity", 0},
			{"sender", "prvCreateAttribute", 0},
			{"sender", "prvWriteUser", 0},
			{"sender", "prvWriteRole", 0},
			{"listener", "prvReadnew_project", records.DepthGlobal},
			{"listener", "prvReadRole", records.DepthGlobal},
			{"listener", "prvCreateAccount", 0},
			{"listener", "prvWriteAccount", 0},
			{"listener", "prvCreateEntity", 0},
			{"listener", "prvDeleteUser", 0},
		} {
			uid, err := rec.EnsureUser(ctx, "key-"+c.keyRole, c.keyRole, c.keyRole)
			if err != nil {
				t.Fatal(err)
			}
			g, err := rec.Grants(ctx, uid, false)
			if err != nil {
				t.Fatal(err)
			}
			if g.RoleCount != 1 || g.Disabled {
				t.Fatalf("%s: %d roles, disabled %v", c.keyRole, g.RoleCount, g.Disabled)
			}
			if got := g.Depth(c.privilege); got != c.want {
				t.Errorf("%s key: %s at depth %d, want %d", c.keyRole, c.privilege, got, c.want)
			}
		}
		// The administrator's user is a System Administrator in the rows too.
		g, err := rec.Grants(ctx, records.SystemUserID, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"prvCreateEntity", "prvWriteUser", "prvAssignRole", "prvDeletenew_project"} {
			if g.Depth(p) != records.DepthGlobal {
				t.Errorf("System Administrator: %s at %d", p, g.Depth(p))
			}
		}
	})
}
