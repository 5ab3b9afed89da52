package function_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"junction/internal/function"
	"junction/internal/project"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

var timerApp = map[string]string{
	"functions/host.json":          `{"version": "2.0"}`,
	"functions/tick/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "myTimer", "schedule": "* * * * * *"}]}`,
	"functions/tick/index.js":      `module.exports = async function (context, myTimer) { context.log(JSON.stringify(myTimer)); };`,
}

// TestTimerFiresOnceAcrossNodes runs two hosts on one store: every
// occurrence of an every-second schedule fires on exactly one of them.
func TestTimerFiresOnceAcrossNodes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := setup(t, s, timerApp, function.Config{NodeID: "node-a"})
		second := startHost(t, s, a.dir, "node-b")
		waitFor(t, "four timer occurrences", func() bool { return len(a.invocations("tick")) >= 4 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := second.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		invs := a.invocations("tick")
		seen := map[string]string{}
		for _, inv := range invs {
			if inv.Trigger != "timerTrigger" || inv.Status != function.StatusSucceeded {
				t.Fatalf("invocation %+v", inv)
			}
			if other, dup := seen[inv.Detail]; dup {
				t.Fatalf("occurrence %s fired on %s and %s", inv.Detail, other, inv.Node)
			}
			seen[inv.Detail] = inv.Node
			var timer map[string]any
			if err := json.Unmarshal([]byte(inv.Logs[0].Message), &timer); err != nil || timer["isPastDue"] != false {
				t.Fatalf("timer info %q: %v", inv.Logs[0].Message, err)
			}
		}
	})
}

// startHost starts another node's host on the same store and project.
func startHost(t *testing.T, s store.Store, dir, node string) *function.Component {
	t.Helper()
	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	c := function.NewComponent(function.Config{Store: s, NodeID: node, Logger: slog.New(slog.DiscardHandler)})
	if err := c.LoadProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// TestTimerPastDue fires a missed occurrence once at start, marked past due.
func TestTimerPastDue(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	files := map[string]string{
		"functions/host.json":            `{"version": "2.0"}`,
		"functions/hourly/function.json": `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 0 * * * *"}]}`,
		"functions/hourly/index.js":      `module.exports = async function (context, t) { context.log("pastDue=" + t.isPastDue + " last=" + t.scheduleStatus.last); };`,
	}
	if err := s.Migrate(context.Background(), function.Migrations()); err != nil {
		t.Fatal(err)
	}
	last := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	if err := s.Tx(context.Background(), func(tx store.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO func_timer_fires (function, occurrence, node, fired_at) VALUES ('hourly', ?, 'old', ?)`, store.Micros(last), store.Micros(last))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b := setup(t, s, files, function.Config{})
	waitFor(t, "the past-due occurrence", func() bool { return len(b.invocations("hourly")) == 1 })
	inv := b.invocations("hourly")[0]
	want := "pastDue=true last=" + last.Format(time.RFC3339)
	occurrence, err := time.Parse(time.RFC3339, inv.Detail)
	if inv.Logs[0].Message != want || err != nil || !occurrence.After(last) || occurrence.After(time.Now()) {
		t.Fatalf("got %q at %s, want %q at a missed hour", inv.Logs[0].Message, inv.Detail, want)
	}
}
