package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"junction/internal/jsonvalue"
	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
)

func jsonNumber(s string) json.Number { return json.Number(s) }

// readBody decodes a JSON object body with numbers kept exact, within the
// handler's JSON limits (see Options.JSON).
func readBody(r *http.Request) (map[string]any, error) {
	data, err := server.ReadBody(r)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, tooLarge(mb.Limit)
		}
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadPayload, "cannot read the request body: %v", err)
	}
	if r.Header.Get("Content-Type") == "" && len(bytes.TrimSpace(data)) > 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadPayload,
			"A missing or empty content type header was found when trying to read a message. The content type header is required: send Content-Type: application/json.")
	}
	lim, _ := r.Context().Value(jsonLimitsKey{}).(jsonvalue.Limits)
	return decodeObject(data, lim)
}

// tooLarge is Dataverse's answer to a body over the limit.
func tooLarge(limit int64) *records.Error {
	return records.Errorf(http.StatusRequestEntityTooLarge, records.CodeBadPayload, "The request body is larger than %d bytes.", limit)
}

type jsonLimitsKey struct{}

// jsonKindOf names a decoded JSON value's kind with its article.
func jsonKindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

func decodeObject(data []byte, lim jsonvalue.Limits) (map[string]any, error) {
	v, err := jsonvalue.Decode(data, jsonvalue.Options{Limits: lim})
	if err != nil {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadPayload, "Error identified in Payload provided by the user: %v", err)
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeBadPayload, "Error identified in Payload provided by the user: the body must be a JSON object, not %s", jsonKindOf(v))
	}
	return body, nil
}

type nested struct {
	nav   records.Nav
	items []map[string]any // deep insert
	binds []records.Ref    // existing rows to associate ("nav@odata.bind": [...])
}

// toRow turns an entity body into row values: columns are converted,
// "nav@odata.bind" become lookups, nested objects are created (deep insert)
// and nested collections are returned for the caller to create afterwards.
func (h *Handler) toRow(ctx context.Context, q store.Querier, rq *req, t *records.Table, body map[string]any) (records.Row, []nested, error) {
	row := records.Row{}
	var later []nested
	all := h.rec.All()
	for k, v := range body {
		switch {
		case strings.HasPrefix(k, "@"):
			continue
		case strings.HasSuffix(k, "@odata.bind"):
			navName := strings.TrimSuffix(k, "@odata.bind")
			nv, ok := findNav(all, t, navName)
			if ok && nv.Collection {
				arr, isArr := v.([]any)
				if !isArr {
					return nil, nil, records.Invalid("%s must be an array of entity URLs", k)
				}
				n := nested{nav: nv}
				for _, it := range arr {
					s, _ := it.(string)
					ref, err := h.resolveBind(ctx, q, rq, s)
					if err != nil {
						return nil, nil, err
					}
					if ref.Table != nv.Other {
						return nil, nil, records.Invalid("%s must reference %s records, not %s", k, nv.Other, ref.Table)
					}
					n.binds = append(n.binds, ref)
				}
				later = append(later, n)
				continue
			}
			if !ok {
				return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload.", navName)
			}
			if v == nil {
				row[nv.Column.Name] = nil
				continue
			}
			s, ok := v.(string)
			if !ok {
				return nil, nil, records.Invalid("%s must be an entity URL such as /contacts(<id>)", k)
			}
			ref, err := h.resolveBind(ctx, q, rq, s)
			if err != nil {
				return nil, nil, err
			}
			if ref.Table != nv.Other {
				return nil, nil, records.Invalid("%s must reference a %s, not a %s.", k, nv.Other, ref.Table)
			}
			row[nv.Column.Name] = ref
		case strings.Contains(k, "@"):
			continue // instance annotations are ignored
		default:
			if c, ok := t.Column(k); ok && !c.Type.IsLookup() {
				cv, err := records.Convert(t, c, v)
				if err != nil {
					return nil, nil, err
				}
				row[k] = cv
				continue
			}
			nv, ok := findNav(all, t, k)
			if !ok {
				if _, isLookup := t.Column(k); isLookup {
					return nil, nil, records.Invalid("%s is a lookup; set it with \"%s@odata.bind\".", k, k)
				}
				return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Invalid property '%s' was found in entity 'Microsoft.Dynamics.CRM.%s'.", k, t.Name)
			}
			other := all[nv.Other]
			if nv.Collection {
				arr, ok := v.([]any)
				if !ok {
					return nil, nil, records.Invalid("%s must be an array of %s records", k, other.Name)
				}
				n := nested{nav: nv}
				for _, it := range arr {
					obj, ok := it.(map[string]any)
					if !ok {
						return nil, nil, records.Invalid("%s must be an array of objects", k)
					}
					n.items = append(n.items, obj)
				}
				later = append(later, n)
				continue
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, nil, records.Invalid("%s must be an object (deep insert) or bound with %s@odata.bind", k, k)
			}
			tx, ok := q.(store.Tx)
			if !ok { // prepareCreate reads without a transaction, and lets no related record through
				return nil, nil, fmt.Errorf("a deep insert into %s outside a write transaction", k)
			}
			child, err := h.createIn(ctx, tx, rq, other, obj)
			if err != nil {
				return nil, nil, err
			}
			row[nv.Column.Name] = records.Ref{Table: other.Name, ID: child[other.PrimaryID()].(string)}
		}
	}
	return row, later, nil
}

// prepareCreate prepares the create of body before its write transaction
// (see records.PrepareCreate), when the create is the request's only write:
// outside a changeset, with no related records to create or associate. It
// returns nil when the create is to be made whole in its transaction
// (createIn).
func (h *Handler) prepareCreate(rq *req, t *records.Table, body map[string]any) (*records.Creation, error) {
	if txFrom(rq.r.Context()) != nil || nests(body) {
		return nil, nil
	}
	ctx := rq.r.Context()
	var p *records.Creation
	err := store.ReadOne(ctx, h.rec.Store(), func(q store.Querier) error {
		row, _, err := h.toRow(ctx, q, rq, t, body)
		if err == nil {
			p, err = h.rec.PrepareCreate(ctx, q, t, row, h.caller(rq))
		}
		return err
	})
	return p, err
}

// nests reports whether body holds a related record or a collection: a
// deep insert, or records to associate with the new one.
func nests(body map[string]any) bool {
	for _, v := range body {
		switch v.(type) {
		case map[string]any, []any:
			return true
		}
	}
	return false
}

// createIn creates a record and its nested records in tx.
func (h *Handler) createIn(ctx context.Context, tx store.Tx, rq *req, t *records.Table, body map[string]any) (records.Row, error) {
	row, later, err := h.toRow(ctx, tx, rq, t, body)
	if err != nil {
		return nil, err
	}
	created, err := h.rec.Create(ctx, tx, t, row, h.caller(rq))
	if err != nil {
		return nil, err
	}
	id := created[t.PrimaryID()].(string)
	for _, n := range later {
		other := h.rec.All()[n.nav.Other]
		for _, ref := range n.binds {
			if _, err := h.rec.Update(ctx, tx, other, ref.ID, records.Row{n.nav.Column.Name: records.Ref{Table: t.Name, ID: id}}, "", h.caller(rq)); err != nil {
				return nil, err
			}
		}
		for _, it := range n.items {
			child, _, err := h.toRow(ctx, tx, rq, other, it)
			if err != nil {
				return nil, err
			}
			child[n.nav.Column.Name] = records.Ref{Table: t.Name, ID: id}
			if _, err := h.rec.Create(ctx, tx, other, child, h.caller(rq)); err != nil {
				return nil, err
			}
		}
	}
	return created, nil
}

func (h *Handler) caller(rq *req) records.Caller {
	return records.Caller{UserID: rq.user, CorrelationID: rq.corr, Grants: rq.grants}
}

// resolveBind turns "/contacts(<id>)", "contacts(key='x')", an absolute URL
// or a batch "$n" into a reference.
func (h *Handler) resolveBind(ctx context.Context, q store.Querier, rq *req, s string) (records.Ref, error) {
	if strings.HasPrefix(s, "$") && rq.batchID != nil {
		if u, ok := rq.batchID[strings.TrimPrefix(s, "$")]; ok {
			s = u
		}
	}
	if i := strings.Index(s, Prefix); i >= 0 {
		s = s[i+len(Prefix):]
		if _, after, ok := strings.Cut(s, "/"); ok {
			s = after
		}
	}
	s = strings.TrimPrefix(s, "/")
	name, keyText, has := nameAndArgs(s)
	t, ok := h.rec.TableBySet(name)
	if !ok || !has {
		return records.Ref{}, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "The reference %q does not name a record such as /accounts(<id>).", s)
	}
	key, err := odata.ParseKey(keyText)
	if err != nil {
		return records.Ref{}, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Bad key segment %q: %v", keyText, err)
	}
	id, err := h.resolveKey(ctx, q, t, key)
	if err != nil {
		return records.Ref{}, err
	}
	return records.Ref{Table: t.Name, ID: id}, nil
}

func (h *Handler) entityURL(rq *req, t *records.Table, id string) string {
	return rq.base + t.SetName + "(" + id + ")"
}

func (h *Handler) create(w http.ResponseWriter, rq *req, t *records.Table) {
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	var q *odata.Query
	if rq.prefer.representation {
		if q, err = h.parseQuery(rq); err != nil {
			h.fail(w, rq, err)
			return
		}
	}
	p, err := h.prepareCreate(rq, t, body)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	var created records.Row
	if p != nil {
		created, err = h.rec.WriteCreation(rq.r.Context(), p)
	} else {
		err = h.write(rq, func(tx store.Tx) error {
			var err error
			created, err = h.createIn(rq.r.Context(), tx, rq, t, body)
			return err
		})
	}
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	id := created[t.PrimaryID()].(string)
	loc := h.entityURL(rq, t, id)
	w.Header().Set("OData-EntityId", loc)
	if !rq.prefer.representation {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.writeEntity(w, rq, t, id, q, http.StatusCreated)
}

// writeEntity reads a row back and writes it with the request's options.
func (h *Handler) writeEntity(w http.ResponseWriter, rq *req, t *records.Table, id string, q *odata.Query, status int) {
	var out map[string]any
	var etag string
	err := h.read(rq, func(qr store.Querier) error {
		row, err := h.getColumns(rq.r.Context(), qr, rq, t, id, h.readColumns(t, q))
		if err != nil {
			return err
		}
		etag = row.ETag()
		objs, err := h.shape(rq.r.Context(), qr, rq, t, []records.Row{row}, q)
		if err != nil {
			return err
		}
		out = objs[0]
		return nil
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	out["@odata.context"] = rq.base + "$metadata#" + t.SetName + selectSuffix(q) + "/$entity"
	setETag(w, etag)
	if status == http.StatusCreated || rq.prefer.representation {
		w.Header().Set("Preference-Applied", "return=representation")
	}
	writeJSON(w, status, out)
}

// selectSuffix is the select list of a context URL: the selected
// properties, then each expansion with its own list, as Dataverse writes it
// ("$metadata#accounts(name,primarycontactid(fullname),Account_Tasks(subject))").
func selectSuffix(q *odata.Query) string {
	if q == nil || len(q.Select) == 0 && len(q.Expand) == 0 {
		return ""
	}
	return "(" + selectList(q) + ")"
}

func selectList(q *odata.Query) string {
	var b strings.Builder
	for i, s := range q.Select {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	for _, e := range q.Expand {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.Nav + "(")
		if e.Options != nil {
			b.WriteString(selectList(e.Options))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (h *Handler) retrieve(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, keyText string) {
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if q.Filter != nil || q.OrderBy != nil || q.Top >= 0 || q.Count {
		h.fail(w, rq, badRequest("$filter, $orderby, $top and $count apply to collections, not to a single record"))
		return
	}
	if key.ID != "" && len(q.Expand) == 0 && !rq.prefer.annotate(annFormatted) {
		h.retrieveValues(w, rq, t, key.ID, q)
		return
	}
	var out map[string]any
	var etag string
	err = h.read(rq, func(qr store.Querier) error {
		id, err := h.resolveKey(rq.r.Context(), qr, t, key)
		if err != nil {
			return err
		}
		row, err := h.getColumns(rq.r.Context(), qr, rq, t, id, h.readColumns(t, q))
		if err != nil {
			return err
		}
		etag = row.ETag()
		if len(q.Expand) == 0 && unchanged(rq.r, etag) {
			return errNotModified
		}
		objs, err := h.shape(rq.r.Context(), qr, rq, t, []records.Row{row}, q)
		if err != nil {
			return err
		}
		out = objs[0]
		return nil
	})
	if errors.Is(err, errNotModified) {
		writeNotModified(w, etag)
		return
	}
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	out["@odata.context"] = rq.base + "$metadata#" + t.SetName + selectSuffix(q) + "/$entity"
	setETag(w, etag)
	writeJSON(w, http.StatusOK, out)
}

var errNotModified = errors.New("not modified")

// unchanged reports whether the request's If-None-Match names etag: the
// caller's copy of the row is current.
func unchanged(r *http.Request, etag string) bool {
	inm := r.Header.Get("If-None-Match")
	return inm != "" && inm != "null" && inm == etag
}

// writeNotModified answers 304 for a row whose version is etag.
func writeNotModified(w http.ResponseWriter, etag string) {
	setETag(w, etag)
	w.WriteHeader(http.StatusNotModified)
}

// retrieveValues is retrieve for a read by id that expands nothing and
// asks for no formatted values (the names of the rows lookups point at):
// one statement (readOne), and the row's values written as a list
// answer's rows are (rowFields), without shape's maps. The checks, their
// order and the answer are retrieve's.
func (h *Handler) retrieveValues(w http.ResponseWriter, rq *req, t *records.Table, id string, q *odata.Query) {
	cols := h.readColumns(t, q)
	if cols == nil {
		cols = t.ColumnSet()
	}
	var vals []any
	err := h.readOne(rq, func(qr store.Querier) error {
		depth := int64(records.DepthGlobal)
		if rq.grants != nil {
			var err error
			if depth, err = rq.grants.Need(records.RightRead, t); err != nil {
				return err
			}
		}
		var err error
		if vals, err = h.rec.GetValues(rq.r.Context(), qr, t, id, cols); err != nil {
			return err
		}
		if rq.grants != nil && !rq.grants.ReachesAll(depth, t) {
			// a map of the row only for a privilege that depends on
			// who owns it
			return rq.grants.NeedRow(records.RightRead, t, cols.RowOf(vals))
		}
		return nil
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	// A $select of what t does not have fails after the read and the
	// If-None-Match check, as in shape.
	var etag string
	fields, ferr := fieldsFor(t, cols, q.Select, annotationsOf(rq.prefer))
	if ferr == nil {
		etag = fields.etag(vals)
	} else {
		etag = cols.RowOf(vals).ETag()
	}
	if unchanged(rq.r, etag) {
		writeNotModified(w, etag)
		return
	}
	if ferr != nil {
		h.fail(w, rq, ferr)
		return
	}
	setETag(w, etag)
	buf := jsonBuffers.Get().(*[]byte)
	b, ok := fields.appendEntity((*buf)[:0], rq.base, vals)
	*buf = append(b, '\n')
	writeJSONHeader(w, http.StatusOK)
	if ok { // as writeJSON, which writes nothing for what encoding/json refuses
		w.Write(*buf)
	}
	releaseJSON(buf)
}

// upsert is PATCH on a key: update when the row exists, create otherwise,
// constrained by If-Match / If-None-Match.
func (h *Handler) upsert(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, keyText string) {
	body, err := readBody(rq.r)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	var q *odata.Query
	if rq.prefer.representation {
		if q, err = h.parseQuery(rq); err != nil {
			h.fail(w, rq, err)
			return
		}
	}
	ifMatch := rq.r.Header.Get("If-Match")
	ifNone := rq.r.Header.Get("If-None-Match")
	var id string
	var created bool
	err = h.write(rq, func(tx store.Tx) error {
		var err error
		id, created, err = h.upsertIn(rq.r.Context(), tx, rq, t, key, body, ifMatch, ifNone)
		return err
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.Header().Set("OData-EntityId", rq.base+t.SetName+"("+keyText+")")
	if !rq.prefer.representation {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.writeEntity(w, rq, t, id, q, status)
}

func (h *Handler) upsertIn(ctx context.Context, tx store.Tx, rq *req, t *records.Table, key odata.Key, body map[string]any, ifMatch, ifNone string) (string, bool, error) {
	id, err := h.resolveKey(ctx, tx, t, key)
	exists := err == nil
	if exists && key.ID != "" {
		if _, gerr := h.rec.Get(ctx, tx, t, id); gerr != nil {
			exists = false
			var re *records.Error
			if !errors.As(gerr, &re) || re.Status != http.StatusNotFound {
				return "", false, gerr
			}
		}
	} else if err != nil {
		var re *records.Error
		if !errors.As(err, &re) || re.Status != http.StatusNotFound {
			return "", false, err
		}
	}
	if exists {
		if ifNone == "*" {
			return "", false, records.Errorf(http.StatusPreconditionFailed, records.CodeDuplicateKey, "A record with matching key values already exists.")
		}
		row, later, err := h.toRow(ctx, tx, rq, t, body)
		if err != nil {
			return "", false, err
		}
		if len(later) > 0 {
			return "", false, records.Invalid("collection-valued navigation properties cannot be set in an update")
		}
		_, err = h.rec.Update(ctx, tx, t, id, row, ifMatch, h.caller(rq))
		return id, false, err
	}
	if ifMatch != "" {
		if key.ID != "" {
			return "", false, records.NotFound(t.Name, key.ID)
		}
		return "", false, records.Errorf(http.StatusNotFound, records.CodeNotFound, "A record with the specified key values does not exist in %s entity", t.Name)
	}
	if key.ID != "" {
		body[t.PrimaryID()] = key.ID
	} else {
		for n, lit := range key.Values {
			c, _ := t.Column(n)
			v, err := literalValue(c, lit)
			if err != nil {
				return "", false, err
			}
			if ref, ok := v.(records.Ref); ok {
				other := h.rec.All()[ref.Table]
				body[c.NavName(ref.Table)+"@odata.bind"] = other.SetName + "(" + ref.ID + ")"
				continue
			}
			body[n] = v
		}
	}
	row, err := h.createIn(ctx, tx, rq, t, body)
	if err != nil {
		return "", false, err
	}
	return row[t.PrimaryID()].(string), true, nil
}

func (h *Handler) remove(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key) {
	err := h.write(rq, func(tx store.Tx) error {
		id, err := h.resolveKey(rq.r.Context(), tx, t, key)
		if err != nil {
			return err
		}
		return h.rec.Delete(rq.r.Context(), tx, t, id, rq.r.Header.Get("If-Match"), h.caller(rq))
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// property serves GET, PUT and DELETE of one column.
func (h *Handler) property(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, c *records.Column) {
	switch rq.r.Method {
	case http.MethodGet:
		var v any
		var id string
		err := h.read(rq, func(q store.Querier) error {
			var err error
			id, err = h.resolveKey(rq.r.Context(), q, t, key)
			if err != nil {
				return err
			}
			row, err := h.getColumns(rq.r.Context(), q, rq, t, id, columnsFor(t, c.Name))
			if err != nil {
				return err
			}
			v = jsonValue(row[c.Name])
			return nil
		})
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// The context of a single property names the record and the
		// property: $metadata#contacts(<id>)/telephone1.
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName + "(" + id + ")/" + propName(c), "value": v})
	case http.MethodPut, http.MethodDelete:
		if c.System || c.Type.IsLookup() && rq.r.Method == http.MethodPut {
			h.fail(w, rq, records.Invalid("%s cannot be set this way", c.Name))
			return
		}
		var val any
		if rq.r.Method == http.MethodPut {
			body, err := readBody(rq.r)
			if err != nil {
				h.fail(w, rq, err)
				return
			}
			raw, ok := body["value"]
			if !ok {
				h.fail(w, rq, records.Invalid("the body must be {\"value\": ...}"))
				return
			}
			if val, err = records.Convert(t, c, raw); err != nil {
				h.fail(w, rq, err)
				return
			}
		}
		err := h.write(rq, func(tx store.Tx) error {
			id, err := h.resolveKey(rq.r.Context(), tx, t, key)
			if err != nil {
				return err
			}
			_, err = h.rec.Update(rq.r.Context(), tx, t, id, records.Row{c.Name: val}, rq.r.Header.Get("If-Match"), h.caller(rq))
			return err
		})
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.fail(w, rq, methodNotAllowed(rq.r))
	}
}

// related serves GET accounts(id)/nav.
func (h *Handler) related(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, nv records.Nav) {
	id, err := h.resolveKeyRead(rq, t, key)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	other := h.rec.All()[nv.Other]
	if nv.Collection {
		h.queryWith(w, rq, other, relatedTo(nv, id))
		return
	}
	target, err := h.singleTarget(rq, t, id, nv)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if target == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q, err := h.parseQuery(rq)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	h.writeEntity(w, rq, other, target, q, http.StatusOK)
}

// readRefs serves GET accounts(id)/nav/$ref: the entity ids of the related
// rows ($metadata#Collection($ref)) or of the related row ($metadata#$ref).
func (h *Handler) readRefs(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, nv records.Nav) {
	id, err := h.resolveKeyRead(rq, t, key)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	other := h.rec.All()[nv.Other]
	if !nv.Collection {
		target, err := h.singleTarget(rq, t, id, nv)
		switch {
		case err != nil:
			h.fail(w, rq, err)
		case target == "":
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata#$ref", "@odata.id": h.entityURL(rq, other, target)})
		}
		return
	}
	var ids []string
	err = h.read(rq, func(q store.Querier) error {
		rows, err := h.selectRows(rq.r.Context(), q, rq, other, relatedTo(nv, id), nil, nil, MaxPageSize, 0)
		for _, r := range rows {
			ids = append(ids, r[other.PrimaryID()].(string))
		}
		return err
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	value := make([]map[string]any, 0, len(ids))
	for _, oid := range ids {
		value = append(value, map[string]any{"@odata.id": h.entityURL(rq, other, oid)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": rq.base + "$metadata#Collection($ref)", "value": value})
}

// singleTarget returns the id of the row the single-valued navigation
// property nv of row id points to, or "".
func (h *Handler) singleTarget(rq *req, t *records.Table, id string, nv records.Nav) (string, error) {
	var target string
	err := h.read(rq, func(q store.Querier) error {
		row, err := h.getColumns(rq.r.Context(), q, rq, t, id, columnsFor(t, nv.Column.Name))
		if ref, ok := row[nv.Column.Name].(records.Ref); ok && ref.Table == nv.Other {
			target = ref.ID
		}
		return err
	})
	return target, err
}

// relatedTo is the filter selecting the rows of a collection-valued
// navigation property of the record id.
func relatedTo(nv records.Nav, id string) odata.Expr {
	lit := odata.Literal{Kind: odata.LitGUID, Text: id}
	return odata.Binary{Op: "eq", L: odata.Path{Segments: []string{nv.Column.Name}}, R: lit}
}

// relatedCount serves GET accounts(id)/contact_customer_accounts/$count.
func (h *Handler) relatedCount(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, nv records.Nav) {
	id, err := h.resolveKeyRead(rq, t, key)
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	h.count(w, rq, h.rec.All()[nv.Other], relatedTo(nv, id))
}

// ref serves $ref: associate (POST/PUT) and disassociate (DELETE).
func (h *Handler) ref(w http.ResponseWriter, rq *req, t *records.Table, key odata.Key, nv records.Nav, navKey string, navHasKey bool) {
	ctx := rq.r.Context()
	other := h.rec.All()[nv.Other]
	if rq.r.Method == http.MethodGet && !navHasKey {
		h.readRefs(w, rq, t, key, nv)
		return
	}
	err := h.write(rq, func(tx store.Tx) error {
		id, err := h.existing(ctx, tx, t, key)
		if err != nil {
			return err
		}
		switch rq.r.Method {
		case http.MethodPost, http.MethodPut:
			ref, err := h.refTarget(ctx, tx, rq, other, nv.Name)
			if err != nil {
				return err
			}
			if nv.Collection {
				_, err = h.rec.Update(ctx, tx, other, ref.ID, records.Row{nv.Column.Name: records.Ref{Table: t.Name, ID: id}}, "", h.caller(rq))
				return err
			}
			_, err = h.rec.Update(ctx, tx, t, id, records.Row{nv.Column.Name: ref}, "", h.caller(rq))
			return err
		case http.MethodDelete:
			if nv.Collection {
				oid, err := h.refKey(ctx, tx, rq, other, nv.Name, navKey, navHasKey)
				if err != nil {
					return err
				}
				row, err := h.rec.Get(ctx, tx, other, oid)
				if err != nil {
					return err
				}
				if ref, ok := row[nv.Column.Name].(records.Ref); !ok || ref.ID != id {
					return records.Invalid("the %s is not related to this %s", other.Name, t.Name)
				}
				_, err = h.rec.Update(ctx, tx, other, oid, records.Row{nv.Column.Name: nil}, "", h.caller(rq))
				return err
			}
			_, err := h.rec.Update(ctx, tx, t, id, records.Row{nv.Column.Name: nil}, "", h.caller(rq))
			return err
		}
		return methodNotAllowed(rq.r)
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refTarget reads the row a $ref body names ({"@odata.id": "<entity URL>"}),
// which must be of other.
func (h *Handler) refTarget(ctx context.Context, q store.Querier, rq *req, other *records.Table, nav string) (records.Ref, error) {
	body, err := readBody(rq.r)
	if err != nil {
		return records.Ref{}, err
	}
	s, _ := body["@odata.id"].(string)
	if s == "" {
		return records.Ref{}, records.Invalid("the body must be {\"@odata.id\": \"<entity URL>\"}")
	}
	ref, err := h.resolveBind(ctx, q, rq, s)
	if err != nil {
		return records.Ref{}, err
	}
	if ref.Table != other.Name {
		return records.Ref{}, records.Invalid("%s relates %s records, not %s", nav, other.Name, ref.Table)
	}
	return ref, nil
}

// refKey resolves the related row a disassociation names, by key segment
// (nav(<key>)/$ref) or by ?$id=<entity URL>.
func (h *Handler) refKey(ctx context.Context, q store.Querier, rq *req, other *records.Table, nav, navKey string, navHasKey bool) (string, error) {
	if !navHasKey {
		s := rq.query.Get("$id")
		if s == "" {
			return "", records.Invalid("name the related record: %s(<id>)/$ref", nav)
		}
		ref, err := h.resolveBind(ctx, q, rq, s)
		if err != nil {
			return "", err
		}
		navKey = ref.ID
	}
	k, err := odata.ParseKey(navKey)
	if err != nil {
		return "", records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "Bad key segment: %v", err)
	}
	return h.resolveKey(ctx, q, other, k)
}
