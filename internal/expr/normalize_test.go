package expr

import (
	"testing"
	"time"
)

func TestNormalizeGivesGoValuesTheirJSONShape(t *testing.T) {
	t.Parallel()
	type run struct {
		ID     int64     `json:"id"`
		Status string    `json:"status"`
		Ended  time.Time `json:"ended"`
	}
	got, ok := Normalize(run{ID: 7, Status: "succeeded", Ended: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}).(map[string]any)
	if !ok || got["id"] != int64(7) || got["status"] != "succeeded" || got["ended"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("normalized: %#v", got)
	}
	if v := Normalize(int(3)); v != int64(3) {
		t.Fatalf("int: %#v", v)
	}
}
