package webapi

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

func (h *Handler) serviceDocument(w http.ResponseWriter, rq *req) {
	var sets []map[string]any
	for _, t := range h.rec.Tables() {
		sets = append(sets, map[string]any{"name": t.SetName, "kind": "EntitySet", "url": t.SetName})
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata", "value": sets})
}

func (h *Handler) operations(rq *req) ([]odata.Operation, error) {
	var ops []odata.Operation
	apis, err := h.customAPIActions(rq, "")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(h.actions))
	for n := range h.actions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, a := range h.actions[n] {
			ops = append(ops, odata.Operation{Name: a.Name, Function: a.Function, Bound: a.Bound, Params: a.Params, Response: a.Response, Returns: a.Returns, Entity: a.Entity, Types: a.Types})
		}
	}
	for _, a := range apis {
		if _, builtin := h.actions[a.Name]; !builtin {
			ops = append(ops, odata.Operation{Name: a.Name, Function: a.Function, Bound: a.Bound, Params: a.Params, Response: a.Response, Returns: a.Returns})
		}
	}
	return ops, nil
}

func (h *Handler) metadata(w http.ResponseWriter, rq *req) {
	if rq.r.Method != http.MethodGet {
		h.fail(w, rq, methodNotAllowed(rq.r))
		return
	}
	ops, err := h.operations(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, odata.CSDL(h.rec.All(), ops))
}

// metadataID derives a stable GUID for a table or column.
func metadataID(parts ...string) string {
	s := sha1.Sum([]byte(strings.Join(parts, "/")))
	b := s[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func label(s string) map[string]any {
	l := map[string]any{"Label": s, "LanguageCode": 1033}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func entityMetadata(t *records.Table) map[string]any {
	return map[string]any{
		"MetadataId": metadataID(t.Name), "LogicalName": t.Name, "SchemaName": t.SchemaName, "EntitySetName": t.SetName,
		"LogicalCollectionName": t.SetName, "PrimaryIdAttribute": t.PrimaryID(), "PrimaryNameAttribute": t.PrimaryName,
		"DisplayName": label(t.DisplayName), "DisplayCollectionName": label(t.DisplayCollectionName), "Description": label(""),
		"IsCustomEntity": t.Custom, "ChangeTrackingEnabled": true, "IsActivity": t.Activity, "OwnershipType": t.Ownership,
		"ObjectTypeCode": records.ObjectTypeCode(t), "IsIntersect": t.Intersect != nil,
	}
}

var attrKinds = map[records.Type][2]string{
	records.String: {"StringAttributeMetadata", "StringType"}, records.Memo: {"MemoAttributeMetadata", "MemoType"},
	records.Integer: {"IntegerAttributeMetadata", "IntegerType"}, records.BigInt: {"BigIntAttributeMetadata", "BigIntType"},
	records.Decimal: {"DecimalAttributeMetadata", "DecimalType"}, records.Double: {"DoubleAttributeMetadata", "DoubleType"},
	records.Money: {"MoneyAttributeMetadata", "MoneyType"}, records.Boolean: {"BooleanAttributeMetadata", "BooleanType"},
	records.DateTime: {"DateTimeAttributeMetadata", "DateTimeType"}, records.Picklist: {"PicklistAttributeMetadata", "PicklistType"},
	records.State: {"StateAttributeMetadata", "StateType"}, records.Status: {"StatusAttributeMetadata", "StatusType"},
	records.Lookup: {"LookupAttributeMetadata", "LookupType"}, records.Customer: {"LookupAttributeMetadata", "CustomerType"},
	records.Owner: {"LookupAttributeMetadata", "OwnerType"}, records.UniqueIdentifier: {"UniqueIdentifierAttributeMetadata", "UniqueidentifierType"},
	records.AutoNumber: {"StringAttributeMetadata", "StringType"},
}

func attributeMetadata(t *records.Table, c *records.Column, withOptions bool) map[string]any {
	k := attrKinds[c.Type]
	typ := string(c.Type)
	if c.Type == records.AutoNumber {
		typ = "String"
	}
	m := map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM." + k[0], "MetadataId": metadataID(t.Name, c.Name), "LogicalName": c.Name, "SchemaName": c.Name,
		"EntityLogicalName": t.Name, "AttributeType": typ, "AttributeTypeName": map[string]any{"Value": k[1]},
		"DisplayName": label(c.DisplayName), "RequiredLevel": map[string]any{"Value": c.Required},
		"IsPrimaryId": c.Name == t.PrimaryID(), "IsPrimaryName": c.Name == t.PrimaryName, "IsCustomAttribute": records.IsCustomColumn(t, c),
		"IsValidForCreate": c.Writable(true) || c.Name == t.PrimaryID() || c.Name == "ownerid", "IsValidForUpdate": c.Writable(false) || c.Name == "ownerid",
		"IsValidForRead": true,
	}
	if c.Computed != "" {
		// SourceType 1 is a calculated column in Dataverse's metadata.
		m["SourceType"] = 1
	}
	if c.Precision > 0 {
		m["Precision"] = c.Precision
	}
	if c.Type == records.DateTime {
		b := c.Behavior
		if b == "" {
			b = "UserLocal"
		}
		m["DateTimeBehavior"] = map[string]any{"Value": b}
		if b == "DateOnly" {
			m["Format"] = "DateOnly"
		} else {
			m["Format"] = "DateAndTime"
		}
	}
	if c.Default != nil {
		m["DefaultFormValue"] = *c.Default
	}
	if c.MaxLength > 0 {
		m["MaxLength"] = c.MaxLength
	}
	if c.Min != nil {
		m["MinValue"] = *c.Min
	}
	if c.Max != nil {
		m["MaxValue"] = *c.Max
	}
	if c.Type.IsLookup() {
		m["Targets"] = c.Targets
	}
	if c.Type == records.AutoNumber {
		m["AutoNumberFormat"] = c.Format
	}
	if c.Type == records.Boolean && withOptions {
		yes, no := "Yes", "No"
		if l, ok := c.Option(1); ok {
			yes = l
		}
		if l, ok := c.Option(0); ok {
			no = l
		}
		m["OptionSet"] = map[string]any{"Name": t.Name + "_" + c.Name, "OptionSetType": "Boolean",
			"TrueOption": map[string]any{"Value": 1, "Label": label(yes)}, "FalseOption": map[string]any{"Value": 0, "Label": label(no)}}
	}
	if c.Type.IsChoice() && withOptions {
		var opts []any
		for _, o := range c.Options {
			ov := map[string]any{"Value": o.Value, "Label": label(o.Label)}
			if o.State != nil {
				ov["State"] = *o.State
			}
			opts = append(opts, ov)
		}
		m["OptionSet"] = map[string]any{"Name": t.Name + "_" + c.Name, "Options": opts}
	}
	return m
}

// entityDefinitions serves the metadata queries clients send.
func (h *Handler) entityDefinitions(w http.ResponseWriter, rq *req, keyText string, hasKey bool) {
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	ctxBase := rq.base + "$metadata#EntityDefinitions"
	if !hasKey {
		if len(rq.segs) > 1 {
			h.fail(w, rq, notSegment(rq.segs[1]))
			return
		}
		switch rq.r.Method {
		case http.MethodGet:
			var list []map[string]any
			for _, t := range h.rec.Tables() {
				list = append(list, entityMetadata(t))
			}
			out, err := memQuery(list, q)
			if err != nil {
				h.fail(w, rq, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctxBase + selectSuffix(q), "value": out})
		case http.MethodPost:
			h.defineTable(w, rq)
		default:
			h.fail(w, rq, methodNotAllowed(rq.r))
		}
		return
	}
	t, err := h.metadataTable(keyText)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	rest := rq.segs[1:]
	if len(rest) == 0 {
		if rq.r.Method == http.MethodDelete {
			if err := h.rec.DeleteTable(rq.r.Context(), t.Name); err != nil {
				h.fail(w, rq, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if rq.r.Method != http.MethodGet {
			h.fail(w, rq, methodNotAllowed(rq.r))
			return
		}
		obj := entityMetadata(t)
		for _, e := range q.Expand {
			switch e.Nav {
			case "Attributes":
				var attrs []map[string]any
				for i := range t.Columns {
					attrs = append(attrs, attributeMetadata(t, &t.Columns[i], false))
				}
				obj["Attributes"], _ = memQuery(attrs, e.Options)
			case "Keys":
				obj["Keys"] = keysMetadata(t)
			case "OneToManyRelationships", "ManyToOneRelationships", "ManyToManyRelationships":
				obj[e.Nav], _ = memQuery(h.relationshipsOf(t, e.Nav), e.Options)
			default:
				h.fail(w, rq, badRequest("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.", e.Nav))
				return
			}
		}
		out, err := memQuery([]map[string]any{obj}, &odata.Query{Select: q.Select, Top: -1})
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		out[0]["@odata.context"] = ctxBase + selectSuffix(q) + "/$entity"
		writeJSON(w, http.StatusOK, out[0])
		return
	}
	seg, attrKey, attrHasKey := nameAndArgs(rest[0])
	switch seg {
	case "Attributes":
		if rq.r.Method == http.MethodPost && !attrHasKey && len(rest) == 1 {
			h.addAttribute(w, rq, t)
			return
		}
		if (rq.r.Method == http.MethodPut || rq.r.Method == http.MethodDelete) && attrHasKey && len(rest) == 1 {
			h.changeAttribute(w, rq, t, attrKey)
			return
		}
		if rq.r.Method != http.MethodGet {
			h.fail(w, rq, methodNotAllowed(rq.r))
			return
		}
		cast := ""
		if len(rest) == 2 {
			cast = strings.TrimPrefix(rest[1], "Microsoft.Dynamics.CRM.")
		} else if len(rest) > 2 {
			h.fail(w, rq, notSegment(rest[2]))
			return
		}
		withOptions := false
		for _, e := range q.Expand {
			if e.Nav == "OptionSet" || e.Nav == "GlobalOptionSet" {
				withOptions = true
			}
		}
		var attrs []map[string]any
		for i := range t.Columns {
			c := &t.Columns[i]
			if cast != "" && attrKinds[c.Type][0] != cast {
				continue
			}
			if attrHasKey {
				k, err := odata.ParseKey(attrKey)
				if err != nil {
					h.fail(w, rq, badRequest("%v", err))
					return
				}
				if lit, ok := k.Values["LogicalName"]; !(ok && lit.Text == c.Name) && k.ID != metadataID(t.Name, c.Name) {
					continue
				}
			}
			attrs = append(attrs, attributeMetadata(t, c, withOptions))
		}
		if attrHasKey {
			if len(attrs) == 0 {
				h.fail(w, rq, records.Errorf(http.StatusNotFound, records.CodeNotFound, "Could not find an attribute %s on %s.", attrKey, t.Name))
				return
			}
			out, err := memQuery(attrs, &odata.Query{Select: q.Select, Top: -1})
			if err != nil {
				h.fail(w, rq, err)
				return
			}
			out[0]["@odata.context"] = ctxBase + "('" + t.Name + "')/Attributes/$entity"
			writeJSON(w, http.StatusOK, out[0])
			return
		}
		out, err := memQuery(attrs, q)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctxBase + "('" + t.Name + "')/Attributes", "value": out})
	case "Keys":
		out, err := memQuery(keysMetadata(t), q)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctxBase + "('" + t.Name + "')/Keys", "value": out})
	case "ManyToOneRelationships", "OneToManyRelationships", "ManyToManyRelationships":
		if rq.r.Method != http.MethodGet {
			h.fail(w, rq, methodNotAllowed(rq.r))
			return
		}
		res, err := memQuery(h.relationshipsOf(t, seg), q)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctxBase + "('" + t.Name + "')/" + seg, "value": res})
	default:
		h.fail(w, rq, notSegment(rest[0]))
	}
}

func keysMetadata(t *records.Table) []map[string]any {
	var out []map[string]any
	for _, k := range t.Keys {
		out = append(out, map[string]any{"LogicalName": k.Name, "SchemaName": k.Name, "KeyAttributes": k.Columns,
			"MetadataId": metadataID(t.Name, "key", k.Name), "EntityLogicalName": t.Name, "EntityKeyIndexStatus": "Active", "DisplayName": label(k.Name)})
	}
	return out
}

func (h *Handler) metadataTable(keyText string) (*records.Table, error) {
	k, err := odata.ParseKey(keyText)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	for _, t := range h.rec.Tables() {
		if lit, ok := k.Values["LogicalName"]; ok && lit.Text == t.Name || k.ID != "" && k.ID == metadataID(t.Name) {
			return t, nil
		}
	}
	return nil, records.Errorf(http.StatusNotFound, records.CodeNotFound, "Could not find an entity with the key %s.", keyText)
}

// memQuery applies $filter, $select and $top to in-memory metadata objects.
func memQuery(list []map[string]any, q *odata.Query) ([]map[string]any, error) {
	out := []map[string]any{}
	for _, o := range list {
		if q != nil && q.Filter != nil {
			ok, err := evalMem(o, q.Filter)
			if err != nil {
				return nil, badRequest("%v", err)
			}
			if !ok {
				continue
			}
		}
		if q != nil && len(q.Select) > 0 {
			s := map[string]any{}
			for _, k := range q.Select {
				if v, ok := o[k]; ok {
					s[k] = v
				}
			}
			for k, v := range o {
				if k == "MetadataId" || strings.HasPrefix(k, "@") || isExpanded(k) {
					s[k] = v
				}
			}
			o = s
		}
		out = append(out, o)
		if q != nil && q.Top >= 0 && len(out) >= q.Top {
			break
		}
	}
	return out, nil
}

func isExpanded(k string) bool {
	switch k {
	case "Attributes", "Keys", "OptionSet", "OneToManyRelationships", "ManyToOneRelationships", "ManyToManyRelationships":
		return true
	}
	return false
}

func evalMem(o map[string]any, e odata.Expr) (bool, error) {
	switch x := e.(type) {
	case odata.Binary:
		switch x.Op {
		case "and", "or":
			l, err := evalMem(o, x.L)
			if err != nil {
				return false, err
			}
			r, err := evalMem(o, x.R)
			if err != nil {
				return false, err
			}
			if x.Op == "and" {
				return l && r, nil
			}
			return l || r, nil
		}
		p, ok := x.L.(odata.Path)
		lit, ok2 := x.R.(odata.Literal)
		if !ok || !ok2 {
			return false, fmt.Errorf("only property op literal comparisons are supported on metadata")
		}
		v := fmt.Sprint(memValue(o, p.Segments))
		want := lit.Text
		if lit.Kind == odata.LitNull {
			want = "<nil>"
		}
		cmp := strings.Compare(strings.ToLower(v), strings.ToLower(want))
		switch x.Op {
		case "eq":
			return cmp == 0, nil
		case "ne":
			return cmp != 0, nil
		case "gt":
			return cmp > 0, nil
		case "ge":
			return cmp >= 0, nil
		case "lt":
			return cmp < 0, nil
		case "le":
			return cmp <= 0, nil
		}
	case odata.Not:
		v, err := evalMem(o, x.X)
		return !v, err
	case odata.Call:
		p, ok := x.Args[0].(odata.Path)
		var lit odata.Literal
		if len(x.Args) > 1 {
			lit, _ = x.Args[1].(odata.Literal)
		}
		if !ok {
			return false, fmt.Errorf("%s needs a property", x.Name)
		}
		v := strings.ToLower(fmt.Sprint(memValue(o, p.Segments)))
		s := strings.ToLower(lit.Text)
		switch x.Name {
		case "contains":
			return strings.Contains(v, s), nil
		case "startswith":
			return strings.HasPrefix(v, s), nil
		case "endswith":
			return strings.HasSuffix(v, s), nil
		}
	}
	return false, fmt.Errorf("the filter is not supported on metadata")
}

func memValue(o map[string]any, path []string) any {
	var cur any = o
	for _, s := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[s]
	}
	return cur
}
