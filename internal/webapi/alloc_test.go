//go:build !race

// Allocation measures are taken without the race detector, which changes
// what allocates (sync.Pool drops a share of what is put back): `make unit`
// runs these tests in a build of their own.

package webapi_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"junction/internal/app/apptest"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// allocPerByte posts body to url and returns the bytes the whole process
// allocated meanwhile per byte of body. It is deterministic enough for a
// bound with a margin (the tests using it are not parallel, so no other
// test allocates meanwhile).
func allocPerByte(t *testing.T, url, body string) float64 {
	t.Helper()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	apptest.Post(t, url, "k", strings.NewReader(body))
	runtime.ReadMemStats(&m1)
	return float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(body))
}

// TestCreateAllocationPerByte: a 60 MB body to the Web API took the process
// from 44 MB to 1.84 GB. Memory for a body is now a small multiple of its
// size, measured as bytes allocated per byte of body: about 2 for a large
// string (was 7), about 30 for a body of small array items (was 59; each
// 2-byte item is a 16-byte interface value in its array and 16 bytes of
// boxed number, and --json-max-values bounds how many there can be). Not
// parallel: the measure is of the whole process.
func TestCreateAllocationPerByte(t *testing.T) {
	_, base := apptest.Start(t, store.SQLite, nil)
	n := 4 << 20
	for _, tc := range []struct {
		name, body string
		max        float64
	}{
		{"one large string", `{"name":"x","description":"` + strings.Repeat("a", n) + `"}`, 4},
		{"many small values", `{"name":"x","description":[` + strings.Repeat("1,", 400000) + `1]}`, 36},
	} {
		// The least of three: whatever else the process does only adds to
		// a measure, never takes from it.
		got := math.Inf(1)
		for range 3 {
			got = min(got, allocPerByte(t, base+"/api/data/v9.2/accounts", tc.body))
		}
		t.Logf("%s: %.1f bytes allocated per byte of body", tc.name, got)
		if got > tc.max {
			t.Errorf("%s: %.1f bytes allocated per byte of body, want at most %v", tc.name, got, tc.max)
		}
	}
}

// discard is a ResponseWriter that keeps nothing of the answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// TestListAllocation: a list answer of 20 rows of every column of
// account (issue 18's query) allocated 95 KB on SQLite and 103 KB on
// PostgreSQL besides its 80 KB answer's buffer (pooled); it allocates about
// 36 KB and 30 KB. The rows' values are read into a slice kept from one
// answer for the next (it was 50 KB an answer), on PostgreSQL decoded
// from pgx's wire bytes (store.QueryValues) without database/sql's
// conversion set up for each of the 150 columns of each statement, and
// the SELECT's 3 KB text is written once. Not parallel: the measure is of
// the whole process.
func TestListAllocation(t *testing.T) {
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			b := start(t, d, "")
			seedAccounts(t, b, 500)
			h := handler(t, b)
			u := b.base + "accounts?" + url.Values{"$filter": {"numberofemployees gt 40"}, "$orderby": {"name"}, "$top": {"20"}}.Encode()
			get := func() {
				r := httptest.NewRequest("GET", u, nil)
				r.Header.Set("Authorization", "Bearer "+adminKey)
				w := &discard{}
				h.ServeHTTP(w, r)
				if ct := w.h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("answer of %s", ct)
				}
			}
			const n = 20
			perQuery := math.Inf(1)
			for range 4 { // the least of four, as in allocPerByte
				get()
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				for range n {
					get()
				}
				runtime.ReadMemStats(&m1)
				perQuery = min(perQuery, float64(m1.TotalAlloc-m0.TotalAlloc)/n)
			}
			t.Logf("%.0f bytes allocated a list answer", perQuery)
			if limit := 64 << 10; perQuery > float64(limit) {
				t.Errorf("%.0f bytes allocated a list answer, want at most %d", perQuery, limit)
			}
		})
	}
}
