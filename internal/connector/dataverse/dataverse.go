// Package dataverse is the Dataverse connector, with the operation ids of
// Power Automate's Dataverse connector (ListRecords, GetItem, CreateRecord,
// UpdateRecord, ...). A connection without a url works on Junction's own
// tables through its Web API; with a url, tenant and app registration it works
// on a real org through package dataverse's client.
package dataverse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"junction/internal/connector"
	dv "junction/internal/dataverse"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "dataverse"

// Local tells where Junction's own Web API is and the key to call it with.
type Local func() (baseURL, token string)

type clients struct {
	local       Local
	localClient *http.Client
	outbound    *outbound.Policy
	mu          sync.Mutex
	byKey       map[string]*dv.Client
}

// client returns the client of a connection, cached so that a real org's
// token is reused.
func (c *clients) client(conn connector.Connection) (*dv.Client, error) {
	v := connector.Values(conn.Values)
	orgURL, _ := v.String("url", "")
	if orgURL == "" {
		base, token := c.local()
		return dv.New(dv.Config{URL: base, Token: token, MaxRetries: 2, HTTPClient: c.localClient})
	}
	tenant, _ := v.String("tenantId", "")
	clientID, _ := v.String("clientId", "")
	secret, _ := v.String("clientSecret", "")
	tokenURL, _ := v.String("tokenUrl", "")
	sum := sha256.Sum256([]byte(strings.Join([]string{orgURL, tenant, clientID, secret, tokenURL}, "\x00")))
	key := hex.EncodeToString(sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byKey[key]; ok {
		return cl, nil
	}
	cl, err := dv.New(dv.Config{URL: orgURL, TenantID: tenant, ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL, Outbound: c.outbound})
	if err != nil {
		return nil, err
	}
	c.byKey[key] = cl
	return cl, nil
}

// New returns the connector; local locates Junction's own Web API, which
// localClient calls (it trusts the listener's own certificate); calls to other orgs dial
// through p (nil: the default outbound policy).
func New(local Local, localClient *http.Client, p *outbound.Policy) *connector.Connector {
	cs := &clients{local: local, localClient: localClient, outbound: p, byKey: map[string]*dv.Client{}}
	str := map[string]any{"type": "string"}
	set := map[string]any{"type": "string", "description": "the table's entity set name, e.g. accounts"}
	op := func(id string, fn func(ctx context.Context, c *dv.Client, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
		return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
			c, err := cs.client(conn)
			if err != nil {
				return nil, connector.BadInput(Name, id, err)
			}
			out, err := fn(ctx, c, connector.Values(inputs))
			if err != nil {
				return nil, classify(id, err)
			}
			return out, nil
		}
	}
	obj := func(required []string, props map[string]any) connector.Schema {
		return connector.Schema{"type": "object", "required": required, "properties": props}
	}
	return &connector.Connector{
		Name:        Name,
		Title:       "Dataverse",
		Description: "List, read, create, update, upsert and delete rows, relate them, and call actions, on Junction's tables or a real Dataverse org.",
		Params: []connector.Param{
			{Name: "url", Type: "string", Description: "the org URL, e.g. https://contoso.crm.dynamics.com; empty for Junction's own tables"},
			{Name: "tenantId", Type: "string", Description: "the Microsoft Entra tenant (real orgs)"},
			{Name: "clientId", Type: "string", Description: "the app registration's client id (real orgs)"},
			{Name: "clientSecret", Type: "string", Secret: true, Description: "the app registration's secret (real orgs)"},
			{Name: "tokenUrl", Type: "string", Description: "overrides the token endpoint"},
		},
		Operations: []connector.Operation{
			{ID: "ListRecords", Kind: connector.Action, Summary: "List rows",
				Description: "One page of rows (the org's page size, 5,000 on Dataverse) and @odata.nextLink when there are more; a workflow action's pagination policy reads further pages.",
				Inputs: obj([]string{"entityName"}, map[string]any{"entityName": set, "$select": str, "$filter": str, "$orderby": str, "$expand": str,
					"$top": map[string]any{"type": "integer"}, "fetchXml": str}),
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array"}, "@odata.nextLink": str}},
				Invoke: op("ListRecords", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, err := in.Required("entityName")
					if err != nil {
						return nil, badInput{err}
					}
					q := url.Values{}
					for _, k := range []string{"$select", "$filter", "$orderby", "$expand", "$top", "fetchXml"} {
						if v, _ := in.String(k, ""); v != "" {
							q.Set(k, v)
						}
					}
					path := setName
					if len(q) > 0 {
						path += "?" + q.Encode()
					}
					return page(ctx, c, path)
				}),
				// Power Automate's "List rows" returns one page with
				// @odata.nextLink; its pagination setting reads the others.
				Paging: &connector.Paging{NextLinkName: "@odata.nextLink", Next: func(ctx context.Context, conn connector.Connection, link string) (any, error) {
					c, err := cs.client(conn)
					if err != nil {
						return nil, connector.BadInput(Name, "ListRecords", err)
					}
					if !sameOrigin(link, c.Base()) {
						// The token goes to the org it was issued for only.
						return nil, connector.BadInput(Name, "ListRecords", fmt.Errorf("the next link does not lead to the org at %s", c.Base()))
					}
					out, err := page(ctx, c, link)
					if err != nil {
						return nil, classify("ListRecords", err)
					}
					return out, nil
				}}},
			{ID: "GetItem", Kind: connector.Action, Summary: "Get a row by id or alternate key",
				Inputs: obj([]string{"entityName", "recordId"}, map[string]any{"entityName": set, "recordId": str, "$select": str, "$expand": str}),
				Invoke: op("GetItem", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, key, err := target(in)
					if err != nil {
						return nil, err
					}
					q := url.Values{}
					for _, k := range []string{"$select", "$expand"} {
						if v, _ := in.String(k, ""); v != "" {
							q.Set(k, v)
						}
					}
					return c.Retrieve(ctx, setName, key, q)
				})},
			{ID: "CreateRecord", Kind: connector.Action, Summary: "Add a new row",
				Inputs: obj([]string{"entityName", "item"}, map[string]any{"entityName": set, "item": map[string]any{"type": "object"}}),
				Invoke: op("CreateRecord", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, err := in.Required("entityName")
					if err != nil {
						return nil, badInput{err}
					}
					item, err := in.Object("item")
					if err != nil {
						return nil, badInput{err}
					}
					r, err := c.Do(ctx, http.MethodPost, setName, item, http.Header{"Prefer": {"return=representation"}})
					if err != nil {
						return nil, err
					}
					var row dv.Record
					return row, r.JSON(&row)
				})},
			{ID: "UpdateRecord", Kind: connector.Action, Summary: "Update a row, adding it when it does not exist (upsert)",
				Inputs: obj([]string{"entityName", "recordId", "item"}, map[string]any{"entityName": set, "recordId": str, "item": map[string]any{"type": "object"}}),
				Invoke: op("UpdateRecord", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					return write(ctx, c, in, http.Header{"Prefer": {"return=representation"}})
				})},
			{ID: "UpdateOnlyRecord", Kind: connector.Action, Summary: "Update a row; fails when it does not exist",
				Inputs: obj([]string{"entityName", "recordId", "item"}, map[string]any{"entityName": set, "recordId": str, "item": map[string]any{"type": "object"}}),
				Invoke: op("UpdateOnlyRecord", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					return write(ctx, c, in, http.Header{"Prefer": {"return=representation"}, "If-Match": {"*"}})
				})},
			{ID: "DeleteRecord", Kind: connector.Action, Summary: "Delete a row",
				Inputs: obj([]string{"entityName", "recordId"}, map[string]any{"entityName": set, "recordId": str}),
				Invoke: op("DeleteRecord", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, key, err := target(in)
					if err != nil {
						return nil, err
					}
					return map[string]any{}, c.Delete(ctx, setName, key)
				})},
			{ID: "AssociateEntities", Kind: connector.Action, Summary: "Relate rows",
				Inputs: obj([]string{"entityName", "recordId", "associationEntityRelationship", "@odata.id"}, map[string]any{
					"entityName": set, "recordId": str, "associationEntityRelationship": map[string]any{"type": "string", "description": "the collection-valued navigation property"},
					"@odata.id": map[string]any{"type": "string", "description": "the related row, e.g. contacts(00000000-...)"}}),
				Invoke: op("AssociateEntities", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, key, err := target(in)
					if err != nil {
						return nil, err
					}
					nav, err := in.Required("associationEntityRelationship")
					if err != nil {
						return nil, badInput{err}
					}
					ref, err := in.Required("@odata.id")
					if err != nil {
						return nil, badInput{err}
					}
					if !strings.Contains(ref, "://") {
						ref = c.Base() + strings.TrimPrefix(ref, "/")
					}
					_, err = c.Do(ctx, http.MethodPost, fmt.Sprintf("%s(%s)/%s/$ref", setName, key, nav), map[string]any{"@odata.id": ref}, nil)
					return map[string]any{}, err
				})},
			{ID: "PerformBoundAction", Kind: connector.Action, Summary: "Call an action bound to a row",
				Inputs: obj([]string{"entityName", "recordId", "actionName"}, map[string]any{"entityName": set, "recordId": str, "actionName": str, "item": map[string]any{"type": "object"}}),
				Invoke: op("PerformBoundAction", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					setName, key, err := target(in)
					if err != nil {
						return nil, err
					}
					return callAction(ctx, c, in, fmt.Sprintf("%s(%s)/", setName, key))
				})},
			{ID: "PerformUnboundAction", Kind: connector.Action, Summary: "Call an unbound action",
				Inputs: obj([]string{"actionName"}, map[string]any{"actionName": str, "item": map[string]any{"type": "object"}}),
				Invoke: op("PerformUnboundAction", func(ctx context.Context, c *dv.Client, in connector.Values) (any, error) {
					return callAction(ctx, c, in, "")
				})},
		},
	}
}

// sameOrigin tells whether link is on the scheme and host of base.
func sameOrigin(link, base string) bool {
	l, err1 := url.Parse(link)
	b, err2 := url.Parse(base)
	return err1 == nil && err2 == nil && l.Scheme == b.Scheme && strings.EqualFold(l.Host, b.Host)
}

// page reads one page of rows at path: {"value": rows} with the
// "@odata.nextLink" of the next page when there is one.
func page(ctx context.Context, c *dv.Client, path string) (map[string]any, error) {
	r, err := c.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value    []dv.Record `json:"value"`
		NextLink string      `json:"@odata.nextLink"`
	}
	if err := r.JSON(&body); err != nil {
		return nil, err
	}
	out := map[string]any{"value": body.Value}
	if body.Value == nil {
		out["value"] = []dv.Record{}
	}
	if body.NextLink != "" {
		out["@odata.nextLink"] = body.NextLink
	}
	return out, nil
}

func target(in connector.Values) (set, key string, err error) {
	set, err = in.Required("entityName")
	if err == nil {
		key, err = in.Required("recordId")
	}
	if err != nil {
		return "", "", badInput{err}
	}
	return set, key, nil
}

func write(ctx context.Context, c *dv.Client, in connector.Values, h http.Header) (any, error) {
	set, key, err := target(in)
	if err != nil {
		return nil, err
	}
	item, err := in.Object("item")
	if err != nil {
		return nil, badInput{err}
	}
	r, err := c.Do(ctx, http.MethodPatch, fmt.Sprintf("%s(%s)", set, key), item, h)
	if err != nil {
		return nil, err
	}
	var row dv.Record
	return row, r.JSON(&row)
}

func callAction(ctx context.Context, c *dv.Client, in connector.Values, prefix string) (any, error) {
	name, err := in.Required("actionName")
	if err != nil {
		return nil, badInput{err}
	}
	if !strings.Contains(name, ".") {
		name = "Microsoft.Dynamics.CRM." + name
	}
	if prefix == "" {
		name = strings.TrimPrefix(name, "Microsoft.Dynamics.CRM.")
	}
	item, _ := in.Object("item")
	if item == nil {
		item = map[string]any{}
	}
	r, err := c.Do(ctx, http.MethodPost, prefix+name, item, nil)
	if err != nil {
		return nil, err
	}
	if r.Status == http.StatusNoContent {
		return map[string]any{}, nil
	}
	var out map[string]any
	return out, r.JSON(&out)
}

type badInput struct{ error }

func classify(op string, err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, op, bad.error)
	}
	var de *dv.Error
	if errors.As(err, &de) {
		return &connector.Error{Connector: Name, Operation: op, Status: de.Status,
			Retryable: de.Status == 429 || de.Status >= 500, Err: err}
	}
	return connector.Fail(Name, op, err)
}
