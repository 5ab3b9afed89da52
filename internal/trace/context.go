// Package trace follows one business change across Junction's five patterns.
// A span context travels as W3C Trace Context (`traceparent`): in HTTP
// headers, in the change log beside each change, in the CloudEvents
// distributed-tracing extension of an event, in a broker message's
// `Diagnostic-Id` and `traceparent` application properties (as the Service
// Bus SDKs set them), and
// in a workflow run's and a function invocation's record. Each hop records a
// span through a Recorder, which keeps the spans in the store (read back by
// trace id) and, when an OTLP endpoint is set, exports them to it.
package trace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// Context is a span's W3C Trace Context: the trace it belongs to, its own id
// and whether the trace is sampled (recorded).
type Context struct {
	TraceID [16]byte
	SpanID  [8]byte
	Sampled bool
}

// Valid reports whether c names a trace and a span (neither all zeros).
func (c Context) Valid() bool {
	return c.TraceID != [16]byte{} && c.SpanID != [8]byte{}
}

// Trace is the trace id in lower-case hex.
func (c Context) Trace() string { return hex.EncodeToString(c.TraceID[:]) }

// Span is the span id in lower-case hex.
func (c Context) Span() string { return hex.EncodeToString(c.SpanID[:]) }

// String is c as a traceparent header value, or "" when c is not valid.
func (c Context) String() string {
	if !c.Valid() {
		return ""
	}
	flags := "00"
	if c.Sampled {
		flags = "01"
	}
	return "00-" + c.Trace() + "-" + c.Span() + "-" + flags
}

// Parse reads a traceparent header value. Version 00 must have exactly four
// fields; a later version may carry more after the flags, as the
// specification lets a reader of version 00 accept. An all-zero trace or
// span id, upper-case hex or the reserved version ff are not valid.
func Parse(s string) (Context, bool) {
	var c Context
	s = strings.TrimSpace(s)
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return c, false
	}
	version := s[0:2]
	if !lowerHex(version) || version == "ff" || (version == "00" && len(s) != 55) || (len(s) > 55 && s[55] != '-') {
		return c, false
	}
	if !lowerHex(s[3:35]) || !lowerHex(s[36:52]) || !lowerHex(s[53:55]) {
		return c, false
	}
	hex.Decode(c.TraceID[:], []byte(s[3:35]))
	hex.Decode(c.SpanID[:], []byte(s[36:52]))
	var flags [1]byte
	hex.Decode(flags[:], []byte(s[53:55]))
	c.Sampled = flags[0]&1 == 1
	if !c.Valid() {
		return Context{}, false
	}
	return c, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// newRoot starts a new trace.
func newRoot(sampled bool) Context {
	var c Context
	for c.TraceID == [16]byte{} {
		rand.Read(c.TraceID[:])
	}
	c.SpanID = newSpanID()
	c.Sampled = sampled
	return c
}

// child is a new span of c's trace.
func (c Context) child() Context {
	c.SpanID = newSpanID()
	return c
}

func newSpanID() [8]byte {
	var id [8]byte
	for id == [8]byte{} {
		rand.Read(id[:])
	}
	return id
}

type key struct{}

// With returns ctx carrying c as its current span.
func With(ctx context.Context, c Context) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// From is ctx's current span, or the zero Context when there is none.
func From(ctx context.Context) Context {
	c, _ := ctx.Value(key{}).(Context)
	return c
}

// Parent is ctx's current span as a traceparent, or "" when there is none:
// what a hop stores beside the work it hands on.
func Parent(ctx context.Context) string { return From(ctx).String() }

// Transport sets the traceparent header of each outgoing request from its
// context's span, unless the request carries one already, so that whatever
// Junction calls joins the trace of the work that called it.
type Transport struct {
	Base http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Header.Get("traceparent") == "" {
		if tp := Parent(req.Context()); tp != "" {
			req = req.Clone(req.Context())
			req.Header.Set("traceparent", tp)
		}
	}
	return base.RoundTrip(req)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t Transport) CloseIdleConnections() {
	if c, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// DiagnosticID and TraceParent are the application properties that carry a
// Service Bus message's trace context, as the Service Bus SDKs set them: the
// same traceparent in both (Diagnostic-Id is the name every SDK reads and
// writes; the Python SDK writes traceparent too and reads it first).
const (
	DiagnosticID = "Diagnostic-Id"
	TraceParent  = "traceparent"
)

// FromProperties is the traceparent a message carries in its traceparent
// (else Diagnostic-Id) application property, or "" when neither holds a
// valid one. Names match in any case: a REST sender's custom properties
// are HTTP headers, whose case is not kept.
func FromProperties(props map[string]any) string {
	for _, name := range []string{TraceParent, DiagnosticID} {
		for k, v := range props {
			if s, ok := v.(string); ok && strings.EqualFold(k, name) {
				if c, ok := Parse(s); ok {
					return c.String()
				}
			}
		}
	}
	return ""
}

// HasProperties reports whether a message's application properties name a
// trace context (a traceparent or Diagnostic-Id property, valid or not): a
// sender that has set its own is not given another.
func HasProperties(props map[string]any) bool {
	for k := range props {
		if strings.EqualFold(k, TraceParent) || strings.EqualFold(k, DiagnosticID) {
			return true
		}
	}
	return false
}

// Remote returns ctx carrying the traceparent tp, stored beside work by an
// earlier hop, as its current span, so that the spans begun under it join
// that trace; ctx unchanged when tp is not valid.
func Remote(ctx context.Context, tp string) context.Context {
	if c, ok := Parse(tp); ok {
		return With(ctx, c)
	}
	return ctx
}
