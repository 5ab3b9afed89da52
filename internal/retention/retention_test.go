package retention_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/broker"
	"junction/internal/broker/httpapi"
	"junction/internal/retention"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// bundle is a Junction with the test project loaded, on one store.
type bundle struct {
	t    *testing.T
	app  *app.App
	base string
	data string
}

func setup(t *testing.T, d store.Dialect, mutate func(*app.Config)) *bundle {
	t.Helper()
	b := &bundle{t: t}
	b.app, b.base = apptest.Start(t, d, func(c *app.Config) {
		c.Project = "testdata/project"
		b.data = c.Data
		if mutate != nil {
			mutate(c)
		}
	})
	return b
}

func (b *bundle) worker() *retention.Worker {
	for _, c := range b.app.Components() {
		if w, ok := c.(*retention.Worker); ok {
			return w
		}
	}
	b.t.Fatal("no retention worker")
	return nil
}

func (b *bundle) broker() *broker.Broker {
	for _, c := range b.app.Components() {
		if api, ok := c.(*httpapi.API); ok {
			return api.Broker()
		}
	}
	b.t.Fatal("no broker")
	return nil
}

// count answers a COUNT(*) query.
func (b *bundle) count(query string, args ...any) int {
	b.t.Helper()
	var n int
	err := b.app.Store().Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), query, args...).Scan(&n)
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// waitFor polls until cond holds; the deadline is generous and not what the
// test is about.
func (b *bundle) waitFor(what string, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			b.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// histories makes one entry of every history: a workflow run, a function
// invocation, an event dead letter, a job run with a rejects file and a
// broker dead letter.
func (b *bundle) histories() {
	t, ctx := b.t, context.Background()
	apptest.Call(t, "POST", b.base+"/admin/v1/workflows/ping/triggers/manual/run", "k", map[string]any{}, http.StatusAccepted)
	b.waitFor("the workflow run", func() bool { return b.count("SELECT COUNT(*) FROM wf_runs WHERE status = 'Succeeded'") == 1 })

	if status, _, body := apptest.Post(t, b.base+"/api/hello", "", strings.NewReader(`{}`)); status != 200 {
		t.Fatalf("function: %d %s", status, body)
	}
	apptest.Call(t, "GET", b.base+"/admin/v1/functions/hello/invocations", "k", nil, 200) // writes the record

	key := apptest.Call(t, "POST", b.base+"/admin/v1/eventgrid/topics/grants/listKeys", "k", nil, 200)["key1"].(string)
	ev := func(action string, body string) []byte {
		req, _ := http.NewRequest("POST", b.base+"/eventgrid/topics/grants"+action, strings.NewReader(body))
		req.Header.Set("Authorization", "SharedAccessKey "+key)
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", action, resp, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return raw
	}
	ev(":publish?api-version=2024-06-01", `[{"specversion":"1.0","id":"g1","source":"/grants","type":"Grant.Approved"}]`)
	got := string(ev("/eventsubscriptions/worker:receive?api-version=2024-06-01&maxEvents=1&maxWaitTime=10", ""))
	i := strings.Index(got, `"lockToken":"`)
	if i < 0 {
		t.Fatalf("no event received: %s", got)
	}
	token := got[i+len(`"lockToken":"`):]
	token = token[:strings.IndexByte(token, '"')]
	ev("/eventsubscriptions/worker:reject?api-version=2024-06-01", `{"lockTokens":["`+token+`"]}`)

	in := filepath.Join(b.data, "files", "amounts")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "a.csv"), []byte("id,amount\n1,10.5\n2,lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	apptest.Call(t, "POST", b.base+"/admin/v1/jobs/amounts/runs", "k", map[string]any{"file": "a.csv"}, http.StatusAccepted)
	b.waitFor("the job run", func() bool { return b.count("SELECT COUNT(*) FROM batch_runs WHERE status = 'succeeded'") == 1 })

	bus := b.broker()
	if _, _, err := bus.PutQueue(ctx, "orders", broker.Properties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Send(ctx, "orders", broker.Message{MessageID: "m1", Body: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	msgs, err := bus.Receive(ctx, "orders", broker.ReceiveOptions{Mode: broker.PeekLock, Wait: 5 * time.Second})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v %v", msgs, err)
	}
	if err := bus.DeadLetter(ctx, "orders", broker.Settlement{LockToken: msgs[0].LockToken, Reason: "Poison"}); err != nil {
		t.Fatal(err)
	}
}

// kept counts what each history holds.
func (b *bundle) kept() map[string]int {
	return map[string]int{
		"workflow runs":        b.count("SELECT COUNT(*) FROM wf_runs"),
		"workflow actions":     b.count("SELECT COUNT(*) FROM wf_actions"),
		"function invocations": b.count("SELECT COUNT(*) FROM func_invocations"),
		"event dead letters":   b.count("SELECT COUNT(*) FROM events_deadletters"),
		"job runs":             b.count("SELECT COUNT(*) FROM batch_runs"),
		"job run files":        b.count("SELECT COUNT(*) FROM batch_run_files"),
		"broker dead letters":  b.count("SELECT COUNT(*) FROM broker_messages WHERE dlq = 1"),
	}
}

// TestEveryHistoryIsKeptForItsPeriod: with a period of 2 hours (from the
// flag for workflow runs, which beats the project file's day; from the
// project file for the rest), a pass an hour later keeps every entry and a
// pass three hours later deletes every one.
func TestEveryHistoryIsKeptForItsPeriod(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			everyHistoryIsKept(t, d)
		})
	}
}

func everyHistoryIsKept(t *testing.T, d store.Dialect) {
	{
		b := setup(t, d, func(c *app.Config) { c.Retention.WorkflowRuns = retention.Period(2 * time.Hour) })
		b.histories()
		before := b.kept()
		for what, n := range before {
			if n == 0 {
				t.Fatalf("no %s to keep: %v", what, before)
			}
		}
		w := b.worker()
		if s := w.Settings(); s.WorkflowRuns.String() != "2h0m0s" || s.JobRuns.String() != "2h0m0s" || s.Batch != 1000 {
			t.Fatalf("settings in force: %+v", s)
		}
		ctx := context.Background()
		if p := w.RunPass(ctx, time.Now().Add(time.Hour)); len(p.Errors) > 0 {
			t.Fatalf("pass: %v", p.Errors)
		}
		if after := b.kept(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("an hour on, retention deleted entries younger than 2h: %v, was %v", after, before)
		}
		p := w.RunPass(ctx, time.Now().Add(3*time.Hour))
		if len(p.Errors) > 0 {
			t.Fatalf("pass: %v", p.Errors)
		}
		for what, n := range b.kept() {
			if n != 0 {
				t.Errorf("three hours on, %d %s are left", n, what)
			}
		}
		for _, h := range []string{"workflow runs", "function invocations", "event dead letters", "job runs", "broker dead letters"} {
			if p.Deleted[h] == 0 {
				t.Errorf("the pass reports no %s deleted: %v", h, p.Deleted)
			}
		}
	}
}

// TestForeverKeepsEverything: the defaults keep dead letters until purged,
// whatever their age.
func TestForeverKeepsEverything(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, func(c *app.Config) {
		c.Retention.EventDeadLetters, c.Retention.BrokerDeadLetters = retention.Forever, retention.Forever
	})
	b.histories()
	before := b.kept()
	b.worker().RunPass(context.Background(), time.Now().Add(10*365*24*time.Hour))
	after := b.kept()
	if after["event dead letters"] != before["event dead letters"] || after["broker dead letters"] != before["broker dead letters"] {
		t.Fatalf("dead letters kept forever were deleted: %v, was %v", after, before)
	}
	if after["workflow runs"] != 0 {
		t.Fatalf("ten years on, workflow runs are left: %v", after)
	}
}
