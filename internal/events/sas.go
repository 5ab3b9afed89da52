package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"junction/internal/server"
)

// sasTimeLayout is how Event Grid writes a SAS expiry: .NET's "M/d/yyyy h:mm:ss tt"
// in the en-US culture, UTC.
const sasTimeLayout = "1/2/2006 3:04:05 PM"

// SASToken signs an aeg-sas-token for resource (the topic endpoint URL) the way
// Event Grid and its SDKs do: r and e URL-encoded, the HMAC-SHA256 keyed with
// the base64-decoded access key.
func SASToken(resource, key string, expires time.Time) (string, error) {
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", err
	}
	unsigned := "r=" + uriComponent(resource) + "&e=" + uriComponent(expires.UTC().Format(sasTimeLayout))
	return unsigned + "&s=" + uriComponent(sign(k, unsigned)), nil
}

// uriComponent escapes like JavaScript's encodeURIComponent, which the SDKs use.
func uriComponent(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func sign(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// checkSAS verifies an aeg-sas-token against a topic's keys: the signature, the
// expiry, and that the resource is the topic.
func checkSAS(token, topic string, keys []string, now time.Time) bool {
	i := strings.LastIndex(token, "&s=")
	if i < 0 {
		return false
	}
	unsigned, sigEnc := token[:i], token[i+3:]
	sig, err := url.QueryUnescape(sigEnc)
	if err != nil {
		return false
	}
	vals, err := url.ParseQuery(unsigned)
	if err != nil {
		return false
	}
	exp, ok := parseExpiry(vals.Get("e"))
	if !ok || !now.Before(exp) {
		return false
	}
	if !resourceIsTopic(vals.Get("r"), topic) {
		return false
	}
	for _, key := range keys {
		k, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(sign(k, unsigned)), []byte(sig)) == 1 {
			return true
		}
	}
	return false
}

func parseExpiry(s string) (time.Time, bool) {
	if t, err := time.Parse(sasTimeLayout, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// resourceIsTopic reports whether a SAS resource URL names topic: its path is the
// topic's path, or something under it.
func resourceIsTopic(resource, topic string) bool {
	u, err := url.Parse(resource)
	if err != nil {
		return false
	}
	p := strings.ToLower(u.Path)
	base := strings.ToLower(topicPath(topic))
	if !strings.HasPrefix(p, base) {
		return false
	}
	rest := p[len(base):]
	return rest == "" || rest[0] == '/' || rest[0] == ':'
}

// authorize checks a data-plane request against a topic: aeg-sas-key,
// aeg-sas-token, Authorization: SharedAccessKey / SharedAccessSignature, or a
// bearer API key with a role that may send (or listen, for pull).
func (r *Router) authorize(req *http.Request, t topicRow, roles ...server.Role) (context.Context, *apiError) {
	keys := []string{t.Key1, t.Key2}
	unauth := &apiError{Status: http.StatusUnauthorized, Code: "Unauthorized",
		Message: "The request authorization key is not authorized for topic " + t.Name + ". Use aeg-sas-key, aeg-sas-token, Authorization: SharedAccessKey, or a bearer API key."}
	matchKey := func(k string) bool {
		ok := false
		for _, want := range keys {
			if subtle.ConstantTimeCompare([]byte(k), []byte(want)) == 1 {
				ok = true
			}
		}
		return ok
	}
	if k := req.Header.Get("aeg-sas-key"); k != "" {
		if matchKey(k) {
			return req.Context(), nil
		}
		return nil, unauth
	}
	if tok := req.Header.Get("aeg-sas-token"); tok != "" {
		if checkSAS(tok, t.Name, keys, r.now()) {
			return req.Context(), nil
		}
		return nil, unauth
	}
	h := req.Header.Get("Authorization")
	switch {
	case len(h) > 16 && strings.EqualFold(h[:16], "SharedAccessKey "):
		if matchKey(strings.TrimSpace(h[16:])) {
			return req.Context(), nil
		}
		return nil, unauth
	case len(h) > 22 && strings.EqualFold(h[:22], "SharedAccessSignature "):
		if checkSAS(strings.TrimSpace(h[22:]), t.Name, keys, r.now()) {
			return req.Context(), nil
		}
		return nil, unauth
	}
	if bearer, ok := server.BearerKey(req); ok && r.keys != nil {
		p, ok := r.keys.Authenticate(req.Context(), bearer)
		if !ok {
			return nil, unauth
		}
		if p.Role == server.RoleAdmin || p.Role == server.RoleOperator {
			return server.WithPrincipal(req.Context(), p), nil
		}
		for _, role := range roles {
			if p.Role == role {
				return server.WithPrincipal(req.Context(), p), nil
			}
		}
		return nil, &apiError{Status: http.StatusForbidden, Code: "Forbidden", Message: "the key's role " + string(p.Role) + " may not use topic " + t.Name}
	}
	return nil, unauth
}
