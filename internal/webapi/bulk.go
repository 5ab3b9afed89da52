package webapi

import (
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// maxTargets bounds one bulk call, as Dataverse recommends.
const maxTargets = 1000

func targets(c *Call) ([]map[string]any, error) {
	raw, ok := c.Params["Targets"].([]any)
	if !ok {
		return nil, records.Invalid("The body must be {\"Targets\": [ ... ]}.")
	}
	if len(raw) > maxTargets*10 {
		return nil, records.Invalid("At most %d targets can be sent in one call.", maxTargets*10)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		obj, ok := r.(map[string]any)
		if !ok {
			return nil, records.Invalid("Target %d is not an object.", i)
		}
		if typ, _ := obj["@odata.type"].(string); typ != "" && strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM.") != c.Table.Name {
			return nil, records.Invalid("Target %d has @odata.type %s; this call is for %s.", i, typ, c.Table.Name)
		}
		out[i] = obj
	}
	return out, nil
}

// createMultiple creates every target in one transaction.
func (h *Handler) createMultiple(c *Call) (map[string]any, error) {
	ts, err := targets(c)
	if err != nil {
		return nil, err
	}
	ids := make([]any, 0, len(ts))
	for _, obj := range ts {
		row, err := h.createIn(c.Ctx, c.Tx, c.rq, c.Table, obj)
		if err != nil {
			return nil, err
		}
		ids = append(ids, row[c.Table.PrimaryID()])
	}
	return map[string]any{"Ids": ids}, nil
}

// updateMultiple updates every target, each naming its row by primary id.
func (h *Handler) updateMultiple(c *Call) (map[string]any, error) {
	ts, err := targets(c)
	if err != nil {
		return nil, err
	}
	pk := c.Table.PrimaryID()
	for i, obj := range ts {
		id, _ := obj[pk].(string)
		if !records.IsGUID(id) {
			return nil, records.Invalid("Target %d needs its %s.", i, pk)
		}
		delete(obj, pk)
		row, later, err := h.toRow(c.Ctx, c.Tx, c.rq, c.Table, obj)
		if err != nil {
			return nil, err
		}
		if len(later) > 0 {
			return nil, records.Invalid("Target %d: collection-valued navigation properties cannot be updated.", i)
		}
		if _, err := h.rec.Update(c.Ctx, c.Tx, c.Table, id, row, "", c.Caller); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// upsertMultiple upserts every target, named by "@odata.id" (an alternate
// key or id) or by its primary id.
func (h *Handler) upsertMultiple(c *Call) (map[string]any, error) {
	ts, err := targets(c)
	if err != nil {
		return nil, err
	}
	pk := c.Table.PrimaryID()
	for i, obj := range ts {
		var key odata.Key
		if s, _ := obj["@odata.id"].(string); s != "" {
			s = s[strings.LastIndex(s, "/")+1:]
			name, kt, has := nameAndArgs(s)
			if !has || !strings.EqualFold(name, c.Table.SetName) {
				return nil, records.Invalid("Target %d: @odata.id must look like %s(<key>).", i, c.Table.SetName)
			}
			if key, err = odata.ParseKey(kt); err != nil {
				return nil, records.Invalid("Target %d: %v", i, err)
			}
		} else if id, _ := obj[pk].(string); records.IsGUID(id) {
			key = odata.Key{ID: strings.ToLower(id)}
			delete(obj, pk)
		} else {
			return nil, records.Invalid("Target %d needs @odata.id or its %s.", i, pk)
		}
		if _, _, err := h.upsertIn(c.Ctx, c.Tx, c.rq, c.Table, key, obj, "", ""); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
