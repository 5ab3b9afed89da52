package webapi

import (
	"net/http"

	"junction/internal/records"
)

// initializeFrom answers InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,
// TargetFieldType=@p3): the data for a new TargetEntityName row created in the
// context of the row EntityMoniker names. That is the lookup relating the two
// (left out with SkipParentalRelationshipMapping=true) and the source row's
// values of the columns the target table's attribute maps from the source
// table copy (records.AttributeMap), the empty ones left out, as Dataverse
// answers. TargetFieldType keeps the target columns valid for create
// (ValidForCreate), for update (ValidForUpdate), or all of them (All,
// ValidForRead: every column can be read).
func initializeFrom(c *Call) (map[string]any, error) {
	moniker, _ := c.Params["EntityMoniker"].(map[string]any)
	ref, _ := moniker["@odata.id"].(string)
	if ref == "" {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "EntityMoniker must be {'@odata.id':'<set>(<id>)'}.")
	}
	target, ok := c.Rec.Table(stringParam(c.Params, "TargetEntityName"))
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "TargetEntityName %q is not a table.", stringParam(c.Params, "TargetEntityName"))
	}
	valid := func(*records.Column) bool { return true }
	switch ft := stringParam(c.Params, "TargetFieldType"); ft {
	case "", "All", "ValidForRead", "0", "3":
	case "ValidForCreate", "1":
		valid = func(col *records.Column) bool { return col.Writable(true) }
	case "ValidForUpdate", "2":
		valid = func(col *records.Column) bool { return col.Writable(false) }
	default:
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%q is not a TargetFieldType (All, ValidForCreate, ValidForUpdate, ValidForRead).", ft)
	}
	src, err := c.h.resolveBind(c.Ctx, c.Q, c.rq, ref)
	if err != nil {
		return nil, err
	}
	srcTable, _ := c.Rec.Table(src.Table)
	row, err := c.h.getRow(c.Ctx, c.Q, c.rq, srcTable, src.ID)
	if err != nil {
		return nil, err
	}
	if g := c.rq.grants; g != nil {
		if _, err := g.Need(records.RightCreate, target); err != nil {
			return nil, err
		}
	}
	var lookup *records.Column
	for i := range target.Columns {
		col := &target.Columns[i]
		if col.System || !col.Type.IsLookup() {
			continue
		}
		for _, tg := range col.Targets {
			if tg == src.Table && lookup == nil {
				lookup = col
			}
		}
	}
	if lookup == nil {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "No relationship relates %s to %s.", target.Name, src.Table)
	}
	out := map[string]any{
		"@odata.context": c.Base + "$metadata#" + target.SetName + "/$entity",
		"@odata.type":    "#Microsoft.Dynamics.CRM." + target.Name,
	}
	if skip, _ := c.Params["SkipParentalRelationshipMapping"].(bool); !skip && valid(lookup) {
		out[lookup.NavName(src.Table)+"@odata.bind"] = srcTable.SetName + "(" + src.ID + ")"
	}
	for _, m := range target.AttributeMaps {
		if m.From != src.Table {
			continue
		}
		for _, cm := range m.Columns {
			col, ok := target.Column(cm.Target)
			v := row[cm.Source]
			if !ok || v == nil || !valid(col) {
				continue
			}
			if r, ok := v.(records.Ref); ok {
				rt, ok := c.Rec.Table(r.Table)
				if !ok {
					continue
				}
				out[col.NavName(r.Table)+"@odata.bind"] = rt.SetName + "(" + r.ID + ")"
				continue
			}
			out[col.Name] = jsonValue(v)
		}
	}
	return out, nil
}
