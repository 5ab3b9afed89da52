package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"junction/internal/store"
)

// SharingTable holds shared access, Dataverse's principalobjectaccess: a row
// per shared row (objecttypecode, objectid) and user (principalid), with the
// AccessRights it grants (accessrightsmask). A user holding a privilege at
// any depth may use it on a row shared with them for that access right,
// even where the depth does not reach the row.
const SharingTable = "principalobjectaccess"

// accessRightNames are the AccessRights enum member names, in mask order.
var accessRightNames = []struct {
	name string
	bit  int64
}{{"ReadAccess", 1}, {"WriteAccess", 2}, {"AppendAccess", 4}, {"AppendToAccess", 16}, {"CreateAccess", 32},
	{"DeleteAccess", 65536}, {"ShareAccess", 262144}, {"AssignAccess", 524288}}

// ParseAccessMask reads an AccessRights value as the Web API writes it:
// member names separated by commas ("ReadAccess, WriteAccess") or a number.
func ParseAccessMask(s string) (int64, error) {
	var mask int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" || part == "None" {
			continue
		}
		var n int64
		if _, err := fmt.Sscan(part, &n); err == nil && fmt.Sprint(n) == part {
			mask |= n
			continue
		}
		found := false
		for _, r := range accessRightNames {
			if strings.EqualFold(r.name, part) {
				mask |= r.bit
				found = true
			}
		}
		if !found {
			return 0, Invalid("'%s' is not a member of AccessRights (ReadAccess, WriteAccess, AppendAccess, AppendToAccess, CreateAccess, DeleteAccess, ShareAccess, AssignAccess).", part)
		}
	}
	var all int64
	for _, r := range accessRightNames {
		all |= r.bit
	}
	if mask&^all != 0 {
		return 0, Invalid("%d is not a valid AccessRights mask.", mask)
	}
	return mask, nil
}

// FormatAccessMask writes mask as the Web API does: "ReadAccess, WriteAccess"
// ("None" for 0).
func FormatAccessMask(mask int64) string {
	var names []string
	for _, r := range accessRightNames {
		if mask&r.bit != 0 {
			names = append(names, r.name)
		}
	}
	if len(names) == 0 {
		return "None"
	}
	return strings.Join(names, ", ")
}

// Shared returns the access rights the row id of t is shared with g's user.
func (g *Grants) Shared(t *Table, id string) int64 {
	return g.shares[t.Name+"/"+strings.ToLower(id)]
}

func (g *Grants) loadShares(ctx context.Context, q store.Querier) error {
	type share struct {
		table, id string
		mask      int64
	}
	shares, err := store.Collect(ctx, q, func(rows *sql.Rows) (s share, err error) {
		err = rows.Scan(&s.table, &s.id, &s.mask)
		return s, err
	}, `SELECT objecttypecode, objectid, accessrightsmask FROM "rec_principalobjectaccess" WHERE principalid = ?`, g.UserID)
	if err != nil {
		return err
	}
	for _, s := range shares {
		if g.shares == nil {
			g.shares = map[string]int64{}
		}
		g.shares[s.table+"/"+strings.ToLower(s.id)] |= s.mask
	}
	return nil
}

// SharedReadSQL is the condition, on alias's rows of t, that they are shared
// with userID for reading; its one argument is userID.
func SharedReadSQL(t *Table, alias string) string {
	return alias + "." + Quote(t.PrimaryID()) + ` IN (SELECT objectid FROM "rec_principalobjectaccess" WHERE principalid = ? AND objecttypecode = '` +
		t.Name + `' AND (accessrightsmask & 1) <> 0)`
}

// Share is the access one user has to a shared row.
type Share struct {
	PrincipalID string
	Mask        int64
}

// ShareAccess shares row id of t with principal (a systemuser): mask is
// added to what it already has, or replaces it when replace is set (a mask
// of 0 then removes the share). who needs Share on the row, and every right
// it grants on the row itself.
func (s *Service) ShareAccess(ctx context.Context, tx store.Tx, t *Table, id, principal string, mask int64, replace bool, who Caller) error {
	return s.shareAccess(ctx, tx, t, id, principal, mask, replace, who, map[string]bool{})
}

// shareAccess is ShareAccess; then the rows of relationships with a share
// cascade are shared the same way (seen holds the rows reached).
func (s *Service) shareAccess(ctx context.Context, tx store.Tx, t *Table, id, principal string, mask int64, replace bool, who Caller, seen map[string]bool) error {
	if t.Name == SharingTable || securityTables[t.Name] {
		return Errorf(http.StatusBadRequest, CodeNotSupported, "Rows of %s cannot be shared.", t.Name)
	}
	row, err := s.Get(ctx, tx, t, id)
	if err != nil {
		return err
	}
	id = row[t.PrimaryID()].(string)
	if err := needShare(t, row, mask, who); err != nil {
		return err
	}
	users, _ := s.Table("systemuser")
	if _, err := s.Get(ctx, tx, users, principal); err != nil {
		return err
	}
	principal = strings.ToLower(principal)
	poa, _ := s.Table(SharingTable)
	sys := who.internal()
	existing, current, err := s.share(ctx, tx, id, principal)
	if err != nil {
		return err
	}
	if !replace {
		mask |= current
	}
	switch {
	case existing == "" && mask == 0:
		return nil
	case existing == "":
		_, err = s.Create(ctx, tx, poa, Row{"name": t.Name + "(" + id + ")", "principalid": Ref{Table: "systemuser", ID: principal},
			"objectid": id, "objecttypecode": t.Name, "accessrightsmask": mask}, sys)
	case mask == 0:
		err = s.Delete(ctx, tx, poa, existing, "", sys)
	case mask != current:
		_, err = s.Update(ctx, tx, poa, existing, Row{"accessrightsmask": mask}, "", sys)
	}
	if err != nil {
		return err
	}
	if mask == 0 {
		return s.cascadeShare(ctx, tx, t, id, principal, 0, false, true, who, seen)
	}
	return s.cascadeShare(ctx, tx, t, id, principal, mask, replace, false, who, seen)
}

// RevokeShare removes what row id of t is shared with principal; who needs
// Share on the row.
func (s *Service) RevokeShare(ctx context.Context, tx store.Tx, t *Table, id, principal string, who Caller) error {
	return s.revokeShare(ctx, tx, t, id, principal, who, map[string]bool{})
}

// revokeShare is RevokeShare; then the rows of relationships with an
// unshare cascade are unshared too.
func (s *Service) revokeShare(ctx context.Context, tx store.Tx, t *Table, id, principal string, who Caller, seen map[string]bool) error {
	row, err := s.Get(ctx, tx, t, id)
	if err != nil {
		return err
	}
	if err := needShare(t, row, 0, who); err != nil {
		return err
	}
	id = row[t.PrimaryID()].(string)
	existing, _, err := s.share(ctx, tx, id, strings.ToLower(principal))
	if err != nil {
		return err
	}
	if existing != "" {
		poa, _ := s.Table(SharingTable)
		if err := s.Delete(ctx, tx, poa, existing, "", who.internal()); err != nil {
			return err
		}
	}
	return s.cascadeShare(ctx, tx, t, id, strings.ToLower(principal), 0, false, true, who, seen)
}

// Shares lists who row id of t is shared with, by principal id.
func (s *Service) Shares(ctx context.Context, q store.Querier, t *Table, id string) ([]Share, error) {
	out, err := store.Collect(ctx, q, func(r *sql.Rows) (sh Share, err error) {
		err = r.Scan(&sh.PrincipalID, &sh.Mask)
		return
	}, `SELECT principalid, accessrightsmask FROM "rec_principalobjectaccess" WHERE objectid = ? AND objecttypecode = ?`, strings.ToLower(id), t.Name)
	sort.Slice(out, func(i, j int) bool { return out[i].PrincipalID < out[j].PrincipalID })
	return out, err
}

// unshare removes the shares of a deleted row.
func (s *Service) unshare(ctx context.Context, tx store.Tx, t *Table, id string, who Caller) error {
	poa, ok := s.Table(SharingTable)
	if !ok || t.Name == SharingTable {
		return nil
	}
	shares, err := s.Shares(ctx, tx, t, id)
	if err != nil {
		return err
	}
	for _, sh := range shares {
		existing, _, err := s.share(ctx, tx, id, sh.PrincipalID)
		if err != nil {
			return err
		}
		if err := s.Delete(ctx, tx, poa, existing, "", who.internal()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) share(ctx context.Context, q store.Querier, id, principal string) (string, int64, error) {
	var poa string
	var mask int64
	err := q.QueryRow(ctx, `SELECT principalobjectaccessid, accessrightsmask FROM "rec_principalobjectaccess" WHERE objectid = ? AND principalid = ?`, id, principal).Scan(&poa, &mask)
	if errors.Is(err, store.ErrNotFound) {
		return "", 0, nil
	}
	return poa, mask, err
}

// needShare checks that who may share row of t with the rights in mask.
func needShare(t *Table, row Row, mask int64, who Caller) error {
	g := who.Grants
	if g == nil || g.Admin {
		return nil
	}
	if err := g.NeedRow(RightShare, t, row); err != nil {
		return err
	}
	for _, r := range Rights {
		if mask&accessRight[r] != 0 {
			if err := g.NeedRow(r, t, row); err != nil {
				return err
			}
		}
	}
	return nil
}
