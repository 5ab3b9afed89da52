package webapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"junction/internal/odata"
	"junction/internal/records"
)

// entityQuery is the EntityQueryExpression RetrieveMetadataChanges takes.
type entityQuery struct {
	Criteria struct {
		FilterOperator string
		Conditions     []metadataCondition
	}
	Properties struct {
		AllProperties bool
		PropertyNames []string
	}
	AttributeQuery *struct {
		Properties struct {
			AllProperties bool
			PropertyNames []string
		}
	}
}

type metadataCondition struct {
	PropertyName      string
	ConditionOperator string
	Value             struct {
		Type  string
		Value any
	}
}

func (h *Handler) registerMetadataChanges() {
	h.Register(&Action{Name: "RetrieveMetadataChanges", Function: true, Response: "RetrieveMetadataChangesResponse",
		Params: []odata.Param{{Name: "Query", Type: "mscrm.EntityQueryExpression"}, {Name: "DeletedMetadataFilters", Type: "Edm.String"},
			{Name: "ClientVersionStamp", Type: "Edm.String"}, {Name: "AppModuleId", Type: "Edm.Guid"}},
		Returns: []odata.Param{{Name: "EntityMetadata", Type: "Collection(mscrm.EntityMetadata)"}, {Name: "ServerVersionStamp", Type: "Edm.String"},
			{Name: "DeletedMetadata", Type: "mscrm.DeletedMetadataCollection"}},
		Types: []odata.ComplexType{{Name: "DeletedMetadataCollection", Props: []odata.Param{{Name: "Count", Type: "Edm.Int32"}, {Name: "IsReadOnly", Type: "Edm.Boolean"},
			{Name: "Keys", Type: "Collection(Edm.String)"}, {Name: "Values", Type: "Collection(Edm.String)"}}}},
		Run: h.retrieveMetadataChanges})
}

// retrieveMetadataChanges answers RetrieveMetadataChanges(Query=@p1,
// ClientVersionStamp=@p2): the table definitions the query selects, with the
// properties it names, and a ServerVersionStamp ("<n>!<date>"). Given the
// stamp of an earlier answer, only the tables whose definitions changed since
// come back. Junction never deletes tables, so DeletedMetadata is empty.
func (h *Handler) retrieveMetadataChanges(c *Call) (map[string]any, error) {
	var q entityQuery
	if raw, ok := c.Params["Query"]; ok && raw != nil {
		data, _ := json.Marshal(raw)
		if err := json.Unmarshal(data, &q); err != nil {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Query is not an EntityQueryExpression: %v", err)
		}
	}
	stamps, err := c.Rec.TableStamps(c.Ctx, c.Q)
	if err != nil {
		return nil, err
	}
	var since int64 = -1
	if s := stringParam(c.Params, "ClientVersionStamp"); s != "" {
		n, _, _ := strings.Cut(s, "!")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < 0 {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "ClientVersionStamp %q is not a stamp from an earlier answer.", s)
		}
		since = v
	}
	var server int64
	for _, at := range stamps {
		server = max(server, at)
	}
	tables := h.rec.Tables()
	list := []map[string]any{}
	for _, t := range tables {
		if since >= 0 && stamps[t.Name] <= since {
			continue
		}
		em := entityMetadata(t)
		ok, err := metadataMatches(em, q.Criteria.FilterOperator, q.Criteria.Conditions)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if q.AttributeQuery != nil {
			var attrs []map[string]any
			for i := range t.Columns {
				attrs = append(attrs, pickProperties(attributeMetadata(t, &t.Columns[i], false), q.AttributeQuery.Properties.AllProperties, q.AttributeQuery.Properties.PropertyNames))
			}
			em["Attributes"] = attrs
		}
		names := q.Properties.PropertyNames
		if q.AttributeQuery != nil && !q.Properties.AllProperties {
			names = append(names, "Attributes")
		}
		all := q.Properties.AllProperties || len(q.Properties.PropertyNames) == 0 && q.AttributeQuery == nil
		list = append(list, pickProperties(em, all, names))
	}
	return map[string]any{
		"EntityMetadata":     list,
		"ServerVersionStamp": strconv.FormatInt(server, 10) + "!" + time.UnixMicro(server).UTC().Format("01/02/2006 15:04:05"),
		"DeletedMetadata":    map[string]any{"Count": 0, "IsReadOnly": false, "Keys": []string{}, "Values": []string{}},
	}, nil
}

// pickProperties keeps the named properties (and MetadataId, which every
// metadata item carries); all keeps everything.
func pickProperties(m map[string]any, all bool, names []string) map[string]any {
	if all {
		return m
	}
	out := map[string]any{"MetadataId": m["MetadataId"]}
	for _, n := range names {
		if v, ok := m[n]; ok {
			out[n] = v
		}
	}
	return out
}

// metadataMatches evaluates MetadataConditionExpressions (Equals, NotEquals,
// In, NotIn, GreaterThan, LessThan) joined by And or Or.
func metadataMatches(m map[string]any, op string, conds []metadataCondition) (bool, error) {
	or := strings.EqualFold(op, "Or")
	if len(conds) == 0 {
		return true, nil
	}
	for _, c := range conds {
		v, ok := m[c.PropertyName]
		if !ok {
			return false, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%q is not a property of EntityMetadata.", c.PropertyName)
		}
		val := c.Value.Value
		if s, isStr := val.(string); isStr && strings.HasSuffix(c.Value.Type, "[]") {
			var arr []any
			if err := json.Unmarshal([]byte(s), &arr); err == nil {
				val = arr
			}
		}
		var hit bool
		switch strings.ToLower(c.ConditionOperator) {
		case "equals":
			hit = sameValue(v, val)
		case "notequals":
			hit = !sameValue(v, val)
		case "in", "notin":
			arr, _ := val.([]any)
			for _, x := range arr {
				hit = hit || sameValue(v, x)
			}
			if strings.EqualFold(c.ConditionOperator, "NotIn") {
				hit = !hit
			}
		default:
			return false, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The metadata condition operator %q is not supported (Equals, NotEquals, In, NotIn).", c.ConditionOperator)
		}
		if hit && or {
			return true, nil
		}
		if !hit && !or {
			return false, nil
		}
	}
	return !or, nil
}

func sameValue(a, b any) bool {
	if s, ok := b.(string); ok {
		if bv, ok := a.(bool); ok {
			return strings.EqualFold(s, strconv.FormatBool(bv))
		}
		as, _ := a.(string)
		return strings.EqualFold(as, s)
	}
	return a == b
}
