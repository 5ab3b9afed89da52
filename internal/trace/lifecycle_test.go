package trace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/store/storetest"
	"junction/internal/trace"
)

func TestRecorderLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			if err := st.Migrate(context.Background(), trace.Migrations()); err != nil {
				t.Fatal(err)
			}
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				rec := trace.New(trace.Config{Store: st, Rate: -1})
				t.Cleanup(func() { rec.Stop(context.Background()) })
				return rec
			})
		})
	}
	// With an exporter, whose shutdown is part of the recorder's stop.
	t.Run("otlp", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(srv.Close)
		lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
			exp, err := trace.NewOTLP(context.Background(), srv.URL, "junction", "test")
			if err != nil {
				t.Fatal(err)
			}
			rec := trace.New(trace.Config{Exporter: exp, Rate: -1})
			t.Cleanup(func() { rec.Stop(context.Background()) })
			return rec
		})
	})
}

// TestRecorderExportsAgainAfterARestart stops a recorder with an OTLP
// exporter (which shuts the exporter down) and starts it again: the spans of
// each run reach the collector.
func TestRecorderExportsAgainAfterARestart(t *testing.T) {
	t.Parallel()
	var exports atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			exports.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	exp, err := trace.NewOTLP(context.Background(), srv.URL, "junction", "test")
	if err != nil {
		t.Fatal(err)
	}
	rec := trace.New(trace.Config{Exporter: exp, Rate: -1})
	ctx := context.Background()
	for run := int32(1); run <= 2; run++ {
		if err := rec.Start(ctx); err != nil {
			t.Fatal(err)
		}
		_, span := rec.Begin(ctx, "test", "work")
		span.End(nil)
		if err := rec.Stop(ctx); err != nil {
			t.Fatalf("stop %d: %v", run, err)
		}
		if got := exports.Load(); got != run {
			t.Fatalf("after run %d the collector got %d exports, want %d", run, got, run)
		}
	}
}
