package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"junction/internal/trace"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/expr"
	"junction/internal/outbound"
)

// maxHTTPBody bounds what an Http action reads from a response.
const maxHTTPBody = 100 << 20

// httpAttemptTimeout bounds one outbound request of an Http action.
const httpAttemptTimeout = 120 * time.Second

// safeClient dials through the outbound policy and hands redirects back to the
// flow, as Logic Apps does.
func safeClient(p *outbound.Policy) *http.Client {
	return &http.Client{Transport: trace.Transport{Base: p.Transport()}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// noSettings resolves no app setting: the app passes its secrets resolver.
func noSettings(string) (string, bool) { return "", false }

// httpCode is Logic Apps' action code for a status: "OK", "NotFound", ...
func httpCode(status int) string {
	t := http.StatusText(status)
	if t == "" {
		return strconv.Itoa(status)
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, " ", ""), "-", "")
}

func actHTTP(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = redactAuth(m)
	return c.httpCall(ctx, m, c.rs.e.opt.HTTPClient)
}

// httpCall makes an Http action's request (method, uri, queries, headers,
// body, authentication, retries, the async pattern) with client.
func (c *call) httpCall(ctx context.Context, m map[string]any, client *http.Client) error {
	method := strings.ToUpper(expr.ToString(m["method"]))
	uri := expr.ToString(m["uri"])
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return failf("InvalidUri", "The uri '%s' of action '%s' is not an absolute http(s) URL", uri, c.name)
	}
	if q, ok := m["queries"].(map[string]any); ok {
		vals := u.Query()
		for k, v := range q {
			vals.Set(k, expr.ToString(v))
		}
		u.RawQuery = vals.Encode()
	}
	headers := http.Header{}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, v := range h {
			headers.Set(k, expr.ToString(v))
		}
	}
	var body []byte
	if b, ok := m["body"]; ok && b != nil {
		switch x := b.(type) {
		case string:
			// Logic Apps sends a string body as .NET StringContent does:
			// text/plain in UTF-8, unless the action sets Content-Type.
			body = []byte(x)
			if headers.Get("Content-Type") == "" {
				headers.Set("Content-Type", "text/plain; charset=utf-8")
			}
		default:
			if ct, data, ok := expr.AsBinary(x); ok {
				body = data
				if headers.Get("Content-Type") == "" {
					headers.Set("Content-Type", ct)
				}
				break
			}
			body, _ = json.Marshal(x)
			if headers.Get("Content-Type") == "" {
				headers.Set("Content-Type", "application/json")
			}
		}
	}
	if auth, ok := m["authentication"].(map[string]any); ok {
		cl, err := c.rs.e.authenticate(ctx, auth, headers, client)
		if err != nil {
			return err
		}
		client = cl
	}
	policy, err := c.retryPolicy(m)
	if err != nil {
		return err
	}
	async := !strings.Contains(strings.ToLower(c.a.OperationOptions), "disableasyncpattern")
	res := c.withRetries(ctx, policy, func(ctx context.Context) attempt {
		return c.rs.e.doHTTP(ctx, client, method, u.String(), headers, body)
	})
	for async && res.err == nil && res.status == http.StatusAccepted {
		out, _ := res.outputs.(map[string]any)
		hdr, _ := out["headers"].(map[string]any)
		loc := expr.ToString(hdr["Location"])
		if loc == "" {
			break
		}
		wait := res.retryAfter
		if wait <= 0 {
			wait = 10 * time.Second
		}
		if err := c.rs.e.sleep(ctx, wait); err != nil {
			return err
		}
		poll := headers.Clone()
		poll.Del("Content-Type")
		res = c.withRetries(ctx, policy, func(ctx context.Context) attempt {
			return c.rs.e.doHTTP(ctx, client, http.MethodGet, resolveRef(u, loc), poll, nil)
		})
	}
	if min := paginationMinimum(c.a); min > 0 && res.err == nil {
		poll := headers.Clone()
		poll.Del("Content-Type")
		res = c.paginate(ctx, res, min, httpPages, func(ctx context.Context, link string) attempt {
			return c.withRetries(ctx, policy, func(ctx context.Context) attempt {
				return c.rs.e.doHTTP(ctx, client, http.MethodGet, resolveRef(u, link), poll, nil)
			})
		})
	}
	if res.outputs != nil {
		c.rec.Outputs = res.outputs
	}
	if res.err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if res.status > 0 {
			c.rec.Code = httpCode(res.status)
		}
		return res.err
	}
	c.rec.Code = httpCode(res.status)
	return nil
}

func resolveRef(base *url.URL, ref string) string {
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(r).String()
}

func redactAuth(m map[string]any) map[string]any {
	auth, ok := m["authentication"].(map[string]any)
	if !ok {
		return m
	}
	out := copyMap(m)
	a := copyMap(auth)
	for _, k := range []string{"password", "secret", "value", "pfx"} {
		if _, ok := a[k]; ok {
			a[k] = "*sanitized*"
		}
	}
	out["authentication"] = a
	return out
}

func (e *Engine) doHTTP(ctx context.Context, client *http.Client, method, uri string, headers http.Header, body []byte) attempt {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// One attempt waits at most httpAttemptTimeout, as Logic Apps bounds an
	// outbound request; limit.timeout bounds the whole action.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, httpAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, uri, rd)
	if err != nil {
		return attempt{err: failf("InvalidRequest", "%v", err)}
	}
	req.Header = headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return attempt{err: parent.Err()}
		}
		if ctx.Err() != nil {
			return attempt{err: failf("RequestTimeout", "The HTTP request to %s did not answer within %s", req.URL.Redacted(), httpAttemptTimeout), retry: true}
		}
		if errors.Is(err, outbound.ErrRefused) {
			// The outbound policy's refusal is final: retrying cannot change it.
			return attempt{err: failf("Forbidden", "The HTTP request to %s was refused: %v", req.URL.Redacted(), err)}
		}
		return attempt{err: failf("ServiceUnavailable", "The HTTP request to %s failed: %v", req.URL.Redacted(), err), retry: true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	if err != nil {
		return attempt{err: failf("ServiceUnavailable", "Reading the response from %s failed: %v", req.URL.Redacted(), err), retry: true}
	}
	hdr := map[string]any{}
	for k := range resp.Header {
		hdr[k] = resp.Header.Get(k)
	}
	var b any
	if len(data) > 0 {
		ct := resp.Header.Get("Content-Type")
		if strings.Contains(ct, "json") {
			if v, err := expr.DecodeJSON(data); err == nil {
				b = v
			}
		}
		if b == nil {
			if isText(ct) {
				b = string(data)
			} else {
				b = expr.Binary(ct, data)
			}
		}
	}
	out := map[string]any{"statusCode": int64(resp.StatusCode), "headers": hdr, "body": b}
	a := attempt{status: resp.StatusCode, outputs: out, retryAfter: retryAfter(resp.Header.Get("Retry-After"), e.opt.Now())}
	if resp.StatusCode >= 400 {
		a.err = failf(httpCode(resp.StatusCode), "The HTTP request to %s failed with status code %d", req.URL.Redacted(), resp.StatusCode)
		a.retry = retryable(resp.StatusCode)
	}
	return a
}

func isText(ct string) bool {
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "xml") || strings.Contains(ct, "x-www-form-urlencoded")
}

func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return t.Sub(now)
	}
	return 0
}

// authenticate applies an Http action's authentication to headers, or
// returns a client with a client certificate.
func (e *Engine) authenticate(ctx context.Context, auth map[string]any, headers http.Header, client *http.Client) (*http.Client, error) {
	s := func(k string) string { return expr.ToString(auth[k]) }
	switch strings.ToLower(s("type")) {
	case "", "none":
		return client, nil
	case "basic":
		headers.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s("username")+":"+s("password"))))
	case "raw":
		headers.Set("Authorization", s("value"))
	case "activedirectoryoauth":
		tok, err := e.tokens.get(ctx, client, s("authority"), s("tenant"), s("clientId"), s("secret"), s("audience"), e.opt.Now)
		if err != nil {
			return nil, failf("Unauthorized", "Could not get a token for the audience '%s': %v", s("audience"), err)
		}
		headers.Set("Authorization", "Bearer "+tok)
	case "clientcertificate":
		cert, err := loadClientCert(s("pfx"), s("password"))
		if err != nil {
			return nil, failf("InvalidClientCertificate", "%v", err)
		}
		rt := client.Transport
		if t, ok := rt.(trace.Transport); ok {
			rt = t.Base
		}
		tr, ok := rt.(*http.Transport)
		if !ok {
			tr = http.DefaultTransport.(*http.Transport)
		}
		tr = tr.Clone()
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		cfg.Certificates = []tls.Certificate{cert}
		tr.TLSClientConfig = cfg
		return &http.Client{Transport: trace.Transport{Base: tr}, CheckRedirect: client.CheckRedirect, Timeout: client.Timeout}, nil
	default:
		return nil, failf("InvalidAuthentication", "The authentication type '%s' is not supported", s("type"))
	}
	return client, nil
}

// loadClientCert reads the certificate of ClientCertificate authentication:
// base64 of PEM certificate and key. PKCS#12 (.pfx) is not read yet.
func loadClientCert(b64, _ string) (tls.Certificate, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("the certificate is not base64")
	}
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return tls.Certificate{}, fmt.Errorf("PKCS#12 (.pfx) certificates are not supported yet; give the base64 of a PEM file holding the certificate and its private key")
	}
	return tls.X509KeyPair(data, data)
}

// tokenCache holds client-credentials tokens until shortly before expiry.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

func (tc *tokenCache) get(ctx context.Context, client *http.Client, authority, tenant, clientID, secret, audience string, now func() time.Time) (string, error) {
	if authority == "" {
		authority = "https://login.microsoftonline.com"
	}
	sum := sha256.Sum256([]byte(secret))
	key := strings.Join([]string{authority, tenant, clientID, audience, hex.EncodeToString(sum[:8])}, "\x00")
	tc.mu.Lock()
	if tc.m == nil {
		tc.m = map[string]cachedToken{}
	}
	if t, ok := tc.m[key]; ok && now().Before(t.expires) {
		tc.mu.Unlock()
		return t.token, nil
	}
	tc.mu.Unlock()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "resource": {audience}}
	endpoint := strings.TrimSuffix(authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("the token endpoint answered %d with no JSON", resp.StatusCode)
	}
	if resp.StatusCode != 200 || body.AccessToken == "" {
		return "", fmt.Errorf("the token endpoint answered %d: %s %s", resp.StatusCode, body.Error, body.Description)
	}
	secs, _ := strconv.Atoi(strings.Trim(string(body.ExpiresIn), `"`))
	if secs <= 0 {
		secs = 3600
	}
	tc.mu.Lock()
	tc.m[key] = cachedToken{token: body.AccessToken, expires: now().Add(time.Duration(secs)*time.Second - time.Minute)}
	tc.mu.Unlock()
	return body.AccessToken, nil
}
