package webapi

import (
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// cascadeMetadata is a CascadeConfiguration object.
func cascadeMetadata(c records.Cascade) map[string]any {
	return map[string]any{"Assign": c.Assign, "Delete": c.Delete, "Merge": c.Merge, "Reparent": c.Reparent, "Share": c.Share,
		"Unshare": c.Unshare, "Archive": records.CascadeNone, "RollupView": records.CascadeNone}
}

// oneToManyMetadata is a OneToManyRelationshipMetadata object.
func oneToManyMetadata(r records.OneToMany) map[string]any {
	return map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", "MetadataId": metadataID(r.Referencing.Name, r.Column.Name, r.Link.Target),
		"SchemaName": r.Link.Name, "RelationshipType": "OneToManyRelationship", "IsCustomRelationship": r.Custom(), "IsHierarchical": r.Column.Hierarchical,
		"ReferencedEntity": r.Referenced.Name, "ReferencedAttribute": r.Referenced.PrimaryID(), "ReferencingEntity": r.Referencing.Name,
		"ReferencingAttribute": r.Column.Name, "ReferencedEntityNavigationPropertyName": r.Link.Name,
		"ReferencingEntityNavigationPropertyName": r.Link.Nav, "CascadeConfiguration": cascadeMetadata(r.Link.Cascade),
		"IsValidForAdvancedFind": true, "SecurityTypes": "None",
	}
}

// manyToManyMetadata is a ManyToManyRelationshipMetadata object.
func manyToManyMetadata(it *records.Table) map[string]any {
	in := it.Intersect
	return map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata", "MetadataId": metadataID("n:n", in.Name),
		"SchemaName": in.Name, "RelationshipType": "ManyToManyRelationship", "IsCustomRelationship": it.Custom,
		"Entity1LogicalName": in.Entity1, "Entity1IntersectAttribute": in.Attribute1, "Entity1NavigationPropertyName": in.Nav1,
		"Entity2LogicalName": in.Entity2, "Entity2IntersectAttribute": in.Attribute2, "Entity2NavigationPropertyName": in.Nav2,
		"IntersectEntityName": it.Name, "IsValidForAdvancedFind": true, "SecurityTypes": "None",
	}
}

// relationshipsOf lists the relationship metadata of t: its one-to-many
// relationships (t referenced), many-to-one ones (t referencing) or
// many-to-many ones, by seg.
func (h *Handler) relationshipsOf(t *records.Table, seg string) []map[string]any {
	ones, many := h.rec.Relationships()
	var out []map[string]any
	switch seg {
	case "OneToManyRelationships", "ManyToOneRelationships":
		for _, r := range ones {
			if seg == "OneToManyRelationships" && r.Referenced.Name == t.Name || seg == "ManyToOneRelationships" && r.Referencing.Name == t.Name {
				out = append(out, oneToManyMetadata(r))
			}
		}
	case "ManyToManyRelationships":
		for _, it := range many {
			if it.Intersect.Entity1 == t.Name || it.Intersect.Entity2 == t.Name {
				out = append(out, manyToManyMetadata(it))
			}
		}
	}
	return out
}

// relationshipDefinitions serves RelationshipDefinitions: list (with an
// optional cast to one kind), read by SchemaName or MetadataId, create and
// delete.
func (h *Handler) relationshipDefinitions(w http.ResponseWriter, rq *req, keyText string, hasKey bool) {
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	cast := ""
	if len(rq.segs) == 2 {
		cast = strings.TrimPrefix(rq.segs[1], "Microsoft.Dynamics.CRM.")
		if cast != "OneToManyRelationshipMetadata" && cast != "ManyToManyRelationshipMetadata" {
			h.fail(w, rq, notSegment(rq.segs[1]))
			return
		}
	} else if len(rq.segs) > 2 {
		h.fail(w, rq, notSegment(rq.segs[2]))
		return
	}
	ctxBase := rq.base + "$metadata#RelationshipDefinitions"
	if !hasKey {
		switch rq.r.Method {
		case http.MethodGet:
			out, err := memQuery(h.allRelationships(cast), q)
			if err != nil {
				h.fail(w, rq, err)
				return
			}
			ctx := ctxBase
			if cast != "" {
				ctx += "/Microsoft.Dynamics.CRM." + cast
			}
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx + selectSuffix(q), "value": out})
		case http.MethodPost:
			if cast != "" {
				h.fail(w, rq, methodNotAllowed(rq.r))
				return
			}
			h.defineRelationship(w, rq)
		default:
			h.fail(w, rq, methodNotAllowed(rq.r))
		}
		return
	}
	rel, err := h.relationshipByKey(keyText, cast)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	switch rq.r.Method {
	case http.MethodGet:
		out, err := memQuery([]map[string]any{rel}, &odata.Query{Select: q.Select, Top: -1})
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		out[0]["@odata.context"] = ctxBase + selectSuffix(q) + "/$entity"
		writeJSON(w, http.StatusOK, out[0])
	case http.MethodDelete:
		if err := h.rec.DeleteRelationship(rq.r.Context(), rel["SchemaName"].(string)); err != nil {
			h.fail(w, rq, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.fail(w, rq, methodNotAllowed(rq.r))
	}
}

func (h *Handler) allRelationships(cast string) []map[string]any {
	ones, many := h.rec.Relationships()
	var out []map[string]any
	if cast != "ManyToManyRelationshipMetadata" {
		for _, r := range ones {
			out = append(out, oneToManyMetadata(r))
		}
	}
	if cast != "OneToManyRelationshipMetadata" {
		for _, it := range many {
			out = append(out, manyToManyMetadata(it))
		}
	}
	return out
}

// relationshipByKey finds a relationship by SchemaName='x' or MetadataId.
func (h *Handler) relationshipByKey(keyText, cast string) (map[string]any, error) {
	k, err := odata.ParseKey(keyText)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	for _, r := range h.allRelationships(cast) {
		if lit, ok := k.Values["SchemaName"]; ok && strings.EqualFold(lit.Text, r["SchemaName"].(string)) || k.ID != "" && k.ID == r["MetadataId"] {
			return r, nil
		}
	}
	return nil, records.Errorf(http.StatusNotFound, records.CodeNotFound, "Could not find a relationship with the key %s.", keyText)
}

// cascadeFromMetadata reads a CascadeConfiguration object.
func cascadeFromMetadata(v any) (*records.Cascade, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	get := func(k string) string { s, _ := m[k].(string); return s }
	c := records.Cascade{Assign: get("Assign"), Delete: get("Delete"), Merge: get("Merge"), Reparent: get("Reparent"), Share: get("Share"), Unshare: get("Unshare")}
	return &c, nil
}

// defineRelationship serves POST RelationshipDefinitions: a
// OneToManyRelationshipMetadata (with its Lookup attribute) adds the lookup
// to the referencing table; a ManyToManyRelationshipMetadata creates the
// intersect table.
func (h *Handler) defineRelationship(w http.ResponseWriter, rq *req) {
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	typ, _ := body["@odata.type"].(string)
	typ = strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM.")
	str := func(k string) string { s, _ := body[k].(string); return s }
	name := str("SchemaName")
	if name == "" {
		h.fail(w, rq, records.Invalid("A relationship needs a SchemaName."))
		return
	}
	ctx := rq.r.Context()
	switch typ {
	case "ManyToManyRelationshipMetadata":
		e1, e2 := strings.ToLower(str("Entity1LogicalName")), strings.ToLower(str("Entity2LogicalName"))
		for _, e := range []string{e1, e2} {
			if _, ok := h.rec.Table(e); !ok {
				h.fail(w, rq, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Could not find an entity with the logical name %q.", e))
				return
			}
		}
		in := records.Intersect{Name: name, Entity1: e1, Entity2: e2, Nav1: str("Entity1NavigationPropertyName"), Nav2: str("Entity2NavigationPropertyName")}
		if _, err := h.rec.DefineManyToMany(ctx, in, strings.ToLower(str("IntersectEntityName"))); err != nil {
			h.fail(w, rq, err)
			return
		}
		w.Header().Set("OData-EntityId", rq.base+"RelationshipDefinitions("+metadataID("n:n", name)+")")
		w.WriteHeader(http.StatusNoContent)
	case "OneToManyRelationshipMetadata":
		referenced, referencing := strings.ToLower(str("ReferencedEntity")), strings.ToLower(str("ReferencingEntity"))
		if _, ok := h.rec.Table(referenced); !ok {
			h.fail(w, rq, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Could not find an entity with the logical name %q.", referenced))
			return
		}
		lookup, ok := body["Lookup"].(map[string]any)
		if !ok {
			h.fail(w, rq, records.Invalid("A one-to-many relationship needs its Lookup (LookupAttributeMetadata)."))
			return
		}
		c, err := columnFromMetadata(lookup)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		cascade, _ := cascadeFromMetadata(body["CascadeConfiguration"])
		c.Type, c.Targets, c.Relationship, c.Cascade = records.Lookup, []string{referenced}, name, cascade
		if nav := str("ReferencingEntityNavigationPropertyName"); nav != "" {
			l := records.Link{Target: referenced, Name: name, Nav: nav}
			if cascade != nil {
				l.Cascade = *cascade
			}
			c.Links = []records.Link{l}
		}
		c.Hierarchical, _ = body["IsHierarchical"].(bool)
		if _, err := h.rec.AddColumn(ctx, referencing, c); err != nil {
			h.fail(w, rq, err)
			return
		}
		w.Header().Set("OData-EntityId", rq.base+"RelationshipDefinitions("+metadataID(referencing, c.Name, referenced)+")")
		w.WriteHeader(http.StatusNoContent)
	default:
		h.fail(w, rq, records.Invalid("The body's @odata.type must be Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata or Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata."))
	}
}
