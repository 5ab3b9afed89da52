package workflow

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		r         Recurrence
		after     string
		want      string
		wantEnded bool
	}{
		{Recurrence{Frequency: "Minute", Interval: 15, StartTime: "2024-01-01T00:00:00Z"}, "2024-01-01T00:20:00Z", "2024-01-01T00:30:00Z", false},
		{Recurrence{Frequency: "Minute", Interval: 15, StartTime: "2024-01-01T00:00:00Z"}, "2024-01-01T00:30:00Z", "2024-01-01T00:45:00Z", false},
		{Recurrence{Frequency: "Hour", Interval: 2, StartTime: "2024-01-01T09:00:00Z"}, "2023-12-31T00:00:00Z", "2024-01-01T09:00:00Z", false},
		{Recurrence{Frequency: "Month", Interval: 1, StartTime: "2024-01-31T08:00:00Z"}, "2024-02-01T00:00:00Z", "2024-03-02T08:00:00Z", false},
		// Twice a day at 06:30 and 18:30 Central European time (summer: UTC+2).
		{Recurrence{Frequency: "Day", Interval: 1, TimeZone: "W. Europe Standard Time", StartTime: "2024-06-01T00:00:00", Schedule: &Schedule{Hours: []int{6, 18}, Minutes: []int{30}}},
			"2024-07-01T05:00:00Z", "2024-07-01T16:30:00Z", false},
		// Every other day, from the start date.
		{Recurrence{Frequency: "Day", Interval: 2, StartTime: "2024-07-01T00:00:00Z", Schedule: &Schedule{Hours: []int{9}}},
			"2024-07-01T10:00:00Z", "2024-07-03T09:00:00Z", false},
		// Mondays and Fridays at 09:15 Pacific time (summer: UTC-7).
		{Recurrence{Frequency: "Week", Interval: 1, TimeZone: "Pacific Standard Time", StartTime: "2024-07-01T00:00:00", Schedule: &Schedule{Hours: []int{9}, Minutes: []int{15}, WeekDays: []string{"Monday", "Friday"}}},
			"2024-07-02T00:00:00Z", "2024-07-05T16:15:00Z", false},
		{Recurrence{Frequency: "Minute", Interval: 1, StartTime: "2024-01-01T00:00:00Z", EndTime: "2024-01-01T00:05:00Z"}, "2024-01-01T00:05:00Z", "", true},
		// Microsoft Learn, "Schema reference for trigger and action types"
		// (Recurrence, schedule.monthDays with frequency Month): the 1st and
		// 15th at 08:00; every other month; the 31st only in months that have
		// one.
		{Recurrence{Frequency: "Month", Interval: 1, StartTime: "2024-01-01T00:00:00Z", Schedule: &Schedule{MonthDays: []int{1, 15}, Hours: []int{8}, Minutes: []int{0}}},
			"2024-02-01T09:00:00Z", "2024-02-15T08:00:00Z", false},
		{Recurrence{Frequency: "Month", Interval: 2, StartTime: "2024-01-10T00:00:00Z", Schedule: &Schedule{MonthDays: []int{5}, Hours: []int{6}}},
			"2024-01-10T00:00:00Z", "2024-03-05T06:00:00Z", false},
		{Recurrence{Frequency: "Month", Interval: 1, StartTime: "2024-01-01T00:00:00Z", Schedule: &Schedule{MonthDays: []int{31}, Hours: []int{12}, Minutes: []int{0}}},
			"2024-03-31T13:00:00Z", "2024-05-31T12:00:00Z", false},
	}
	for _, tc := range cases {
		s, err := newSchedule(&tc.r)
		if err != nil {
			t.Fatal(err)
		}
		got := s.next(ts(tc.after), ts(tc.after))
		if tc.wantEnded {
			if !got.IsZero() {
				t.Errorf("%+v: got %v, want the end", tc.r, got)
			}
			continue
		}
		if !got.Equal(ts(tc.want)) {
			t.Errorf("%+v after %s: got %v, want %s", tc.r, tc.after, got.UTC(), tc.want)
		}
	}
	for _, bad := range []Recurrence{
		{Frequency: "Day", Interval: 1, Schedule: &Schedule{MonthDays: []int{1}}},
		{Frequency: "Month", Interval: 1, Schedule: &Schedule{MonthDays: []int{32}}},
	} {
		if _, err := newSchedule(&bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

type fakeClock struct{ us atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.UnixMicro(c.us.Load()).UTC() }
func (c *fakeClock) set(t time.Time)         { c.us.Store(t.UnixMicro()) }
func (c *fakeClock) advance(d time.Duration) { c.us.Add(d.Microseconds()) }

func countRuns(t *testing.T, s store.Store, wf string) int {
	var n int
	_ = s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), `SELECT COUNT(*) FROM wf_runs WHERE workflow = ?`, wf).Scan(&n)
	})
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRecurrenceFiresOncePerOccurrenceAcrossNodes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clock := &fakeClock{}
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		clock.set(t0.Add(30 * time.Second))
		doc := `{"definition":{"triggers":{"Every_minute":{"type":"Recurrence","recurrence":{"frequency":"Minute","interval":1,"startTime":"2024-01-01T00:00:00Z"}}},
			"actions":{"When":{"type":"Compose","inputs":"@trigger()?['scheduledTime']"}}}}`
		nodes := []*bundle{
			setup(t, s, func(o *Config) { o.NodeID = "n1"; o.Now = clock.now }),
			setup(t, s, func(o *Config) { o.NodeID = "n2"; o.Now = clock.now }),
		}
		for _, n := range nodes {
			n.deploy(t, "tick", doc)
		}
		clock.set(t0.Add(65 * time.Second))
		waitFor(t, "the first occurrence", func() bool { return countRuns(t, s, "tick") >= 1 })
		clock.set(t0.Add(125 * time.Second))
		waitFor(t, "the second occurrence", func() bool { return countRuns(t, s, "tick") >= 2 })
		// A restart redeploying the same definition neither skips nor repeats.
		restarted := setup(t, s, func(o *Config) { o.NodeID = "n3"; o.Now = clock.now })
		restarted.deploy(t, "tick", doc)
		var next int64
		_ = s.Read(context.Background(), func(q store.Querier) error {
			return q.QueryRow(context.Background(), `SELECT next_at FROM wf_schedules WHERE workflow = 'tick'`).Scan(&next)
		})
		if !store.FromMicros(next).Equal(t0.Add(3 * time.Minute)) {
			t.Fatalf("next occurrence %v", store.FromMicros(next))
		}
		if n := countRuns(t, s, "tick"); n != 2 {
			t.Fatalf("%d runs for 2 occurrences", n)
		}
		runs, _ := searchRuns(context.Background(), s, RunFilter{Workflow: "tick"})
		seen := map[any]bool{}
		for _, r := range runs {
			st := r.Trigger["scheduledTime"]
			if seen[st] {
				t.Fatalf("occurrence %v fired twice", st)
			}
			seen[st] = true
		}
		if !seen["2024-01-01T00:01:00.0000000Z"] || !seen["2024-01-01T00:02:00.0000000Z"] {
			t.Fatalf("occurrences %v", seen)
		}
	})
}

// rowChanges is a real trigger source: it serves Power Automate's Dataverse
// row-change trigger from an in-process feed of changes, applying the
// trigger's message and filtering attributes as the Dataverse surface would.
type rowChanges struct {
	mu   sync.Mutex
	subs []Subscription
}

func (rc *rowChanges) Types() []string { return []string{"OpenApiConnectionWebhook"} }
func (rc *rowChanges) Match(t *Trigger) bool {
	in, _ := t.Inputs.(map[string]any)
	host, _ := in["host"].(map[string]any)
	return host["operationId"] == "SubscribeWebhookTrigger"
}
func (rc *rowChanges) Subscribe(_ context.Context, sub Subscription) (func(context.Context) error, error) {
	rc.mu.Lock()
	rc.subs = append(rc.subs, sub)
	rc.mu.Unlock()
	return func(context.Context) error { return nil }, nil
}

// change delivers one modified row to every subscription whose filtering
// attributes include a changed column.
func (rc *rowChanges) change(ctx context.Context, table string, row map[string]any, changed []string) ([]*Handle, error) {
	rc.mu.Lock()
	subs := append([]Subscription(nil), rc.subs...)
	rc.mu.Unlock()
	var out []*Handle
	for _, s := range subs {
		in, _ := s.Def.Inputs.(map[string]any)
		p, _ := in["parameters"].(map[string]any)
		if p["subscriptionRequest/entityname"] != table {
			continue
		}
		attrs, _ := p["subscriptionRequest/filteringattributes"].(string)
		match := attrs == ""
		for _, a := range splitComma(attrs) {
			for _, c := range changed {
				if a == c {
					match = true
				}
			}
		}
		if !match {
			continue
		}
		body := copyMap(row)
		body["SdkMessage"] = "Update"
		hs, err := s.Fire(ctx, map[string]any{"headers": map[string]any{}, "body": body})
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func TestTriggerSourcePlugIn(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		n := &notes{data: map[string]any{}}
		reg := newRegistry(t, n)
		src := &rowChanges{}
		b := setup(t, s, func(o *Config) { o.Connectors = reg })
		b.e.AddTriggerSource(src)
		f := loadSample(t, "powerautomate/row-change-nested-foreach.json")
		f.Definition.Actions["Update_a_row"].Inputs.(map[string]any)["host"].(map[string]any)["operationId"] = "upsertRecord"
		f.Definition.Actions["Update_a_row"].Inputs.(map[string]any)["parameters"].(map[string]any)["item/name"] = "@triggerOutputs()?['body/name']"
		l, err := b.e.Compile("tag-contacts", f, Project{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// A change to a column outside the filtering attributes starts nothing.
		if hs, _ := src.change(ctx, "account", map[string]any{"accountid": "a1", "name": "Contoso"}, []string{"revenue"}); len(hs) != 0 {
			t.Fatalf("a filtered change started %d runs", len(hs))
		}
		hs, err := src.change(ctx, "account", map[string]any{"accountid": "a1", "name": "Contoso"}, []string{"name"})
		if err != nil || len(hs) != 1 {
			t.Fatalf("%v %d", err, len(hs))
		}
		r, err := hs[0].Wait(ctx)
		if err != nil || r.Status != StatusSucceeded {
			t.Fatalf("%v %s %v", err, r.Status, paths(r))
		}
		if got := rec(r, "Apply_to_each_region#1/Apply_to_each_contact#4/Tag").Outputs; got != "south-5-Contoso" {
			t.Fatalf("Tag = %v", got)
		}
		if got := jsonOf(n.data["Contoso"]); got != `{"description":"tagged 10 contacts","name":"Contoso"}` {
			t.Fatalf("updated row %s", got)
		}
	})
}

func TestSplitOnAndConditions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	l := b.deploy(t, "split", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","splitOn":"@triggerBody()?['orders']",
		"conditions":[{"expression":"@greater(triggerBody()?['qty'], 1)"}],"correlation":{"clientTrackingId":"@{triggerBody()?['id']}"}}},
		"actions":{"C":{"type":"Compose","inputs":"@triggerBody()?['id']"}}}}`)
	hs, err := b.e.Fire(context.Background(), l, "manual", map[string]any{"body": map[string]any{"orders": []any{
		map[string]any{"id": "o1", "qty": int64(2)}, map[string]any{"id": "o2", "qty": int64(1)}, map[string]any{"id": "o3", "qty": int64(5)}}}})
	if err != nil || len(hs) != 2 {
		t.Fatalf("%v: %d runs, want 2 (one per order passing the condition)", err, len(hs))
	}
	for i, want := range []string{"o1", "o3"} {
		r, _ := hs[i].Wait(context.Background())
		if rec(r, "C").Outputs != want || r.ClientTrackingID != want {
			t.Fatalf("run %d: %v tracking %s", i, rec(r, "C").Outputs, r.ClientTrackingID)
		}
	}
}
