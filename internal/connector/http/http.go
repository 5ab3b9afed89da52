// Package http is the HTTP connector: requests to any HTTP API with basic,
// bearer, API key, OAuth2 client credentials or client certificate
// authentication. Outbound connections to link-local addresses (cloud
// metadata endpoints) are refused unless the connection allows them.
package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"junction/internal/trace"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "http"

// Authentication types.
const (
	AuthNone              = "none"
	AuthBasic             = "basic"
	AuthBearer            = "bearer"
	AuthAPIKey            = "apiKey"
	AuthClientCredentials = "oauth2ClientCredentials"
	AuthClientCertificate = "clientCertificate"
)

// MaxResponse caps a response body that is read into the output.
const MaxResponse = 32 << 20

// Params are the HTTP connection parameters; the OpenAPI connector reuses them.
var Params = []connector.Param{
	{Name: "baseUrl", Type: "string", Description: "URL that relative request URIs are resolved against"},
	{Name: "authentication", Type: "string", Default: AuthNone, Description: "none, basic, bearer, apiKey, oauth2ClientCredentials or clientCertificate"},
	{Name: "username", Type: "string", Description: "basic: the user name"},
	{Name: "password", Type: "string", Secret: true, Description: "basic: the password"},
	{Name: "token", Type: "string", Secret: true, Description: "bearer: the token"},
	{Name: "apiKeyName", Type: "string", Description: "apiKey: the header or query parameter name, e.g. x-api-key"},
	{Name: "apiKeyIn", Type: "string", Default: "header", Description: "apiKey: header or query"},
	{Name: "apiKeyValue", Type: "string", Secret: true, Description: "apiKey: the key"},
	{Name: "tokenUrl", Type: "string", Description: "oauth2ClientCredentials: the token endpoint"},
	{Name: "clientId", Type: "string", Description: "oauth2ClientCredentials: the client id"},
	{Name: "clientSecret", Type: "string", Secret: true, Description: "oauth2ClientCredentials: the client secret"},
	{Name: "scope", Type: "string", Description: "oauth2ClientCredentials: scopes, space separated"},
	{Name: "audience", Type: "string", Description: "oauth2ClientCredentials: audience or resource, when the token endpoint wants one"},
	{Name: "certificate", Type: "string", Description: "clientCertificate: the client certificate chain, PEM"},
	{Name: "privateKey", Type: "string", Secret: true, Description: "clientCertificate: the client key, PEM"},
	{Name: "caCertificate", Type: "string", Description: "PEM certificates to trust for the server, besides the system's"},
	{Name: "timeoutSeconds", Type: "integer", Default: 100, Description: "time limit of one request"},
}

// Client sends requests for connections, caching a transport and an OAuth2
// token per distinct connection configuration.
type Client struct {
	policy  *outbound.Policy
	mu      sync.Mutex
	clients map[[32]byte]*authClient
}

// NewClient returns an empty client cache.
// Every request dials through p (nil: the default outbound policy).
func NewClient(p *outbound.Policy) *Client {
	return &Client{policy: p, clients: map[[32]byte]*authClient{}}
}

// New returns the HTTP connector, dialing through p.
func New(p *outbound.Policy) *connector.Connector {
	c := NewClient(p)
	return &connector.Connector{
		Name:        Name,
		Title:       "HTTP",
		Description: "Call any HTTP endpoint, with basic, bearer, API key, OAuth2 client credentials or client certificate authentication.",
		Params:      Params,
		Operations: []connector.Operation{{
			ID: "request", Kind: connector.Action, Summary: "Send an HTTP request",
			Inputs: connector.Schema{"type": "object", "required": []string{"uri"}, "additionalProperties": false, "properties": map[string]any{
				"method":  map[string]any{"type": "string", "default": "GET"},
				"uri":     map[string]any{"type": "string", "description": "absolute, or relative to baseUrl"},
				"headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"queries": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"body":    map[string]any{"description": "a string is sent as it is; anything else as JSON"},
			}},
			Outputs: connector.Schema{"type": "object", "properties": map[string]any{
				"statusCode": map[string]any{"type": "integer"}, "headers": map[string]any{"type": "object"}, "body": map[string]any{},
			}},
			Invoke: func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
				return c.Invoke(ctx, conn, "request", inputs)
			},
		}},
	}
}

// Request is one request to send.
type Request struct {
	Method  string
	URI     string
	Headers map[string]string
	Queries url.Values
	Body    []byte
	// ContentType is set when Body is set and no Content-Type header is given.
	ContentType string
}

// Response is what came back.
type Response struct {
	StatusCode int
	Headers    http.Header
	Body       []byte
}

// Output is a response as operation output: JSON bodies parsed.
func (r *Response) Output() map[string]any {
	h := map[string]any{}
	for k := range r.Headers {
		h[k] = r.Headers.Get(k)
	}
	var body any = string(r.Body)
	ct := r.Headers.Get("Content-Type")
	if strings.Contains(ct, "json") && len(r.Body) > 0 {
		var v any
		if json.Unmarshal(r.Body, &v) == nil {
			body = v
		}
	}
	if len(r.Body) == 0 {
		body = nil
	}
	return map[string]any{"statusCode": r.StatusCode, "headers": h, "body": body}
}

// Invoke is the "request" operation (op names the operation in errors).
func (c *Client) Invoke(ctx context.Context, conn connector.Connection, op string, inputs map[string]any) (any, error) {
	in := connector.Values(inputs)
	var req Request
	var err error
	if req.Method, err = in.String("method", "GET"); err != nil {
		return nil, connector.BadInput(Name, op, err)
	}
	if req.URI, err = in.Required("uri"); err != nil {
		return nil, connector.BadInput(Name, op, err)
	}
	if hs, err := in.Object("headers"); err != nil {
		return nil, connector.BadInput(Name, op, err)
	} else if hs != nil {
		req.Headers = map[string]string{}
		for k, v := range hs {
			req.Headers[k] = fmt.Sprint(v)
		}
	}
	if qs, err := in.Object("queries"); err != nil {
		return nil, connector.BadInput(Name, op, err)
	} else {
		req.Queries = url.Values{}
		for k, v := range qs {
			req.Queries.Set(k, fmt.Sprint(v))
		}
	}
	if b, ok := inputs["body"]; ok && b != nil {
		if s, ok := b.(string); ok {
			req.Body = []byte(s)
			req.ContentType = "text/plain; charset=utf-8"
		} else {
			req.Body, _ = json.Marshal(b)
			req.ContentType = "application/json"
		}
	}
	resp, err := c.Do(ctx, conn, Name, op, req)
	if err != nil {
		return nil, err
	}
	return resp.Output(), nil
}

// Do sends req with conn's authentication. A status of 400 or more is an
// error carrying the status; 408, 429 and 5xx are retryable.
func (c *Client) Do(ctx context.Context, conn connector.Connection, connName, op string, req Request) (*Response, error) {
	ac, err := c.client(conn)
	if err != nil {
		return nil, connector.BadInput(connName, op, err)
	}
	u, err := ac.resolve(req.URI)
	if err != nil {
		return nil, connector.BadInput(connName, op, err)
	}
	q := u.Query()
	for k, vs := range req.Queries {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = "GET"
	}
	ctx, cancel := context.WithTimeout(ctx, ac.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return nil, connector.BadInput(connName, op, err)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	if len(req.Body) > 0 && hr.Header.Get("Content-Type") == "" && req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	if err := ac.authorize(ctx, hr, q); err != nil {
		var ce *connector.Error
		if errors.As(err, &ce) {
			ce.Connector, ce.Operation = connName, op
			return nil, ce
		}
		return nil, connector.Fail(connName, op, err)
	}
	hr.URL.RawQuery = q.Encode()
	resp, err := ac.http.Do(hr)
	if err != nil {
		return nil, connector.Fail(connName, op, scrub(err, hr.URL))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, connector.Fail(connName, op, fmt.Errorf("read the response: %w", err))
	}
	if len(body) > MaxResponse {
		return nil, &connector.Error{Connector: connName, Operation: op, Status: resp.StatusCode, Err: fmt.Errorf("the response is larger than %d bytes", MaxResponse)}
	}
	out := &Response{StatusCode: resp.StatusCode, Headers: resp.Header, Body: body}
	if resp.StatusCode >= 400 {
		retry := resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500
		return out, &connector.Error{Connector: connName, Operation: op, Status: resp.StatusCode, Retryable: retry,
			Err: fmt.Errorf("%s %s answered %s: %s", method, redactURL(hr.URL), resp.Status, snippet(body))}
	}
	return out, nil
}

// scrub removes the query (which may carry an API key) from URL errors.
func scrub(err error, u *url.URL) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(u), ue.Err)
	}
	return err
}

func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}

type authClient struct {
	http    *http.Client
	base    *url.URL
	timeout time.Duration
	kind    string
	v       connector.Values

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (c *Client) client(conn connector.Connection) (*authClient, error) {
	key := fingerprint(conn.Values)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ac, ok := c.clients[key]; ok {
		return ac, nil
	}
	ac, err := newAuthClient(connector.Values(conn.Values), c.policy)
	if err != nil {
		return nil, err
	}
	if len(c.clients) > 256 {
		clear(c.clients)
	}
	c.clients[key] = ac
	return ac, nil
}

func fingerprint(v map[string]any) [32]byte {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%v\x00", k, v[k])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func newAuthClient(v connector.Values, p *outbound.Policy) (*authClient, error) {
	ac := &authClient{v: v}
	var err error
	if ac.kind, err = v.String("authentication", AuthNone); err != nil {
		return nil, err
	}
	secs, err := v.Int("timeoutSeconds", 100)
	if err != nil || secs <= 0 {
		return nil, errors.New("timeoutSeconds must be a positive integer")
	}
	ac.timeout = time.Duration(secs) * time.Second
	if base, _ := v.String("baseUrl", ""); base != "" {
		if ac.base, err = url.Parse(base); err != nil || !ac.base.IsAbs() {
			return nil, fmt.Errorf("baseUrl %q is not an absolute URL", base)
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca, _ := v.String("caCertificate", ""); ca != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, errors.New("caCertificate holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	switch ac.kind {
	case AuthNone:
	case AuthBasic:
		if _, err := v.Required("username"); err != nil {
			return nil, fmt.Errorf("basic authentication: %w", err)
		}
	case AuthBearer:
		if _, err := v.Required("token"); err != nil {
			return nil, fmt.Errorf("bearer authentication: %w", err)
		}
	case AuthAPIKey:
		for _, f := range []string{"apiKeyName", "apiKeyValue"} {
			if _, err := v.Required(f); err != nil {
				return nil, fmt.Errorf("apiKey authentication: %w", err)
			}
		}
		if in, _ := v.String("apiKeyIn", "header"); in != "header" && in != "query" {
			return nil, fmt.Errorf("apiKeyIn %q must be header or query", in)
		}
	case AuthClientCredentials:
		for _, f := range []string{"tokenUrl", "clientId", "clientSecret"} {
			if _, err := v.Required(f); err != nil {
				return nil, fmt.Errorf("oauth2ClientCredentials authentication: %w", err)
			}
		}
	case AuthClientCertificate:
		cert, _ := v.String("certificate", "")
		key, _ := v.String("privateKey", "")
		pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
		if err != nil {
			return nil, errors.New("clientCertificate authentication: certificate and privateKey must be a matching PEM pair")
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	default:
		return nil, fmt.Errorf("authentication %q must be one of none, basic, bearer, apiKey, oauth2ClientCredentials, clientCertificate", ac.kind)
	}
	tr := p.Transport()
	tr.TLSClientConfig = tlsCfg
	ac.http = &http.Client{Transport: trace.Transport{Base: tr}}
	return ac, nil
}

func (ac *authClient) resolve(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("uri %q is not a URL", uri)
	}
	if !u.IsAbs() {
		if ac.base == nil {
			return nil, fmt.Errorf("uri %q is relative and the connection has no baseUrl", uri)
		}
		base := *ac.base
		if !strings.HasSuffix(base.Path, "/") {
			base.Path += "/"
		}
		u = base.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery})
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("uri scheme %q must be http or https", u.Scheme)
	}
	return u, nil
}

func (ac *authClient) authorize(ctx context.Context, r *http.Request, q url.Values) error {
	v := ac.v
	switch ac.kind {
	case AuthBasic:
		user, _ := v.String("username", "")
		pw, _ := v.String("password", "")
		r.SetBasicAuth(user, pw)
	case AuthBearer:
		tok, _ := v.String("token", "")
		r.Header.Set("Authorization", "Bearer "+tok)
	case AuthAPIKey:
		name, _ := v.String("apiKeyName", "")
		val, _ := v.String("apiKeyValue", "")
		if in, _ := v.String("apiKeyIn", "header"); in == "query" {
			q.Set(name, val)
		} else {
			r.Header.Set(name, val)
		}
	case AuthClientCredentials:
		tok, err := ac.accessToken(ctx)
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// accessToken returns a cached client-credentials token or fetches one.
func (ac *authClient) accessToken(ctx context.Context) (string, error) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if ac.token != "" && time.Now().Before(ac.expires) {
		return ac.token, nil
	}
	v := ac.v
	tokenURL, _ := v.String("tokenUrl", "")
	form := url.Values{"grant_type": {"client_credentials"}}
	id, _ := v.String("clientId", "")
	secret, _ := v.String("clientSecret", "")
	form.Set("client_id", id)
	form.Set("client_secret", secret)
	if s, _ := v.String("scope", ""); s != "" {
		form.Set("scope", s)
	}
	if a, _ := v.String("audience", ""); a != "" {
		form.Set("audience", a)
		form.Set("resource", a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &connector.Error{Err: fmt.Errorf("tokenUrl: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ac.http.Do(req)
	if err != nil {
		return "", &connector.Error{Retryable: connector.Transient(err), Err: fmt.Errorf("get an OAuth2 token: %w", scrub(err, req.URL))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode == 429 || resp.StatusCode >= 500
		return "", &connector.Error{Status: resp.StatusCode, Retryable: retry, Err: fmt.Errorf("the token endpoint answered %s: %s", resp.Status, snippet(body))}
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", &connector.Error{Err: errors.New("the token endpoint's answer has no access_token")}
	}
	secs, _ := strconv.Atoi(strings.Trim(string(tr.ExpiresIn), `"`))
	if secs <= 0 {
		secs = 300
	}
	ac.token = tr.AccessToken
	ac.expires = time.Now().Add(time.Duration(secs)*time.Second - 30*time.Second)
	return ac.token, nil
}
