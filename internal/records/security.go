package records

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"junction/internal/store"
)

// Right is an access right a privilege grants on a table's rows.
type Right string

// The access rights of table privileges, as Dataverse names them.
const (
	RightCreate   Right = "Create"
	RightRead     Right = "Read"
	RightWrite    Right = "Write"
	RightDelete   Right = "Delete"
	RightAppend   Right = "Append"
	RightAppendTo Right = "AppendTo"
	RightAssign   Right = "Assign"
	RightShare    Right = "Share"
)

// Rights lists the table access rights.
var Rights = []Right{RightCreate, RightRead, RightWrite, RightDelete, RightAppend, RightAppendTo, RightAssign, RightShare}

// accessRight is Dataverse's AccessRights value of each right.
var accessRight = map[Right]int64{RightRead: 1, RightWrite: 2, RightAppend: 4, RightAppendTo: 16, RightCreate: 32,
	RightDelete: 65536, RightShare: 262144, RightAssign: 524288}

// Privilege depths, as roleprivileges.privilegedepthmask holds them.
const (
	DepthBasic  = 1 // user: rows the caller owns
	DepthLocal  = 2 // business unit
	DepthDeep   = 4 // parent: child business units
	DepthGlobal = 8 // organization
)

// DepthNames are the depth names Dataverse's PrivilegeDepth uses, by mask.
var DepthNames = map[int64]string{DepthBasic: "Basic", DepthLocal: "Local", DepthDeep: "Deep", DepthGlobal: "Global"}

// CustomizationPrivileges guard the metadata API: tables (Entity), columns
// (Attribute) and relationships. They have organization depth only.
var CustomizationPrivileges = []string{
	"prvCreateEntity", "prvReadEntity", "prvWriteEntity", "prvDeleteEntity",
	"prvCreateAttribute", "prvReadAttribute", "prvWriteAttribute", "prvDeleteAttribute",
	"prvCreateRelationship", "prvReadRelationship", "prvWriteRelationship", "prvDeleteRelationship",
}

// The built-in security roles' fixed ids.
const (
	RoleSystemAdministrator = "6d1a2b3c-0000-4000-8000-000000000101"
	RoleSystemCustomizer    = "6d1a2b3c-0000-4000-8000-000000000102"
	RoleBasicUser           = "6d1a2b3c-0000-4000-8000-000000000103"
	RoleReader              = "6d1a2b3c-0000-4000-8000-000000000104"
)

// BuiltinRoles names the built-in roles.
var BuiltinRoles = map[string]string{
	RoleSystemAdministrator: "System Administrator",
	RoleSystemCustomizer:    "System Customizer",
	RoleBasicUser:           "Basic User",
	RoleReader:              "Junction Reader",
}

var builtinRoleDescriptions = map[string]string{
	RoleSystemAdministrator: "Every privilege at organization depth, customization included.",
	RoleSystemCustomizer:    "Every table privilege at organization depth and the customization privileges; read only on users and security roles.",
	RoleBasicUser:           "Reads every table; creates, writes, deletes and assigns its own rows; reads the metadata.",
	RoleReader:              "Reads every table and the metadata; writes nothing.",
}

// securityTables are the tables whose rows decide what a user may do.
var securityTables = map[string]bool{"systemuser": true, "role": true, "privilege": true, "roleprivileges": true, "systemuserroles": true, SharingTable: true}

// Subject is the name a table's privileges end with: prvRead<Subject>.
// Dataverse spells the built-in tables by schema name; the security tables
// share the Role privileges, as the intersect tables do there.
func Subject(t *Table) string {
	switch t.Name {
	case "systemuser":
		return "User"
	case "businessunit":
		return "BusinessUnit"
	case "role", "privilege", "roleprivileges", "systemuserroles":
		return "Role"
	case "organization", "account", "contact", "incident":
		return strings.ToUpper(t.Name[:1]) + t.Name[1:]
	}
	return t.Name
}

// PrivilegeName is the privilege that grants right on t.
func PrivilegeName(r Right, t *Table) string { return "prv" + string(r) + Subject(t) }

// PrivilegeID is the fixed id of a privilege.
func PrivilegeID(name string) string { return nameGUID("junction-privilege:" + name) }

func nameGUID(s string) string {
	h := sha1.Sum([]byte(s))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ObjectTypeCode is a table's type code: Dataverse's for the built-in tables,
// a stable number from 10000 up for the others.
func ObjectTypeCode(t *Table) int {
	if t.ObjectTypeCode != 0 {
		return t.ObjectTypeCode
	}
	switch t.Name {
	case "account":
		return 1
	case "contact":
		return 2
	case "systemuser":
		return 8
	case "businessunit":
		return 10
	case "incident":
		return 112
	case "organization":
		return 1019
	case "privilege":
		return 1023
	case "role":
		return 1036
	case "roleprivileges":
		return 1037
	case "systemuserroles":
		return 15
	}
	return 10000 + int(crc32.ChecksumIEEE([]byte(t.Name))%90000)
}

// privDef is one privilege row.
type privDef struct {
	name    string
	right   Right  // empty for customization privileges
	subject string // the table's subject
	global  bool   // organization depth only
}

func tablePrivileges(t *Table) []privDef {
	out := make([]privDef, 0, len(Rights))
	for _, r := range Rights {
		out = append(out, privDef{name: PrivilegeName(r, t), right: r, subject: Subject(t), global: t.Name == "organization"})
	}
	return out
}

// builtinDepth is the depth a built-in role holds a privilege at (0: none).
func builtinDepth(role string, p privDef) int64 {
	if role == RoleSystemAdministrator {
		return DepthGlobal
	}
	if p.right == "" { // customization
		switch role {
		case RoleSystemCustomizer:
			return DepthGlobal
		case RoleBasicUser, RoleReader:
			if strings.HasPrefix(p.name, "prvRead") {
				return DepthGlobal
			}
		}
		return 0
	}
	switch p.subject {
	case "User", "BusinessUnit", "Organization", "Role":
		// Who may do what is the administrator's business.
		if p.right == RightRead {
			return DepthGlobal
		}
		return 0
	}
	switch role {
	case RoleSystemCustomizer:
		return DepthGlobal
	case RoleReader:
		if p.right == RightRead {
			return DepthGlobal
		}
	case RoleBasicUser:
		switch p.right {
		case RightRead, RightAppendTo:
			return DepthGlobal
		default:
			return DepthBasic
		}
	}
	return 0
}

// syncPrivileges adds the privileges of tables (and the customization
// privileges) that do not exist yet, grants each new one to the built-in roles
// as their definition says, and creates the built-in roles and the
// administrator's System Administrator role when missing. Privileges and
// grants that exist are left alone: an administrator's edits stay.
func syncPrivileges(ctx context.Context, tx store.Tx, tables []*Table, now time.Time) error {
	at := store.Micros(now)
	for id, name := range BuiltinRoles {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_role" WHERE roleid = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO "rec_role" (roleid, name, description, businessunitid, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, ?, ?, ?, ?, ?, 1, 0, 1)`,
				id, name, builtinRoleDescriptions[id], BusinessUnitID, at, at); err != nil {
				return fmt.Errorf("seed role %s: %w", name, err)
			}
		}
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_systemuserroles" WHERE systemuserid = ? AND roleid = ?`, SystemUserID, RoleSystemAdministrator).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO "rec_systemuserroles" (systemuserrolesid, name, systemuserid, roleid, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, ?, ?, ?, ?, ?, 1, 0, 1)`,
			nameGUID("junction-userrole:"+SystemUserID+":"+RoleSystemAdministrator), "System Administrator", SystemUserID, RoleSystemAdministrator, at, at); err != nil {
			return fmt.Errorf("seed administrator role: %w", err)
		}
	}
	names, err := store.Collect(ctx, tx, scanString, `SELECT name FROM "rec_privilege"`)
	if err != nil {
		return err
	}
	existing := map[string]bool{}
	for _, name := range names {
		existing[name] = true
	}
	var defs []privDef
	for _, name := range CustomizationPrivileges {
		defs = append(defs, privDef{name: name, global: true})
	}
	for _, t := range tables {
		defs = append(defs, tablePrivileges(t)...)
	}
	var privs, grants [][]any
	for _, p := range defs {
		if existing[p.name] {
			continue
		}
		existing[p.name] = true
		var rights int64
		if p.right != "" {
			rights = accessRight[p.right]
		}
		basic := int64(1)
		if p.global {
			basic = 0
		}
		pid := PrivilegeID(p.name)
		privs = append(privs, []any{pid, p.name, rights, basic, basic, basic, at, at})
		for role, roleName := range BuiltinRoles {
			if d := builtinDepth(role, p); d != 0 {
				grants = append(grants, []any{nameGUID("junction-roleprivilege:" + role + ":" + pid), roleName + ": " + p.name, role, pid, d, at, at})
			}
		}
	}
	if err := insertRows(ctx, tx, `INSERT INTO "rec_privilege" (privilegeid, name, accessright, canbebasic, canbelocal, canbedeep, canbeglobal, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES `,
		"(?, ?, ?, ?, ?, ?, 1, ?, ?, 1, 0, 1)", privs); err != nil {
		return fmt.Errorf("seed privileges: %w", err)
	}
	if err := insertRows(ctx, tx, `INSERT INTO "rec_roleprivileges" (roleprivilegesid, name, roleid, privilegeid, privilegedepthmask, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES `,
		"(?, ?, ?, ?, ?, ?, ?, 1, 0, 1)", grants); err != nil {
		return fmt.Errorf("seed role privileges: %w", err)
	}
	return nil
}

// insertRows inserts rows with multi-row INSERT statements of up to 200
// rows each: head is the statement up to VALUES and tuple one row's values.
func insertRows(ctx context.Context, tx store.Tx, head, tuple string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), 200)
		var args []any
		tuples := make([]string, n)
		for i, r := range rows[:n] {
			tuples[i] = tuple
			args = append(args, r...)
		}
		if _, err := tx.Exec(ctx, head+strings.Join(tuples, ", "), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Grants is what one user may do: the deepest depth it holds each privilege
// at, through all its roles.
type Grants struct {
	UserID    string
	Disabled  bool
	RoleCount int
	// Admin grants every privilege at organization depth whatever the rows
	// say: the admin API key is always a System Administrator.
	Admin bool
	depth map[string]int64
	// shares are the access rights rows shared with the user carry, by
	// "<table>/<id>" (see sharing.go).
	shares map[string]int64
}

// Depth returns the depth mask at which g holds a privilege (0: not at all).
func (g *Grants) Depth(privilege string) int64 {
	if g.Admin {
		return DepthGlobal
	}
	return g.depth[privilege]
}

// AdminGrants are the grants of an administrator key's user.
func AdminGrants(userID string) *Grants { return &Grants{UserID: userID, Admin: true} }

// PrivilegeCount is the number of privileges g holds.
func (g *Grants) PrivilegeCount() int { return len(g.depth) }

// Missing is Dataverse's privilege error for a privilege g lacks on t (nil for
// the customization privileges).
func (g *Grants) Missing(privilege string, t *Table) *Error {
	otc, entity, label := 0, "", ""
	if t != nil {
		otc, entity, label = ObjectTypeCode(t), t.Name, t.DisplayName
	}
	return Errorf(http.StatusForbidden, CodeForbidden,
		"Principal user (Id=%s, type=8, roleCount=%d, privilegeCount=%d, accessMode='0 Read-Write', businessUnitId=%s), is missing %s privilege (Id=%s) on OTC=%d for entity '%s' (LocalizedName='%s'). context.Caller=%s. Consider adding missed privilege to one of the principal (user/team) roles.",
		g.UserID, g.RoleCount, g.PrivilegeCount(), BusinessUnitID, privilege, PrivilegeID(privilege), otc, entity, label, g.UserID)
}

// Need returns the depth g holds right on t at, or the privilege error.
func (g *Grants) Need(r Right, t *Table) (int64, error) {
	if g.Admin {
		return DepthGlobal, nil // every privilege: no name to build
	}
	name := PrivilegeName(r, t)
	d := g.Depth(name)
	if d == 0 {
		return 0, g.Missing(name, t)
	}
	return d, nil
}

// NeedCustomization checks a customization privilege (prvCreateEntity, ...).
func (g *Grants) NeedCustomization(privilege string) error {
	if g.Depth(privilege) == 0 {
		return g.Missing(privilege, nil)
	}
	return nil
}

// OwnerID returns the owning user of a row ("" when it has none).
func OwnerID(row Row) string {
	if ref, ok := row["ownerid"].(Ref); ok {
		return ref.ID
	}
	return ""
}

// Reaches reports whether depth d covers a row owned by owner. Junction has
// one business unit, the root, so business unit, parent-child and
// organization depth all reach every row; user depth reaches the caller's
// own rows only.
func (g *Grants) Reaches(d int64, owner string) bool {
	return d > DepthBasic || owner == g.UserID
}

// ReachesAll reports whether a privilege of depth d on t reaches every row
// of t, whoever owns it: the rows of t have no owner, or d is deeper than
// the user's own (NeedRow then needs no row).
func (g *Grants) ReachesAll(d int64, t *Table) bool {
	return !t.Owned() || d > DepthBasic
}

// NeedRow checks right on one existing row of t.
func (g *Grants) NeedRow(r Right, t *Table, row Row) error {
	d, err := g.Need(r, t)
	if err != nil {
		return err
	}
	if g.ReachesAll(d, t) {
		return nil
	}
	owner := OwnerID(row)
	if g.Reaches(d, owner) {
		return nil
	}
	id, _ := row[t.PrimaryID()].(string)
	if g.Shared(t, id)&accessRight[r] != 0 {
		return nil
	}
	return Errorf(http.StatusForbidden, CodeForbidden,
		"Principal user (Id=%s, type=8) is missing %s privilege at a depth that reaches %s %s: it holds it at %s depth and the row belongs to user %s (OwnerIdType: 8, ObjectTypeCode: %d, AccessRights: %sAccess).",
		g.UserID, PrivilegeName(r, t), t.Name, id, DepthNames[d], owner, ObjectTypeCode(t), r)
}

// grantsCache keeps each user's grants for a few seconds; a write to a
// security table on this node clears it at once.
type grantsCache struct {
	mu  sync.Mutex
	m   map[string]cachedGrants
	gen atomic.Int64
}

type cachedGrants struct {
	g       *Grants
	gen     int64
	expires time.Time
}

// grantsTTL bounds how long a role change on another node takes to apply.
const grantsTTL = 5 * time.Second

func (c *grantsCache) forget() { c.gen.Add(1) }

// Grants returns what a user may do. admin marks the administrator keys,
// which are System Administrators whatever the rows say.
func (s *Service) Grants(ctx context.Context, userID string, admin bool) (*Grants, error) {
	now := time.Now()
	gen := s.grants.gen.Load()
	s.grants.mu.Lock()
	c, ok := s.grants.m[userID]
	s.grants.mu.Unlock()
	if ok && c.gen == gen && now.Before(c.expires) {
		g := *c.g
		g.Admin = g.Admin || admin
		return &g, nil
	}
	g := &Grants{UserID: userID, depth: map[string]int64{}}
	err := s.st.Read(ctx, func(q store.Querier) error {
		var disabled any
		err := q.QueryRow(ctx, `SELECT isdisabled FROM "rec_systemuser" WHERE systemuserid = ?`, userID).Scan(&disabled)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		g.Disabled = truthy(disabled)
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM "rec_systemuserroles" WHERE systemuserid = ?`, userID).Scan(&g.RoleCount); err != nil {
			return err
		}
		type privilege struct {
			name  string
			depth int64
		}
		privs, err := store.Collect(ctx, q, func(rows *sql.Rows) (p privilege, err error) {
			err = rows.Scan(&p.name, &p.depth)
			return p, err
		}, `SELECT p.name, rp.privilegedepthmask FROM "rec_systemuserroles" ur
			JOIN "rec_role" r ON r.roleid = ur.roleid
			JOIN "rec_roleprivileges" rp ON rp.roleid = ur.roleid
			JOIN "rec_privilege" p ON p.privilegeid = rp.privilegeid
			WHERE ur.systemuserid = ? AND (r.statecode IS NULL OR r.statecode = 0)`, userID)
		if err != nil {
			return err
		}
		for _, p := range privs {
			g.depth[p.name] = max(g.depth[p.name], p.depth)
		}
		return g.loadShares(ctx, q)
	})
	if err != nil {
		return nil, fmt.Errorf("records: read the roles of %s: %w", userID, err)
	}
	if g.RoleCount == 0 {
		// A key's first request may race the one assigning its default
		// role: read again next time rather than remember nothing.
		out := *g
		out.Admin = admin
		return &out, nil
	}
	s.grants.mu.Lock()
	if s.grants.m == nil || len(s.grants.m) > 10000 {
		s.grants.m = map[string]cachedGrants{}
	}
	s.grants.m[userID] = cachedGrants{g: g, gen: gen, expires: now.Add(grantsTTL)}
	s.grants.mu.Unlock()
	out := *g
	out.Admin = admin
	return &out, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case int64:
		return x != 0
	case bool:
		return x
	case []byte:
		return string(x) == "1" || string(x) == "true"
	case string:
		return x == "1" || x == "true"
	}
	return false
}

// DefaultRoles are the roles an API key's user gets when it first signs in,
// by the key's role: admin keys are System Administrators, operators System
// Customizers, senders Basic Users and listeners Junction Readers.
var DefaultRoles = map[string]string{
	"admin":    RoleSystemAdministrator,
	"operator": RoleSystemCustomizer,
	"sender":   RoleBasicUser,
	"listener": RoleReader,
}

// checkWrite enforces who's privileges for writing row (before is nil on
// create) of t. Lookups that change need Append on t and AppendTo on the row
// they point at; a new owner needs Assign.
func (s *Service) checkWrite(ctx context.Context, q store.Querier, t *Table, before, after Row, changed []string, who Caller) error {
	g := who.Grants
	if g == nil {
		return nil
	}
	if err := fixedRows(t, before, after); err != nil {
		return err
	}
	if g.Admin {
		return nil
	}
	if before == nil {
		d, err := g.Need(RightCreate, t)
		if err != nil {
			return err
		}
		if owner := OwnerID(after); owner != "" && owner != g.UserID {
			ad, err := g.Need(RightAssign, t)
			if err != nil {
				return err
			}
			if !g.Reaches(min(d, ad), owner) {
				return g.NeedRow(RightAssign, t, Row{"ownerid": Ref{Table: "systemuser", ID: owner}})
			}
		}
	} else {
		if err := g.NeedRow(RightWrite, t, before); err != nil {
			return err
		}
		if OwnerID(after) != OwnerID(before) {
			if err := g.NeedRow(RightAssign, t, before); err != nil {
				return err
			}
		}
	}
	for _, name := range changed {
		c, ok := t.Column(name)
		if !ok || !c.Type.IsLookup() || c.Type == Owner {
			continue
		}
		ref, ok := after[name].(Ref)
		if !ok {
			continue
		}
		if _, err := g.Need(RightAppend, t); err != nil {
			return err
		}
		target, ok := s.Table(ref.Table)
		if !ok {
			continue
		}
		trow, err := s.Get(ctx, q, target, ref.ID)
		if err != nil {
			if AsError(err).Status == http.StatusNotFound {
				continue // the write's reference check names it
			}
			return err
		}
		if err := g.NeedRow(RightAppendTo, target, trow); err != nil {
			return err
		}
	}
	return nil
}

// fixedRows refuses, to callers of the API, changes Dataverse does not allow:
// privileges are defined by the tables, and the System Administrator role
// holds every privilege.
func fixedRows(t *Table, before, after Row) error {
	switch t.Name {
	case "privilege":
		method := "Create"
		switch {
		case before != nil && after != nil:
			method = "Update"
		case after == nil:
			method = "Delete"
		}
		return Errorf(http.StatusBadRequest, CodeNotSupported, "The '%s' method does not support entities of type 'privilege': privileges come with the tables.", method)
	case "roleprivileges", "systemuserroles":
		for _, row := range []Row{before, after} {
			if ref, ok := row["roleid"].(Ref); ok && ref.ID == RoleSystemAdministrator && t.Name == "roleprivileges" {
				return Errorf(http.StatusBadRequest, CodeNotSupported, "The privileges of the System Administrator role cannot be changed.")
			}
		}
	case SharingTable:
		return Errorf(http.StatusBadRequest, CodeNotSupported, "Rows of principalobjectaccess are written by GrantAccess, ModifyAccess and RevokeAccess only.")
	case "role":
		if id, _ := before[t.PrimaryID()].(string); before != nil && after != nil && BuiltinRoles[id] != "" {
			return Errorf(http.StatusBadRequest, CodeNotSupported, "The built-in role %s cannot be changed.", BuiltinRoles[id])
		}
	}
	return nil
}

// checkDelete refuses what no one may delete: users (they are disabled
// instead) and the built-in roles; then it enforces who's Delete privilege.
func checkDelete(t *Table, row Row, who Caller) error {
	id, _ := row[t.PrimaryID()].(string)
	switch {
	case t.Name == "systemuser":
		return Errorf(http.StatusBadRequest, CodeNotSupported, "The 'Delete' method does not support entities of type 'systemuser'. Disable the user instead: set isdisabled to true.")
	case t.Name == "role" && BuiltinRoles[id] != "":
		return Errorf(http.StatusBadRequest, CodeNotSupported, "The built-in role %s cannot be deleted.", BuiltinRoles[id])
	}
	if who.Grants == nil {
		return nil
	}
	if err := fixedRows(t, row, nil); err != nil {
		return err
	}
	return who.Grants.NeedRow(RightDelete, t, row)
}

// forgetGrants drops cached grants when a security table changes.
func (s *Service) forgetGrants(t *Table) {
	if securityTables[t.Name] {
		s.grants.forget()
	}
}
