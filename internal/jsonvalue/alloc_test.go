//go:build !race

// Allocation measures are taken without the race detector, which changes
// what allocates (sync.Pool drops a share of what is put back): `make unit`
// runs these tests in a build of their own.

package jsonvalue

import (
	"runtime"
	"strings"
	"testing"
)

// TestDecodeAllocationPerByte: a body of small array items took about 60
// bytes of memory per byte through encoding/json; here arrays are allocated
// at their final size. The bound is on bytes allocated, a deterministic
// measure (this test is not parallel so that the measure is its own).
func TestDecodeAllocationPerByte(t *testing.T) {
	body := []byte(`{"a":[` + strings.Repeat("1,", 1<<20) + `1]}`)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	v, err := Decode(body, Options{Number: func(string) (any, error) { return int64(1), nil }})
	runtime.ReadMemStats(&m1)
	if err != nil || len(v.(map[string]any)["a"].([]any)) != 1<<20+1 {
		t.Fatal(err)
	}
	perByte := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(body))
	// 16 bytes per item for the final slice and as much for the chunks the
	// items wait in: 32 bytes per 2-byte item.
	if perByte > 18 {
		t.Fatalf("%.1f bytes allocated per byte of JSON, want at most 18", perByte)
	}
	t.Logf("%.1f bytes allocated per byte of JSON", perByte)
}
