package webapi

import (
	"net/http"
	"strconv"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// registerShareMessages adds GrantAccess, ModifyAccess, RevokeAccess and
// RetrieveSharedPrincipalsAndAccess: sharing a row with a user, recorded in
// principalobjectaccess and honoured by every privilege check (see
// records.SharingTable).
func (h *Handler) registerShareMessages() {
	entity := func(n string) odata.Param { return odata.Param{Name: n, Type: "mscrm.crmbaseentity"} }
	access := odata.ComplexType{Name: "PrincipalAccess", Props: []odata.Param{{Name: "AccessMask", Type: "Edm.String"}, entity("Principal")}}
	h.Register(&Action{Name: "GrantAccess", Params: []odata.Param{entity("Target"), {Name: "PrincipalAccess", Type: "mscrm.PrincipalAccess"}},
		Types: []odata.ComplexType{access}, Run: func(c *Call) (map[string]any, error) { return h.shareAccess(c, false) }})
	h.Register(&Action{Name: "ModifyAccess", Params: []odata.Param{entity("Target"), {Name: "PrincipalAccess", Type: "mscrm.PrincipalAccess"}},
		Types: []odata.ComplexType{access}, Run: func(c *Call) (map[string]any, error) { return h.shareAccess(c, true) }})
	h.Register(&Action{Name: "RevokeAccess", Params: []odata.Param{entity("Target"), entity("Revokee")}, Run: h.revokeAccess})
	h.Register(&Action{Name: "RetrieveSharedPrincipalsAndAccess", Function: true, Response: "RetrieveSharedPrincipalsAndAccessResponse",
		Params: []odata.Param{entity("Target")}, Returns: []odata.Param{{Name: "PrincipalAccesses", Type: "Collection(mscrm.PrincipalAccess)"}},
		Types: []odata.ComplexType{access}, Run: h.retrieveSharedPrincipals})
}

// entityParam reads an entity reference parameter: {"@odata.type":
// "Microsoft.Dynamics.CRM.account", "accountid": "<id>"} or {"@odata.id":
// "accounts(<id>)"}. The row must exist.
func (h *Handler) entityParam(c *Call, q store.Querier, name string) (*records.Table, string, error) {
	m, ok := c.Params[name].(map[string]any)
	if !ok {
		return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage,
			"%s is required: {\"@odata.type\": \"Microsoft.Dynamics.CRM.account\", \"accountid\": \"<id>\"} or {\"@odata.id\": \"accounts(<id>)\"}.", name)
	}
	if s, _ := m["@odata.id"].(string); s != "" {
		ref, err := h.resolveBind(c.Ctx, q, c.rq, s)
		if err != nil {
			return nil, "", err
		}
		t, _ := c.Rec.Table(ref.Table)
		return t, ref.ID, nil
	}
	typ, _ := m["@odata.type"].(string)
	t, ok := c.Rec.Table(strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM."))
	if !ok {
		return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s: %q is not a table.", name, typ)
	}
	id, _ := m[t.PrimaryID()].(string)
	if id == "" && t.Name == "systemuser" {
		id, _ = m["ownerid"].(string) // a principal's key
	}
	if !records.IsGUID(id) {
		return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s needs its %s.", name, t.PrimaryID())
	}
	return t, strings.ToLower(id), nil
}

// principalParam reads the user a share names; teams are not modelled.
func (h *Handler) principalParam(c *Call, name string) (string, error) {
	t, id, err := h.entityParam(c, c.Tx, name)
	if err != nil {
		return "", err
	}
	if t.Name != "systemuser" {
		return "", records.Errorf(http.StatusBadRequest, records.CodeNotSupported, "%s: rows can be shared with users (systemuser) only, not %s.", name, t.Name)
	}
	return id, nil
}

// shareAccess is GrantAccess (rights added to what the user has) and, with
// replace, ModifyAccess: {"Target": {...}, "PrincipalAccess": {"Principal":
// {"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid":
// "<id>"}, "AccessMask": "ReadAccess, WriteAccess"}}.
func (h *Handler) shareAccess(c *Call, replace bool) (map[string]any, error) {
	t, id, err := h.entityParam(c, c.Tx, "Target")
	if err != nil {
		return nil, err
	}
	pa, ok := c.Params["PrincipalAccess"].(map[string]any)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "PrincipalAccess is required: {\"Principal\": {...}, \"AccessMask\": \"ReadAccess\"}.")
	}
	sub := &Call{Ctx: c.Ctx, Params: pa, Rec: c.Rec, h: c.h, rq: c.rq, Tx: c.Tx}
	principal, err := h.principalParam(sub, "Principal")
	if err != nil {
		return nil, err
	}
	text, ok := pa["AccessMask"].(string)
	if !ok {
		n, err := intParam(pa, "AccessMask")
		if err != nil || n < 0 {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "PrincipalAccess.AccessMask is required, e.g. \"ReadAccess, WriteAccess\".")
		}
		text = strconv.FormatInt(n, 10)
	}
	mask, err := records.ParseAccessMask(text)
	if err != nil {
		return nil, err
	}
	return nil, c.Rec.ShareAccess(c.Ctx, c.Tx, t, id, principal, mask, replace, c.Caller)
}

// revokeAccess is RevokeAccess: {"Target": {...}, "Revokee": {...}}.
func (h *Handler) revokeAccess(c *Call) (map[string]any, error) {
	t, id, err := h.entityParam(c, c.Tx, "Target")
	if err != nil {
		return nil, err
	}
	principal, err := h.principalParam(c, "Revokee")
	if err != nil {
		return nil, err
	}
	return nil, c.Rec.RevokeShare(c.Ctx, c.Tx, t, id, principal, c.Caller)
}

// retrieveSharedPrincipals is RetrieveSharedPrincipalsAndAccess(Target=@t)
// ?@t={'@odata.id':'accounts(<id>)'}: the users the row is shared with and
// their rights. The caller must be able to read the row.
func (h *Handler) retrieveSharedPrincipals(c *Call) (map[string]any, error) {
	t, id, err := h.entityParam(c, c.Q, "Target")
	if err != nil {
		return nil, err
	}
	if _, err := h.getRow(c.Ctx, c.Q, c.rq, t, id); err != nil {
		return nil, err
	}
	shares, err := c.Rec.Shares(c.Ctx, c.Q, t, id)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(shares))
	for _, s := range shares {
		out = append(out, map[string]any{"AccessMask": records.FormatAccessMask(s.Mask),
			"Principal": map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.systemuser", "ownerid": s.PrincipalID}})
	}
	return map[string]any{"PrincipalAccesses": out}, nil
}
