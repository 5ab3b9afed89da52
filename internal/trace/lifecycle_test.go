package trace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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
