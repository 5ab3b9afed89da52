package webapi

import (
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// registerRecordMessages adds CloseIncident and Merge.
func (h *Handler) registerRecordMessages() {
	h.Register(&Action{Name: "CloseIncident", Params: []odata.Param{{Name: "IncidentResolution", Type: "mscrm.incidentresolution"}, {Name: "Status", Type: "Edm.Int32"}}, Run: h.closeIncident})
	h.Register(&Action{Name: "Merge", Params: []odata.Param{{Name: "Target", Type: "mscrm.crmbaseentity"}, {Name: "Subordinate", Type: "mscrm.crmbaseentity"},
		{Name: "UpdateContent", Type: "mscrm.crmbaseentity"}, {Name: "PerformParentingChecks", Type: "Edm.Boolean"}}, Run: h.merge})
}

// closeIncident is CloseIncident: {"IncidentResolution": {"subject": ...,
// "incidentid@odata.bind": "/incidents(<id>)", ...}, "Status": 5}. It creates
// the Case Resolution and resolves the Case (statecode 1) with Status, or the
// default resolved status when Status is -1.
func (h *Handler) closeIncident(c *Call) (map[string]any, error) {
	body, ok := c.Params["IncidentResolution"].(map[string]any)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "IncidentResolution is required.")
	}
	status, err := intParam(c.Params, "Status")
	if err != nil {
		return nil, err
	}
	resTable, _ := c.Rec.Table("incidentresolution")
	inc, _ := c.Rec.Table("incident")
	row, later, err := h.toRow(c.Ctx, c.Tx, c.rq, resTable, body)
	if err != nil {
		return nil, err
	}
	ref, _ := row["incidentid"].(records.Ref)
	if ref.ID == "" || len(later) > 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, `IncidentResolution must name its Case with "incidentid@odata.bind": "/incidents(<id>)".`)
	}
	current, err := h.getRow(c.Ctx, c.Tx, c.rq, inc, ref.ID)
	if err != nil {
		return nil, err
	}
	if st, _ := current["statecode"].(int64); st != 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "This case has already been resolved or cancelled.")
	}
	if _, err := c.Rec.Create(c.Ctx, c.Tx, resTable, row, c.Caller); err != nil {
		return nil, err
	}
	set := records.Row{"statecode": int64(1)}
	if status != -1 {
		set["statuscode"] = status
	}
	_, err = c.Rec.Update(c.Ctx, c.Tx, inc, ref.ID, set, "", c.Caller)
	return nil, err
}

func intParam(p map[string]any, name string) (int64, error) {
	switch v := p[name].(type) {
	case nil:
		return -1, nil
	case interface{ Int64() (int64, error) }:
		n, err := v.Int64()
		if err == nil {
			return n, nil
		}
	case float64:
		return int64(v), nil
	}
	return 0, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s must be an integer.", name)
}

// mergeable are the tables Merge takes, as in Dataverse (lead has no
// Junction table).
var mergeable = map[string]bool{"account": true, "contact": true, "incident": true}

// merge is Merge: {"Target": {"@odata.type": "Microsoft.Dynamics.CRM.account",
// "accountid": ...}, "Subordinate": {...}, "UpdateContent": {...},
// "PerformParentingChecks": false}. Rows related to the subordinate through
// any lookup are moved to the target, UpdateContent is applied to the target
// and the subordinate is deactivated (statecode 1, statuscode 2), all in the
// call's transaction.
func (h *Handler) merge(c *Call) (map[string]any, error) {
	entity := func(name string) (*records.Table, string, error) {
		m, ok := c.Params[name].(map[string]any)
		if !ok {
			return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s is required: {\"@odata.type\": \"Microsoft.Dynamics.CRM.account\", \"accountid\": \"<id>\"}.", name)
		}
		typ, _ := m["@odata.type"].(string)
		t, ok := c.Rec.Table(strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM."))
		if !ok || !mergeable[t.Name] {
			return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s: Merge takes an account, a contact or an incident, not %q.", name, typ)
		}
		id, _ := m[t.PrimaryID()].(string)
		if !records.IsGUID(id) {
			return nil, "", records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%s needs its %s.", name, t.PrimaryID())
		}
		id = strings.ToLower(id)
		if _, err := h.getRow(c.Ctx, c.Tx, c.rq, t, id); err != nil {
			return nil, "", err
		}
		return t, id, nil
	}
	t, target, err := entity("Target")
	if err != nil {
		return nil, err
	}
	st, sub, err := entity("Subordinate")
	if err != nil {
		return nil, err
	}
	if st != t {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Target and Subordinate must be of the same table.")
	}
	if target == sub {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Target and Subordinate are the same record.")
	}
	if row, _ := h.getRow(c.Ctx, c.Tx, c.rq, t, sub); row["statecode"] != int64(0) {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The subordinate record is not active; it may have been merged already.")
	}
	for _, other := range c.Rec.Tables() {
		for i := range other.Columns {
			col := &other.Columns[i]
			if !col.Type.IsLookup() || col.System {
				continue
			}
			targets := false
			for _, tg := range col.Targets {
				targets = targets || tg == t.Name
			}
			if !targets {
				continue
			}
			filter := odata.Binary{Op: "eq", L: odata.Path{Segments: []string{col.Name}}, R: odata.Literal{Kind: odata.LitGUID, Text: sub}}
			for {
				rows, err := h.selectRows(c.Ctx, c.Tx, c.rq, other, filter, nil, nil, MaxPageSize, 0)
				if err != nil {
					return nil, err
				}
				moved := 0
				for _, r := range rows {
					rid := r[other.PrimaryID()].(string)
					if other == t && rid == target {
						continue // the target does not become its own parent
					}
					if _, err := c.Rec.Update(c.Ctx, c.Tx, other, rid, records.Row{col.Name: records.Ref{Table: t.Name, ID: target}}, "", c.Caller); err != nil {
						return nil, err
					}
					moved++
				}
				if moved == 0 || len(rows) < MaxPageSize {
					break
				}
			}
		}
	}
	if upd, ok := c.Params["UpdateContent"].(map[string]any); ok && len(upd) > 0 {
		row, later, err := h.toRow(c.Ctx, c.Tx, c.rq, t, upd)
		if err != nil {
			return nil, err
		}
		if len(later) > 0 {
			return nil, records.Invalid("UpdateContent cannot set collection-valued navigation properties")
		}
		delete(row, t.PrimaryID())
		if len(row) > 0 {
			if _, err := c.Rec.Update(c.Ctx, c.Tx, t, target, row, "", c.Caller); err != nil {
				return nil, err
			}
		}
	}
	off := records.Row{"statecode": int64(1), "statuscode": int64(2)}
	if t.Name == "incident" {
		off = records.Row{"statecode": int64(2), "statuscode": int64(6)} // a merged Case is Cancelled
	}
	_, err = c.Rec.Update(c.Ctx, c.Tx, t, sub, off, "", c.Caller)
	return nil, err
}
