package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/server"
)

// countingWriter counts the bytes of log written.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// BenchmarkAccessLogVolume measures the bytes of access log per request under
// load (8 clients over real HTTP on loopback, every request a success), with
// every request logged (the sampler off, as before sampling existed) and with
// the default sampling: a figure of docs/benchmarks.md.
func BenchmarkAccessLogVolume(b *testing.B) {
	for _, c := range []struct {
		name string
		a    *server.AccessLog
	}{
		{"every-request", nil},
		{"default-sampling", &server.AccessLog{Level: slog.LevelInfo}},
	} {
		b.Run(c.name, func(b *testing.B) {
			logs := &countingWriter{}
			routes := []server.Route{{Method: "GET", Pattern: "/api/data/v9.2/accounts", Access: server.Open,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"value":[]}`)) })}}
			s, err := server.New(slog.New(slog.NewTextHandler(logs, nil)), keys{}, prometheus.NewRegistry(), routes)
			if err != nil {
				b.Fatal(err)
			}
			s.AccessLog = c.a
			hs := httptest.NewServer(s.Handler())
			defer hs.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						resp, err := client.Get(hs.URL + "/api/data/v9.2/accounts?$top=10")
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(logs.n.Load())/float64(b.N), "log-B/req")
		})
	}
}
