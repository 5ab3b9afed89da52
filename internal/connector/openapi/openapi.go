// Package openapi makes custom connectors from OpenAPI 3 and Swagger 2
// documents: each operation with an operationId becomes an action whose
// inputs are its parameters (and "body"), validated before the call, and the
// document's security schemes (API key, HTTP basic and bearer, OAuth2 client
// credentials) say how the connection authenticates. An operation answers
// with the API's status, headers and body; one with x-ms-pageable is paged.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"junction/internal/connector"
	jhttp "junction/internal/connector/http"
	"junction/internal/outbound"
)

// param is one operation parameter.
type param struct {
	Name     string
	In       string // path, query, header
	Required bool
	Schema   map[string]any
}

type operation struct {
	id, method, path string
	params           []param
	body             bool
	bodyRequired     bool
	security         []string // scheme names, any of which will do
	// pageable is x-ms-pageable: the answer's items and next link.
	pageable *connector.Paging
}

type scheme struct {
	kind     string // apiKey, basic, bearer, oauth2
	name, in string // apiKey
	tokenURL string // oauth2 client credentials
}

// Load turns a document (JSON or YAML) into a connector named name whose calls
// dial through p (nil: the default outbound policy).
func Load(name string, doc []byte, p *outbound.Policy) (*connector.Connector, error) {
	var raw any
	if err := yaml.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("openapi %s: not JSON or YAML: %w", name, err)
	}
	root, ok := normalize(raw).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi %s: the document is not an object", name)
	}
	d := &document{root: root}
	switch {
	case strings.HasPrefix(str(root["openapi"]), "3."):
		d.v3 = true
	case str(root["swagger"]) == "2.0":
	default:
		return nil, fmt.Errorf("openapi %s: neither \"openapi\": \"3.x\" nor \"swagger\": \"2.0\"", name)
	}
	base, err := d.baseURL()
	if err != nil {
		return nil, fmt.Errorf("openapi %s: %w", name, err)
	}
	schemes := d.schemes()
	ops, err := d.operations()
	if err != nil {
		return nil, fmt.Errorf("openapi %s: %w", name, err)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("openapi %s: no operation has an operationId", name)
	}
	info, _ := root["info"].(map[string]any)
	title := str(info["title"])
	if title == "" {
		title = name
	}
	client := jhttp.NewClient(p)
	c := &connector.Connector{
		Name: name, Title: title, Description: firstNonEmpty(str(info["description"]), "Custom connector from an OpenAPI document: "+title),
		Params: []connector.Param{
			{Name: "baseUrl", Type: "string", Default: base, Description: "the API's base URL (default: the document's server)"},
			{Name: "username", Type: "string", Description: "basic authentication: the user name"},
			{Name: "password", Type: "string", Secret: true, Description: "basic authentication: the password"},
			{Name: "token", Type: "string", Secret: true, Description: "bearer authentication: the token"},
			{Name: "apiKeyValue", Type: "string", Secret: true, Description: "API key authentication: the key"},
			{Name: "clientId", Type: "string", Description: "OAuth2 client credentials: the client id"},
			{Name: "clientSecret", Type: "string", Secret: true, Description: "OAuth2 client credentials: the client secret"},
			{Name: "scope", Type: "string", Description: "OAuth2 client credentials: scopes"},
			{Name: "timeoutSeconds", Type: "integer", Default: 100, Description: "time limit of one request"},
		},
	}
	for _, op := range ops {
		op := op
		api := &caller{client: client, name: name, base: base, schemes: schemes, op: op}
		o := connector.Operation{
			ID: op.id, Kind: connector.Action, Summary: firstNonEmpty(op.summaryOr(d), op.method+" "+op.path),
			Inputs:   op.inputSchema(),
			Outputs:  connector.Schema{"type": "object", "properties": map[string]any{"statusCode": map[string]any{"type": "integer"}, "headers": map[string]any{"type": "object"}, "body": map[string]any{}}},
			Response: true,
			Invoke:   api.invoke,
		}
		if op.pageable != nil {
			o.Paging = &connector.Paging{ItemName: op.pageable.ItemName, NextLinkName: op.pageable.NextLinkName, Next: api.next}
		}
		c.Operations = append(c.Operations, o)
	}
	return c, nil
}

func (op operation) summaryOr(d *document) string { return d.summaries[op.id] }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// normalize turns YAML's map[string]any/[]any trees into JSON-shaped values.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case int:
		return float64(x)
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

type document struct {
	root      map[string]any
	v3        bool
	summaries map[string]string
}

func (d *document) baseURL() (string, error) {
	if d.v3 {
		servers, _ := d.root["servers"].([]any)
		if len(servers) == 0 {
			return "", nil
		}
		s, _ := servers[0].(map[string]any)
		u := str(s["url"])
		vars, _ := s["variables"].(map[string]any)
		for k, v := range vars {
			vm, _ := v.(map[string]any)
			u = strings.ReplaceAll(u, "{"+k+"}", str(vm["default"]))
		}
		return u, nil
	}
	host := str(d.root["host"])
	if host == "" {
		return "", nil
	}
	scheme := "https"
	if ss, _ := d.root["schemes"].([]any); len(ss) > 0 {
		scheme = str(ss[0])
		for _, s := range ss {
			if str(s) == "https" {
				scheme = "https"
			}
		}
	}
	return scheme + "://" + host + str(d.root["basePath"]), nil
}

func (d *document) schemes() map[string]scheme {
	var defs map[string]any
	if d.v3 {
		comp, _ := d.root["components"].(map[string]any)
		defs, _ = comp["securitySchemes"].(map[string]any)
	} else {
		defs, _ = d.root["securityDefinitions"].(map[string]any)
	}
	out := map[string]scheme{}
	for name, v := range defs {
		m, _ := v.(map[string]any)
		switch str(m["type"]) {
		case "apiKey":
			out[name] = scheme{kind: "apiKey", name: str(m["name"]), in: str(m["in"])}
		case "basic":
			out[name] = scheme{kind: "basic"}
		case "http":
			switch strings.ToLower(str(m["scheme"])) {
			case "basic":
				out[name] = scheme{kind: "basic"}
			case "bearer":
				out[name] = scheme{kind: "bearer"}
			}
		case "oauth2":
			if d.v3 {
				flows, _ := m["flows"].(map[string]any)
				if cc, ok := flows["clientCredentials"].(map[string]any); ok {
					out[name] = scheme{kind: "oauth2", tokenURL: str(cc["tokenUrl"])}
				}
			} else if str(m["flow"]) == "application" {
				out[name] = scheme{kind: "oauth2", tokenURL: str(m["tokenUrl"])}
			}
		}
	}
	return out
}

var opIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (d *document) operations() ([]operation, error) {
	paths, _ := d.root["paths"].(map[string]any)
	globalSec := securityNames(d.root["security"])
	d.summaries = map[string]string{}
	var out []operation
	seen := map[string]bool{}
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item, _ := paths[p].(map[string]any)
		shared := d.params(item["parameters"])
		for _, method := range []string{"get", "put", "post", "delete", "options", "head", "patch"} {
			raw, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			id := str(raw["operationId"])
			if id == "" {
				continue
			}
			if !opIDRE.MatchString(id) || seen[id] {
				return nil, fmt.Errorf("operationId %q is invalid or repeated", id)
			}
			seen[id] = true
			op := operation{id: id, method: strings.ToUpper(method), path: p, security: globalSec, pageable: pageable(raw["x-ms-pageable"])}
			if s, ok := raw["security"]; ok {
				op.security = securityNames(s)
			}
			byKey := map[string]param{}
			for _, prm := range append(shared, d.params(raw["parameters"])...) {
				if prm.In == "body" {
					op.body, op.bodyRequired = true, prm.Required
					continue
				}
				if prm.In == "formData" {
					return nil, fmt.Errorf("operation %s: formData parameters are not supported", id)
				}
				byKey[prm.In+":"+prm.Name] = prm
			}
			for _, prm := range byKey {
				op.params = append(op.params, prm)
			}
			sort.Slice(op.params, func(i, j int) bool { return op.params[i].Name < op.params[j].Name })
			if rb, ok := raw["requestBody"].(map[string]any); ok {
				rb = d.deref(rb)
				op.body = true
				op.bodyRequired, _ = rb["required"].(bool)
			}
			for _, prm := range op.params {
				if prm.In == "path" && !strings.Contains(p, "{"+prm.Name+"}") {
					return nil, fmt.Errorf("operation %s: path parameter %q is not in %s", id, prm.Name, p)
				}
			}
			d.summaries[id] = str(raw["summary"])
			out = append(out, op)
		}
	}
	return out, nil
}

// pageable reads an operation's x-ms-pageable extension (AutoRest,
// docs/extensions "x-ms-pageable"): nextLinkName names the property holding
// the next page's URL (null: the answer is one page), itemName the items
// ("value" by default).
func pageable(v any) *connector.Paging {
	m, ok := v.(map[string]any)
	if !ok || str(m["nextLinkName"]) == "" {
		return nil
	}
	return &connector.Paging{ItemName: str(m["itemName"]), NextLinkName: str(m["nextLinkName"])}
}

func securityNames(v any) []string {
	reqs, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range reqs {
		m, _ := r.(map[string]any)
		for k := range m {
			out = append(out, k)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (d *document) deref(m map[string]any) map[string]any {
	for i := 0; i < 8; i++ {
		ref := str(m["$ref"])
		if ref == "" {
			return m
		}
		if !strings.HasPrefix(ref, "#/") {
			return map[string]any{}
		}
		var cur any = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return map[string]any{}
		}
		m = next
	}
	return m
}

func (d *document) params(v any) []param {
	list, _ := v.([]any)
	var out []param
	for _, e := range list {
		m, _ := e.(map[string]any)
		m = d.deref(m)
		p := param{Name: str(m["name"]), In: str(m["in"])}
		p.Required, _ = m["required"].(bool)
		if p.In == "path" {
			p.Required = true
		}
		if s, ok := m["schema"].(map[string]any); ok && p.In != "body" {
			p.Schema = d.deref(s)
		} else {
			p.Schema = map[string]any{}
			for _, k := range []string{"type", "format", "enum", "minimum", "maximum", "pattern", "items"} {
				if x, ok := m[k]; ok {
					p.Schema[k] = x
				}
			}
		}
		if p.Name != "" {
			out = append(out, p)
		}
	}
	return out
}

func (op operation) inputSchema() connector.Schema {
	props := map[string]any{}
	required := []string{}
	for _, p := range op.params {
		s := map[string]any{}
		for k, v := range p.Schema {
			s[k] = v
		}
		s["x-in"] = p.In
		props[p.Name] = s
		if p.Required {
			required = append(required, p.Name)
		}
	}
	if op.body {
		props["body"] = map[string]any{"description": "the request body, sent as JSON"}
		if op.bodyRequired {
			required = append(required, "body")
		}
	}
	return connector.Schema{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// validate checks inputs against the operation's parameters.
func (op operation) validate(in map[string]any) error {
	known := map[string]bool{"body": op.body}
	var problems []string
	for _, p := range op.params {
		known[p.Name] = true
		v, ok := in[p.Name]
		if !ok || v == nil {
			if p.Required {
				problems = append(problems, fmt.Sprintf("%s (%s) is required", p.Name, p.In))
			}
			continue
		}
		if err := checkValue(p.Name, p.Schema, v); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if op.bodyRequired && in["body"] == nil {
		problems = append(problems, "body is required")
	}
	for k := range in {
		if !known[k] {
			problems = append(problems, fmt.Sprintf("%s is not a parameter of %s", k, op.id))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkValue(name string, s map[string]any, v any) error {
	typ := str(s["type"])
	switch typ {
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s must be an integer", name)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s must be a number", name)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s must be a boolean", name)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s must be a string", name)
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%s must be an array", name)
		}
	}
	if f, ok := v.(float64); ok {
		if min, ok := s["minimum"].(float64); ok && f < min {
			return fmt.Errorf("%s must be at least %v", name, min)
		}
		if max, ok := s["maximum"].(float64); ok && f > max {
			return fmt.Errorf("%s must be at most %v", name, max)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("%s must be one of %v", name, enum)
	}
	if pat := str(s["pattern"]); pat != "" {
		if re, err := regexp.Compile(pat); err == nil {
			if sv, ok := v.(string); ok && !re.MatchString(sv) {
				return fmt.Errorf("%s does not match %s", name, pat)
			}
		}
	}
	return nil
}

func format(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// caller calls one operation of the document.
type caller struct {
	client  *jhttp.Client
	name    string
	base    string
	schemes map[string]scheme
	op      operation
}

func (a *caller) invoke(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
	op := a.op
	if inputs == nil {
		inputs = map[string]any{}
	}
	if err := op.validate(inputs); err != nil {
		return nil, connector.BadInput(a.name, op.id, err)
	}
	path := op.path
	req := jhttp.Request{Method: op.method, Headers: map[string]string{}, Queries: url.Values{}}
	for _, p := range op.params {
		v, ok := inputs[p.Name]
		if !ok || v == nil {
			continue
		}
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(format(v)))
		case "query":
			req.Queries.Set(p.Name, format(v))
		case "header":
			req.Headers[p.Name] = format(v)
		}
	}
	req.URI = strings.TrimPrefix(path, "/")
	if b, ok := inputs["body"]; ok && b != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(b)
		req.Body = bytes.TrimSpace(buf.Bytes())
		req.ContentType = "application/json"
	}
	return a.do(ctx, conn, req)
}

// next reads the next page of a pageable operation's answer: a GET of the
// link (absolute, or relative to the API's base URL) with the connection's
// credentials. A link to another host than the API's is refused, so that the
// credentials go to the API they were given for only.
func (a *caller) next(ctx context.Context, conn connector.Connection, link string) (any, error) {
	baseURL := a.base
	if s, _ := conn.Values["baseUrl"].(string); s != "" {
		baseURL = s
	}
	base, err := url.Parse(baseURL)
	if err != nil || base.Host == "" {
		return nil, connector.BadInput(a.name, a.op.id, fmt.Errorf("the base URL %q is not absolute", baseURL))
	}
	ref, err := url.Parse(link)
	if err != nil {
		return nil, connector.BadInput(a.name, a.op.id, fmt.Errorf("the next link is not a URL: %w", err))
	}
	u := base.ResolveReference(ref)
	if u.Scheme != base.Scheme || u.Host != base.Host {
		return nil, connector.BadInput(a.name, a.op.id, fmt.Errorf("the next link leads to %s://%s, not to the API at %s://%s", u.Scheme, u.Host, base.Scheme, base.Host))
	}
	return a.do(ctx, conn, jhttp.Request{Method: "GET", URI: u.String(), Headers: map[string]string{}})
}

// do sends req with the authentication the document asks for.
func (a *caller) do(ctx context.Context, conn connector.Connection, req jhttp.Request) (any, error) {
	op := a.op
	// The connection's values, with the authentication the document asks for.
	vals := map[string]any{}
	for k, v := range conn.Values {
		vals[k] = v
	}
	if vals["baseUrl"] == nil || vals["baseUrl"] == "" {
		vals["baseUrl"] = a.base
	}
	vals["authentication"] = jhttp.AuthNone
	for _, sn := range op.security {
		s, ok := a.schemes[sn]
		if !ok {
			continue
		}
		switch s.kind {
		case "apiKey":
			if vals["apiKeyValue"] != nil {
				vals["authentication"], vals["apiKeyName"], vals["apiKeyIn"] = jhttp.AuthAPIKey, s.name, s.in
			}
		case "basic":
			if vals["username"] != nil {
				vals["authentication"] = jhttp.AuthBasic
			}
		case "bearer":
			if vals["token"] != nil {
				vals["authentication"] = jhttp.AuthBearer
			}
		case "oauth2":
			if vals["clientId"] != nil {
				vals["authentication"], vals["tokenUrl"] = jhttp.AuthClientCredentials, s.tokenURL
			}
		}
		if vals["authentication"] != jhttp.AuthNone {
			break
		}
	}
	if vals["authentication"] == jhttp.AuthAPIKey && vals["apiKeyIn"] == "cookie" {
		return nil, connector.BadInput(a.name, op.id, errors.New("cookie API keys are not supported"))
	}
	if len(op.security) > 0 && vals["authentication"] == jhttp.AuthNone {
		return nil, connector.BadInput(a.name, op.id, fmt.Errorf("the operation needs one of the security schemes %v and the connection has no credentials for them", op.security))
	}
	resp, err := a.client.Do(ctx, connector.Connection{Name: conn.Name, Connector: a.name, Values: vals}, a.name, op.id, req)
	if err != nil {
		return nil, err
	}
	return resp.Output(), nil
}
