package webapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// readScope checks the caller's Read privilege on t and returns the condition
// that limits a query to the rows it reaches: none at organization (or
// business unit) depth, the caller's own rows and the rows shared with it for
// reading at user depth.
func (h *Handler) readScope(rq *req, t *records.Table, alias string) (*odata.Frag, error) {
	g := rq.grants
	if g == nil {
		return nil, nil
	}
	d, err := g.Need(records.RightRead, t)
	if err != nil {
		return nil, err
	}
	if d > records.DepthBasic || !t.Owned() {
		return nil, nil
	}
	return &odata.Frag{SQL: "(" + alias + `."ownerid" = ? OR ` + records.SharedReadSQL(t, alias) + ")", Args: []any{g.UserID, g.UserID}}, nil
}

// withScope adds t's read scope to extra.
func (h *Handler) withScope(rq *req, t *records.Table, extra []odata.Frag) ([]odata.Frag, error) {
	scope, err := h.readScope(rq, t, "t")
	if err != nil || scope == nil {
		return extra, err
	}
	return append(extra[:len(extra):len(extra)], *scope), nil
}

// getRow reads one row the caller must be allowed to read.
func (h *Handler) getRow(ctx context.Context, q store.Querier, rq *req, t *records.Table, id string) (records.Row, error) {
	return h.getColumns(ctx, q, rq, t, id, nil)
}

// getColumns is getRow reading the columns cols only (nil: all); cols must
// hold what NeedRow reads (see readColumns).
func (h *Handler) getColumns(ctx context.Context, q store.Querier, rq *req, t *records.Table, id string, cols *records.Columns) (records.Row, error) {
	if rq.grants != nil {
		if _, err := rq.grants.Need(records.RightRead, t); err != nil {
			return nil, err
		}
	}
	row, err := h.rec.GetColumns(ctx, q, t, id, cols)
	if err != nil {
		return nil, err
	}
	if rq.grants != nil {
		if err := rq.grants.NeedRow(records.RightRead, t, row); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// needCustomization checks a customization privilege (prvCreateEntity, ...).
func (h *Handler) needCustomization(rq *req, privilege string) error {
	if rq.grants == nil {
		return nil
	}
	return rq.grants.NeedCustomization(privilege)
}

// metadataPrivilege is the customization privilege a metadata request needs:
// reads need prvReadEntity; creating a table prvCreateEntity, a column
// prvCreateAttribute, a relationship prvCreateRelationship; other changes the
// Write privileges.
func metadataPrivilege(method, root string, segs int) string {
	kind := "Entity"
	switch {
	case root == "RelationshipDefinitions":
		kind = "Relationship"
	case segs > 1:
		kind = "Attribute"
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return "prvRead" + kind
	case http.MethodPost:
		if root == "EntityDefinitions" && segs > 2 {
			return "prvWriteAttribute"
		}
		return "prvCreate" + kind
	case http.MethodDelete:
		return "prvDelete" + kind
	}
	return "prvWrite" + kind
}

// side is one table's view of a many-to-many relationship, kept in an
// intersect table (records.Intersect): the relationship's name and
// navigation property, the intersect table, its column referencing this
// table's rows and the one referencing the other table's.
type side struct {
	name, nav, intersect     string
	thisCol, other, otherCol string
}

// findManyToMany returns the many-to-many relationship whose navigation
// property on t is nav.
func (h *Handler) findManyToMany(t *records.Table, nav string) (side, bool) {
	for _, it := range h.rec.Tables() {
		in := it.Intersect
		if in == nil {
			continue
		}
		switch {
		case t.Name == in.Entity1 && strings.EqualFold(nav, in.Nav1):
			return side{in.Name, in.Nav1, it.Name, in.Attribute1, in.Entity2, in.Attribute2}, true
		case t.Name == in.Entity2 && strings.EqualFold(nav, in.Nav2):
			return side{in.Name, in.Nav2, it.Name, in.Attribute2, in.Entity1, in.Attribute1}, true
		}
	}
	return side{}, false
}

// association serves t(id)/<nav>, t(id)/<nav>/$ref and t(id)/<nav>(other)/$ref
// of a many-to-many relationship: list the related rows, associate one,
// disassociate one.
func (h *Handler) association(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, m side, navKey string, navHasKey bool, ref bool) {
	all := h.rec.All()
	other, inter := all[m.other], all[m.intersect]
	if other == nil || inter == nil {
		h.fail(w, rq, notSegment(m.nav))
		return
	}
	if !ref {
		if rq.r.Method != http.MethodGet || navHasKey {
			h.fail(w, rq, methodNotAllowed(rq.r))
			return
		}
		id, err := h.resolveKeyRead(rq, t, key)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		var back string
		for _, nv := range other.Navs(all) {
			if nv.Collection && nv.Other == inter.Name && nv.Column.Name == m.otherCol {
				back = nv.Name
			}
		}
		extra := odata.Lambda{Nav: []string{back}, Op: "any", Var: "x", Body: odata.Binary{Op: "eq",
			L: odata.Path{Segments: []string{"x", "_" + m.thisCol + "_value"}}, R: odata.Literal{Kind: odata.LitGUID, Text: id}}}
		h.queryWith(w, rq, other, extra)
		return
	}
	ctx := rq.r.Context()
	err := h.write(rq, func(tx store.Tx) error {
		id, err := h.existing(ctx, tx, t, key)
		if err != nil {
			return err
		}
		switch rq.r.Method {
		case http.MethodPost, http.MethodPut:
			if m.intersect == "roleprivileges" {
				return records.Invalid("associate privileges with a role through AddPrivilegesRole, which takes their depth")
			}
			r, err := h.refTarget(ctx, tx, rq, other, m.nav)
			if err != nil {
				return err
			}
			if _, err := h.rec.FindByKey(ctx, tx, inter, map[string]any{m.thisCol: records.Ref{Table: t.Name, ID: id}, m.otherCol: r}); err == nil {
				return nil // already associated
			}
			_, err = h.rec.Create(ctx, tx, inter, records.Row{m.thisCol: records.Ref{Table: t.Name, ID: id}, m.otherCol: r}, h.caller(rq))
			return err
		case http.MethodDelete:
			oid, err := h.refKey(ctx, tx, rq, other, m.nav, navKey, navHasKey)
			if err != nil {
				return err
			}
			iid, err := h.rec.FindByKey(ctx, tx, inter, map[string]any{m.thisCol: records.Ref{Table: t.Name, ID: id}, m.otherCol: records.Ref{Table: other.Name, ID: oid}})
			if err != nil {
				return records.Invalid("the %s is not related to this %s", other.Name, t.Name)
			}
			return h.rec.Delete(ctx, tx, inter, iid, "", h.caller(rq))
		}
		return methodNotAllowed(rq.r)
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registerSecurityActions adds Dataverse's AddPrivilegesRole and
// RemovePrivilegeRole, bound to a role.
func (h *Handler) registerSecurityActions() {
	h.Register(&Action{Name: "AddPrivilegesRole", Bound: "role", Params: []odata.Param{{Name: "Privileges", Type: "Collection(mscrm.RolePrivilege)"}}, Run: addPrivilegesRole})
	h.Register(&Action{Name: "RemovePrivilegeRole", Bound: "role", Params: []odata.Param{{Name: "PrivilegeId", Type: "Edm.Guid"}}, Run: removePrivilegeRole})
}

// depthMasks maps PrivilegeDepth (by name or number) to a depth mask.
var depthMasks = map[string]int64{"Basic": records.DepthBasic, "Local": records.DepthLocal, "Deep": records.DepthDeep, "Global": records.DepthGlobal,
	"0": records.DepthBasic, "1": records.DepthLocal, "2": records.DepthDeep, "3": records.DepthGlobal}

// addPrivilegesRole grants each privilege of Privileges ([{"PrivilegeId",
// "Depth"}]) to the bound role, changing the depth of those it holds.
func addPrivilegesRole(c *Call) (map[string]any, error) {
	raw, ok := c.Params["Privileges"].([]any)
	if !ok || len(raw) == 0 {
		return nil, records.Invalid("The body must be {\"Privileges\": [{\"PrivilegeId\": \"<guid>\", \"Depth\": \"Basic|Local|Deep|Global\"}]}.")
	}
	pt, _ := c.Rec.Table("privilege")
	rp, _ := c.Rec.Table("roleprivileges")
	role := records.Ref{Table: "role", ID: c.ID}
	for i, item := range raw {
		obj, _ := item.(map[string]any)
		pid, _ := obj["PrivilegeId"].(string)
		if !records.IsGUID(pid) {
			return nil, records.Invalid("Privileges[%d]: PrivilegeId must be a GUID.", i)
		}
		mask, ok := depthMasks[strings.TrimSpace(fmt.Sprint(obj["Depth"]))]
		if !ok {
			return nil, records.Invalid("Privileges[%d]: Depth must be Basic, Local, Deep or Global.", i)
		}
		priv, err := c.Rec.Get(c.Ctx, c.Tx, pt, strings.ToLower(pid))
		if err != nil {
			return nil, err
		}
		if allowed, _ := priv[map[int64]string{records.DepthBasic: "canbebasic", records.DepthLocal: "canbelocal", records.DepthDeep: "canbedeep", records.DepthGlobal: "canbeglobal"}[mask]].(bool); !allowed {
			return nil, records.Invalid("Privileges[%d]: %s cannot be granted at %s depth.", i, priv["name"], records.DepthNames[mask])
		}
		pref := records.Ref{Table: "privilege", ID: priv["privilegeid"].(string)}
		id, err := c.Rec.FindByKey(c.Ctx, c.Tx, rp, map[string]any{"roleid": role, "privilegeid": pref})
		if err == nil {
			if _, err := c.Rec.Update(c.Ctx, c.Tx, rp, id, records.Row{"privilegedepthmask": mask}, "", c.Caller); err != nil {
				return nil, err
			}
			continue
		}
		if records.AsError(err).Status != http.StatusNotFound {
			return nil, err
		}
		if _, err := c.Rec.Create(c.Ctx, c.Tx, rp, records.Row{"name": priv["name"], "roleid": role, "privilegeid": pref, "privilegedepthmask": mask}, c.Caller); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// removePrivilegeRole takes PrivilegeId away from the bound role.
func removePrivilegeRole(c *Call) (map[string]any, error) {
	pid, _ := c.Params["PrivilegeId"].(string)
	if !records.IsGUID(pid) {
		return nil, records.Invalid("The body must be {\"PrivilegeId\": \"<guid>\"}.")
	}
	rp, _ := c.Rec.Table("roleprivileges")
	id, err := c.Rec.FindByKey(c.Ctx, c.Tx, rp, map[string]any{"roleid": records.Ref{Table: "role", ID: c.ID}, "privilegeid": records.Ref{Table: "privilege", ID: strings.ToLower(pid)}})
	if err != nil {
		return nil, err
	}
	return nil, c.Rec.Delete(c.Ctx, c.Tx, rp, id, "", c.Caller)
}

// expandManyToMany serves $expand of a many-to-many navigation property
// (systemusers?$expand=systemuserroles_association): the intersect rows of
// rows, then the related rows they name, with the expansion's own options.
func (h *Handler) expandManyToMany(ctx context.Context, q store.Querier, rq *req, t *records.Table, rows []records.Row, out []map[string]any, e odata.Expand, m side) error {
	all := h.rec.All()
	other, inter := all[m.other], all[m.intersect]
	if other == nil || inter == nil || len(rows) == 0 {
		for i := range out {
			out[i][m.nav] = []map[string]any{}
		}
		return nil
	}
	ids := make([]any, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r[t.PrimaryID()])
	}
	in := odata.Frag{SQL: "t." + records.Quote(m.thisCol) + " IN (" + marks(len(ids)) + ")", Args: ids}
	links, err := h.selectRows(ctx, q, rq, inter, nil, []odata.Frag{in}, nil, MaxPageSize*len(rows), 0)
	if err != nil {
		return err
	}
	otherIDs := map[string]bool{}
	for _, l := range links {
		if ref, ok := l[m.otherCol].(records.Ref); ok {
			otherIDs[ref.ID] = true
		}
	}
	byID := map[string]map[string]any{}
	var order []string
	if len(otherIDs) > 0 {
		args := make([]any, 0, len(otherIDs))
		for id := range otherIDs {
			args = append(args, id)
		}
		in := odata.Frag{SQL: "t." + records.Quote(other.PrimaryID()) + " IN (" + marks(len(args)) + ")", Args: args}
		related, err := h.selectColumns(ctx, q, rq, other, h.readColumns(other, e.Options), e.Options.Filter, []odata.Frag{in}, e.Options.OrderBy, len(args), 0)
		if err != nil {
			return err
		}
		shaped, err := h.shape(ctx, q, rq, other, related, e.Options)
		if err != nil {
			return err
		}
		for i, r := range related {
			id := r[other.PrimaryID()].(string)
			byID[id] = shaped[i]
			order = append(order, id)
		}
	}
	groups := map[string]map[string]bool{}
	for _, l := range links {
		this, _ := l[m.thisCol].(records.Ref)
		that, _ := l[m.otherCol].(records.Ref)
		if groups[this.ID] == nil {
			groups[this.ID] = map[string]bool{}
		}
		groups[this.ID][that.ID] = true
	}
	for i, r := range rows {
		g := []map[string]any{}
		for _, id := range order { // the related rows' own order
			if groups[r[t.PrimaryID()].(string)][id] && (e.Options.Top < 0 || len(g) < e.Options.Top) {
				g = append(g, byID[id])
			}
		}
		out[i][m.nav] = g
	}
	return nil
}
