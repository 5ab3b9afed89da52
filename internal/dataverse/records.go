package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Record is a row as JSON: column names to values, plus annotations.
type Record = map[string]any

var entityID = regexp.MustCompile(`\(([0-9a-fA-F-]{36})\)$`)

// KeyGUID names a row by primary id; KeyOf builds an alternate-key segment.
func KeyGUID(id string) string { return id }

// KeyOf builds an alternate key such as accountnumber='A1' from pairs
// (column, value); strings are quoted with ” escaping.
func KeyOf(pairs ...any) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		var v string
		switch x := pairs[i+1].(type) {
		case string:
			v = "'" + strings.ReplaceAll(x, "'", "''") + "'"
		default:
			v = fmt.Sprint(x)
		}
		parts = append(parts, fmt.Sprint(pairs[i])+"="+v)
	}
	return strings.Join(parts, ",")
}

func keyPath(set, key string) string {
	return set + "(" + url.PathEscape(key) + ")"
}

// Create creates a row and returns its id.
func (c *Client) Create(ctx context.Context, set string, rec Record) (string, error) {
	r, err := c.Do(ctx, http.MethodPost, set, rec, nil)
	if err != nil {
		return "", err
	}
	m := entityID.FindStringSubmatch(r.Header.Get("OData-EntityId"))
	if m == nil {
		return "", fmt.Errorf("dataverse: create %s: no id in OData-EntityId %q", set, r.Header.Get("OData-EntityId"))
	}
	return m[1], nil
}

// Retrieve reads one row by id or alternate key; query holds $select/$expand.
func (c *Client) Retrieve(ctx context.Context, set, key string, query url.Values) (Record, error) {
	p := keyPath(set, key)
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	r, err := c.Do(ctx, http.MethodGet, p, nil, nil)
	if err != nil {
		return nil, err
	}
	var rec Record
	return rec, r.JSON(&rec)
}

// Update changes a row; it fails with 404 when the row does not exist.
// etag, when not empty, makes the update conditional (412 when stale).
func (c *Client) Update(ctx context.Context, set, key string, rec Record, etag string) error {
	if etag == "" {
		etag = "*"
	}
	_, err := c.Do(ctx, http.MethodPatch, keyPath(set, key), rec, http.Header{"If-Match": {etag}})
	return err
}

// Upsert creates or updates the row named by key (an id or alternate key)
// and reports whether it was created.
func (c *Client) Upsert(ctx context.Context, set, key string, rec Record) (bool, error) {
	r, err := c.Do(ctx, http.MethodPatch, keyPath(set, key), rec, http.Header{"Prefer": {"return=representation"}})
	if err != nil {
		return false, err
	}
	return r.Status == http.StatusCreated, nil
}

// Delete removes a row.
func (c *Client) Delete(ctx context.Context, set, key string) error {
	_, err := c.Do(ctx, http.MethodDelete, keyPath(set, key), nil, nil)
	return err
}

// Query runs a collection query and calls page for every page, following
// @odata.nextLink; pageSize 0 uses the server's default.
func (c *Client) Query(ctx context.Context, set string, query url.Values, pageSize int, page func([]Record) error) error {
	next := set
	if len(query) > 0 {
		next += "?" + query.Encode()
	}
	var h http.Header
	if pageSize > 0 {
		h = http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(pageSize)}}
	}
	for next != "" {
		r, err := c.Do(ctx, http.MethodGet, next, nil, h)
		if err != nil {
			return err
		}
		var body struct {
			Value    []Record `json:"value"`
			NextLink string   `json:"@odata.nextLink"`
		}
		if err := r.JSON(&body); err != nil {
			return fmt.Errorf("dataverse: query %s: %w", set, err)
		}
		if err := page(body.Value); err != nil {
			return err
		}
		next = body.NextLink
	}
	return nil
}

// QueryAll collects every page of a query.
func (c *Client) QueryAll(ctx context.Context, set string, query url.Values) ([]Record, error) {
	var out []Record
	err := c.Query(ctx, set, query, 0, func(p []Record) error { out = append(out, p...); return nil })
	return out, err
}

// CreateMultiple creates rows of table logical (entity set set) in one call
// and returns their ids.
func (c *Client) CreateMultiple(ctx context.Context, set, logical string, recs []Record) ([]string, error) {
	r, err := c.Do(ctx, http.MethodPost, set+"/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": typed(logical, recs)}, nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Ids []string `json:"Ids"`
	}
	return body.Ids, r.JSON(&body)
}

// UpsertMultiple upserts rows; each names itself with "@odata.id" (such as
// "accounts(accountnumber='A1')") or its primary id.
func (c *Client) UpsertMultiple(ctx context.Context, set, logical string, recs []Record) error {
	_, err := c.Do(ctx, http.MethodPost, set+"/Microsoft.Dynamics.CRM.UpsertMultiple", map[string]any{"Targets": typed(logical, recs)}, nil)
	return err
}

// UpdateMultiple updates rows, each carrying its primary id.
func (c *Client) UpdateMultiple(ctx context.Context, set, logical string, recs []Record) error {
	_, err := c.Do(ctx, http.MethodPost, set+"/Microsoft.Dynamics.CRM.UpdateMultiple", map[string]any{"Targets": typed(logical, recs)}, nil)
	return err
}

func typed(logical string, recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		m := Record{"@odata.type": "Microsoft.Dynamics.CRM." + logical}
		for k, v := range r {
			m[k] = v
		}
		out[i] = m
	}
	return out
}

// WhoAmI returns the caller's user id.
func (c *Client) WhoAmI(ctx context.Context) (string, error) {
	r, err := c.Do(ctx, http.MethodGet, "WhoAmI", nil, nil)
	if err != nil {
		return "", err
	}
	var body struct {
		UserID string `json:"UserId"`
	}
	return body.UserID, r.JSON(&body)
}

// Changes is one round of change tracking.
type Changes struct {
	Changed   []Record
	Deleted   []string
	DeltaLink string // pass to the next Track call
}

// Track starts change tracking on set (deltaLink empty: every row is
// returned as changed) or continues it from a previous DeltaLink.
func (c *Client) Track(ctx context.Context, set string, sel []string, deltaLink string) (*Changes, error) {
	out := &Changes{}
	link, err := c.TrackPages(ctx, set, sel, deltaLink, 0, func(changed []Record, deleted []string) error {
		out.Changed = append(out.Changed, changed...)
		out.Deleted = append(out.Deleted, deleted...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.DeltaLink = link
	return out, nil
}

// TrackPages is Track a page at a time, for tables too large to hold: page
// is called with each page's changed rows and deleted ids, and the new delta
// link is returned once every page is read. pageSize 0 is the server's default.
func (c *Client) TrackPages(ctx context.Context, set string, sel []string, deltaLink string, pageSize int, page func(changed []Record, deleted []string) error) (string, error) {
	u := deltaLink
	if u == "" {
		u = set
		if len(sel) > 0 {
			u += "?$select=" + strings.Join(sel, ",")
		}
	}
	prefer := "odata.track-changes"
	if pageSize > 0 {
		prefer += ",odata.maxpagesize=" + strconv.Itoa(pageSize)
	}
	h := http.Header{"Prefer": {prefer}}
	var link string
	for u != "" {
		r, err := c.Do(ctx, http.MethodGet, u, nil, h)
		if err != nil {
			return "", err
		}
		var body struct {
			Value     []Record `json:"value"`
			NextLink  string   `json:"@odata.nextLink"`
			DeltaLink string   `json:"@odata.deltaLink"`
		}
		if err := r.JSON(&body); err != nil {
			return "", err
		}
		var changed []Record
		var deleted []string
		for _, v := range body.Value {
			if ctxURL, _ := v["@odata.context"].(string); strings.HasSuffix(ctxURL, "$deletedEntity") {
				id, _ := v["id"].(string)
				deleted = append(deleted, id)
				continue
			}
			changed = append(changed, v)
		}
		if err := page(changed, deleted); err != nil {
			return "", err
		}
		u = body.NextLink
		if body.DeltaLink != "" {
			link = body.DeltaLink
		}
	}
	return link, nil
}

// Action calls an unbound action (name) or, with set and key, one bound to a
// row ("accounts", id, "Microsoft.Dynamics.CRM.new_X"), and decodes the answer
// into out when it is not nil.
func (c *Client) Action(ctx context.Context, set, key, name string, params map[string]any, out any) error {
	p := name
	if set != "" {
		p = keyPath(set, key) + "/" + name
	}
	if params == nil {
		params = map[string]any{}
	}
	r, err := c.Do(ctx, http.MethodPost, p, params, nil)
	if err != nil || out == nil || len(r.Body) == 0 {
		return err
	}
	return r.JSON(out)
}

// Function calls an unbound function with parameters passed as aliases.
func (c *Client) Function(ctx context.Context, name string, params map[string]any, out any) error {
	var names []string
	q := url.Values{}
	i := 0
	for k, v := range params {
		i++
		alias := "@p" + strconv.Itoa(i)
		names = append(names, k+"="+alias)
		s, err := functionValue(v)
		if err != nil {
			return fmt.Errorf("dataverse: %s parameter %s: %w", name, k, err)
		}
		q.Set(alias, s)
	}
	p := name + "(" + strings.Join(names, ",") + ")"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	r, err := c.Do(ctx, http.MethodGet, p, nil, nil)
	if err != nil || out == nil {
		return err
	}
	return r.JSON(out)
}

// Associate links row key of set to the row at target (a "contacts(<id>)"
// path) through the navigation property nav.
func (c *Client) Associate(ctx context.Context, set, key, nav, target string) error {
	_, err := c.Do(ctx, http.MethodPost, keyPath(set, key)+"/"+nav+"/$ref", map[string]any{"@odata.id": c.base + strings.TrimPrefix(target, "/")}, nil)
	return err
}
