package workflow

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// rowTriggerDoc is a Power Automate flow on "When a row is added, modified
// or deleted" of account: message is the change-type code, filter the
// filtering attributes.
func rowTriggerDoc(message int, filter string) string {
	return fmt.Sprintf(`{"definition":{"triggers":{"When_a_row_changes":{"type":"OpenApiConnectionWebhook","inputs":{
		"host":{"connectionName":"shared_commondataserviceforapps","operationId":"SubscribeWebhookTrigger",
		        "apiId":"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
		"parameters":{"subscriptionRequest/message":%d,"subscriptionRequest/entityname":"account","subscriptionRequest/scope":4,
		              "subscriptionRequest/filteringattributes":%q}}}},
		"actions":{"Seen":{"type":"Compose","inputs":{"phone":"@{triggerBody()?['telephone1']}","message":"@{triggerBody()?['SdkMessage']}",
			"id":"@{triggerBody()?['accountid']}","request":"@{triggerOutputs()?['headers']?['x-ms-dynamics-request-name']}"}}}}}`, message, filter)
}

// rowNode is one node's workflow component with its row triggers.
func rowNode(t *testing.T, s store.Store, node string) *Component {
	t.Helper()
	c := NewComponent(Config{Store: s, NodeID: node, TimeScale: 1000, LeaseTTL: 10 * time.Second, PollInterval: 50 * time.Millisecond})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func deployOn(t *testing.T, c *Component, name, doc string) {
	t.Helper()
	(&bundle{e: c.Engine()}).deploy(t, name, doc)
}

func appendChange(t *testing.T, s store.Store, c changelog.Change) {
	t.Helper()
	if err := s.Tx(context.Background(), func(tx store.Tx) error {
		_, err := changelog.Append(context.Background(), tx, c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// seenBy returns what the Seen action of each run of wf saw, in run order.
func seenBy(t *testing.T, s store.Store, wf string) []map[string]any {
	t.Helper()
	ctx := context.Background()
	runs, err := searchRuns(ctx, s, RunFilter{Workflow: wf})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartTime.Before(runs[j].StartTime) })
	var out []map[string]any
	for _, r := range runs {
		full, err := loadRun(ctx, s, r.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if a := rec(full, "Seen"); a != nil && a.Status == StatusSucceeded {
			out = append(out, a.Outputs.(map[string]any))
		} else {
			return nil // not finished yet
		}
	}
	return out
}

// TestRowTriggersFollowTheChangeLog: Power Automate's change types and
// filtering attributes decide which changes fire; changes made before the
// deployment do not; a restarted node fires the changes made while it was
// stopped, and none twice.
func TestRowTriggersFollowTheChangeLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		if err := s.Migrate(context.Background(), append(Migrations(), changelog.Migrations()...)); err != nil {
			t.Fatal(err)
		}
		const id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
		update := func(changed string, after map[string]any) changelog.Change {
			return changelog.Change{Table: "account", RecordID: id, Message: changelog.Update, Changed: []string{changed}, After: after}
		}
		appendChange(t, s, update("telephone1", map[string]any{"telephone1": "before the deployment"}))

		n1 := rowNode(t, s, "n1")
		deployOn(t, n1, "phones", rowTriggerDoc(3, "telephone1, fax"))
		deployOn(t, n1, "deletes", rowTriggerDoc(2, ""))
		appendChange(t, s, changelog.Change{Table: "account", RecordID: id, Message: changelog.Create, Changed: []string{"name"}, After: map[string]any{"name": "A"}})
		appendChange(t, s, update("name", map[string]any{"name": "B"}))
		appendChange(t, s, update("TELEPHONE1", map[string]any{"telephone1": "555-0100"}))
		appendChange(t, s, changelog.Change{Table: "contact", RecordID: id, Message: changelog.Update, Changed: []string{"telephone1"}, After: map[string]any{"telephone1": "a contact's"}})
		appendChange(t, s, changelog.Change{Table: "account", RecordID: id, Message: changelog.Delete, Before: map[string]any{"telephone1": "555-0100"}})

		waitFor(t, "the phone run", func() bool { return len(seenBy(t, s, "phones")) >= 1 })
		waitFor(t, "the delete run", func() bool { return len(seenBy(t, s, "deletes")) >= 1 })
		phones := seenBy(t, s, "phones")
		if len(phones) != 1 || phones[0]["phone"] != "555-0100" || phones[0]["message"] != "Update" || phones[0]["id"] != id || phones[0]["request"] != "Update" {
			t.Fatalf("phone runs: %v", phones)
		}
		if d := seenBy(t, s, "deletes"); len(d) != 1 || d[0]["message"] != "Delete" || d[0]["phone"] != "555-0100" {
			t.Fatalf("delete runs: %v", d)
		}

		// The node stops; a change made meanwhile fires once on the next one.
		if err := n1.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := n1.Stop(context.Background()); err != nil {
			t.Fatalf("second stop: %v", err)
		}
		appendChange(t, s, update("fax", map[string]any{"telephone1": "555-0199"}))
		n2 := rowNode(t, s, "n2")
		deployOn(t, n2, "phones", rowTriggerDoc(3, "telephone1, fax"))
		waitFor(t, "the run of the change made while stopped", func() bool { return len(seenBy(t, s, "phones")) >= 2 })
		appendChange(t, s, changelog.Change{Table: "account", RecordID: id, Message: changelog.Delete, Before: map[string]any{}})
		deployOn(t, n2, "deletes", rowTriggerDoc(2, ""))
		waitFor(t, "the second delete run", func() bool { return len(seenBy(t, s, "deletes")) >= 2 })
		if p := seenBy(t, s, "phones"); len(p) != 2 || p[1]["phone"] != "555-0199" {
			t.Fatalf("phone runs after the restart: %v", p)
		}
		var cursors []changelog.Cursor
		s.Read(context.Background(), func(q store.Querier) error {
			var err error
			cursors, err = changelog.Cursors(context.Background(), q)
			return err
		})
		if len(cursors) != 2 || cursors[0].Name != "rowtrigger:deletes/When_a_row_changes" || cursors[1].Name != "rowtrigger:phones/When_a_row_changes" {
			t.Fatalf("cursors: %+v", cursors)
		}
	})
}

func TestRowTriggersRefuseBadSubscriptions(t *testing.T) {
	t.Parallel()
	r := NewRowTriggers(RowTriggersConfig{NodeID: "n"})
	if err := r.Stop(context.Background()); err != nil {
		t.Fatalf("stop without start: %v", err)
	}
	for doc, want := range map[string]string{
		`{"host":{"apiId":"shared_commondataserviceforapps","operationId":"SubscribeWebhookTrigger"},"parameters":{}}`:                                                           "subscriptionRequest/entityname is required",
		`{"host":{"apiId":"shared_commondataserviceforapps","operationId":"SubscribeWebhookTrigger"},"parameters":{"subscriptionRequest":{"entityname":"account","message":9}}}`: "subscriptionRequest/message must be 1 to 7, not 9",
	} {
		f, err := ParseFile([]byte(`{"definition":{"triggers":{"t":{"type":"OpenApiConnectionWebhook","inputs":` + doc + `}},"actions":{}}}`))
		if err != nil {
			t.Fatal(err)
		}
		tr := f.Definition.Triggers["t"]
		if !r.Match(tr) {
			t.Fatalf("%s: not matched", doc)
		}
		if _, err := r.Subscribe(context.Background(), Subscription{Workflow: "w", Trigger: "t", Def: tr}); err == nil || err.Error() != want {
			t.Fatalf("%s: %v, want %q", doc, err, want)
		}
	}
	other, _ := ParseFile([]byte(`{"definition":{"triggers":{"t":{"type":"OpenApiConnectionWebhook","inputs":{"host":{"apiId":"shared_sharepointonline","operationId":"OnNewItem"}}}},"actions":{}}}`))
	if r.Match(other.Definition.Triggers["t"]) {
		t.Fatal("another connector's webhook trigger matched")
	}
}

// TestRowTriggerLostRestartsFromTheHead: when retention deleted changes a
// stopped trigger had not seen (past the hard maximum), the trigger resumes
// from the head of the log: it fires neither for the deleted changes nor
// for those left in between, and fires for the next one.
func TestRowTriggerLostRestartsFromTheHead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, append(Migrations(), changelog.Migrations()...)); err != nil {
			t.Fatal(err)
		}
		const id = "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
		phone := func(v string) changelog.Change {
			return changelog.Change{Table: "account", RecordID: id, Message: changelog.Update, Changed: []string{"telephone1"}, After: map[string]any{"telephone1": v}}
		}
		n1 := rowNode(t, s, "n1")
		deployOn(t, n1, "phones", rowTriggerDoc(3, "telephone1"))
		if err := n1.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		appendChange(t, s, phone("deleted by retention"))
		appendChange(t, s, phone("kept, but before the head"))
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var trim changelog.Trim
		if err := s.Tx(ctx, func(tx store.Tx) error {
			var err error
			trim, err = changelog.Prune(ctx, tx, time.Now().Add(time.Hour), time.Now().Add(time.Hour), 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(trim.Lost) != 1 || trim.Lost[0] != "rowtrigger:phones/When_a_row_changes" {
			t.Fatalf("prune: %+v", trim)
		}
		n2 := rowNode(t, s, "n2")
		deployOn(t, n2, "phones", rowTriggerDoc(3, "telephone1"))
		waitFor(t, "the trigger to resync", func() bool {
			var c *changelog.Cursor
			s.Read(ctx, func(q store.Querier) error {
				var err error
				c, err = changelog.GetCursor(ctx, q, "rowtrigger:phones/When_a_row_changes")
				return err
			})
			return c != nil && !c.Lost
		})
		appendChange(t, s, phone("after the resync"))
		waitFor(t, "the run", func() bool { return len(seenBy(t, s, "phones")) >= 1 })
		if p := seenBy(t, s, "phones"); len(p) != 1 || p[0]["phone"] != "after the resync" {
			t.Fatalf("runs after the resync: %v", p)
		}
	})
}

// TestRemovedWorkflowReleasesTheChangeLog: deleting a workflow drops its row
// triggers' cursors, so it no longer holds the change log back (nor is
// reported lost once retention passes it); a workflow of a similar name
// keeps its own.
func TestRemovedWorkflowReleasesTheChangeLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, append(Migrations(), changelog.Migrations()...)); err != nil {
			t.Fatal(err)
		}
		n := rowNode(t, s, "n1")
		deployOn(t, n, "phones", rowTriggerDoc(3, "telephone1"))
		deployOn(t, n, "phones2", rowTriggerDoc(3, "telephone1"))
		cursors := func() []string {
			var names []string
			s.Read(ctx, func(q store.Querier) error {
				cs, err := changelog.Cursors(ctx, q)
				for _, c := range cs {
					names = append(names, c.Name)
				}
				return err
			})
			return names
		}
		if got := cursors(); len(got) != 2 {
			t.Fatalf("cursors after deploying: %v", got)
		}
		if found, err := n.Engine().Remove(ctx, "phones"); err != nil || !found {
			t.Fatalf("remove: %v %v", found, err)
		}
		if got := cursors(); len(got) != 1 || got[0] != "rowtrigger:phones2/When_a_row_changes" {
			t.Fatalf("cursors after removing phones: %v", got)
		}
	})
}
