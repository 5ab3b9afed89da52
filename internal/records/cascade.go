package records

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"junction/internal/changelog"
	"junction/internal/store"
)

// referencing is one relationship to a table: the lookup column of another
// table (or the same one) and its link to the table.
type referencing struct {
	table *Table
	col   *Column
	link  Link
}

// referencingTo lists the relationships whose lookups reference t, but for
// activitypointer's (its rows follow their activities).
func (s *Service) referencingTo(t *Table) []referencing {
	var out []referencing
	for _, o := range s.Tables() {
		if o.Name == PointerTable {
			continue
		}
		for i := range o.Columns {
			c := &o.Columns[i]
			if !c.Type.IsLookup() {
				continue
			}
			if l, ok := c.Link(t.Name); ok {
				out = append(out, referencing{table: o, col: c, link: l})
			}
		}
	}
	return out
}

// referencingIDs returns the ids of the rows of r.table whose r.col
// references row id of t.
func referencingIDs(ctx context.Context, q store.Querier, t *Table, r referencing, id string) ([]string, error) {
	query := fmt.Sprintf("SELECT %s FROM %s WHERE %s = ?", Quote(r.table.PrimaryID()), Quote(r.table.SQLName()), Quote(r.col.Name))
	args := []any{id}
	if r.col.Polymorphic() {
		// Rows written before the lookup had more targets have no type: they
		// reference its first target.
		if r.col.Targets[0] == t.Name {
			query += fmt.Sprintf(" AND (%s = ? OR %s IS NULL)", Quote(TypeColumn(r.col)), Quote(TypeColumn(r.col)))
		} else {
			query += fmt.Sprintf(" AND %s = ?", Quote(TypeColumn(r.col)))
		}
		args = append(args, t.Name)
	}
	ids, err := store.Collect(ctx, q, scanString, query, args...)
	// A row referencing itself is not one of them.
	return slices.DeleteFunc(ids, func(rid string) bool { return r.table.Name == t.Name && rid == id }), err
}

// Delete removes row id and does what each relationship to it configures for
// delete: the rows of a Cascade (parental) relationship are deleted with it,
// the references of a RemoveLink relationship cleared, and a Restrict
// relationship with rows refuses the delete, which then changes nothing.
func (s *Service) Delete(ctx context.Context, tx store.Tx, t *Table, id string, ifMatch string, who Caller) error {
	if err := refusePointer(t, "Delete"); err != nil {
		return err
	}
	before, err := s.Get(ctx, tx, t, id)
	if err != nil {
		return err
	}
	if err := checkDelete(t, before, who); err != nil {
		return err
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != before.ETag() {
		return Errorf(http.StatusPreconditionFailed, CodeConcurrency, "The version of the existing record doesn't match the RowVersion property provided.")
	}
	return s.deleteRow(ctx, tx, t, before, who, map[string]bool{})
}

// deleteRow deletes before, a row of t, after its relationships' delete
// behaviour; seen holds the rows this delete has reached, so that a cycle of
// parental relationships ends.
func (s *Service) deleteRow(ctx context.Context, tx store.Tx, t *Table, before Row, who Caller, seen map[string]bool) error {
	id := before[t.PrimaryID()].(string)
	seen[t.Name+"/"+id] = true
	s.forgetGrants(t)
	s.forgetComputed(t)
	refs := s.referencingTo(t)
	// Restrict first, so that a refused delete has not begun to cascade.
	for _, r := range refs {
		if r.link.Cascade.Delete != CascadeRestrict {
			continue
		}
		ids, err := referencingIDs(ctx, tx, t, r, id)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			return &Error{Status: http.StatusBadRequest, Code: CodeDeleteRestricted, Column: r.col.Name,
				Message: "The object you tried to delete is associated with another object and cannot be deleted."}
		}
	}
	for _, r := range refs {
		switch r.link.Cascade.Delete {
		case CascadeAll, CascadeRemoveLink:
		default:
			continue
		}
		ids, err := referencingIDs(ctx, tx, t, r, id)
		if err != nil {
			return err
		}
		for _, rid := range ids {
			if seen[r.table.Name+"/"+rid] {
				continue
			}
			if r.link.Cascade.Delete == CascadeAll {
				child, err := s.Get(ctx, tx, r.table, rid)
				if err != nil {
					if AsError(err).Status == http.StatusNotFound {
						continue // deleted earlier in this cascade
					}
					return err
				}
				if err := s.deleteRow(ctx, tx, r.table, child, who.internal(), seen); err != nil {
					return fmt.Errorf("delete %s %s with %s %s (%s): %w", r.table.Name, rid, t.Name, id, r.link.Name, err)
				}
				continue
			}
			if _, err := s.Update(ctx, tx, r.table, rid, Row{r.col.Name: nil}, "", who.internal()); err != nil {
				if AsError(err).Status == http.StatusNotFound {
					continue
				}
				return fmt.Errorf("clear %s.%s of %s: %w", r.table.Name, r.col.Name, rid, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s = ?", Quote(t.SQLName()), Quote(t.PrimaryID())), id); err != nil {
		return fmt.Errorf("delete %s: %w", t.Name, err)
	}
	if err := s.syncPointer(ctx, tx, t, before, true); err != nil {
		return err
	}
	if err := s.unshare(ctx, tx, t, id, who); err != nil {
		return fmt.Errorf("unshare %s %s: %w", t.Name, id, err)
	}
	return s.appendChange(ctx, tx, t, changelog.Change{Table: t.Name, RecordID: id, Message: changelog.Delete, Changed: []string{},
		Before: JSONRow(before), CorrelationID: who.CorrelationID, UserID: ownerOf(who), At: s.now()})
}

// cascadeAssign gives the rows of t's relationships with an assign cascade
// the owner row of t (id) was assigned to: all of them (Cascade), the active
// ones (Active) or those the previous owner owned (UserOwned).
func (s *Service) cascadeAssign(ctx context.Context, tx store.Tx, t *Table, id string, from, to Ref, who Caller, seen map[string]bool) error {
	seen[t.Name+"/"+id] = true
	for _, r := range s.referencingTo(t) {
		mode := r.link.Cascade.Assign
		if mode != CascadeAll && mode != CascadeActive && mode != CascadeUserOwned || !r.table.Owned() {
			continue
		}
		ids, err := referencingIDs(ctx, tx, t, r, id)
		if err != nil {
			return err
		}
		for _, rid := range ids {
			if seen[r.table.Name+"/"+rid] {
				continue
			}
			child, err := s.Get(ctx, tx, r.table, rid)
			if err != nil {
				return err
			}
			if mode == CascadeActive && child["statecode"] != int64(0) || mode == CascadeUserOwned && child["ownerid"] != from ||
				child["ownerid"] == to {
				continue
			}
			seen[r.table.Name+"/"+rid] = true
			if _, err := s.update(ctx, tx, r.table, child, Row{"ownerid": to}, "", who.internal(), seen); err != nil {
				return fmt.Errorf("assign %s %s with %s %s (%s): %w", r.table.Name, rid, t.Name, id, r.link.Name, err)
			}
		}
	}
	return nil
}

// cascadeShare shares (mask > 0) or unshares (mask 0, revoke) the rows of
// t's relationships with a share (or unshare) cascade with principal, as the
// row id of t was.
func (s *Service) cascadeShare(ctx context.Context, tx store.Tx, t *Table, id, principal string, mask int64, replace, revoke bool, who Caller, seen map[string]bool) error {
	seen[t.Name+"/"+id] = true
	for _, r := range s.referencingTo(t) {
		mode := r.link.Cascade.Share
		if revoke {
			mode = r.link.Cascade.Unshare
		}
		if mode != CascadeAll && mode != CascadeActive || !r.table.Owned() || securityTables[r.table.Name] {
			continue
		}
		ids, err := referencingIDs(ctx, tx, t, r, id)
		if err != nil {
			return err
		}
		for _, rid := range ids {
			if seen[r.table.Name+"/"+rid] {
				continue
			}
			if revoke {
				err = s.revokeShare(ctx, tx, r.table, rid, principal, who.internal(), seen)
			} else {
				err = s.shareAccess(ctx, tx, r.table, rid, principal, mask, replace, who.internal(), seen)
			}
			if err != nil {
				return fmt.Errorf("share %s %s with %s %s (%s): %w", r.table.Name, rid, t.Name, id, r.link.Name, err)
			}
		}
	}
	return nil
}

// reparent gives the owner of a row's new parent read access to it, as a
// relationship with a reparent cascade does (Dataverse's inherited access):
// changed lists the columns an update of row (of t) set.
func (s *Service) reparent(ctx context.Context, tx store.Tx, t *Table, row Row, changed []string, who Caller) error {
	if !t.Owned() {
		return nil
	}
	for _, name := range changed {
		c, ok := t.Column(name)
		if !ok || !c.Type.IsLookup() || c.Type == Owner || c.Computed != "" {
			continue
		}
		ref, ok := row[name].(Ref)
		if !ok {
			continue
		}
		l, ok := c.Link(ref.Table)
		if !ok || l.Cascade.Reparent != CascadeAll {
			continue
		}
		pt, ok := s.Table(ref.Table)
		if !ok || !pt.Owned() {
			continue
		}
		parent, err := s.Get(ctx, tx, pt, ref.ID)
		if err != nil {
			return err
		}
		owner, _ := parent["ownerid"].(Ref)
		if owner.Table != "systemuser" || owner.ID == OwnerID(row) {
			continue
		}
		id := row[t.PrimaryID()].(string)
		if err := s.shareAccess(ctx, tx, t, id, owner.ID, accessRight[RightRead], false, who.internal(), map[string]bool{}); err != nil {
			return fmt.Errorf("reparent %s %s under %s %s: %w", t.Name, id, pt.Name, ref.ID, err)
		}
	}
	return nil
}
