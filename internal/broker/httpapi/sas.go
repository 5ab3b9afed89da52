package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/server"
)

// Right is a shared access right.
type Right string

// The rights of Service Bus authorization rules. Manage includes the others.
const (
	Listen Right = "Listen"
	Send   Right = "Send"
	Manage Right = "Manage"
)

// RootRule is the namespace rule whose key is the admin key.
const RootRule = "RootManageSharedAccessKey"

// AuthRule is a shared access authorization rule at namespace scope (Scope
// "") or on one queue or topic.
type AuthRule struct {
	Scope        string  `json:"-"`
	Name         string  `json:"name"`
	Rights       []Right `json:"rights"`
	PrimaryKey   string  `json:"-"`
	SecondaryKey string  `json:"-"`
}

func (r AuthRule) allows(need Right) bool {
	if need == "" {
		return true
	}
	for _, x := range r.Rights {
		if x == need || x == Manage {
			return true
		}
	}
	return false
}

// sasKeys keeps authorization rules in the store.
type sasKeys struct {
	s        storage.Driver
	adminKey string
	now      func() time.Time
	cache    sync.Map // scope + "\x00" + name -> cachedRule
}

// ruleCacheTTL bounds how long a node accepts a key after another node
// changed or deleted its rule; changes made through this node apply at once.
const ruleCacheTTL = time.Second

type cachedRule struct {
	rule  AuthRule
	found bool
	at    time.Time
}

// lookup is get through the cache, for verifying tokens.
func (k *sasKeys) lookup(ctx context.Context, scope, name string) (AuthRule, error) {
	key := strings.ToLower(scope) + "\x00" + name
	if c, ok := k.cache.Load(key); ok {
		cr := c.(cachedRule)
		if time.Since(cr.at) < ruleCacheTTL {
			if !cr.found {
				return AuthRule{}, storage.ErrNotFound
			}
			return cr.rule, nil
		}
	}
	r, err := k.get(ctx, scope, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		k.cache.Store(key, cachedRule{at: time.Now()})
	case err == nil:
		k.cache.Store(key, cachedRule{rule: r, found: true, at: time.Now()})
	}
	return r, err
}

var ruleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$`)

func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ensureRoot creates RootManageSharedAccessKey with a generated key when no
// admin key is configured and none was stored yet.
func (k *sasKeys) ensureRoot(ctx context.Context) error {
	return k.s.Tx(ctx, func(tx storage.Tx) error {
		return tx.InsertAuthRule(ctx, storage.AuthRule{Name: RootRule, Rights: "Listen,Send,Manage", PrimaryKey: newKey(), SecondaryKey: newKey()}, true)
	})
}

func (k *sasKeys) get(ctx context.Context, scope, name string) (AuthRule, error) {
	var sr storage.AuthRule
	err := k.s.Read(ctx, func(q storage.Reader) (err error) {
		sr, err = q.AuthRule(ctx, strings.ToLower(scope), name)
		return err
	})
	r := AuthRule{Scope: sr.Scope, Name: sr.Name, PrimaryKey: sr.PrimaryKey, SecondaryKey: sr.SecondaryKey}
	if err != nil {
		return r, err
	}
	for _, x := range strings.Split(sr.Rights, ",") {
		if x != "" {
			r.Rights = append(r.Rights, Right(x))
		}
	}
	if scope == "" && name == RootRule && k.adminKey != "" {
		r.PrimaryKey = k.adminKey
	}
	return r, nil
}

func (k *sasKeys) list(ctx context.Context, scope string) ([]AuthRule, error) {
	var names []string
	err := k.s.Read(ctx, func(q storage.Reader) (err error) {
		names, err = q.AuthRuleNames(ctx, strings.ToLower(scope))
		return err
	})
	var out []AuthRule
	for _, n := range names {
		r, err := k.get(ctx, scope, n)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, err
}

func validRights(rights []Right) error {
	if len(rights) == 0 {
		return errors.New("at least one right is required: Listen, Send or Manage")
	}
	has := map[Right]bool{}
	for _, r := range rights {
		if r != Listen && r != Send && r != Manage {
			return fmt.Errorf("unknown right %q: use Listen, Send or Manage", r)
		}
		has[r] = true
	}
	if has[Manage] && (!has[Listen] || !has[Send]) {
		return errors.New("Manage requires Listen and Send too")
	}
	return nil
}

func (k *sasKeys) put(ctx context.Context, scope, name string, rights []Right) (bool, error) {
	defer k.cache.Clear()
	var created bool
	joined := make([]string, len(rights))
	for i, r := range rights {
		joined[i] = string(r)
	}
	err := k.s.Tx(ctx, func(tx storage.Tx) error {
		created = false
		found, err := tx.SetAuthRights(ctx, strings.ToLower(scope), name, strings.Join(joined, ","))
		if err != nil || found {
			return err
		}
		created = true
		return tx.InsertAuthRule(ctx, storage.AuthRule{Scope: strings.ToLower(scope), Name: name, Rights: strings.Join(joined, ","),
			PrimaryKey: newKey(), SecondaryKey: newKey()}, false)
	})
	return created, err
}

func (k *sasKeys) delete(ctx context.Context, scope, name string) (bool, error) {
	defer k.cache.Clear()
	var found bool
	err := k.s.Tx(ctx, func(tx storage.Tx) (err error) {
		found, err = tx.DeleteAuthRule(ctx, strings.ToLower(scope), name)
		return err
	})
	return found, err
}

func (k *sasKeys) regenerate(ctx context.Context, scope, name, which string) error {
	defer k.cache.Clear()
	return k.s.Tx(ctx, func(tx storage.Tx) error {
		found, err := tx.SetAuthKey(ctx, strings.ToLower(scope), name, which == "SecondaryKey", newKey())
		if err == nil && !found {
			return storage.ErrNotFound
		}
		return err
	})
}

// authError is an authentication or authorisation failure: 401 or 403.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

func unauthorized(format string, args ...any) error {
	return &authError{http.StatusUnauthorized, fmt.Sprintf(format, args...)}
}

// Sign returns a SharedAccessSignature token for uri, exactly as the Service
// Bus SDKs compute it: HMAC-SHA256 with the key string's UTF-8 bytes over
// urlencode(uri) + "\n" + expiry.
func Sign(uri, keyName, key string, expiry time.Time) string {
	sr := url.QueryEscape(uri)
	se := strconv.FormatInt(expiry.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return "SharedAccessSignature sr=" + sr + "&sig=" + url.QueryEscape(sig) + "&se=" + se + "&skn=" + url.QueryEscape(keyName)
}

// scopeOf turns a token's resource URI into an entity path prefix: the
// namespace ("") or an entity. The host is not compared, so tokens signed for
// the name clients use (a proxy, localhost) work.
func scopeOf(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", err
	}
	p := u.Path
	if u.Host == "" && u.Scheme == "" {
		p = resource
	}
	p = strings.Trim(p, "/")
	lower := strings.ToLower(p)
	if lower == "servicebus" {
		return "", nil
	}
	if strings.HasPrefix(lower, "servicebus/") {
		p = p[len("servicebus/"):]
	}
	// A token for an entity's $management node (AMQP clients sign those)
	// is a token for the entity.
	p = strings.ToLower(strings.Trim(p, "/"))
	return strings.TrimSuffix(p, "/$management"), nil
}

func within(entity, scope string) bool {
	if scope == "" {
		return true
	}
	entity = strings.ToLower(entity)
	return entity == scope || strings.HasPrefix(entity, scope+"/")
}

// verify checks a SharedAccessSignature token for an operation needing right
// on entity (a runtime path).
func (k *sasKeys) verify(ctx context.Context, token, entity string, need Right) error {
	t, err := parseSAS(token)
	if err != nil {
		return err
	}
	if t.expiry < k.now().Unix() {
		return unauthorized("ExpiredToken: the token expired at %s", time.Unix(t.expiry, 0).UTC().Format(http.TimeFormat))
	}
	resource, scope, keyName := t.resource, t.scope, t.keyName
	// The rule is looked up at namespace scope, then on the entity (a queue
	// or topic: the first path segments up to /subscriptions/).
	rule, err := k.lookup(ctx, "", keyName)
	if errors.Is(err, storage.ErrNotFound) {
		rule, err = k.lookup(ctx, topLevel(entity), keyName)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return unauthorized("InvalidSignature: the rule '%s' does not exist at the namespace or on the entity", keyName)
	}
	if err != nil {
		return err
	}
	if !signatureMatches(t.rawSR, resource, t.rawSE, t.sig, rule) {
		return unauthorized("InvalidSignature: the token's signature does not match the key of the rule '%s'", keyName)
	}
	if rule.Scope != "" && !within(scope, rule.Scope) {
		return unauthorized("InvalidSignature: the rule '%s' belongs to '%s', and the token is for another resource", keyName, rule.Scope)
	}
	if !within(entity, scope) {
		return unauthorized("InvalidAudience: the token is for '%s', not for '%s'", resource, entity)
	}
	if !rule.allows(need) {
		return unauthorized("the rule '%s' does not grant the %s right this operation needs", keyName, need)
	}
	return nil
}

func signatureMatches(rawSR, resource, se, sig string, rule AuthRule) bool {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	// The signed text is the sr value exactly as the token carries it; a
	// client that escaped differently from how it signed is also accepted.
	candidates := []string{rawSR}
	if e := url.QueryEscape(resource); e != rawSR {
		candidates = append(candidates, e)
	}
	for _, key := range []string{rule.PrimaryKey, rule.SecondaryKey} {
		if key == "" {
			continue
		}
		for _, c := range candidates {
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(c + "\n" + se))
			if subtle.ConstantTimeCompare(mac.Sum(nil), want) == 1 {
				return true
			}
		}
	}
	return false
}

// topLevel is the queue or topic an entity path belongs to.
func topLevel(entity string) string {
	lower := strings.ToLower(entity)
	if i := strings.Index(lower, "/subscriptions/"); i >= 0 {
		return lower[:i]
	}
	if i := strings.Index(lower, "/$deadletterqueue"); i >= 0 {
		return lower[:i]
	}
	return lower
}

// authorize accepts a SAS token or a bearer API key for right on entity.
func (a *API) authorize(r *http.Request, entity string, need Right) (*http.Request, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return r, unauthorized("an Authorization header is required: a SharedAccessSignature token or a Bearer key")
	}
	if key, ok := server.BearerKey(r); ok {
		p, err := a.authorizeKey(r.Context(), key, need)
		if err != nil {
			return r, err
		}
		return r.WithContext(server.WithPrincipal(r.Context(), p)), nil
	}
	if err := a.sas.verify(r.Context(), h, entity, need); err != nil {
		return r, err
	}
	return r, nil
}

// authorizeKey checks an API key for a right: admin and operator keys have
// every right, sender keys Send, listener keys Listen.
func (a *API) authorizeKey(ctx context.Context, key string, need Right) (server.Principal, error) {
	p, ok := a.keys.Authenticate(ctx, key)
	if !ok {
		return p, unauthorized("the API key is not valid")
	}
	allowed := false
	switch p.Role {
	case server.RoleAdmin, server.RoleOperator:
		allowed = true
	case server.RoleSender:
		allowed = need == Send || need == ""
	case server.RoleListener:
		allowed = need == Listen || need == ""
	}
	if !allowed {
		return p, &authError{http.StatusUnauthorized, fmt.Sprintf("the key's role %s does not grant the %s right this operation needs", p.Role, need)}
	}
	return p, nil
}

// AuthorizeToken checks a token given over another protocol (the AMQP
// front end's $cbs node): a SharedAccessSignature token, or a Junction API
// key (bare or as "Bearer <key>"), for need ("" for any right) on entity (""
// for the namespace). It returns when the token expires (zero for never).
func (a *API) AuthorizeToken(ctx context.Context, token, entity, need string) (time.Time, error) {
	const prefix = "SharedAccessSignature "
	if len(token) > len(prefix) && strings.EqualFold(token[:len(prefix)], prefix) {
		t, err := parseSAS(token)
		if err != nil {
			return time.Time{}, err
		}
		if err := a.sas.verify(ctx, token, entity, Right(need)); err != nil {
			return time.Time{}, err
		}
		return time.Unix(t.expiry, 0), nil
	}
	key := strings.TrimSpace(token)
	if len(key) > 7 && strings.EqualFold(key[:7], "Bearer ") {
		key = strings.TrimSpace(key[7:])
	}
	_, err := a.authorizeKey(ctx, key, Right(need))
	return time.Time{}, err
}

// sasToken is a parsed SharedAccessSignature token.
type sasToken struct {
	rawSR, rawSE    string // as carried (the signed text is rawSR + "\n" + rawSE)
	resource, scope string
	keyName, sig    string
	expiry          int64
}

// parseSAS reads "SharedAccessSignature sr=..&sig=..&se=..&skn=..".
func parseSAS(token string) (sasToken, error) {
	var t sasToken
	token = strings.TrimSpace(token)
	const prefix = "SharedAccessSignature "
	if len(token) <= len(prefix) || !strings.EqualFold(token[:len(prefix)], prefix) {
		return t, unauthorized("the Authorization header must be a SharedAccessSignature token or a Bearer key")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(token[len(prefix):], "&") {
		kv := strings.SplitN(part, "=", 2)
		if len(kv) != 2 {
			return t, unauthorized("malformed SharedAccessSignature token: %q is not key=value", part)
		}
		fields[strings.TrimSpace(kv[0])] = kv[1]
	}
	for _, f := range []string{"sr", "sig", "se", "skn"} {
		if fields[f] == "" {
			return t, unauthorized("malformed SharedAccessSignature token: %s is missing", f)
		}
	}
	var err error
	if t.expiry, err = strconv.ParseInt(fields["se"], 10, 64); err != nil {
		return t, unauthorized("malformed SharedAccessSignature token: se is not a Unix time")
	}
	if t.resource, err = url.QueryUnescape(fields["sr"]); err != nil {
		return t, unauthorized("malformed SharedAccessSignature token: sr is not URL-encoded")
	}
	if t.scope, err = scopeOf(t.resource); err != nil {
		return t, unauthorized("malformed SharedAccessSignature token: sr is not a URI")
	}
	if t.keyName, err = url.QueryUnescape(fields["skn"]); err != nil {
		return t, unauthorized("malformed SharedAccessSignature token: skn is not URL-encoded")
	}
	if t.sig, err = url.QueryUnescape(fields["sig"]); err != nil {
		return t, unauthorized("malformed SharedAccessSignature token: sig is not URL-encoded")
	}
	t.rawSR, t.rawSE = fields["sr"], fields["se"]
	return t, nil
}
