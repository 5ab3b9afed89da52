package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/trace"
)

// DefaultMaxBody is the request body limit of routes that set none: 4 MiB.
const DefaultMaxBody = 4 << 20

// Server serves a route table on one listener.
type Server struct {
	log     *slog.Logger
	auth    Authenticator
	routes  []Route
	handler http.Handler
	srv     *http.Server
	metrics *httpMetrics
	served  chan error
	// Activity is the per-surface traffic of the last hour; nil records nothing.
	Activity *Activity
	// TLS, when set before Listen, makes the listener speak TLS (HTTP/2 and
	// HTTP/1.1).
	TLS *tls.Config
	// AccessLog samples the access log (see accesslog.go); nil logs every
	// request at INFO.
	AccessLog *AccessLog
	// Tracer records a span of every request to a traced surface, as the
	// child of the request's traceparent; nil traces nothing.
	Tracer *trace.Recorder
	// Traced names the surface of a request ("METHOD /path"), or "" for paths that are
	// not traced (management, health, the console).
	Traced func(route string) string
}

// New builds the server for routes. Patterns are checked here: two routes with
// the same pattern, or a management route without a Doc, is an error.
func New(log *slog.Logger, auth Authenticator, reg prometheus.Registerer, routes []Route) (*Server, error) {
	s := &Server{log: log, auth: auth, routes: routes, metrics: newHTTPMetrics(reg)}
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range routes {
		p := rt.muxPattern()
		if seen[p] {
			return nil, fmt.Errorf("route %q declared twice", p)
		}
		seen[p] = true
		if rt.Handler == nil {
			return nil, fmt.Errorf("route %q has no handler", p)
		}
		if err := registerSafely(mux, p, s.wrap(rt)); err != nil {
			return nil, err
		}
	}
	s.handler = s.outer(mux)
	return s, nil
}

func registerSafely(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("route %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// Handler is the full handler, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the route table.
func (s *Server) Routes() []Route { return s.routes }

// Listen binds addr. It is separate from Serve so that the caller learns the
// bound address (with port 0) before serving, and a taken port fails fast.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.TLS != nil {
		s.srv.TLSConfig = s.TLS.Clone()
	}
	s.served = make(chan error, 1)
	go func() {
		var err error
		if s.srv.TLSConfig != nil {
			err = s.srv.ServeTLS(ln, "", "")
		} else {
			err = s.srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	return ln.Addr(), nil
}

// Shutdown stops accepting connections and waits for requests in flight until
// ctx ends. Safe to call without Listen and twice.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// Done reports the serve loop's end.
func (s *Server) Done() <-chan error { return s.served }

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type requestIDKey struct{}

// RequestID returns the id given to the request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type routeKey struct{}

// outer wraps every request: request id, panic recovery, access log, metrics.
// The route name is filled in by the inner wrapper once the mux has matched.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newID()
		}
		w.Header().Set("X-Request-Id", id)
		route := new(string)
		*route = "unmatched"
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), routeKey{}, route)
		// A traced surface's request is a span; any other (management,
		// health, the console) only carries the caller's trace on, and
		// costs neither a span nor a sampling decision.
		var span *trace.Active
		request := r.Method + " " + r.URL.Path
		if surface := s.surfaceOf(request); surface != "" {
			ctx, span = s.Tracer.BeginFrom(ctx, r.Header.Get("Traceparent"), surface, request)
			if c := span.Context(); c.Sampled {
				// Header.Set's key, made canonical once rather than for
				// every answer.
				w.Header()["Traceresponse"] = []string{c.String()}
			}
		} else {
			ctx = trace.Remote(ctx, r.Header.Get("Traceparent"))
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", id, "route", *route, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					WriteError(sw, http.StatusInternalServerError, CodeInternal, "internal error; request id "+id)
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.observe(r.Method, *route, status, elapsed)
			s.Activity.record(*route, status)
			s.logRequest(ctx, r, id, *route, status, sw.bytes, elapsed)
			endSpan(span, *route, status)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// surfaceOf is the traced surface of a request, or "".
func (s *Server) surfaceOf(request string) string {
	if s.Traced == nil {
		return ""
	}
	return s.Traced(request)
}

// endSpan records a request's span, failed for a 5xx answer.
func endSpan(span *trace.Active, route string, status int) {
	if span == nil {
		return
	}
	span.Kind(trace.KindServer).Set("http.route", route).Set("http.status_code", strconv.Itoa(status))
	if status >= 500 {
		span.Fail(http.StatusText(status))
		return
	}
	span.End(nil)
}

// wrap applies one route's body limit and access rule.
func (s *Server) wrap(rt Route) http.Handler {
	label := rt.label()
	limit := rt.MaxBody
	if limit == 0 {
		limit = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = label
		}
		if limit > 0 {
			if r.ContentLength > limit {
				if rt.TooLarge != nil {
					rt.TooLarge(w, limit)
					return
				}
				WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body is larger than the limit of "+strconv.FormatInt(limit, 10)+" bytes")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if !rt.Access.Public {
			key, ok := BearerKey(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
				WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "an Authorization: Bearer <key> header is required")
				return
			}
			p, ok := s.auth.Authenticate(r.Context(), key)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="junction", error="invalid_token"`)
				WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "the API key is not valid")
				return
			}
			if !rt.Access.permits(p.Role) {
				WriteError(w, http.StatusForbidden, CodeForbidden, "the key's role "+string(p.Role)+" may not call "+label)
				return
			}
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		rt.Handler.ServeHTTP(w, r)
	})
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }
