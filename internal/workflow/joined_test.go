package workflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/connector"
	"junction/internal/connector/servicebus"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// gatedSend is Junction's broker in the run's store, with the servicebus
// connector's sendMessage held after it returns, until release.
type gatedSend struct {
	b        *broker.Broker
	reg      *connector.Registry
	returned chan struct{}
	release  chan struct{}
}

func newGatedSend(t *testing.T, s store.Store) *gatedSend {
	t.Helper()
	if err := s.Migrate(context.Background(), sqlstorage.Migrations()); err != nil {
		t.Fatal(err)
	}
	g := &gatedSend{b: broker.New(broker.Config{Driver: sqlstorage.New(s)}), reg: connector.NewRegistry(),
		returned: make(chan struct{}, 8), release: make(chan struct{})}
	for _, q := range []string{"out", "other"} {
		if _, _, err := g.b.PutQueue(context.Background(), q, broker.Properties{}); err != nil {
			t.Fatal(err)
		}
	}
	c := servicebus.New(g.b)
	for i := range c.Operations {
		if op := &c.Operations[i]; op.ID == "sendMessage" {
			send := op.Invoke
			op.Invoke = func(ctx context.Context, conn connector.Connection, in map[string]any) (any, error) {
				out, err := send(ctx, conn, in)
				g.returned <- struct{}{}
				<-g.release
				return out, err
			}
		}
	}
	if err := g.reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *gatedSend) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.returned:
	case <-time.After(20 * time.Second):
		t.Fatal("the send never ran")
	}
}

func (g *gatedSend) active(t *testing.T, q string) int64 {
	t.Helper()
	c, err := g.b.Counts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return c.Active
}

const sendAction = `{"type":"ServiceProvider","inputs":{"parameters":{"entityName":"%s","message":{"contentData":"@triggerBody()"}},
	"serviceProviderConfiguration":{"connectionName":"serviceBus","operationId":"sendMessage","serviceProviderId":"/serviceProviders/serviceBus"}}`

func sendTo(q, runAfter string) string {
	return fmt.Sprintf(sendAction, q) + `,"runAfter":` + runAfter + `}`
}

func waitEnded(t *testing.T, s store.Store, id string) *Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := loadRun(context.Background(), s, id, true)
		if err == nil && r.Status != StatusRunning {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end: %s %v", jsonOf(r), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A message sent to Junction's own broker commits with the action's record
// and the run's end: the history shows the send Succeeded, with its sequence
// number, exactly when the message is in the queue.
func TestJoinedSendCommitsWithTheRecord(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		g := newGatedSend(t, s)
		b := setup(t, s, func(o *Config) { o.Connectors = g.reg })
		close(g.release)
		// Last action: the send, its record and the run's end commit at once.
		l := b.deploy(t, "last", def(`{"Read":{"type":"Compose","inputs":"@triggerBody()"},"Forward":`+sendTo("out", `{"Read":["Succeeded"]}`)+`}`))
		r := b.run(t, l, map[string]any{"id": 1})
		stored := waitEnded(t, s, r.ID)
		if stored.Status != StatusSucceeded || rec(stored, "Forward") == nil || rec(stored, "Read") == nil {
			t.Fatalf("stored run %s", jsonOf(stored))
		}
		got, err := g.b.Peek(context.Background(), "out", 0, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("out: %v %v", got, err)
		}
		seq := jsonOf(rec(stored, "Forward").Outputs.(map[string]any)["body"])
		if want := jsonOf(map[string]any{"sequenceNumber": got[0].SequenceNumber}); seq != want {
			t.Fatalf("recorded %s, the queue holds %s", seq, want)
		}
		// Followed by another action: the send commits before it starts,
		// which reads the sequence number.
		l = b.deploy(t, "middle", def(`{"Forward":`+sendTo("other", `{}`)+`,
			"After":{"type":"Compose","inputs":"@body('Forward')?['sequenceNumber']","runAfter":{"Forward":["Succeeded"]}}}`))
		r = b.run(t, l, map[string]any{"id": 2})
		got, err = g.b.Peek(context.Background(), "other", 0, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("other: %v %v", got, err)
		}
		if after := jsonOf(rec(r, "After").Outputs); after != jsonOf(got[0].SequenceNumber) {
			t.Fatalf("After read %s, the queue holds %d", after, got[0].SequenceNumber)
		}
	})
}

// A run that loses its lease while its last action sends commits neither the
// record nor the message; nor does a node killed there, and the node that
// resumes the run sends the message once.
func TestJoinedSendBothOrNeither(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		g := newGatedSend(t, s)
		a := setup(t, s, func(o *Config) { o.Connectors = g.reg; o.NodeID = "node-a"; o.LeaseTTL = time.Second })
		doc := def(`{"Forward":` + sendTo("out", `{}`) + `}`)
		l := a.deploy(t, "lose", doc)
		h, err := a.e.StartRun(context.Background(), l, StartOptions{Outputs: map[string]any{"body": "first"}})
		if err != nil {
			t.Fatal(err)
		}
		g.wait(t)
		// Another node takes the run over while the send is in flight.
		if err := s.Tx(context.Background(), func(tx store.Tx) error {
			_, err := tx.Exec(context.Background(), `UPDATE wf_runs SET owner = 'node-x' WHERE id = ?`, h.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		g.release <- struct{}{}
		<-h.rs.done
		lost := h.ID
		if n := g.active(t, "out"); n != 0 {
			t.Fatalf("a run that lost its lease sent %d message(s)", n)
		}
		if r, _ := loadRun(context.Background(), s, h.ID, true); len(r.Actions) != 0 {
			t.Fatalf("a run that lost its lease recorded %s", jsonOf(r.Actions))
		}

		// kill -9 while the send is in flight: node B resumes the run.
		h, err = a.e.StartRun(context.Background(), l, StartOptions{Outputs: map[string]any{"body": "second"}})
		if err != nil {
			t.Fatal(err)
		}
		g.wait(t)
		killed := make(chan struct{})
		go func() { a.e.kill(); close(killed) }() // kill waits for the run to stop
		for !a.e.isKilled() {
			time.Sleep(time.Millisecond)
		}
		g.release <- struct{}{}
		<-killed
		if n := g.active(t, "out"); n != 0 {
			t.Fatalf("a killed node sent %d message(s)", n)
		}
		close(g.release)
		setup(t, s, func(o *Config) { o.Connectors = g.reg; o.NodeID = "node-b"; o.LeaseTTL = time.Second })
		// Node B resumes both runs (the first one's lease, taken by a node
		// that is gone, expires too): each sends its message once.
		for _, id := range []string{lost, h.ID} {
			if r := waitEnded(t, s, id); r.Status != StatusSucceeded || rec(r, "Forward") == nil {
				t.Fatalf("resumed run %s", jsonOf(r))
			}
		}
		got, err := g.b.Peek(context.Background(), "out", 0, 10)
		if err != nil || len(got) != 2 || string(got[0].Body) == string(got[1].Body) {
			t.Fatalf("after the resume the queue holds %v %v, want each run's message once", got, err)
		}
	})
}

// A send whose queue is deleted between the action and its commit fails the
// action and the run, and sends nothing.
func TestJoinedSendFailsInTheCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		g := newGatedSend(t, s)
		b := setup(t, s, func(o *Config) { o.Connectors = g.reg })
		l := b.deploy(t, "gone", def(`{"Forward":`+sendTo("out", `{}`)+`}`))
		h, err := b.e.StartRun(context.Background(), l, StartOptions{Outputs: map[string]any{"body": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		g.wait(t)
		if err := g.b.DeleteEntity(context.Background(), "out", broker.Queue); err != nil {
			t.Fatal(err)
		}
		close(g.release)
		r := waitEnded(t, s, h.ID)
		f := rec(r, "Forward")
		if r.Status != StatusFailed || f == nil || f.Status != StatusFailed || f.Code != "NotFound" {
			t.Fatalf("run %s", jsonOf(r))
		}
	})
}

// The runs of a splitOn batch are created in one transaction.
func TestSplitOnBatchCreatedTogether(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		url, release := heldServer(t)
		b := setup(t, s)
		l := b.deploy(t, "split", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","splitOn":"@triggerBody()"}},
			"actions":{"Call":{"type":"Http","inputs":{"method":"GET","uri":"`+url+`/first"}}}}}`)
		items := make([]any, 20)
		for i := range items {
			items[i] = map[string]any{"n": i}
		}
		before := s.Stats().Transactions
		hs, err := b.e.Fire(context.Background(), l, "manual", map[string]any{"body": items})
		// Background work (lease renewals, the change log's sequencer) may
		// commit meanwhile; the runs' actions write nothing before their
		// Http call returns. Created one by one, the runs take 20.
		if n := s.Stats().Transactions - before; err != nil || len(hs) != 20 || n >= 10 {
			t.Fatalf("%d runs created in %d transactions: %v", len(hs), n, err)
		}
		release()
		for _, h := range hs {
			if r, err := h.Wait(context.Background()); err != nil || r.Status != StatusSucceeded {
				t.Fatalf("run %v %v", r, err)
			}
		}
	})
}

// heldServer answers every request once release is called (at the latest
// when the test ends).
func heldServer(t *testing.T) (url string, release func()) {
	ch := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-ch }))
	t.Cleanup(srv.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return srv.URL, release
}

// TestSplitOnBatchInsertedInOneStatement: the runs splitOn makes of a batch
// are inserted with one statement (one round trip to PostgreSQL), not one
// each, and each run is recorded with its own trigger item.
func TestSplitOnBatchInsertedInOneStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		c := storetest.NewCounting(s)
		b := setup(t, c)
		l := b.deploy(t, "split", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","splitOn":"@triggerBody()"}},
			"actions":{"Echo":{"type":"Compose","inputs":"@triggerBody()?['n']"}}}}`)
		items := make([]any, 20)
		for i := range items {
			items[i] = map[string]any{"n": i}
		}
		c.Reset()
		hs, err := b.e.Fire(context.Background(), l, "manual", map[string]any{"body": items})
		if n := c.Statements("INSERT INTO wf_runs"); err != nil || len(hs) != 20 || n != 1 {
			t.Fatalf("%d runs inserted with %d statements, want 20 with 1: %v", len(hs), n, err)
		}
		for i, h := range hs {
			r, err := h.Wait(context.Background())
			if err != nil || r.Status != StatusSucceeded {
				t.Fatalf("run %v %v", r, err)
			}
			got, err := loadRun(context.Background(), s, h.ID, true)
			if err != nil || got.Status != StatusSucceeded || len(got.Actions) != 1 || fmt.Sprint(got.Actions[0].Outputs) != fmt.Sprint(i) {
				t.Fatalf("run %d: %+v %v", i, got, err)
			}
		}
	})
}

// TestRunEndWritesItsRecordsInOneStatement: on PostgreSQL the run's end and
// the records held for it are one statement (the UPDATE with the records'
// INSERT in its WITH), one round trip instead of two; on SQLite, two
// statements. Either way the records are there with the end.
func TestRunEndWritesItsRecordsInOneStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		c := storetest.NewCounting(s)
		b := setup(t, c)
		l := b.deploy(t, "end", def(`{"A":{"type":"Compose","inputs":"@triggerBody()"},
			"B":{"type":"Compose","inputs":"@outputs('A')","runAfter":{"A":["Succeeded"]}}}`))
		c.Reset()
		r := b.run(t, l, map[string]any{"id": 1})
		stored := waitEnded(t, s, r.ID)
		if stored.Status != StatusSucceeded || rec(stored, "A") == nil || jsonOf(rec(stored, "B").Outputs) != `{"id":1}` {
			t.Fatalf("stored run %s", jsonOf(stored))
		}
		joined := c.Statements("WITH actions AS (INSERT INTO wf_actions")
		alone := c.Statements("INSERT INTO wf_actions") - joined
		want := map[store.Dialect][2]int{store.Postgres: {1, 0}, store.SQLite: {0, 1}}[s.Dialect()]
		if joined != want[0] || alone != want[1] || c.Statements("UPDATE wf_runs") != 1 {
			t.Fatalf("records written with the end %d times, alone %d times, want %v; %d updates of the run",
				joined, alone, want, c.Statements("UPDATE wf_runs"))
		}
	})
}

// TestRunEndOnARunTakenOver: a node ending a run another node took over and
// wrote an action record of already is told its lease was lost, on
// PostgreSQL too, where the end's records are inserted by the statement
// that ends the run and meet the other node's record before the UPDATE
// finds the run not this node's.
func TestRunEndOnARunTakenOver(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO wf_runs (id, workflow, def_hash, status, trigger_name, trigger_record, client_tracking_id,
				origin_run_id, start_time, end_time, error, outputs, variables, response, owner, lease_until)
				VALUES ('run-1', 'flow', 'h', ?, 'manual', '{}', 'c', '', 1, 0, '', '', '', '', 'node-b', ?)`, StatusRunning, store.Micros(now.Add(time.Minute))); err != nil {
				return err
			}
			ins, args := actionsInsert("run-1", []*ActionRecord{{Path: "A", Name: "A", Status: StatusSucceeded, StartTime: now, EndTime: now}})
			_, err := tx.Exec(ctx, ins, args...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		end := now
		r := &Run{ID: "run-1", Status: StatusSucceeded, EndTime: &end}
		recs := []*ActionRecord{{Path: "A", Name: "A", Status: StatusSucceeded, StartTime: now, EndTime: now}}
		if err := (storeJournal{s}).finishRun(ctx, r, "node-a", recs, nil); !errors.Is(err, errLeaseLost) {
			t.Fatalf("ending a run node-b holds: %v, want errLeaseLost", err)
		}
	})
}
