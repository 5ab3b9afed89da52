package function

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CallHTTP runs an HTTP-triggered function by name with a request, as a
// workflow's Function action calls it: the caller is this Junction, so no
// function key is asked for, and the function sees the request as it would
// over HTTP (method, headers, query, body). It returns the function's HTTP
// response (204 when it sets none) and the invocation id.
func (h *Host) CallHTTP(ctx context.Context, name string, r *http.Request) (*HTTPResponse, string, error) {
	f, ok := h.funcs[strings.ToLower(name)]
	if !ok {
		return nil, "", fmt.Errorf("function %q: %w", name, errNoFunction)
	}
	if f.def.Trigger.Type != HTTPTrigger {
		return nil, "", fmt.Errorf("function %q has a %s, not an httpTrigger", f.def.Name, f.def.Trigger.Type)
	}
	if len(f.def.Methods) > 0 && !containsFold(f.def.Methods, r.Method) {
		return nil, "", fmt.Errorf("function %q does not accept %s (it accepts %s)", f.def.Name, r.Method, strings.Join(f.def.Methods, ", "))
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, "", err
		}
	}
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{header: http.Header{}}
	t := Trigger{Type: HTTPTrigger, Detail: r.Method + " " + r.URL.Path, request: r, writer: rec, body: body, params: map[string]string{}}
	t.Value = requestObject(r, body, t.params)
	t.BindingData = bindingData(r, t.params)
	out := h.invoke(ctx, f, t)
	if out.forwarded {
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		return &HTTPResponse{Status: status, Headers: rec.header, Body: rec.body.Bytes()}, out.InvocationID, nil
	}
	if out.Err != nil {
		return nil, out.InvocationID, fmt.Errorf("function %q failed (invocation %s): %w", f.def.Name, out.InvocationID, out.Err)
	}
	if out.Response == nil {
		return &HTTPResponse{Status: http.StatusNoContent, Headers: http.Header{}}, out.InvocationID, nil
	}
	return out.Response, out.InvocationID, nil
}

// recorder keeps what a custom handler forwarding the request writes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
