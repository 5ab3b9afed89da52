package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/store/storetest"
)

const fiveActions = `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{
	"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":"@triggerBody()?['n']"}]}},
	"Inc":{"type":"IncrementVariable","inputs":{"name":"n","value":2},"runAfter":{"Init":["Succeeded"]}},
	"Shape":{"type":"Compose","inputs":{"n":"@variables('n')","id":"@workflow()?['run']?['name']"},"runAfter":{"Inc":["Succeeded"]}},
	"Check":{"type":"If","expression":"@greater(variables('n'), 0)","actions":{},"runAfter":{"Shape":["Succeeded"]}},
	"Response":{"type":"Response","inputs":{"statusCode":200,"body":"@outputs('Shape')"},"runAfter":{"Check":["Succeeded"]}}}},"kind":"Stateful"}`

type benchServer struct {
	base string
}

func benchApp(b *testing.B, pg bool) *benchServer {
	b.Helper()
	cfg := app.Config{Listen: "127.0.0.1:0", Data: b.TempDir(), AdminKey: "k"}
	if pg {
		cfg.Store = storetest.RequirePostgres(b)
		cfg.PostgresSchema = storetest.NewSchema(b)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	addr, err := a.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Stop(context.Background()) })
	return &benchServer{base: "http://" + addr.String()}
}

func (s *benchServer) put(b *testing.B, name, doc string) string {
	req, _ := http.NewRequest("PUT", s.base+"/admin/v1/workflows/"+name, strings.NewReader(doc))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode >= 300 {
		b.Fatalf("PUT %s: %v %v", name, err, resp.Status)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("POST", s.base+"/admin/v1/workflows/"+name+"/triggers/manual/listCallbackUrl", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var cb struct{ Value string }
	json.NewDecoder(resp.Body).Decode(&cb)
	return cb.Value
}

func post(b *testing.B, client *http.Client, url string, n int) {
	resp, err := client.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, n)))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

func stores(b *testing.B, fn func(b *testing.B, pg bool)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, false) })
	b.Run("postgres", func(b *testing.B) { fn(b, true) })
}

// BenchmarkRequestTriggerFiveActions measures stateful runs per second of a
// five-action workflow triggered over HTTP (the last action a Response), with
// 32 concurrent callers.
func BenchmarkRequestTriggerFiveActions(b *testing.B) {
	stores(b, func(b *testing.B, pg bool) {
		s := benchApp(b, pg)
		url := s.put(b, "five", fiveActions)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(16) // 2 cores x 16 = 32 callers
		start := time.Now()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, client, url, 1)
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
	})
}

// BenchmarkTriggerToCompletionLatency measures the latency of one caller's
// request through a five-action stateful run to its Response, p50 and p99.
func BenchmarkTriggerToCompletionLatency(b *testing.B) {
	stores(b, func(b *testing.B, pg bool) {
		s := benchApp(b, pg)
		url := s.put(b, "five", fiveActions)
		client := &http.Client{}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			post(b, client, url, i)
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	})
}

// BenchmarkForeach10000 runs a stateful Foreach over 10,000 items with
// concurrency 20 (one persisted action per item).
func BenchmarkForeach10000(b *testing.B) {
	stores(b, func(b *testing.B, pg bool) {
		s := benchApp(b, pg)
		doc := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{
			"Loop":{"type":"Foreach","foreach":"@range(0, 10000)","runtimeConfiguration":{"concurrency":{"repetitions":20}},
				"actions":{"Square":{"type":"Compose","inputs":"@mul(item(), item())"}}},
			"Response":{"type":"Response","inputs":{"statusCode":200},"runAfter":{"Loop":["Succeeded"]}}}},"kind":"Stateful"}`
		url := s.put(b, "loop", doc)
		client := &http.Client{Timeout: 10 * time.Minute}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			post(b, client, url, i)
		}
		b.StopTimer()
		b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "items/s")
	})
}
