package retention_test

import (
	"context"
	"encoding/json"
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
	"junction/internal/cli"
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

// TestStorageReport: GET /admin/v1/storage, /metrics and `junction storage`
// show the same rows per component, table and queue, with the retention in
// force; a sender's key may not read it.
func TestStorageReport(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			storageReport(t, d)
		})
	}
}

func storageReport(t *testing.T, d store.Dialect) {
	b := setup(t, d, nil)
	for _, name := range []string{"Contoso", "Fabrikam"} {
		if status, _, body := apptest.Post(t, b.base+"/api/data/v9.2/accounts", "k", strings.NewReader(`{"name":"`+name+`"}`)); status != 204 {
			t.Fatalf("create account: %d %s", status, body)
		}
	}
	b.histories()
	var rep retention.Report
	raw := apptest.Call(t, "GET", b.base+"/admin/v1/storage?fresh=true", "k", nil, 200)
	js, _ := json.Marshal(raw)
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	component := func(name string) retention.Component {
		for _, c := range rep.Components {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no component %q in %+v", name, rep.Components)
		return retention.Component{}
	}
	if c := component("workflow runs"); c.Rows != 2 || c.Bytes <= 0 || c.Retention != "1d" { // a run and its action; junction.yaml's period
		t.Errorf("workflow runs: %+v", c)
	}
	if c := component("change log"); c.Rows < 2 || c.Bytes <= 0 {
		t.Errorf("change log: %+v", c)
	}
	if c := component("broker"); c.Retention != "2h0m0s" {
		t.Errorf("broker: %+v", c)
	}
	if c := component("job runs"); c.Rows != 2 || c.Retention != "2h0m0s" { // the run and its rejects file
		t.Errorf("job runs: %+v", c)
	}
	var account *retention.Table
	for i := range rep.Tables {
		if rep.Tables[i].Name == "account" {
			account = &rep.Tables[i]
		}
	}
	if account == nil || account.Rows != 2 || account.Bytes <= 0 {
		t.Errorf("account table: %+v", account)
	}
	if len(rep.Broker) != 1 || rep.Broker[0].Path != "orders" || rep.Broker[0].DeadLetter != 1 || rep.Broker[0].Active != 0 || rep.Broker[0].Bytes <= 0 {
		t.Errorf("broker entities: %+v", rep.Broker)
	}
	if rep.Retention["workflowRuns"] != "1d" || rep.Retention["jobRuns"] != "2h0m0s" || rep.Retention["eventDeadLetters"] != "2h0m0s" {
		t.Errorf("retention: %v", rep.Retention)
	}
	if rep.Disk == nil || rep.Disk.FreeBytes <= 0 || rep.Disk.TotalBytes < rep.Disk.FreeBytes {
		t.Errorf("disk: %+v", rep.Disk)
	}
	if d == store.SQLite && (rep.File == nil || rep.File.AutoVacuum != "incremental" || rep.File.Bytes <= 0) {
		t.Errorf("file: %+v", rep.File)
	}
	var sum int64
	for _, c := range rep.Components {
		sum += c.Bytes
	}
	if sum != rep.Bytes {
		t.Errorf("the components add up to %d bytes, the report says %d", sum, rep.Bytes)
	}

	_, sender, err := b.app.Keys().Create(context.Background(), "s", "sender")
	if err != nil {
		t.Fatal(err)
	}
	apptest.Call(t, "GET", b.base+"/admin/v1/storage", sender, nil, http.StatusForbidden)
	apptest.Call(t, "GET", b.base+"/admin/v1/storage?fresh=maybe", "k", nil, http.StatusBadRequest)

	resp, err := http.Get(b.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`junction_storage_table_rows{table="account"} 2`,
		`junction_storage_rows{component="workflow runs"} 2`,
		`junction_storage_broker_messages{entity="orders",state="deadletter"} 1`,
		`junction_retention_period_seconds{setting="jobRuns"} 7200`,
		`junction_retention_period_seconds{setting="workflowRuns"} 86400`,
		`junction_storage_report_errors 0`,
		`junction_storage_disk_free_bytes `,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	var out, errOut strings.Builder
	code := cli.Main(context.Background(), []string{"storage", "--url", b.base, "--key", "k"}, cli.IO{Stdout: &out, Stderr: &errOut, Env: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("junction storage: %d %s", code, errOut.String())
	}
	for _, want := range []string{"COMPONENT", "workflow runs", "account", "orders", "retention: brokerDeadLetters=2h0m0s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("junction storage prints no %q:\n%s", want, out.String())
		}
	}
}
