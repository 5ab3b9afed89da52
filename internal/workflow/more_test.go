package workflow

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// nodeJS runs JavaScriptCode with the node binary, as a stand-in for the
// function host's sandbox in this package's tests.
type nodeJS struct{ bin string }

func (n nodeJS) RunJS(ctx context.Context, code string, wctx map[string]any) (any, error) {
	data, _ := json.Marshal(wctx)
	script := "const workflowContext = JSON.parse(process.argv[1]);\n" +
		"Promise.resolve((function(){\n" + code + "\n})()).then(v => process.stdout.write(JSON.stringify(v === undefined ? null : v)), e => { process.stderr.write(String(e)); process.exit(1); });"
	out, err := exec.CommandContext(ctx, n.bin, "-e", script, string(data)).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, &actionError{Code: "ScriptError", Message: strings.TrimSpace(string(ee.Stderr))}
		}
		return nil, err
	}
	var v any
	return v, json.Unmarshal(out, &v)
}

func TestJavaScriptCode(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI")
		}
		t.Skip("SKIPPING: node is not installed")
	}
	b := setup(t, nil, func(o *Config) { o.JS = nodeJS{bin} })
	l := b.deploy(t, "js", def(`{
		"Seed":{"type":"Compose","inputs":{"k":3}},
		"Code":{"type":"JavaScriptCode","inputs":{"code":"const n = workflowContext.trigger.outputs.body.n; return {product: n * workflowContext.actions.Seed.outputs.k};"},"runAfter":{"Seed":["Succeeded"]}},
		"Boom":{"type":"JavaScriptCode","inputs":{"code":"throw new Error('bad input')"},"runAfter":{"Code":["Succeeded"]}}}`))
	r := b.run(t, l, map[string]any{"n": 7})
	if got := jsonOf(rec(r, "Code").Outputs); got != `{"body":{"product":21}}` {
		t.Fatalf("Code = %s %v", got, paths(r))
	}
	if boom := rec(r, "Boom"); boom.Status != StatusFailed || !strings.Contains(jsonOf(boom.Error), "bad input") {
		t.Fatalf("Boom = %s", jsonOf(boom))
	}
	// Without a sandbox the action fails with a clear code.
	plain := setup(t, nil)
	l2 := plain.deploy(t, "js", def(`{"Code":{"type":"JavaScriptCode","inputs":{"code":"return 1;"}}}`))
	if c := rec(plain.run(t, l2, nil), "Code"); c.Code != "JavaScriptNotAvailable" {
		t.Fatalf("%s", jsonOf(c))
	}
}

func TestStatelessLeavesNoHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		l := b.deploy(t, "quick", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http"}},"actions":{"C":{"type":"Compose","inputs":"@add(1,1)"}}},"kind":"Stateless"}`)
		r := b.run(t, l, nil)
		if r.Status != StatusSucceeded || rec(r, "C").Outputs != int64(2) {
			t.Fatalf("%s %v", r.Status, paths(r))
		}
		if n := countRuns(t, s, "quick"); n != 0 {
			t.Fatalf("a stateless run left %d rows", n)
		}
	})
}

func TestResubmitFromAction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		l := b.deploy(t, "rs", def(`{
			"Stamp":{"type":"Compose","inputs":"@guid()"},
			"Check":{"type":"Compose","inputs":"@div(10, triggerBody()?['d'])","runAfter":{"Stamp":["Succeeded"]}},
			"After":{"type":"Compose","inputs":"@concat(outputs('Stamp'), '/', string(outputs('Check')))","runAfter":{"Check":["Succeeded"]}}}`))
		first := b.run(t, l, map[string]any{"d": 0})
		if first.Status != StatusFailed {
			t.Fatalf("%s", first.Status)
		}
		stored, err := loadRun(context.Background(), s, first.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		// The definition is fixed (divide by 5 instead), then the run resubmitted from Check.
		l2 := b.deploy(t, "rs", def(`{
			"Stamp":{"type":"Compose","inputs":"@guid()"},
			"Check":{"type":"Compose","inputs":"@div(10, add(triggerBody()?['d'], 5))","runAfter":{"Stamp":["Succeeded"]}},
			"After":{"type":"Compose","inputs":"@concat(outputs('Stamp'), '/', string(outputs('Check')))","runAfter":{"Check":["Succeeded"]}}}`))
		_ = l2
		stored.defHash = l2.Hash
		h, err := b.e.Resubmit(context.Background(), stored, "Check")
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := rec(first, "Stamp").Outputs.(string) + "/2"
		if r.Status != StatusSucceeded || rec(r, "After").Outputs != want || r.OriginRunID != first.ID {
			t.Fatalf("%s %v %v", r.Status, rec(r, "After"), paths(r))
		}
		if _, err := b.e.Resubmit(context.Background(), stored, "Nope"); err == nil {
			t.Fatal("an unknown action was accepted")
		}
	})
}

func TestCancelFromAnotherNode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := setup(t, s, func(o *Config) { o.NodeID = "a"; o.TimeScale = 1; o.LeaseTTL = time.Second })
		other := setup(t, s, func(o *Config) { o.NodeID = "b" })
		l := a.deploy(t, "long", def(`{"W":{"type":"Wait","inputs":{"interval":{"count":1,"unit":"Hour"}}},"After":{"type":"Compose","inputs":1,"runAfter":{"W":["Succeeded"]}}}`))
		h, err := a.e.StartRun(context.Background(), l, StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := other.e.Cancel(context.Background(), h.ID); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := h.Wait(ctx); err != nil {
			t.Fatalf("node a did not stop the cancelled run: %v", err)
		}
		r, _ := loadRun(context.Background(), s, h.ID, true)
		if r.Status != StatusCancelled || rec(r, "After") != nil {
			t.Fatalf("%s %v", r.Status, paths(r))
		}
	})
}

func TestWaitUntil(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	clock.set(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	b := setup(t, nil, func(o *Config) { o.Now = clock.now })
	l := b.deploy(t, "until", def(`{"W":{"type":"Wait","inputs":{"until":{"timestamp":"2024-01-01T00:00:30Z"}}},"Done":{"type":"Compose","inputs":"ok","runAfter":{"W":["Succeeded"]}}}`))
	if r := b.run(t, l, nil); rec(r, "Done").Outputs != "ok" {
		t.Fatalf("%v", paths(r))
	}
}

func TestTriggerRunLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		var mu sync.Mutex
		inflight, peak := 0, 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inflight++
			peak = max(peak, inflight)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			inflight--
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		nodes := []*bundle{setup(t, s, func(o *Config) { o.NodeID = "a" }), setup(t, s, func(o *Config) { o.NodeID = "b" })}
		doc := `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","runtimeConfiguration":{"concurrency":{"runs":2}}}},
			"actions":{"Call":{"type":"Http","inputs":{"method":"GET","uri":"` + srv.URL + `"}}}}}`
		loaded := []*Loaded{nodes[0].deploy(t, "limited", doc), nodes[1].deploy(t, "limited", doc)}
		var handles []*Handle
		for i := 0; i < 8; i++ {
			n := nodes[i%2]
			h, err := n.e.StartRun(context.Background(), loaded[i%2], StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			handles = append(handles, h)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		waited := 0
		for _, h := range handles {
			if h.Waiting {
				waited++
			}
			r, err := h.Wait(ctx)
			if err != nil || r.Status != StatusSucceeded {
				t.Fatalf("run %s: %v %v", h.ID, err, r)
			}
		}
		if waited == 0 || peak > 2 {
			t.Fatalf("%d runs waited, %d ran at once (limit 2)", waited, peak)
		}
	})
}
