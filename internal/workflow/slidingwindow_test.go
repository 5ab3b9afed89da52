package workflow

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Microsoft Learn, "Schedule and run tasks for contiguous data by using the
// Sliding Window trigger" (connectors-native-sliding-window): contiguous
// windows from startTime, each run delayed by inputs.delay, missed windows
// run afterwards; windowStartTime and windowEndTime are the trigger outputs.
// Two nodes share the store: each window runs once.
func TestSlidingWindowRunsEveryWindowOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clock := &fakeClock{}
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		clock.set(t0.Add(30 * time.Second))
		doc := `{"definition":{"triggers":{"Sliding_Window":{"type":"SlidingWindow","inputs":{"delay":"PT10S"},
				"recurrence":{"frequency":"Minute","interval":"1","startTime":"2024-01-01T00:00:00Z"}}},
			"actions":{"Window":{"type":"Compose","inputs":"@{triggerOutputs()?['windowStartTime']}/@{triggerOutputs()?['windowEndTime']}"}}}}`
		nodes := []*bundle{
			setup(t, s, func(o *Config) { o.NodeID = "n1"; o.Now = clock.now }),
			setup(t, s, func(o *Config) { o.NodeID = "n2"; o.Now = clock.now }),
		}
		for _, n := range nodes {
			n.deploy(t, "sync", doc)
		}
		clock.set(t0.Add(65 * time.Second)) // the first window has ended, its delay has not
		time.Sleep(200 * time.Millisecond)  // several scheduler ticks
		if n := countRuns(t, s, "sync"); n != 0 {
			t.Fatalf("%d runs before the delay passed", n)
		}
		clock.set(t0.Add(75 * time.Second))
		waitFor(t, "the first window", func() bool { return countRuns(t, s, "sync") >= 1 })
		// Both nodes were down for four windows: all four run, once each.
		clock.set(t0.Add(5*time.Minute + 20*time.Second))
		waitFor(t, "the missed windows", func() bool { return countRuns(t, s, "sync") >= 5 })
		time.Sleep(200 * time.Millisecond)
		runs, _ := searchRuns(context.Background(), s, RunFilter{Workflow: "sync"})
		var windows []string
		for _, r := range runs {
			outs, _ := r.Trigger["outputs"].(map[string]any)
			windows = append(windows, outs["windowStartTime"].(string)[11:19]+"-"+outs["windowEndTime"].(string)[11:19])
		}
		sort.Strings(windows)
		if got := strings.Join(windows, " "); got != "00:00:00-00:01:00 00:01:00-00:02:00 00:02:00-00:03:00 00:03:00-00:04:00 00:04:00-00:05:00" {
			t.Fatalf("windows %s", got)
		}
	})
	// What the trigger refuses.
	for _, bad := range []string{`"recurrence":{"frequency":"Day","interval":1}`, `"inputs":{"delay":"soon"},"recurrence":{"frequency":"Hour","interval":1}`, `"inputs":{}`} {
		f, err := ParseFile([]byte(`{"definition":{"triggers":{"W":{"type":"SlidingWindow",` + bad + `}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if ps := Validate(f.Definition, Environment{}); len(ps) == 0 || !strings.HasPrefix(ps[0].Path, "definition.triggers.W.recurrence") {
			t.Errorf("%s: %v", bad, ps)
		}
	}
}
