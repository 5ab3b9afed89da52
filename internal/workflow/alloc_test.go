//go:build !race

// Allocation measures are taken without the race detector, which changes
// what allocates (sync.Pool drops a share of what is put back): `make unit`
// runs these tests in a build of their own.

package workflow_test

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
)

// TestCallbackAllocationPerByte: a 50 MB body to a workflow callback took
// 2.17 GB. Measured as bytes allocated per byte of body from the request to
// the end of its run (which stores the trigger's outputs): 11.1 for a large
// string and 60.4 for small array items before, 6.0 and 22.8 now. Not
// parallel: the measure is of the whole process.
func TestCallbackAllocationPerByte(t *testing.T) {
	a, base := apptest.Start(t, store.SQLite, nil)
	cb := callbackURL(t, base)
	for _, tc := range []struct {
		name, body string
		max        float64
	}{
		{"one large string", `{"a":"` + strings.Repeat("a", 4<<20) + `"}`, 9},
		{"many small values", `{"a":[` + strings.Repeat("1,", 400000) + `1]}`, 32},
	} {
		// The least of three: whatever else the process does only adds to
		// a measure, never takes from it.
		got := math.Inf(1)
		for range 3 {
			got = min(got, runAllocPerByte(t, a, cb, tc.body))
		}
		t.Logf("%s: %.1f bytes allocated per byte of body", tc.name, got)
		if got > tc.max {
			t.Errorf("%s: %.1f bytes allocated per byte of body, want at most %v", tc.name, got, tc.max)
		}
	}
}

// runAllocPerByte posts body to the callback cb and waits for its run to
// end, returning the bytes the process allocated per byte of body.
func runAllocPerByte(t *testing.T, a *app.App, cb, body string) float64 {
	t.Helper()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	status, hdr, raw := apptest.Post(t, cb, "", strings.NewReader(body))
	if status != 202 {
		t.Fatalf("%d %s", status, raw)
	}
	id := hdr.Get("x-ms-workflow-run-id")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Read from the store: the management API would answer with the
		// trigger's outputs, which would count against the measure.
		var status string
		err := a.Store().Read(context.Background(), func(q store.Querier) error {
			return q.QueryRow(context.Background(), `SELECT status FROM wf_runs WHERE id = ?`, id).Scan(&status)
		})
		if err != nil {
			t.Fatal(err)
		}
		if status == "Succeeded" {
			break
		}
		if status != "Running" || time.Now().After(deadline) {
			t.Fatalf("run %s: %s", id, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(body))
}
