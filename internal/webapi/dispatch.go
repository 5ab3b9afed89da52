package webapi

import (
	"context"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/suggest"
)

// nameAndArgs splits "accounts(key)" into "accounts" and "key" (has reports
// whether parentheses were present).
func nameAndArgs(seg string) (name, args string, has bool) {
	i := strings.IndexByte(seg, '(')
	if i < 0 {
		return seg, "", false
	}
	if !strings.HasSuffix(seg, ")") {
		return seg, "", false
	}
	return seg[:i], seg[i+1 : len(seg)-1], true
}

func (h *Handler) dispatch(w http.ResponseWriter, rq *req) {
	r := rq.r
	if len(rq.segs) == 0 {
		if r.Method != http.MethodGet {
			h.fail(w, rq, methodNotAllowed(r))
			return
		}
		h.serviceDocument(w, rq)
		return
	}
	first := rq.segs[0]
	switch first {
	case "$metadata":
		h.metadata(w, rq)
		return
	case "$batch":
		if r.Method != http.MethodPost {
			h.fail(w, rq, methodNotAllowed(r))
			return
		}
		h.batch(w, rq)
		return
	}
	name, args, has := nameAndArgs(first)
	if name == "EntityDefinitions" || name == "RelationshipDefinitions" {
		if err := h.needCustomization(rq, metadataPrivilege(r.Method, name, len(rq.segs))); err != nil {
			h.fail(w, rq, err)
			return
		}
	}
	if name == "EntityDefinitions" {
		h.entityDefinitions(w, rq, args, has)
		return
	}
	if name == "RelationshipDefinitions" {
		h.relationshipDefinitions(w, rq, args, has)
		return
	}
	if t, ok := h.rec.TableBySet(name); ok {
		h.entity(w, rq, t, args, has)
		return
	}
	a, ok, err := h.lookupAction(rq, name, func(b string) bool { return b == "" })
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if ok {
		if len(rq.segs) > 1 {
			h.fail(w, rq, notSegment(rq.segs[1]))
			return
		}
		h.invoke(w, rq, a, nil, "", args)
		return
	}
	e := notSegment(name)
	if set := h.suggestSet(name); set != "" {
		e.Message += " Did you mean '" + set + "'?"
	}
	h.fail(w, rq, e)
}

// suggestSet names the entity set a mistyped first segment most likely
// meant: the set of a table named so (account for accounts), or a set name a
// couple of edits away; "" when none is close.
func (h *Handler) suggestSet(name string) string {
	var sets []string
	for _, t := range h.rec.Tables() {
		if strings.EqualFold(t.Name, name) {
			return t.SetName
		}
		sets = append(sets, t.SetName)
	}
	return suggest.Closest(name, sets)
}

// entity serves everything under an entity set.
func (h *Handler) entity(w http.ResponseWriter, rq *req, t *records.Table, keyText string, hasKey bool) {
	r := rq.r
	rest := rq.segs[1:]
	if !hasKey {
		switch {
		case len(rest) == 0:
			switch r.Method {
			case http.MethodGet:
				h.query(w, rq, t)
			case http.MethodPost:
				h.create(w, rq, t)
			default:
				h.fail(w, rq, methodNotAllowed(r))
			}
		case len(rest) == 1 && rest[0] == "$count" && r.Method == http.MethodGet:
			h.count(w, rq, t, nil)
		case len(rest) == 1 && strings.HasPrefix(rest[0], "Microsoft.Dynamics.CRM."):
			an, args, _ := nameAndArgs(strings.TrimPrefix(rest[0], "Microsoft.Dynamics.CRM."))
			a, ok, err := h.lookupAction(rq, an, func(b string) bool { return b == t.Name+"[]" || b == "[]" })
			if err != nil {
				h.fail(w, rq, err)
				return
			}
			if !ok {
				h.fail(w, rq, notSegment(rest[0]))
				return
			}
			h.invoke(w, rq, a, t, "", args)
		default:
			h.fail(w, rq, notSegment(rest[0]))
		}
		return
	}
	key, err := odata.ParseKey(keyText)
	if err != nil {
		h.fail(w, rq, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Bad key segment %q: %v", keyText, err))
		return
	}
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			h.retrieve(w, rq, t, key, keyText)
		case http.MethodPatch:
			h.upsert(w, rq, t, key, keyText)
		case http.MethodDelete:
			h.remove(w, rq, t, key)
		default:
			h.fail(w, rq, methodNotAllowed(r))
		}
		return
	}
	seg := rest[0]
	if strings.HasPrefix(seg, "Microsoft.Dynamics.CRM.") {
		an, args, _ := nameAndArgs(strings.TrimPrefix(seg, "Microsoft.Dynamics.CRM."))
		a, ok, err := h.lookupAction(rq, an, func(b string) bool { return b == t.Name || b == "*" })
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		if !ok || len(rest) > 1 {
			h.fail(w, rq, notSegment(seg))
			return
		}
		id, err := h.resolveKeyRead(rq, t, key)
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		h.invoke(w, rq, a, t, id, args)
		return
	}
	navName, navKey, navHasKey := nameAndArgs(seg)
	if c, ok := t.Column(seg); ok && len(rest) == 1 && !c.Type.IsLookup() {
		h.property(w, rq, t, key, c)
		return
	}
	if c, ok := lookupByValueName(t, seg); ok && len(rest) == 1 && r.Method == http.MethodGet {
		h.property(w, rq, t, key, c)
		return
	}
	if m, ok := h.findManyToMany(t, navName); ok && (len(rest) == 1 || len(rest) == 2 && rest[1] == "$ref") {
		h.association(w, rq, t, key, m, navKey, navHasKey, len(rest) == 2)
		return
	}
	if nv, ok := findNav(h.rec.All(), t, navName); ok {
		switch {
		case len(rest) == 1 && !navHasKey && r.Method == http.MethodGet:
			h.related(w, rq, t, key, nv)
			return
		case len(rest) == 2 && rest[1] == "$count" && nv.Collection && !navHasKey && r.Method == http.MethodGet:
			h.relatedCount(w, rq, t, key, nv)
			return
		case len(rest) == 2 && rest[1] == "$ref":
			h.ref(w, rq, t, key, nv, navKey, navHasKey)
			return
		}
	}
	h.fail(w, rq, notSegment(seg))
}

func lookupByValueName(t *records.Table, s string) (*records.Column, bool) {
	if strings.HasPrefix(s, "_") && strings.HasSuffix(s, "_value") && len(s) > 7 {
		c, ok := t.Column(s[1 : len(s)-6])
		if ok && c.Type.IsLookup() {
			return c, true
		}
	}
	return nil, false
}

func findNav(all map[string]*records.Table, t *records.Table, name string) (records.Nav, bool) {
	for _, n := range t.Navs(all) {
		if strings.EqualFold(n.Name, name) {
			return n, true
		}
	}
	return records.Nav{}, false
}

// write runs fn in the request's changeset transaction, or a new one.
func (h *Handler) write(rq *req, fn func(tx store.Tx) error) error {
	if tx := txFrom(rq.r.Context()); tx != nil {
		return fn(tx)
	}
	return h.rec.Store().Tx(rq.r.Context(), fn)
}

// read runs fn in the changeset transaction, or a read snapshot.
func (h *Handler) read(rq *req, fn func(q store.Querier) error) error {
	if tx := txFrom(rq.r.Context()); tx != nil {
		return fn(tx)
	}
	return h.rec.Store().Read(rq.r.Context(), fn)
}

// readOne is read for fn that reads with one statement: outside a
// changeset that statement runs by itself, without a transaction around
// it (see store.ReadOne; fn is run again in a transaction should it run a
// second statement after all).
func (h *Handler) readOne(rq *req, fn func(q store.Querier) error) error {
	if tx := txFrom(rq.r.Context()); tx != nil {
		return fn(tx)
	}
	return store.ReadOne(rq.r.Context(), h.rec.Store(), fn)
}

type txKey struct{}

func txFrom(ctx context.Context) store.Tx {
	tx, _ := ctx.Value(txKey{}).(store.Tx)
	return tx
}

// resolveKey returns the primary id a key segment names.
func (h *Handler) resolveKey(ctx context.Context, q store.Querier, t *records.Table, k odata.Key) (string, error) {
	if k.ID != "" {
		return k.ID, nil
	}
	vals, err := keyValues(t, k)
	if err != nil {
		return "", err
	}
	return h.rec.FindByKey(ctx, q, t, vals)
}

// keyValues are the column values of an alternate key segment.
func keyValues(t *records.Table, k odata.Key) (map[string]any, error) {
	vals := map[string]any{}
	for n, lit := range k.Values {
		c, ok := t.Column(n)
		if !ok {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "'%s' is not an attribute of %s.", n, t.Name)
		}
		v, err := literalValue(c, lit)
		if err != nil {
			return nil, err
		}
		vals[n] = v
	}
	return vals, nil
}

// existing returns the id of the row a key names, which must exist.
func (h *Handler) existing(ctx context.Context, q store.Querier, t *records.Table, k odata.Key) (string, error) {
	id, err := h.resolveKey(ctx, q, t, k)
	if err != nil {
		return "", err
	}
	_, err = h.rec.Get(ctx, q, t, id)
	return id, err
}

func (h *Handler) resolveKeyRead(rq *req, t *records.Table, k odata.Key) (string, error) {
	var id string
	err := h.read(rq, func(q store.Querier) error {
		var err error
		id, err = h.resolveKey(rq.r.Context(), q, t, k)
		if err == nil && k.ID != "" {
			_, err = h.getRow(rq.r.Context(), q, rq, t, id)
		}
		return err
	})
	return id, err
}

// literalValue turns a key literal into the JSON-decoded form Convert takes.
func literalValue(c *records.Column, lit odata.Literal) (any, error) {
	switch lit.Kind {
	case odata.LitString, odata.LitGUID, odata.LitDateTime, odata.LitDate:
		if c.Type.IsLookup() {
			if !records.IsGUID(lit.Text) {
				return nil, records.Invalid("a lookup key value must be a GUID")
			}
			return records.Ref{Table: c.Targets[0], ID: strings.ToLower(lit.Text)}, nil
		}
		return lit.Text, nil
	case odata.LitInt, odata.LitFloat:
		return jsonNumber(lit.Text), nil
	case odata.LitBool:
		return lit.Text == "true", nil
	}
	return nil, records.Invalid("bad key value")
}
