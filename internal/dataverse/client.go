// Package dataverse is a client for the Dataverse Web API of a real Dynamics
// 365 org (and of Junction, which serves the same API). It authenticates
// with OAuth2 client credentials against a configurable token endpoint and
// caches the token, retries 429 responses after Retry-After and 502/503/504
// with exponential backoff, follows @odata.nextLink paging, and offers
// upsert by alternate key, CreateMultiple/UpsertMultiple, $batch and change
// tracking. Later connectors use it as the Dataverse connector.
package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/outbound"
)

// Config configures a Client.
type Config struct {
	// URL is the org, such as https://contoso.crm.dynamics.com.
	URL string
	// Version is the API version segment; v9.2 when empty.
	Version string
	// TenantID, ClientID and ClientSecret are the app registration.
	TenantID     string
	ClientID     string
	ClientSecret string
	// Token, when set, is sent as the bearer token instead of one fetched with
	// client credentials: Junction's own Web API takes an API key.
	Token string
	// TokenURL overrides https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
	TokenURL string
	// Scope overrides {URL}/.default.
	Scope string
	// HTTPClient defaults to a client with a 100 s timeout that dials through
	// Outbound. Calls to Junction's own Web API pass the app's local client,
	// which trusts the listener's own certificate.
	HTTPClient *http.Client
	// Outbound is the policy of the default client (nil: the default policy,
	// which refuses link-local and metadata addresses).
	Outbound *outbound.Policy
	// MaxRetries bounds retries of throttled and failed-gateway responses (default 5).
	MaxRetries int
	// MaxBackoff caps the exponential backoff (default 60 s).
	MaxBackoff time.Duration
	// Sleep waits between retries; tests inject their own. It must return
	// ctx.Err() when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for token expiry.
	Now func() time.Time
}

// Client talks to one org. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string // .../api/data/v9.2/

	mu      sync.Mutex
	token   string
	expires time.Time

	// pause is when a throttled org accepts requests again: a 429 holds back
	// every request of the client, not only the one that was refused, so
	// parallel writers slow down together as Dataverse asks.
	pauseMu sync.Mutex
	pause   time.Time
}

// Error is a non-2xx answer in the Dataverse error shape.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("dataverse: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("dataverse: URL %q must be an absolute URL such as https://contoso.crm.dynamics.com", cfg.URL)
	}
	if cfg.Token == "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
		return nil, errors.New("dataverse: ClientID and ClientSecret are required")
	}
	if cfg.TokenURL == "" && cfg.Token == "" {
		if cfg.TenantID == "" {
			return nil, errors.New("dataverse: TenantID (or TokenURL) is required")
		}
		cfg.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	root := strings.TrimSuffix(u.Scheme+"://"+u.Host, "/")
	if cfg.Scope == "" {
		cfg.Scope = root + "/.default"
	}
	if cfg.Version == "" {
		cfg.Version = "v9.2"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = cfg.Outbound.Client(100 * time.Second)
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, base: root + strings.TrimSuffix(u.Path, "/") + "/api/data/" + cfg.Version + "/"}, nil
}

// Base is the service root URL.
func (c *Client) Base() string { return c.base }

// accessToken returns a cached token or fetches a new one.
func (c *Client) accessToken(ctx context.Context, force bool) (string, error) {
	if c.cfg.Token != "" {
		return c.cfg.Token, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !force && c.token != "" && c.cfg.Now().Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}, "scope": {c.cfg.Scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("dataverse: token request: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var tok struct {
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.Number     `json:"expires_in"`
		AccessToken string          `json:"access_token"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
		Extra       json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		msg := tok.Description
		if msg == "" {
			msg = tok.Error
		}
		if msg == "" {
			msg = strings.TrimSpace(string(body))
		}
		return "", fmt.Errorf("dataverse: token endpoint answered %d: %s", res.StatusCode, msg)
	}
	secs, err := tok.ExpiresIn.Int64()
	if err != nil || secs <= 0 {
		secs = 300
	}
	// Renew a minute early (or halfway for short tokens) so a request never
	// leaves with a token about to lapse.
	margin := min(time.Minute, time.Duration(secs)*time.Second/2)
	c.token, c.expires = tok.AccessToken, c.cfg.Now().Add(time.Duration(secs)*time.Second-margin)
	return c.token, nil
}

// Response is a raw answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r *Response) JSON(v any) error {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	return dec.Decode(v)
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// Do sends one request to path (relative to the service root, or absolute)
// with retries. body is JSON-encoded unless it is a []byte or string.
func (c *Client) Do(ctx context.Context, method, path string, body any, header http.Header) (*Response, error) {
	var data []byte
	switch x := body.(type) {
	case nil:
	case []byte:
		data = x
	case string:
		data = []byte(x)
	default:
		var err error
		if data, err = json.Marshal(x); err != nil {
			return nil, fmt.Errorf("dataverse: encode body: %w", err)
		}
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.base + strings.TrimPrefix(path, "/")
	}
	refreshed := false
	for attempt := 0; ; attempt++ {
		if err := c.waitPause(ctx); err != nil {
			return nil, err
		}
		tok, err := c.accessToken(ctx, false)
		if err != nil {
			return nil, err
		}
		var rd io.Reader
		if data != nil {
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, err
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("OData-MaxVersion", "4.0")
		req.Header.Set("OData-Version", "4.0")
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		if data != nil && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		res, err := c.cfg.HTTPClient.Do(req)
		if err != nil {
			// A refusal of the outbound policy is final: retrying cannot change it.
			if ctx.Err() != nil || attempt >= c.cfg.MaxRetries || errors.Is(err, outbound.ErrRefused) {
				// The transport's error repeats the method and URL; say them once.
				var urlErr *url.Error
				if errors.As(err, &urlErr) {
					err = urlErr.Err
				}
				return nil, fmt.Errorf("dataverse: %s %s: %w", method, u, err)
			}
			if err := c.cfg.Sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		rb, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("dataverse: read response: %w", err)
		}
		r := &Response{Status: res.StatusCode, Header: res.Header, Body: rb}
		if res.StatusCode == http.StatusUnauthorized && !refreshed {
			refreshed = true
			if _, err := c.accessToken(ctx, true); err != nil {
				return nil, err
			}
			continue
		}
		if retryable(res.StatusCode) && attempt < c.cfg.MaxRetries {
			wait := c.backoff(attempt)
			if s, err := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			if res.StatusCode == http.StatusTooManyRequests {
				c.holdUntil(c.cfg.Now().Add(wait))
			}
			if err := c.cfg.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		if res.StatusCode >= 400 {
			return r, parseError(r)
		}
		return r, nil
	}
}

// Pause holds back every request of the client for d, as a 429 answer does:
// callers that learn of throttling otherwise (a $batch part answered 429)
// slow every writer down with it. The requests made meanwhile wait.
func (c *Client) Pause(d time.Duration) { c.holdUntil(c.cfg.Now().Add(d)) }

// holdUntil pauses every request of the client until t.
func (c *Client) holdUntil(t time.Time) {
	c.pauseMu.Lock()
	if t.After(c.pause) {
		c.pause = t
	}
	c.pauseMu.Unlock()
}

// waitPause waits out a pause another request's 429 asked for.
func (c *Client) waitPause(ctx context.Context) error {
	c.pauseMu.Lock()
	d := c.pause.Sub(c.cfg.Now())
	c.pauseMu.Unlock()
	if d <= 0 {
		return nil
	}
	return c.cfg.Sleep(ctx, d)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := time.Second << min(attempt, 16)
	return min(d, c.cfg.MaxBackoff)
}

func parseError(r *Response) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &e) == nil && e.Error.Code != "" {
		return &Error{Status: r.Status, Code: e.Error.Code, Message: e.Error.Message}
	}
	return &Error{Status: r.Status, Message: strings.TrimSpace(string(r.Body))}
}
