package workflow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestDurableRunHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		f := loadSample(t, "logicapps/try-catch.json")
		l, err := b.e.Compile("try-catch", f, Project{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
			t.Fatal(err)
		}
		done := b.run(t, l, map[string]any{"qty": "x"})
		r, err := loadRun(context.Background(), s, done.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != StatusSucceeded || r.EndTime == nil {
			t.Fatalf("stored run %s", jsonOf(r))
		}
		want := map[string]string{"Initialize_log": "Succeeded", "Try": "Failed", "Try/Parse": "Failed", "Try/Double": "Skipped",
			"Catch": "Succeeded", "Catch/Failed_actions": "Succeeded", "Catch/Log_failure": "Succeeded", "Finally": "Succeeded"}
		if len(r.Actions) != len(want) {
			t.Fatalf("stored %v", paths(r))
		}
		for _, a := range r.Actions {
			if want[a.Path] != a.Status {
				t.Errorf("%s: %s, want %s", a.Path, a.Status, want[a.Path])
			}
		}
		parse := rec(r, "Try/Parse")
		if parse.Inputs == nil || jsonOf(parse.Error) == "null" {
			t.Fatalf("the failing action's inputs and error must be kept: %s", jsonOf(parse))
		}
		if r.variables["log"] == nil {
			t.Fatalf("variables not persisted: %s", jsonOf(r.variables))
		}
		// Search by status, trigger and client tracking id.
		for _, f := range []RunFilter{{Workflow: "try-catch", Status: StatusSucceeded}, {Trigger: "manual"}, {ClientTrackingID: done.ClientTrackingID},
			{From: done.StartTime.Add(-time.Minute), To: done.StartTime.Add(time.Minute)}} {
			runs, err := searchRuns(context.Background(), s, f)
			if err != nil || len(runs) != 1 || runs[0].ID != done.ID {
				t.Fatalf("search %+v: %v %v", f, len(runs), err)
			}
		}
		if runs, _ := searchRuns(context.Background(), s, RunFilter{Status: StatusFailed}); len(runs) != 0 {
			t.Fatalf("status filter ignored")
		}
	})
}

// blocker is an HTTP endpoint whose first call hangs until the caller gives up.
type blocker struct {
	first, second atomic.Int32
	entered       chan struct{}
	once          sync.Once
}

func (bl *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/first":
		bl.first.Add(1)
		fmt.Fprint(w, "first done")
	case "/second":
		if bl.second.Add(1) == 1 {
			bl.once.Do(func() { close(bl.entered) })
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "second done")
	}
}

// hangingServer serves a blocker; it closes when the test ends.
func hangingServer(t *testing.T) (*blocker, string) {
	bl := &blocker{entered: make(chan struct{})}
	srv := httptest.NewServer(bl)
	t.Cleanup(srv.Close)
	return bl, srv.URL
}

func TestCrashedNodeRunResumesElsewhere(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		bl, url := hangingServer(t)
		doc := def(`{
			"First":{"type":"Http","inputs":{"method":"GET","uri":"` + url + `/first"}},
			"Init":{"type":"InitializeVariable","inputs":{"variables":[{"name":"n","type":"integer","value":1}]},"runAfter":{"First":["Succeeded"]}},
			"Inc":{"type":"IncrementVariable","inputs":{"name":"n","value":10},"runAfter":{"Init":["Succeeded"]}},
			"Second":{"type":"Http","inputs":{"method":"GET","uri":"` + url + `/second"},"runAfter":{"Inc":["Succeeded"]}},
			"Done":{"type":"Compose","inputs":"@{body('First')} / @{body('Second')} / @{variables('n')}","runAfter":{"Second":["Succeeded"]}}}`)
		a := setup(t, s, func(o *Config) { o.NodeID = "node-a"; o.LeaseTTL = time.Second })
		l := a.deploy(t, "crash", doc)
		h, err := a.e.StartRun(context.Background(), l, StartOptions{Outputs: map[string]any{"body": nil}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-bl.entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the run never reached the second call")
		}
		a.e.kill() // kill -9: no more writes, the lease is left to expire
		// Node B knows nothing of the workflow: it reads the run's definition from the store.
		bnode := setup(t, s, func(o *Config) { o.NodeID = "node-b"; o.LeaseTTL = time.Second })
		_ = bnode
		var r *Run
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			r, err = loadRun(context.Background(), s, h.ID, true)
			if err == nil && r.Status != StatusRunning {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r == nil || r.Status != StatusSucceeded {
			t.Fatalf("the run did not finish on node B: %s", jsonOf(r))
		}
		if got := rec(r, "Done").Outputs; got != "first done / second done / 11" {
			t.Fatalf("Done = %v", got)
		}
		if bl.first.Load() != 1 {
			t.Fatalf("a completed action ran %d times", bl.first.Load())
		}
		if bl.second.Load() != 2 {
			t.Fatalf("the interrupted action ran %d times, want 2", bl.second.Load())
		}
	})
}

func TestTwoNodesShareRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
		t.Cleanup(srv.Close)
		doc := def(`{"L":{"type":"Foreach","foreach":"@range(0, 5)","actions":{"Call":{"type":"Http","inputs":{"method":"POST","uri":"` + srv.URL + `"}}}}}`)
		a := setup(t, s, func(o *Config) { o.NodeID = "a" })
		bn := setup(t, s, func(o *Config) { o.NodeID = "b" })
		la := a.deploy(t, "shared", doc)
		lb := bn.deploy(t, "shared", doc)
		var wg sync.WaitGroup
		ids := make(chan string, 20)
		for i := 0; i < 20; i++ {
			node, l := a, la
			if i%2 == 1 {
				node, l = bn, lb
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := node.run(t, l, nil)
				ids <- r.ID
			}()
		}
		wg.Wait()
		close(ids)
		for id := range ids {
			r, err := loadRun(context.Background(), s, id, true)
			if err != nil || r.Status != StatusSucceeded || len(r.Actions) != 6 {
				t.Fatalf("run %s: %v %v", id, err, paths(r))
			}
		}
		if calls.Load() != 100 {
			t.Fatalf("%d calls, want 100: an action ran twice or not at all", calls.Load())
		}
	})
}

func TestStopReleasesRunsForTheNextStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := setup(t, s, func(o *Config) { o.NodeID = "a" })
		l := a.deploy(t, "pause", def(`{"W":{"type":"Wait","inputs":{"interval":{"count":1,"unit":"Hour"}}},"After":{"type":"Compose","inputs":"resumed","runAfter":{"W":["Succeeded"]}}}`))
		h, err := a.e.StartRun(context.Background(), l, StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		_ = a.e.Stop(context.Background())
		r, _ := loadRun(context.Background(), s, h.ID, false)
		if r.Status != StatusRunning {
			t.Fatalf("a stopped node must leave the run to resume, got %s", r.Status)
		}
		// A restarted node (same id) picks it up at once: the lease was released.
		setup(t, s, func(o *Config) { o.NodeID = "a"; o.TimeScale = 1e6 })
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if r, _ = loadRun(context.Background(), s, h.ID, true); r.Status != StatusRunning {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.Status != StatusSucceeded || rec(r, "After").Outputs != "resumed" {
			t.Fatalf("%s %v", r.Status, paths(r))
		}
	})
}

func TestSearchByTrackedProperty(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		l := b.deploy(t, "tracked", def(`{"C":{"type":"Compose","inputs":1,"trackedProperties":{"orderId":"@triggerBody()?['id']","region":"@{triggerBody()?['r']}"}}}`))
		r1 := b.run(t, l, map[string]any{"id": 42, "r": "50%_off"})
		b.run(t, l, map[string]any{"id": 7, "r": "north"})
		for _, tc := range []struct {
			f    TrackedFilter
			want int
		}{{TrackedFilter{"orderId", int64(42)}, 1}, {TrackedFilter{"orderId", int64(4)}, 0}, {TrackedFilter{"region", "50%_off"}, 1}, {TrackedFilter{"region", "50"}, 0}, {TrackedFilter{"region", "%"}, 0}} {
			runs, err := searchRuns(context.Background(), s, RunFilter{Workflow: "tracked", Tracked: &tc.f})
			if err != nil || len(runs) != tc.want {
				t.Fatalf("%+v: %d runs (%v), want %d", tc.f, len(runs), err, tc.want)
			}
			if tc.want == 1 && runs[0].ID != r1.ID {
				t.Fatalf("%+v found the wrong run", tc.f)
			}
		}
	})
}

func TestWaitSurvivesACrash(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clock := &fakeClock{}
		t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
		clock.set(t0)
		a := setup(t, s, func(o *Config) { o.NodeID = "a"; o.Now = clock.now; o.TimeScale = 1; o.LeaseTTL = time.Second })
		l := a.deploy(t, "nap", def(`{"W":{"type":"Wait","inputs":{"interval":{"count":1,"unit":"Hour"}}},"After":{"type":"Compose","inputs":"woke","runAfter":{"W":["Succeeded"]}}}`))
		h, err := a.e.StartRun(context.Background(), l, StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the wait to be recorded", func() bool {
			r, err := loadRun(context.Background(), s, h.ID, false)
			return err == nil && len(r.timers) == 1
		})
		a.e.kill()
		// Two hours later another node resumes the run: the hour has passed.
		clock.set(t0.Add(2 * time.Hour))
		setup(t, s, func(o *Config) { o.NodeID = "b"; o.Now = clock.now; o.TimeScale = 1; o.LeaseTTL = time.Second })
		var r *Run
		waitFor(t, "the run to finish on node b", func() bool {
			r, err = loadRun(context.Background(), s, h.ID, true)
			return err == nil && r.Status != StatusRunning
		})
		if r.Status != StatusSucceeded || rec(r, "After").Outputs != "woke" || !rec(r, "W").StartTime.Equal(t0) {
			t.Fatalf("%s %v %v", r.Status, paths(r), rec(r, "W"))
		}
	})
}
