package trace

import (
	"context"
	"encoding/hex"
	"net/url"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// OTLP exports recorded spans to an OpenTelemetry collector over OTLP/HTTP
// (protobuf), with the OpenTelemetry Go SDK's exporter.
type OTLP struct {
	url   string
	mu    sync.Mutex
	exp   *otlptrace.Exporter // nil until the first export after a shutdown
	res   *resource.Resource
	scope instrumentation.Scope
}

// NewOTLP exports to endpoint: a collector's base URL (as
// OTEL_EXPORTER_OTLP_ENDPOINT gives it, the traces path /v1/traces is
// added) or the full URL of its traces path.
func NewOTLP(ctx context.Context, endpoint, service, version string) (*OTLP, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	o := &OTLP{url: u.String(), res: resource.NewSchemaless(attribute.String("service.name", service), attribute.String("service.version", version)),
		scope: instrumentation.Scope{Name: "junction", Version: version}}
	if _, err := o.exporter(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// exporter is the SDK's exporter, made again after a Shutdown so that a
// recorder started again exports again.
func (o *OTLP) exporter(ctx context.Context) (*otlptrace.Exporter, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.exp == nil {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(o.url))
		if err != nil {
			return nil, err
		}
		o.exp = exp
	}
	return o.exp, nil
}

// Export sends spans as one OTLP request.
func (o *OTLP) Export(ctx context.Context, spans []Span) error {
	ro := make([]sdktrace.ReadOnlySpan, 0, len(spans))
	for _, s := range spans {
		stub := tracetest.SpanStub{Name: s.Name, StartTime: s.Start, EndTime: s.End, Resource: o.res, InstrumentationScope: o.scope,
			SpanKind: kindOf(s.Kind)}
		var tid oteltrace.TraceID
		var sid, pid oteltrace.SpanID
		hex.Decode(tid[:], []byte(s.TraceID))
		hex.Decode(sid[:], []byte(s.SpanID))
		stub.SpanContext = oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled})
		if s.ParentID != "" {
			hex.Decode(pid[:], []byte(s.ParentID))
			stub.Parent = oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: oteltrace.FlagsSampled, Remote: true})
		}
		stub.Attributes = append(stub.Attributes, attribute.String("junction.component", s.Component))
		for k, v := range s.Attrs {
			stub.Attributes = append(stub.Attributes, attribute.String(k, v))
		}
		if s.Error != "" {
			stub.Status = sdktrace.Status{Code: codes.Error, Description: s.Error}
		} else {
			stub.Status = sdktrace.Status{Code: codes.Ok}
		}
		ro = append(ro, stub.Snapshot())
	}
	exp, err := o.exporter(ctx)
	if err != nil {
		return err
	}
	return exp.ExportSpans(ctx, ro)
}

// Shutdown flushes and closes the exporter; a later Export opens a new one.
func (o *OTLP) Shutdown(ctx context.Context) error {
	o.mu.Lock()
	exp := o.exp
	o.exp = nil
	o.mu.Unlock()
	if exp == nil {
		return nil
	}
	return exp.Shutdown(ctx)
}

func kindOf(k string) oteltrace.SpanKind {
	switch k {
	case KindServer:
		return oteltrace.SpanKindServer
	case KindClient:
		return oteltrace.SpanKindClient
	case KindProducer:
		return oteltrace.SpanKindProducer
	case KindConsumer:
		return oteltrace.SpanKindConsumer
	}
	return oteltrace.SpanKindInternal
}
