package function

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"junction/internal/server"
)

// reserved reports whether path belongs to another surface (Reserved).
func (h *Host) reserved(path string) bool {
	for _, p := range h.opts.Reserved {
		if path == p || (strings.HasSuffix(p, "/") && (strings.HasPrefix(path, p) || path == strings.TrimSuffix(p, "/"))) {
			return true
		}
	}
	return false
}

// serveHTTP serves every httpTrigger function under the route prefix.
func (h *Host) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var f *fn
	var params map[string]string
	if !h.reserved(r.URL.Path) {
		f, params = h.matchHTTP(r.PathValue("path"))
	}
	if f == nil {
		if h.opts.NotFound != nil {
			h.opts.NotFound.ServeHTTP(w, r)
			return
		}
		http.Error(w, "no function is served at this path", http.StatusNotFound)
		return
	}
	if len(f.def.Methods) > 0 && !containsFold(f.def.Methods, r.Method) {
		w.Header().Set("Allow", strings.Join(f.def.Methods, ", "))
		http.Error(w, "method not allowed for function "+f.def.Name, http.StatusMethodNotAllowed)
		return
	}
	if f.def.File.Disabled {
		http.Error(w, "function "+f.def.Name+" is disabled", http.StatusNotFound)
		return
	}
	if !h.authorized(r, f.def) {
		w.Header().Set("WWW-Authenticate", `x-functions-key`)
		http.Error(w, "a valid function key is required (x-functions-key header or code query parameter)", http.StatusUnauthorized)
		return
	}
	select {
	case h.pending <- struct{}{}:
		defer func() { <-h.pending }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
		return
	}
	select {
	case h.httpSem <- struct{}{}:
		defer func() { <-h.httpSem }()
	case <-r.Context().Done():
		return
	}
	t := Trigger{Type: HTTPTrigger, Detail: r.Method + " " + r.URL.Path, request: r, writer: w}
	body, err := server.ReadBody(r)
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := err.(*http.MaxBytesError); ok {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "cannot read the request body: "+err.Error(), status)
		return
	}
	t.Value = requestObject(r, body, params)
	t.BindingData = bindingData(r, params)
	t.body, t.params = body, params
	out := h.invoke(r.Context(), f, t)
	w.Header().Set("x-junction-invocation-id", out.InvocationID)
	if out.forwarded {
		return
	}
	if out.Err != nil {
		if out.Err == ErrBusy {
			http.Error(w, "the function is at its concurrency limit", http.StatusTooManyRequests)
			return
		}
		http.Error(w, "the function failed; see invocation "+out.InvocationID, http.StatusInternalServerError)
		return
	}
	resp := out.Response
	if resp == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for k, vs := range resp.Headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func (h *Host) matchHTTP(p string) (*fn, map[string]string) {
	for _, f := range h.http {
		if params, ok := f.def.Route.Match(p); ok {
			return f, params
		}
	}
	return nil, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// authorized applies the trigger's authLevel. Function keys and host keys
// open function-level triggers; a Junction admin API key is the master key
// and opens every level.
func (h *Host) authorized(r *http.Request, d *Definition) bool {
	level := strings.ToLower(d.Trigger.AuthLevel)
	if level == "anonymous" {
		return true
	}
	key := r.Header.Get("x-functions-key")
	if key == "" {
		key = r.URL.Query().Get("code")
	}
	if key == "" {
		if k, ok := server.BearerKey(r); ok {
			key = k
		}
	}
	if key == "" {
		return false
	}
	if h.opts.Keys != nil {
		if p, ok := h.opts.Keys.Authenticate(r.Context(), key); ok && p.Role == server.RoleAdmin {
			return true
		}
	}
	if level == "admin" {
		return false
	}
	ok, err := h.checkKey(r.Context(), d.Name, key)
	if err != nil {
		h.log.Warn("function key check failed", "function", d.Name, "err", err)
	}
	return ok
}

// requestObject is the request as JavaScript functions see it (the Node.js
// programming model's req).
func requestObject(r *http.Request, body []byte, params map[string]string) map[string]any {
	headers := map[string]any{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	query := joinedQuery(r)
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	req := map[string]any{
		"method": r.Method, "url": absoluteURL(r), "originalUrl": absoluteURL(r),
		"headers": headers, "query": query, "params": p, "rawBody": string(body),
	}
	req["body"] = decodeBody(r.Header.Get("Content-Type"), body)
	return req
}

// joinedQuery is the query string as Azure gives it to JavaScript: a key
// that repeats has its values joined with ",".
func joinedQuery(r *http.Request) map[string]any {
	query := map[string]any{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	return query
}

// decodeBody parses the body as Azure's JavaScript model does: any body that
// is not binary is parsed as JSON when it is JSON (whatever its content
// type), else passed as text.
func decodeBody(contentType string, body []byte) any {
	if len(body) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/octet-stream" && !strings.HasPrefix(mt, "multipart/") {
		var v any
		if json.Unmarshal(body, &v) == nil {
			return v
		}
	}
	return string(body)
}

func bindingData(r *http.Request, params map[string]string) map[string]any {
	d := map[string]any{}
	d["query"] = joinedQuery(r)
	for k, v := range params {
		d[k] = v
	}
	return d
}

func absoluteURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
