// Package collectortest runs the OpenTelemetry Collector that the test
// dependencies script (scripts/deps/trace.sh) builds, for tests that export
// spans over OTLP and read what arrived.
package collectortest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start runs a collector with an OTLP/HTTP receiver on a free loopback port
// and the debug exporter at detailed verbosity, stopped when the test ends.
// It returns the collector's OTLP endpoint and a function that reads what
// the collector printed so far. When the collector is not built the test
// is skipped, or fails when required (in CI).
func Start(t testing.TB, required bool) (endpoint string, printed func() string) {
	t.Helper()
	_, src, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(src), "..", "testdata", "otelcol", "otelcol")
	if _, err := os.Stat(bin); err != nil {
		if required {
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
	printed = func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(printed(), "Everything is ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not start:\n%s", printed())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr, printed
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
