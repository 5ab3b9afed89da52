// Package webapi serves the Dataverse Web API (OData v4) at /api/data/v9.x/
// over Junction's own tables: CRUD with ETags and upsert, queries ($select,
// $filter, $orderby, $top, $count, $expand, $apply, paging), FetchXML,
// $batch, bulk actions, change tracking, metadata (service document,
// $metadata, EntityDefinitions), custom actions and functions, the Dataverse
// messages integrations call (WhoAmI, RetrieveCurrentOrganization,
// FormatAddress, InitializeFrom, RetrieveTotalRecordCount, BulkDelete as a
// background System Job), errors in the Dataverse shape and service
// protection limits.
package webapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"junction/internal/jsonvalue"
	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/server"
)

// Prefix is where the API is served.
const Prefix = "/api/data/"

// Handler serves the Web API.
type Handler struct {
	rec     *records.Service
	auth    server.Authenticator
	log     *slog.Logger
	actions map[string][]*Action
	limits  *Limiter
	now     func() time.Time
	json    jsonvalue.Limits
	jobs    *jobRunner
	// customAPIs runs Custom API implementations (nil: none can run).
	customAPIs CustomAPIRunner
	// scopes are the changeset transactions open to Custom API
	// implementations (TransactionHeader).
	scopes txScopes
	// root is the service root last answered under (see serviceRoot).
	root atomic.Pointer[serviceRoot]
}

// serviceRoot is the service root of requests made with one scheme, host
// and version of the API: scheme://host/api/data/v9.2/.
type serviceRoot struct{ scheme, host, ver, url string }

// rootOf returns the service root of r, whose version segment is ver. The
// last one made is kept, since a server's callers nearly all name it with
// one host and one version: every answer writes it, and the string was
// built anew for each.
func (h *Handler) rootOf(r *http.Request, ver string) string {
	sch := scheme(r)
	if k := h.root.Load(); k != nil && k.scheme == sch && k.host == r.Host && k.ver == ver {
		return k.url
	}
	k := &serviceRoot{scheme: sch, host: r.Host, ver: ver, url: sch + "://" + r.Host + Prefix + ver + "/"}
	h.root.Store(k)
	return k.url
}

// NewHandler returns the Web API handler over cfg.Records, authenticating
// bearer tokens with cfg.Auth.
func NewHandler(cfg Config) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{rec: cfg.Records, auth: cfg.Auth, log: log, actions: map[string][]*Action{}, now: cfg.Now, json: cfg.JSON}
	h.limits = NewLimiter(cfg.Limits, cfg.Now)
	h.jobs = newJobRunner(h, log, cfg.NodeID)
	h.registerBuiltinActions()
	h.registerSecurityActions()
	return h
}

// req is one parsed request.
type req struct {
	r       *http.Request
	base    string // absolute, ends with /api/data/v9.N/
	segs    []string
	query   url.Values
	prefer  prefer
	user    string
	grants  *records.Grants // what user may do; every read and write is checked
	corr    string
	batchID map[string]string // Content-ID → entity URL inside a $batch changeset
}

// isVersionSeg reports whether seg names a version of the Web API: v9.
// and a minor version, v9.2 for instance.
func isVersionSeg(seg string) bool {
	minor, ok := strings.CutPrefix(seg, "v9.")
	if !ok || minor == "" {
		return false
	}
	for i := 0; i < len(minor); i++ {
		if minor[i] < '0' || minor[i] > '9' {
			return false
		}
	}
	return true
}

// ServeHTTP authenticates, applies the limits and dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Odata-Version"] = odataVersion
	// The request's context is replaced once, below, with everything the
	// handlers read from it: each replacement copies the request.
	ctx := context.WithValue(r.Context(), jsonLimitsKey{}, h.json)
	rest := strings.TrimPrefix(r.URL.EscapedPath(), Prefix)
	ver, rest, _ := strings.Cut(rest, "/")
	if !isVersionSeg(ver) {
		writeError(w, records.Errorf(http.StatusNotFound, records.CodeBadSegment,
			"Resource not found for the segment '%s'. The Web API's URLs name a version: %sv9.2/%s", unescape(ver), Prefix, unescape(strings.TrimSuffix(ver+"/"+rest, "/"))))
		return
	}
	key, ok := server.BearerKey(r)
	var p server.Principal
	if ok {
		p, ok = h.auth.Authenticate(ctx, key)
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=`+scheme(r)+"://"+r.Host+"/")
		writeError(w, records.Errorf(http.StatusUnauthorized, records.CodeUnauthorized, "Bearer token is missing or not valid."))
		return
	}
	ctx = server.WithPrincipal(ctx, p)
	release, lerr := h.limits.Enter(p.KeyID + "|" + p.Name)
	if lerr != nil {
		w.Header().Set("Retry-After", strconv.Itoa(lerr.RetryAfter))
		writeError(w, lerr.Err)
		return
	}
	defer release()
	if tok := r.Header.Get(TransactionHeader); tok != "" {
		tx, leave, err := h.scopes.enter(tok)
		if err != nil {
			writeError(w, err)
			return
		}
		defer leave()
		ctx = context.WithValue(ctx, txKey{}, tx)
	}
	query, err := odata.SplitQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	rq := &req{
		r:     r.WithContext(ctx),
		base:  h.rootOf(r, ver),
		query: query,
		user:  records.SystemUserID,
		corr:  server.RequestID(ctx),
	}
	rq.grants = records.AdminGrants(rq.user)
	if p.Role != server.RoleAdmin {
		uid, err := h.rec.EnsureUser(ctx, p.KeyID, p.Name, string(p.Role))
		if err != nil {
			h.fail(w, rq, err)
			return
		}
		rq.user = uid
		if rq.grants, err = h.rec.Grants(ctx, uid, false); err != nil {
			h.fail(w, rq, err)
			return
		}
		if rq.grants.Disabled {
			h.fail(w, rq, records.Errorf(http.StatusForbidden, records.CodeUserDisabled,
				"The user with SystemUserId=%s is disabled. Disabled users cannot access the system. Consider enabling this user.", uid))
			return
		}
	}
	rq.prefer = parsePrefer(r.Header.Values("Prefer"))
	segs, err := splitPath(rest)
	if err != nil {
		writeError(w, records.Errorf(http.StatusBadRequest, records.CodeBadSegment, "%v", err))
		return
	}
	rq.segs = segs
	h.dispatch(&preferWriter{ResponseWriter: w, prefer: rq.prefer}, rq)
}

// preferWriter adds Preference-Applied for odata.include-annotations to
// every successful answer (the handlers add the preferences they honour
// case by case: return=representation, odata.maxpagesize,
// odata.track-changes).
type preferWriter struct {
	http.ResponseWriter
	prefer prefer
	done   bool
}

func (p *preferWriter) WriteHeader(status int) {
	if !p.done {
		p.done = true
		if p.prefer.annotations != "" && status >= 200 && status < 300 && status != http.StatusNoContent {
			p.Header().Add("Preference-Applied", `odata.include-annotations="`+p.prefer.annotations+`"`)
		}
	}
	p.ResponseWriter.WriteHeader(status)
}

func (p *preferWriter) Write(b []byte) (int, error) {
	if !p.done {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

func (p *preferWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func scheme(r *http.Request) string {
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		return p
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// splitPath splits an escaped path on '/' outside quotes and parentheses and
// unescapes each segment.
func splitPath(p string) ([]string, error) {
	raw, err := url.PathUnescape(p)
	if err != nil {
		return nil, err
	}
	var out []string
	depth, start, inStr := 0, 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '/' && depth == 0:
			out = append(out, raw[start:i])
			start = i + 1
		}
	}
	if last := raw[start:]; last != "" {
		out = append(out, last)
	}
	return out, nil
}

// prefer is the parsed Prefer header.
type prefer struct {
	representation  bool
	annotations     string
	maxPageSize     int
	trackChanges    bool
	continueOnError bool
}

func parsePrefer(values []string) prefer {
	var p prefer
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			k, val, _ := strings.Cut(part, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch k {
			case "return":
				p.representation = strings.EqualFold(val, "representation")
			case "odata.include-annotations":
				p.annotations = val
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(val); err == nil && n > 0 {
					p.maxPageSize = n
				}
			case "odata.track-changes":
				p.trackChanges = true
			case "odata.continue-on-error":
				p.continueOnError = true
			}
		}
	}
	return p
}

// annotate reports whether an annotation term is requested.
func (p prefer) annotate(term string) bool {
	if p.annotations == "" {
		return false
	}
	for _, a := range strings.Split(p.annotations, ",") {
		a = strings.TrimSpace(a)
		if a == "*" || a == term || strings.HasSuffix(a, ".*") && strings.HasPrefix(term, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONHeader(w, status)
	if buf, ok := encodeJSON(v); ok {
		w.Write(*buf)
		releaseJSON(buf)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeJSONHeader writes the header of a JSON answer with status.
func writeJSONHeader(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Odata-Version"] = odataVersion
	w.WriteHeader(status)
}

// The values of the headers every answer carries, set straight into the
// header map under their keys' canonical forms (what Header.Set stores
// them under): Set would make the canonical key anew for each answer
// (OData-Version is not canonical as written) and a slice for the value.
// The slices are shared by every answer and never changed in place; an
// Add to one of these headers appends past the slice's length, and so
// copies it.
var (
	odataVersion    = []string{"4.0"}
	jsonContentType = []string{"application/json; odata.metadata=minimal"}
)

// setETag sets the ETag header (canonically Etag) to etag.
func setETag(w http.ResponseWriter, etag string) { w.Header()["Etag"] = []string{etag} }

func writeError(w http.ResponseWriter, e *records.Error) {
	writeJSON(w, e.Status, map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message}})
}

func (h *Handler) fail(w http.ResponseWriter, rq *req, err error) {
	e := records.AsError(err)
	if e.Status >= 500 {
		h.log.Error("web api request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "err", err)
		e = &records.Error{Status: e.Status, Code: e.Code, Message: "An unexpected error occurred; request id " + rq.corr}
	}
	writeError(w, e)
}

func badRequest(format string, args ...any) *records.Error {
	return records.Errorf(http.StatusBadRequest, records.CodeBadQuery, format, args...)
}

func notSegment(s string) *records.Error {
	return records.Errorf(http.StatusNotFound, records.CodeBadSegment, "Resource not found for the segment '%s'.", s)
}

func methodNotAllowed(r *http.Request) *records.Error {
	return records.Errorf(http.StatusMethodNotAllowed, records.CodeMethod, "The HTTP method %s is not allowed on %s.", r.Method, r.URL.Path)
}
