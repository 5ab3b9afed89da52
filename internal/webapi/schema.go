package webapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// labelText reads a Dataverse Label object's first text.
func labelText(v any) string {
	m, _ := v.(map[string]any)
	if u, ok := m["UserLocalizedLabel"].(map[string]any); ok {
		if s, _ := u["Label"].(string); s != "" {
			return s
		}
	}
	if ls, ok := m["LocalizedLabels"].([]any); ok && len(ls) > 0 {
		if l, ok := ls[0].(map[string]any); ok {
			s, _ := l["Label"].(string)
			return s
		}
	}
	return ""
}

var metaTypes = map[string]records.Type{
	"StringAttributeMetadata": records.String, "MemoAttributeMetadata": records.Memo, "IntegerAttributeMetadata": records.Integer,
	"BigIntAttributeMetadata": records.BigInt, "DecimalAttributeMetadata": records.Decimal, "DoubleAttributeMetadata": records.Double,
	"MoneyAttributeMetadata": records.Money, "BooleanAttributeMetadata": records.Boolean, "DateTimeAttributeMetadata": records.DateTime,
	"PicklistAttributeMetadata": records.Picklist, "UniqueIdentifierAttributeMetadata": records.UniqueIdentifier, "LookupAttributeMetadata": records.Lookup,
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// columnFromMetadata reads an AttributeMetadata body.
func columnFromMetadata(m map[string]any) (records.Column, error) {
	var c records.Column
	schema, _ := m["SchemaName"].(string)
	logical, _ := m["LogicalName"].(string)
	if logical == "" {
		logical = strings.ToLower(schema)
	}
	c.Name = logical
	c.DisplayName = labelText(m["DisplayName"])
	typ, _ := m["@odata.type"].(string)
	typ = strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM.")
	if t, ok := metaTypes[typ]; ok {
		c.Type = t
	} else if at, _ := m["AttributeType"].(string); at != "" {
		c.Type = records.Type(at)
		if at == "Uniqueidentifier" || at == "UniqueIdentifier" {
			c.Type = records.UniqueIdentifier
		}
	} else {
		return c, records.Invalid("attribute %s needs an @odata.type such as Microsoft.Dynamics.CRM.StringAttributeMetadata", logical)
	}
	if f, ok := num(m["MaxLength"]); ok {
		c.MaxLength = int(f)
	}
	if f, ok := num(m["MinValue"]); ok {
		c.Min = &f
	}
	if f, ok := num(m["MaxValue"]); ok {
		c.Max = &f
	}
	if f, ok := num(m["Precision"]); ok {
		c.Precision = int(f)
	}
	if rl, ok := m["RequiredLevel"].(map[string]any); ok {
		c.Required, _ = rl["Value"].(string)
	}
	if f, _ := m["AutoNumberFormat"].(string); f != "" {
		c.Type, c.Format = records.AutoNumber, f
	}
	if ts, ok := m["Targets"].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok {
				c.Targets = append(c.Targets, s)
			}
		}
	}
	if os, ok := m["OptionSet"].(map[string]any); ok && c.Type == records.Picklist {
		opts, _ := os["Options"].([]any)
		for _, o := range opts {
			om, _ := o.(map[string]any)
			v, ok := num(om["Value"])
			if !ok {
				return c, records.Invalid("option of %s needs a Value", logical)
			}
			c.Options = append(c.Options, records.Option{Value: int64(v), Label: labelText(om["Label"])})
		}
	}
	return c, nil
}

// defineTable serves POST EntityDefinitions.
func (h *Handler) defineTable(w http.ResponseWriter, rq *req) {
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	schema, _ := body["SchemaName"].(string)
	logical, _ := body["LogicalName"].(string)
	if logical == "" {
		logical = strings.ToLower(schema)
	}
	t := records.Table{Name: logical, DisplayName: labelText(body["DisplayName"])}
	if s, _ := body["EntitySetName"].(string); s != "" {
		t.SetName = s
	}
	attrs, _ := body["Attributes"].([]any)
	for _, a := range attrs {
		am, ok := a.(map[string]any)
		if !ok {
			h.fail(w, rq, records.Invalid("Attributes must be objects"))
			return
		}
		c, err := columnFromMetadata(am)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		if p, _ := am["IsPrimaryName"].(bool); p {
			t.PrimaryName = c.Name
		}
		t.Columns = append(t.Columns, c)
	}
	if pn, _ := body["PrimaryNameAttribute"].(string); pn != "" {
		t.PrimaryName = pn
	}
	nt, err := h.rec.DefineTable(rq.r.Context(), t)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.Header().Set("OData-EntityId", rq.base+"EntityDefinitions("+metadataID(nt.Name)+")")
	w.WriteHeader(http.StatusNoContent)
}

// addAttribute serves POST EntityDefinitions(...)/Attributes.
func (h *Handler) addAttribute(w http.ResponseWriter, rq *req, t *records.Table) {
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	c, err := columnFromMetadata(body)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if _, err := h.rec.AddColumn(rq.r.Context(), t.Name, c); err != nil {
		h.fail(w, rq, err)
		return
	}
	w.Header().Set("OData-EntityId", rq.base+"EntityDefinitions("+metadataID(t.Name)+")/Attributes("+metadataID(t.Name, c.Name)+")")
	w.WriteHeader(http.StatusNoContent)
}

// changeAttribute serves PUT and DELETE of EntityDefinitions(...)/Attributes(...):
// a custom column's new definition, or its removal.
func (h *Handler) changeAttribute(w http.ResponseWriter, rq *req, t *records.Table, attrKey string) {
	k, err := odata.ParseKey(attrKey)
	if err != nil {
		h.fail(w, rq, badRequest("%v", err))
		return
	}
	var col *records.Column
	for i := range t.Columns {
		c := &t.Columns[i]
		if lit, ok := k.Values["LogicalName"]; ok && lit.Text == c.Name || k.ID != "" && k.ID == metadataID(t.Name, c.Name) {
			col = c
		}
	}
	if col == nil {
		h.fail(w, rq, records.Errorf(http.StatusNotFound, records.CodeNotFound, "Could not find an attribute %s on %s.", attrKey, t.Name))
		return
	}
	ctx := rq.r.Context()
	if rq.r.Method == http.MethodDelete {
		if err := h.rec.DeleteColumn(ctx, t.Name, col.Name); err != nil {
			h.fail(w, rq, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	c, err := columnFromMetadata(body)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if c.Name != "" && c.Name != col.Name {
		h.fail(w, rq, records.Invalid("The LogicalName of an attribute cannot change (%s to %s).", col.Name, c.Name))
		return
	}
	c.Name = col.Name
	if c.Type.IsLookup() {
		c.Type = col.Type
	}
	if _, err := h.rec.UpdateColumn(ctx, t.Name, c); err != nil {
		h.fail(w, rq, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
