package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// loadClients is how many concurrent publishers the load generator runs.
const loadClients = 8

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// drive posts body to url n times from loadClients goroutines and fails on any
// answer but 200. It is the one load generator for Junction and the baseline.
func drive(b *testing.B, url string, hdr http.Header, n int, body func(i int) []byte) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body(i)))
				req.Header = hdr.Clone()
				resp, err := benchClient.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func batchBody(i, size int, stamp bool) []byte {
	evs := make([]map[string]any, size)
	for j := range evs {
		data := map[string]any{"n": j, "payload": "grant approved for the finance team"}
		if stamp {
			data["sentAt"] = time.Now().UnixNano()
		}
		evs[j] = egEvent(fmt.Sprintf("b%d-%d", i, j), "Grant.Approved", "/grants/x", data)
	}
	b, _ := json.Marshal(evs)
	return b
}

// BenchmarkPublish measures publish throughput in batches of 100 events (each
// stored with one queued delivery), beside a trivial Go handler taking the
// same requests from the same load generator.
func BenchmarkPublish(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			st := storetest.Open(b, d)
			bn := setup(b, st, events.Config{})
			bn.admin("PUT", "/topics/bench", map[string]any{"properties": map[string]any{"kind": "Namespace"}}, 201)
			key := bn.admin("POST", "/topics/bench/listKeys", nil, 200)["key1"].(string)
			bn.subscribe("bench", "pull", map[string]any{"deliveryConfiguration": map[string]any{"deliveryMode": "Queue"}})
			hdr := http.Header{"Content-Type": {"application/json"}, "Aeg-Sas-Key": {key}}
			bodies := make([][]byte, 64)
			for i := range bodies {
				bodies[i] = batchBody(i, 100, false)
			}
			b.ResetTimer()
			start := time.Now()
			drive(b, bn.url+"/eventgrid/topics/bench/api/events", hdr, b.N, func(i int) []byte { return bodies[i%len(bodies)] })
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
		})
	}
	b.Run("baseline-go-handler", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
		}))
		defer srv.Close()
		body := batchBody(0, 100, false)
		b.ResetTimer()
		start := time.Now()
		drive(b, srv.URL, http.Header{"Content-Type": {"application/json"}}, b.N, func(int) []byte { return body })
		b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
	})
}

// BenchmarkFanout publishes events to a topic with 10 webhook subscriptions
// (local receivers) and measures deliveries per second and the latency from
// publish to delivery.
func BenchmarkFanout(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) { fanout(b, storetest.Open(b, d)) })
	}
}

func fanout(b *testing.B, st store.Store) {
	bn := setup(b, st, events.Config{Poll: 50 * time.Millisecond})
	key, _ := bn.topic("fan", events.SchemaEventGrid)
	var mu sync.Mutex
	var lat []time.Duration
	var got atomic.Int64
	for i := range 10 {
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var evs []struct {
				Data struct {
					ValidationCode string `json:"validationCode"`
					SentAt         int64  `json:"sentAt"`
				} `json:"data"`
			}
			json.Unmarshal(body, &evs)
			if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
				json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
				return
			}
			now := time.Now().UnixNano()
			mu.Lock()
			for _, e := range evs {
				lat = append(lat, time.Duration(now-e.Data.SentAt))
			}
			mu.Unlock()
			got.Add(int64(len(evs)))
		}))
		b.Cleanup(rc.Close)
		name := fmt.Sprint("rcv", i)
		bn.subscribe("fan", name, map[string]any{"destination": webhook(rc.URL, map[string]any{"maxEventsPerBatch": 10})})
		bn.waitState("fan", name, events.StateSucceeded)
	}
	hdr := http.Header{"Content-Type": {"application/json"}, "Aeg-Sas-Key": {key}}
	const perReq = 10
	b.ResetTimer()
	start := time.Now()
	drive(b, bn.url+"/eventgrid/topics/fan/api/events", hdr, b.N, func(i int) []byte { return batchBody(i, perReq, true) })
	want := int64(b.N * perReq * 10)
	for got.Load() < want {
		time.Sleep(time.Millisecond)
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d deliveries", got.Load(), want)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLatency publishes one event at a time to a topic with one webhook
// subscription and waits for it: publish-to-delivery latency without backlog.
func BenchmarkLatency(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) {
			bn := setup(b, storetest.Open(b, d), events.Config{})
			key, _ := bn.topic("lat", events.SchemaEventGrid)
			got := make(chan time.Time, 16)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
					var evs []struct {
						Data struct{ ValidationCode string } `json:"data"`
					}
					json.Unmarshal(body, &evs)
					json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
					return
				}
				got <- time.Now()
			}))
			b.Cleanup(rc.Close)
			bn.subscribe("lat", "one", map[string]any{"destination": webhook(rc.URL, nil)})
			bn.waitState("lat", "one", events.StateSucceeded)
			url := bn.url + "/eventgrid/topics/lat/api/events"
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(batchBody(i, 1, false)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("aeg-sas-key", key)
				start := time.Now()
				resp, err := benchClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("publish: %v %v", err, resp)
				}
				resp.Body.Close()
				select {
				case at := <-got:
					lat = append(lat, at.Sub(start))
				case <-time.After(30 * time.Second):
					b.Fatal("no delivery")
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
	b.Run("baseline-go-handler", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
		defer srv.Close()
		lat := make([]time.Duration, 0, b.N)
		for i := range b.N {
			start := time.Now()
			resp, err := benchClient.Post(srv.URL, "application/json", bytes.NewReader(batchBody(i, 1, false)))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(start))
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
