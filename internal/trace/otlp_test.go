package trace_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/trace"
)

// collector runs the OpenTelemetry Collector that scripts/deps/trace.sh
// builds (OTLP/HTTP receiver, debug exporter at detailed verbosity) and
// returns its OTLP endpoint and what it printed so far.
func collector(t *testing.T) (string, func() string) {
	t.Helper()
	bin, _ := filepath.Abs("testdata/otelcol/otelcol")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the test collector is missing (make deps builds it): %v", err)
		}
		t.Skip("the test collector is not built: run make deps (scripts/deps/trace.sh)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "otelcol.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`, addr)), 0o644)
	var mu sync.Mutex
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config", "file:"+cfg)
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	read := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(read(), "Everything is ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not start:\n%s", read())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr, read
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestOTLPExportToCollector: with an OTLP endpoint, recorded spans reach a
// real OpenTelemetry Collector with their trace, parent, kind, attributes
// and error status.
func TestOTLPExportToCollector(t *testing.T) {
	t.Parallel()
	endpoint, printed := collector(t)
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
