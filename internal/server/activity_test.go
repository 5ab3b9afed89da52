package server

import (
	"strings"
	"testing"
	"time"
)

func TestActivityKeepsTheLastHour(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000*60, 0)
	a := NewActivity(func(route string) string {
		if strings.Contains(route, "/servicebus/") {
			return "broker"
		}
		return ""
	})
	a.now = func() time.Time { return now }
	a.record("POST /servicebus/{q}/messages", 201)
	a.record("POST /servicebus/{q}/messages", 500)
	a.record("GET /healthz", 200) // no surface: not counted
	now = now.Add(30 * time.Minute)
	a.record("POST /servicebus/{q}/messages", 404)
	got := a.LastHour()
	if len(got) != 1 || got[0].Requests != 3 || got[0].ServerErrors != 1 || got[0].ClientErrors != 1 || got[0].PerMinute[29] != 2 || got[0].PerMinute[59] != 1 {
		t.Fatalf("after 30 minutes: %+v", got)
	}
	now = now.Add(45 * time.Minute) // the first minute has left the window
	got = a.LastHour()
	if got[0].Requests != 1 || got[0].ServerErrors != 0 {
		t.Fatalf("after 75 minutes: %+v", got)
	}
}
