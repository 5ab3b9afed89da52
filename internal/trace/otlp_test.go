package trace_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"junction/internal/trace"
	"junction/internal/trace/collectortest"
)

// TestOTLPExportToCollector: with an OTLP endpoint, recorded spans reach a
// real OpenTelemetry Collector with their trace, parent, kind, attributes
// and error status.
func TestOTLPExportToCollector(t *testing.T) {
	t.Parallel()
	endpoint, printed := collectortest.Start(t, os.Getenv("CI") == "true")
	ctx := context.Background()
	exp, err := trace.NewOTLP(ctx, endpoint, "junction", "test")
	if err != nil {
		t.Fatal(err)
	}
	rec := trace.New(trace.Config{Exporter: exp, Rate: -1, Flush: 10 * time.Millisecond})
	rec.Start(ctx)
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	cctx, root := rec.BeginFrom(ctx, "00-"+traceID+"-b7ad6b7169203331-01", "Web API", "PATCH /api/data/v9.2/accounts(1)")
	root.Kind(trace.KindServer).Set("http.status_code", "204")
	_, child := rec.Begin(cctx, "Functions", "function on-account")
	child.Kind(trace.KindConsumer).End(errors.New("no follow-up for an account named fail"))
	root.End(nil)
	if err := rec.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := printed()
		if strings.Count(out, "Trace ID       : "+traceID) == 2 {
			for _, want := range []string{
				"Parent ID      : b7ad6b7169203331",
				"Name           : PATCH /api/data/v9.2/accounts(1)",
				"Kind           : Server",
				"Name           : function on-account",
				"Kind           : Consumer",
				"Status code    : Error",
				"Status message : no follow-up for an account named fail",
				"-> http.status_code: Str(204)",
				"-> junction.component: Str(Functions)",
				"-> service.name: Str(junction)",
			} {
				if !strings.Contains(out, want) {
					t.Fatalf("the collector did not print %q:\n%s", want, out)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spans did not reach the collector:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
