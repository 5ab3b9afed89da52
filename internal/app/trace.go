package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/trace"
)

// DefaultTraceRate is how many new traces a second are recorded when
// --trace-rate is not given: every trace of a hub at moderate load, a
// bounded share of a busy one's.
const DefaultTraceRate = 100

// parseTraceRate reads --trace-rate: "off", "all", or new traces a second.
func parseTraceRate(s string) (float64, error) {
	switch strings.TrimSpace(s) {
	case "":
		return DefaultTraceRate, nil
	case "off":
		return 0, nil
	case "all":
		return -1, nil
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || n <= 0 || n > 1e6 {
		return 0, errors.New("give off, all, or how many new traces a second to record (more than 0)")
	}
	return n, nil
}

func (c *Config) validateTracing() error {
	rate, err := parseTraceRate(c.TraceRate)
	if err != nil {
		return configErr("--trace-rate", "%q: %v", c.TraceRate, err)
	}
	c.traceRate = rate
	if c.OTLPEndpoint != "" {
		u, err := url.Parse(c.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return configErr("--otlp-endpoint", "%q is not an http:// or https:// URL of an OTLP/HTTP collector (such as http://127.0.0.1:4318)", c.OTLPEndpoint)
		}
	}
	return nil
}

// traces is the trace recorder as a component: it starts first and stops
// last, so every span the others finish is written, and it serves the
// spans of one trace.
type traces struct {
	rec *trace.Recorder
	st  store.Store
}

func (t *traces) Name() string                    { return "traces" }
func (t *traces) Migrations() []store.Migration   { return trace.Migrations() }
func (t *traces) Start(ctx context.Context) error { return t.rec.Start(ctx) }
func (t *traces) Stop(ctx context.Context) error  { return t.rec.Stop(ctx) }

// Prune deletes old spans for the retention worker.
func (t *traces) Prune(ctx context.Context, before time.Time, batch int) (int64, error) {
	return trace.Prune(ctx, t.st, before, batch)
}

func (t *traces) Routes() []server.Route {
	return []server.Route{{
		Method: "GET", Pattern: "/admin/v1/traces/{id}", Access: server.Allow(server.RoleOperator),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := strings.ToLower(r.PathValue("id"))
			if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
				server.WriteFieldError(w, "id", "a trace id is 32 hexadecimal digits, as in a traceparent header")
				return
			}
			spans, err := trace.Get(r.Context(), t.st, id)
			switch {
			case errors.Is(err, trace.ErrNotFound):
				server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no span of trace "+id+" is recorded (it was not sampled, is older than --retain-traces, or is still being written)")
				return
			case err != nil:
				server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "read the trace failed")
				return
			}
			server.WriteJSON(w, http.StatusOK, traceView(id, spans))
		}),
		Doc: &server.Operation{Tag: "traces", Summary: "Read one trace",
			Description: "The recorded spans of one trace, in start order, across every surface it crossed: HTTP requests, change-log entries, event deliveries, workflow runs and actions, broker messages and function invocations. `failedSpanId` names the failing hop: the first failed span none of whose children failed.",
			Response:    map[string]any{"type": "object"}},
	}}
}

// traceView is a trace as the API answers it: its spans, the time it took
// from the first start to the last end, and the failing hop: the first
// failed span none of whose children failed (a run fails because an action
// did; the action is where to look).
func traceView(id string, spans []trace.Span) map[string]any {
	start, end := spans[0].Start, spans[0].End
	failedChild := map[string]bool{}
	for _, s := range spans {
		if s.End.After(end) {
			end = s.End
		}
		if s.Error != "" {
			failedChild[s.ParentID] = true
		}
	}
	view := map[string]any{"traceId": id, "start": start, "durationMs": float64(end.Sub(start).Microseconds()) / 1000, "spans": spans}
	for _, s := range spans {
		if s.Error != "" && !failedChild[s.SpanID] {
			view["failedSpanId"] = s.SpanID
			break
		}
	}
	return view
}

// newTracer builds the recorder of cfg's tracing settings, with its counts
// as metrics.
func newTracer(cfg Config, st store.Store, reg prometheus.Registerer) (*trace.Recorder, error) {
	tc := trace.Config{Store: st, Logger: cfg.Logger, Rate: cfg.traceRate}
	if cfg.OTLPEndpoint != "" {
		exp, err := trace.NewOTLP(context.Background(), cfg.OTLPEndpoint, "junction", cfg.Version)
		if err != nil {
			return nil, configErr("--otlp-endpoint", "%v", err)
		}
		tc.Exporter = exp
	}
	rec := trace.New(tc)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "junction_trace_spans_written_total", Help: "Trace spans recorded in the store."},
			func() float64 { return float64(rec.Written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "junction_trace_spans_dropped_total", Help: "Finished spans dropped because the span writer was behind."},
			func() float64 { return float64(rec.Dropped()) }))
	return rec, nil
}

// tracedSurface names the surface of a traced request ("POST /api/data/..."):
// the five patterns' own endpoints, not management, health or the console.
func tracedSurface(request string) string {
	_, path, _ := strings.Cut(request, " ")
	if strings.HasPrefix(path, "/admin/") {
		return ""
	}
	if isWorkflowTrigger(path) {
		return "Workflows"
	}
	if s := surfaceOf(request); s != "Management" {
		return s
	}
	return ""
}

// isWorkflowTrigger reports whether path is a workflow's request trigger
// (/api/{workflow}/triggers/{trigger}/invoke[/...]), which shares the /api/
// prefix with the functions' HTTP triggers.
func isWorkflowTrigger(path string) bool {
	parts := strings.SplitN(strings.TrimPrefix(path, "/api/"), "/", 5)
	return strings.HasPrefix(path, "/api/") && len(parts) >= 4 && parts[0] != "" && parts[1] == "triggers" && parts[2] != "" && parts[3] == "invoke"
}
