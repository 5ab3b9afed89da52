package broker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/sqlite"
	"junction/internal/store/storetest"
)

// clock is a settable clock for the broker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	b   *broker.Broker
	s   store.Store
	clk *clock
	ctx context.Context
}

func setup(t *testing.T, s store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return &bundle{b: broker.New(broker.Config{Driver: sqlstorage.New(s), Now: clk.Now}), s: s, clk: clk, ctx: ctx}
}

func (tb *bundle) queue(t *testing.T, name string, p broker.Properties) {
	t.Helper()
	if _, _, err := tb.b.PutQueue(tb.ctx, name, p); err != nil {
		t.Fatal(err)
	}
}

func (tb *bundle) send(t *testing.T, path string, msgs ...broker.Message) []int64 {
	t.Helper()
	seqs, err := tb.b.Send(tb.ctx, path, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func (tb *bundle) recv(t *testing.T, path string, max int) []broker.Received {
	t.Helper()
	got, err := tb.b.Receive(tb.ctx, path, broker.ReceiveOptions{Max: max})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (tb *bundle) one(t *testing.T, path string) broker.Received {
	t.Helper()
	got := tb.recv(t, path, 1)
	if len(got) != 1 {
		t.Fatalf("receive from %s: got %d messages, want 1", path, len(got))
	}
	return got[0]
}

func (tb *bundle) none(t *testing.T, path string) {
	t.Helper()
	if got := tb.recv(t, path, 10); len(got) != 0 {
		t.Fatalf("receive from %s: got %d messages (first %q), want none", path, len(got), got[0].Body)
	}
}

func wantKind(t *testing.T, err error, kind broker.ErrorKind) {
	t.Helper()
	if broker.KindOf(err) != kind {
		t.Fatalf("error = %v (kind %d), want kind %d", err, broker.KindOf(err), kind)
	}
}

func TestPeekLockCompleteAndProperties(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "orders", broker.Properties{})
		when := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
		seqs := tb.send(t, "orders",
			broker.Message{Body: []byte("one"), MessageID: "m1", Subject: "red", CorrelationID: "c", ContentType: "text/plain",
				Properties: map[string]any{"s": "x", "i": int64(42), "f": 2.0, "b": true, "d": when}},
			broker.Message{Body: []byte("two")})
		if seqs[1] <= seqs[0] {
			t.Fatalf("sequence numbers %v not increasing", seqs)
		}
		m := tb.one(t, "orders")
		if string(m.Body) != "one" || m.MessageID != "m1" || m.Subject != "red" || m.DeliveryCount != 1 || m.LockToken == "" || m.SequenceNumber != seqs[0] {
			t.Fatalf("first message = %+v", m)
		}
		if !m.LockedUntil.Equal(tb.clk.Now().Add(time.Minute)) {
			t.Fatalf("LockedUntil = %v, want now + PT1M", m.LockedUntil)
		}
		p := m.Properties
		if p["s"] != "x" || p["i"] != int64(42) || p["f"] != 2.0 || p["b"] != true || !p["d"].(time.Time).Equal(when) {
			t.Fatalf("properties = %#v", p)
		}
		// The locked message is not handed out again; the second one is.
		m2 := tb.one(t, "orders")
		if string(m2.Body) != "two" {
			t.Fatalf("second receive got %q", m2.Body)
		}
		tb.none(t, "orders")
		if err := tb.b.Complete(tb.ctx, "orders", broker.Settlement{LockToken: m.LockToken, SequenceNumber: m.SequenceNumber}); err != nil {
			t.Fatal(err)
		}
		// Completing twice: the lock is gone.
		wantKind(t, tb.b.Complete(tb.ctx, "orders", broker.Settlement{LockToken: m.LockToken}), broker.KindLockLost)
		// A wrong sequence number with a valid token changes nothing.
		wantKind(t, tb.b.Complete(tb.ctx, "orders", broker.Settlement{LockToken: m2.LockToken, SequenceNumber: m2.SequenceNumber + 100}), broker.KindLockLost)
		c, err := tb.b.Counts(tb.ctx, "orders")
		if err != nil || c.Active != 1 {
			t.Fatalf("counts = %+v, %v; want 1 active", c, err)
		}
		_, err = tb.b.Send(tb.ctx, "nope", broker.Message{Body: []byte("x")})
		wantKind(t, err, broker.KindEntityNotFound)
	})
}

func TestLockExpiryRedeliversAndRenew(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{LockDuration: broker.Duration(30 * time.Second)})
		tb.send(t, "q", broker.Message{Body: []byte("a")})
		m := tb.one(t, "q")
		tb.clk.Add(20 * time.Second)
		until, err := tb.b.RenewLock(tb.ctx, "q", broker.Settlement{LockToken: m.LockToken})
		if err != nil || !until.Equal(tb.clk.Now().Add(30*time.Second)) {
			t.Fatalf("renew = %v, %v", until, err)
		}
		tb.clk.Add(20 * time.Second)
		tb.none(t, "q") // still locked thanks to the renewal
		tb.clk.Add(11 * time.Second)
		again := tb.one(t, "q")
		if again.DeliveryCount != 2 || again.LockToken == m.LockToken {
			t.Fatalf("redelivery = %+v, want DeliveryCount 2 and a new lock", again)
		}
		wantKind(t, tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: m.LockToken}), broker.KindLockLost)
		if err := tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: again.LockToken}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMaxDeliveryCountDeadLetters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{MaxDeliveryCount: 3, LockDuration: broker.Duration(10 * time.Second)})
		tb.send(t, "q", broker.Message{Body: []byte("poison"), Properties: map[string]any{"k": "v"}})
		for i := 1; i <= 2; i++ {
			m := tb.one(t, "q")
			if m.DeliveryCount != i {
				t.Fatalf("delivery %d: DeliveryCount = %d", i, m.DeliveryCount)
			}
			if err := tb.b.Abandon(tb.ctx, "q", broker.Settlement{LockToken: m.LockToken, Properties: map[string]any{"attempt": int64(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		m := tb.one(t, "q")
		if m.DeliveryCount != 3 || m.Properties["attempt"] != int64(2) {
			t.Fatalf("third delivery = %+v", m)
		}
		// The third lock expires instead of being abandoned.
		tb.clk.Add(11 * time.Second)
		tb.none(t, "q")
		d := tb.one(t, "q/$deadletterqueue")
		if d.DeadLetterReason != "MaxDeliveryCountExceeded" || string(d.Body) != "poison" || d.Properties["k"] != "v" {
			t.Fatalf("dead letter = %+v", d)
		}
		c, _ := tb.b.Counts(tb.ctx, "q")
		if c.DeadLetter != 1 || c.Active != 0 {
			t.Fatalf("counts = %+v", c)
		}
	})
}

func TestDeadLetterDeferAndReceiveAndDelete(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		seqs := tb.send(t, "q", broker.Message{Body: []byte("a")}, broker.Message{Body: []byte("b")}, broker.Message{Body: []byte("c")})
		a := tb.one(t, "q")
		if err := tb.b.DeadLetter(tb.ctx, "q", broker.Settlement{LockToken: a.LockToken, Reason: "Bad", Description: "bad order"}); err != nil {
			t.Fatal(err)
		}
		b := tb.one(t, "q")
		if err := tb.b.Defer(tb.ctx, "q", broker.Settlement{LockToken: b.LockToken}); err != nil {
			t.Fatal(err)
		}
		got, err := tb.b.Receive(tb.ctx, "q", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 5})
		if err != nil || len(got) != 1 || string(got[0].Body) != "c" || got[0].LockToken != "" {
			t.Fatalf("receive and delete = %+v, %v", got, err)
		}
		tb.none(t, "q") // b is deferred, c is gone
		peek, err := tb.b.Peek(tb.ctx, "q", 0, 10)
		if err != nil || len(peek) != 1 || peek[0].State != broker.Deferred || peek[0].SequenceNumber != seqs[1] {
			t.Fatalf("peek = %+v, %v", peek, err)
		}
		_, err = tb.b.ReceiveDeferred(tb.ctx, "q", broker.PeekLock, seqs[2])
		wantKind(t, err, broker.KindMessageNotFound)
		d, err := tb.b.ReceiveDeferred(tb.ctx, "q", broker.PeekLock, seqs[1])
		if err != nil || len(d) != 1 || string(d[0].Body) != "b" || d[0].DeliveryCount != 2 {
			t.Fatalf("receive deferred = %+v, %v", d, err)
		}
		if err := tb.b.Complete(tb.ctx, "q", broker.Settlement{LockToken: d[0].LockToken}); err != nil {
			t.Fatal(err)
		}
		dl := tb.one(t, "q/$DeadLetterQueue")
		if dl.DeadLetterReason != "Bad" || dl.DeadLetterErrorDescription != "bad order" {
			t.Fatalf("dead letter = %+v", dl)
		}
		wantKind(t, tb.b.DeadLetter(tb.ctx, "q/$deadletterqueue", broker.Settlement{LockToken: dl.LockToken}), broker.KindBadRequest)
		if err := tb.b.Abandon(tb.ctx, "q/$deadletterqueue", broker.Settlement{LockToken: dl.LockToken}); err != nil {
			t.Fatal(err)
		}
		n, err := tb.b.Resubmit(tb.ctx, "q")
		if err != nil || n != 1 {
			t.Fatalf("resubmit = %d, %v", n, err)
		}
		r := tb.one(t, "q")
		if string(r.Body) != "a" || r.DeadLetterReason != "" || r.DeliveryCount != 1 {
			t.Fatalf("resubmitted = %+v", r)
		}
		if err := tb.b.DeadLetter(tb.ctx, "q", broker.Settlement{LockToken: r.LockToken}); err != nil {
			t.Fatal(err)
		}
		if n, err := tb.b.PurgeDeadLetters(tb.ctx, "q"); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
	})
}

func TestTTLCeilingAndExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "dl", broker.Properties{LockDuration: broker.Duration(5 * time.Minute), DefaultMessageTimeToLive: broker.Duration(time.Minute), DeadLetteringOnMessageExpiration: true})
		tb.queue(t, "drop", broker.Properties{})
		tb.send(t, "dl", broker.Message{Body: []byte("long"), TimeToLive: time.Hour}, broker.Message{Body: []byte("short"), TimeToLive: 10 * time.Second})
		tb.send(t, "drop", broker.Message{Body: []byte("x"), TimeToLive: 10 * time.Second})
		peek, _ := tb.b.Peek(tb.ctx, "dl", 0, 10)
		if !peek[0].ExpiresAt.Equal(tb.clk.Now().Add(time.Minute)) {
			t.Fatalf("ExpiresAt = %v, want the entity's ceiling", peek[0].ExpiresAt)
		}
		// A locked message does not expire while locked.
		locked := tb.one(t, "dl")
		tb.clk.Add(30 * time.Second)
		if n, err := tb.b.Sweep(tb.ctx); err != nil || n != 2 {
			t.Fatalf("sweep = %d, %v; want the short one and the dropped one", n, err)
		}
		tb.clk.Add(31 * time.Second)
		if n, _ := tb.b.Sweep(tb.ctx); n != 0 {
			t.Fatalf("the locked message expired while locked")
		}
		if err := tb.b.Abandon(tb.ctx, "dl", broker.Settlement{LockToken: locked.LockToken}); err != nil {
			t.Fatal(err)
		}
		tb.none(t, "dl") // expired on the way out
		dls := tb.recv(t, "dl/$deadletterqueue", 10)
		if len(dls) != 2 || dls[0].DeadLetterReason != "TTLExpiredException" {
			t.Fatalf("dead letters = %+v", dls)
		}
		tb.none(t, "drop")
		tb.none(t, "drop/$deadletterqueue")
	})
}

func TestScheduleCancelAndDuplicates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: broker.Duration(time.Minute)})
		at := tb.clk.Now().Add(time.Hour)
		seqs := tb.send(t, "q", broker.Message{Body: []byte("later"), MessageID: "s1", ScheduledEnqueueTime: at},
			broker.Message{Body: []byte("cancelled"), MessageID: "s2", ScheduledEnqueueTime: at})
		tb.none(t, "q")
		c, _ := tb.b.Counts(tb.ctx, "q")
		if c.Scheduled != 2 {
			t.Fatalf("counts = %+v", c)
		}
		if err := tb.b.CancelScheduled(tb.ctx, "q", seqs[1]); err != nil {
			t.Fatal(err)
		}
		wantKind(t, tb.b.CancelScheduled(tb.ctx, "q", seqs[1]), broker.KindMessageNotFound)
		// Scheduled messages count for duplicate detection.
		if dup := tb.send(t, "q", broker.Message{Body: []byte("dup"), MessageID: "s1"}); dup[0] != 0 {
			t.Fatalf("duplicate got sequence number %d", dup[0])
		}
		tb.clk.Add(time.Hour)
		m := tb.one(t, "q")
		if string(m.Body) != "later" || !m.EnqueuedTime.Equal(at) {
			t.Fatalf("scheduled = %+v", m)
		}
		tb.none(t, "q")
		// After the window the same id is accepted again.
		if got := tb.send(t, "q", broker.Message{Body: []byte("again"), MessageID: "s1"}); got[0] == 0 {
			t.Fatal("a message id past the window was dropped")
		}
	})
}

func TestLimits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		tb.queue(t, "sq", broker.Properties{RequiresSession: true})
		big := make([]byte, broker.DefaultMaxMessageSize+1)
		long := string(make([]byte, 129))
		cases := []struct {
			path string
			m    broker.Message
			kind broker.ErrorKind
		}{
			{"q", broker.Message{Body: big}, broker.KindTooLarge},
			{"q", broker.Message{MessageID: long}, broker.KindBadRequest},
			{"q", broker.Message{Properties: map[string]any{"p": string(make([]byte, 33*1024))}}, broker.KindTooLarge},
			{"q", broker.Message{Properties: map[string]any{"a": string(make([]byte, 30*1024)), "b": string(make([]byte, 30*1024)), "c": string(make([]byte, 30*1024))}}, broker.KindTooLarge},
			{"q", broker.Message{Properties: map[string]any{"x": []int{1}}}, broker.KindBadRequest},
			{"sq", broker.Message{Body: []byte("no session")}, broker.KindBadRequest},
			{"q/$deadletterqueue", broker.Message{}, broker.KindBadRequest},
		}
		for i, c := range cases {
			// A good message in the same batch is not sent either.
			_, err := tb.b.Send(tb.ctx, c.path, broker.Message{Body: []byte("ok"), SessionID: "s"}, c.m)
			if broker.KindOf(err) != c.kind {
				t.Errorf("case %d: error %v, want kind %d", i, err, c.kind)
			}
		}
		tb.none(t, "q")
		if peek, _ := tb.b.Peek(tb.ctx, "sq", 0, 10); len(peek) != 0 {
			t.Fatalf("a rejected batch left %d messages", len(peek))
		}
	})
}

func TestTopicRulesActionsAndForwarding(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		ctx := tb.ctx
		if _, _, err := tb.b.PutTopic(ctx, "events", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		tb.queue(t, "sink", broker.Properties{})
		for _, sub := range []string{"all", "red", "corr", "fwd"} {
			p := broker.Properties{}
			if sub == "fwd" {
				p.ForwardTo = "sink"
			}
			if _, _, err := tb.b.PutSubscription(ctx, "events", sub, p); err != nil {
				t.Fatal(err)
			}
		}
		rules, _ := tb.b.Rules(ctx, "events", "all")
		if len(rules) != 1 || rules[0].Name != "$Default" || rules[0].Filter.Type != broker.FilterTrue {
			t.Fatalf("new subscription rules = %+v", rules)
		}
		must := func(_ broker.Rule, _ bool, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		tb.b.DeleteRule(ctx, "events", "red", "$Default")
		must(tb.b.PutRule(ctx, "events", "red", broker.Rule{Name: "red", Filter: broker.Filter{Type: broker.FilterSQL, SQL: "sys.Label = 'red' AND qty > 10"}}))
		must(tb.b.PutRule(ctx, "events", "red", broker.Rule{Name: "gold", Filter: broker.Filter{Type: broker.FilterSQL, SQL: "qty >= 100"}, Action: "SET tier = 'gold'; REMOVE tmp"}))
		tb.b.DeleteRule(ctx, "events", "corr", "$Default")
		must(tb.b.PutRule(ctx, "events", "corr", broker.Rule{Name: "c", Filter: broker.Filter{Type: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{CorrelationID: "abc", Properties: map[string]any{"region": "eu"}}}}))
		_, _, err := tb.b.PutRule(ctx, "events", "red", broker.Rule{Name: "bad", Filter: broker.Filter{Type: broker.FilterSQL, SQL: "qty >"}})
		wantKind(t, err, broker.KindBadRequest)

		tb.send(t, "events",
			broker.Message{Body: []byte("1"), Subject: "red", Properties: map[string]any{"qty": int64(5)}},
			broker.Message{Body: []byte("2"), Subject: "red", Properties: map[string]any{"qty": int64(500), "tmp": "x"}},
			broker.Message{Body: []byte("3"), CorrelationID: "abc", Properties: map[string]any{"region": "eu"}},
			broker.Message{Body: []byte("4"), CorrelationID: "ABC", Properties: map[string]any{"region": "eu"}})
		if got := tb.recv(t, "events/subscriptions/all", 10); len(got) != 4 {
			t.Fatalf("all got %d", len(got))
		}
		red := tb.recv(t, "events/subscriptions/red", 10)
		if len(red) != 2 || string(red[0].Body) != "2" || string(red[1].Body) != "2" {
			t.Fatalf("red got %+v", red)
		}
		plain, gold := red[0], red[1]
		if plain.Properties["tier"] != nil {
			plain, gold = gold, plain
		}
		if gold.Properties["tier"] != "gold" || gold.Properties["tmp"] != nil || plain.Properties["tmp"] != "x" {
			t.Fatalf("action copies: plain %v, gold %v", plain.Properties, gold.Properties)
		}
		corr := tb.recv(t, "events/subscriptions/corr", 10)
		if len(corr) != 1 || string(corr[0].Body) != "3" {
			t.Fatalf("corr got %+v", corr)
		}
		if got := tb.recv(t, "sink", 10); len(got) != 4 {
			t.Fatalf("forwarded %d, want 4", len(got))
		}
		_, err = tb.b.Receive(ctx, "events", broker.ReceiveOptions{})
		wantKind(t, err, broker.KindBadRequest)
	})
}

func TestForwardHopLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		// q0 -> q1 -> ... -> q5: the fifth transfer is one too many.
		for i := 5; i >= 0; i-- {
			p := broker.Properties{}
			if i < 5 {
				p.ForwardTo = fmt.Sprintf("q%d", i+1)
			}
			tb.queue(t, fmt.Sprintf("q%d", i), p)
		}
		tb.send(t, "q0", broker.Message{Body: []byte("hop")})
		d := tb.one(t, "q4/$deadletterqueue")
		if d.DeadLetterReason != "MaxTransferHopCountExceeded" {
			t.Fatalf("dead letter = %+v", d)
		}
		tb.none(t, "q5")
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		ctx := tb.ctx
		tb.queue(t, "sq", broker.Properties{RequiresSession: true, LockDuration: broker.Duration(30 * time.Second)})
		for i := 0; i < 3; i++ {
			tb.send(t, "sq", broker.Message{Body: []byte(fmt.Sprintf("a%d", i)), SessionID: "A"}, broker.Message{Body: []byte(fmt.Sprintf("b%d", i)), SessionID: "B"})
		}
		_, err := tb.b.Receive(ctx, "sq", broker.ReceiveOptions{})
		wantKind(t, err, broker.KindBadRequest)
		a, err := tb.b.AcceptSession(ctx, "sq", "A", 0)
		if err != nil || a == nil {
			t.Fatal(a, err)
		}
		_, err = tb.b.AcceptSession(ctx, "sq", "A", 0)
		wantKind(t, err, broker.KindSessionCannotBeLocked)
		next, err := tb.b.AcceptSession(ctx, "sq", "", 0)
		if err != nil || next == nil || next.ID != "B" {
			t.Fatalf("next session = %+v, %v", next, err)
		}
		if none, err := tb.b.AcceptSession(ctx, "sq", "", 0); err != nil || none != nil {
			t.Fatalf("a third session was available: %+v, %v", none, err)
		}
		got, err := tb.b.Receive(ctx, "sq", broker.ReceiveOptions{Session: a, Max: 10})
		if err != nil || len(got) != 3 {
			t.Fatalf("session A receive = %d, %v", len(got), err)
		}
		for i, m := range got {
			if string(m.Body) != fmt.Sprintf("a%d", i) || m.SessionID != "A" {
				t.Fatalf("session A message %d = %q", i, m.Body)
			}
		}
		if err := tb.b.SetSessionState(ctx, a, []byte("step 2")); err != nil {
			t.Fatal(err)
		}
		if st, err := tb.b.SessionState(ctx, a); err != nil || string(st) != "step 2" {
			t.Fatalf("state = %q, %v", st, err)
		}
		tb.clk.Add(20 * time.Second)
		if err := tb.b.RenewSessionLock(ctx, a); err != nil {
			t.Fatal(err)
		}
		tb.clk.Add(20 * time.Second)
		// B's lock expired, A's was renewed.
		_, err = tb.b.Receive(ctx, "sq", broker.ReceiveOptions{Session: next})
		wantKind(t, err, broker.KindSessionLockLost)
		if _, err := tb.b.Receive(ctx, "sq", broker.ReceiveOptions{Session: a}); err != nil {
			t.Fatal(err)
		}
		again, err := tb.b.AcceptSession(ctx, "sq", "", 0)
		if err != nil || again == nil || again.ID != "B" {
			t.Fatalf("B after expiry = %+v, %v", again, err)
		}
		if err := tb.b.ReleaseSession(ctx, a); err != nil {
			t.Fatal(err)
		}
		a2, err := tb.b.AcceptSession(ctx, "sq", "A", 0)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := tb.b.SessionState(ctx, a2); string(st) != "step 2" {
			t.Fatalf("state after re-accept = %q", st)
		}
		// Settling needs the session lock as well as the message lock.
		tb.send(t, "sq", broker.Message{Body: []byte("a9"), SessionID: "A"}, broker.Message{Body: []byte("a10"), SessionID: "A"})
		got, err = tb.b.Receive(ctx, "sq", broker.ReceiveOptions{Session: a2, Max: 2})
		if err != nil || len(got) != 2 {
			t.Fatalf("receive = %d, %v", len(got), err)
		}
		if err := tb.b.ReleaseSession(ctx, a2); err != nil {
			t.Fatal(err)
		}
		wantKind(t, tb.b.Complete(ctx, "sq", broker.Settlement{LockToken: got[0].LockToken}), broker.KindLockLost)
		wantKind(t, tb.b.Abandon(ctx, "sq", broker.Settlement{LockToken: got[1].LockToken}), broker.KindSessionLockLost)
	})
}

func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		done := make(chan []broker.Received, 1)
		go func() {
			got, _ := tb.b.Receive(tb.ctx, "q", broker.ReceiveOptions{Wait: time.Minute})
			done <- got
		}()
		tb.send(t, "q", broker.Message{Body: []byte("wake")})
		got := <-done
		if len(got) != 1 || string(got[0].Body) != "wake" {
			t.Fatalf("long poll got %+v", got)
		}
	})
}

// TestTwoNodesNeverShareALock runs receivers on two stores opened on the same
// PostgreSQL schema (two nodes): every message is handed out exactly once.
func TestTwoNodesNeverShareALock(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s1, at := storetest.OpenWith(t, d, "")
			s2, _ := storetest.OpenWith(t, d, at)
			n1, n2 := setup(t, s1), setup(t, s2)
			n2.clk = n1.clk
			n2.b = broker.New(broker.Config{Driver: sqlstorage.New(s2), Now: n1.clk.Now})
			n1.queue(t, "q", broker.Properties{})
			const total = 200
			var msgs []broker.Message
			for i := 0; i < total; i++ {
				msgs = append(msgs, broker.Message{Body: []byte(fmt.Sprint(i))})
			}
			n1.send(t, "q", msgs...)
			var mu sync.Mutex
			seen := map[int64]int{}
			var wg sync.WaitGroup
			var failed error
			for w := 0; w < 8; w++ {
				node := n1
				if w%2 == 1 {
					node = n2
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := node.b.Receive(node.ctx, "q", broker.ReceiveOptions{Max: 3})
						if err != nil {
							mu.Lock()
							failed = err
							mu.Unlock()
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, m := range got {
							seen[m.SequenceNumber]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if failed != nil {
				t.Fatal(failed)
			}
			if len(seen) != total {
				t.Fatalf("received %d distinct messages, want %d", len(seen), total)
			}
			for seq, n := range seen {
				if n != 1 {
					t.Fatalf("message %d handed out %d times while locked", seq, n)
				}
			}
			// Sessions too: only one node gets the session.
			n1.queue(t, "sq", broker.Properties{RequiresSession: true})
			n1.send(t, "sq", broker.Message{Body: []byte("x"), SessionID: "S"})
			var wins, locked int
			var wg2 sync.WaitGroup
			for w := 0; w < 6; w++ {
				node := []*bundle{n1, n2}[w%2]
				wg2.Add(1)
				go func() {
					defer wg2.Done()
					s, err := node.b.AcceptSession(node.ctx, "sq", "S", 0)
					mu.Lock()
					defer mu.Unlock()
					if err == nil && s != nil {
						wins++
					} else if broker.KindOf(err) == broker.KindSessionCannotBeLocked {
						locked++
					} else {
						failed = errors.Join(failed, err)
					}
				}()
			}
			wg2.Wait()
			if failed != nil || wins != 1 || locked != 5 {
				t.Fatalf("session accepts: %d won, %d refused, err %v", wins, locked, failed)
			}
		})
	}
}

func TestSettleBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		tb.send(t, "q", broker.Message{Body: []byte("a")}, broker.Message{Body: []byte("b")}, broker.Message{Body: []byte("c")})
		got := tb.recv(t, "q", 3)
		res, err := tb.b.SettleBatch(tb.ctx, "q", []broker.SettleItem{
			{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: got[0].LockToken}},
			{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: "stale"}},
			{Op: broker.SettleDeadLetter, Settlement: broker.Settlement{LockToken: got[1].LockToken, Reason: "r"}},
			{Op: broker.SettleRenew, Settlement: broker.Settlement{LockToken: got[2].LockToken}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || broker.KindOf(res[1].Err) != broker.KindLockLost || res[2].Err != nil || res[3].LockedUntil.IsZero() {
			t.Fatalf("results = %+v", res)
		}
		c, _ := tb.b.Counts(tb.ctx, "q")
		if c.Active != 1 || c.DeadLetter != 1 {
			t.Fatalf("counts = %+v", c)
		}
		_, err = tb.b.SettleBatch(tb.ctx, "q", []broker.SettleItem{{Op: "explode"}})
		wantKind(t, err, broker.KindBadRequest)
	})
}

func TestTopicSchedulingDedupeAndDeadLetterForwarding(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		ctx := tb.ctx
		if _, _, err := tb.b.PutTopic(ctx, "t", broker.Properties{RequiresDuplicateDetection: true}); err != nil {
			t.Fatal(err)
		}
		tb.queue(t, "graveyard", broker.Properties{})
		for _, name := range []string{"a", "b"} {
			if _, _, err := tb.b.PutSubscription(ctx, "t", name, broker.Properties{ForwardDeadLetteredMessagesTo: "graveyard"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := tb.b.PutSubscription(ctx, "t", "sess", broker.Properties{RequiresSession: true}); err != nil {
			t.Fatal(err)
		}
		// A scheduled topic message is copied to every subscription; cancelling
		// its sequence number cancels every copy.
		seqs := tb.send(t, "t", broker.Message{Body: []byte("later"), MessageID: "x", ScheduledEnqueueTime: tb.clk.Now().Add(time.Hour)})
		for _, sub := range []string{"a", "b"} {
			if c, _ := tb.b.Counts(ctx, "t/subscriptions/"+sub); c.Scheduled != 1 {
				t.Fatalf("%s counts = %+v", sub, c)
			}
		}
		if err := tb.b.CancelScheduled(ctx, "t", seqs[0]); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"a", "b"} {
			if c, _ := tb.b.Counts(ctx, "t/subscriptions/"+sub); c.Total != 0 {
				t.Fatalf("%s still has %+v", sub, c)
			}
		}
		// Duplicate detection on the topic: the second "x" is dropped.
		if got := tb.send(t, "t", broker.Message{Body: []byte("dup"), MessageID: "x"}); got[0] != 0 {
			t.Fatalf("duplicate accepted with sequence number %d", got[0])
		}
		tb.send(t, "t", broker.Message{Body: []byte("now"), MessageID: "y"})
		m := tb.one(t, "t/subscriptions/a")
		if err := tb.b.DeadLetter(ctx, "t/subscriptions/a", broker.Settlement{LockToken: m.LockToken, Reason: "nope"}); err != nil {
			t.Fatal(err)
		}
		tb.none(t, "t/subscriptions/a/$deadletterqueue")
		g := tb.one(t, "graveyard")
		if string(g.Body) != "now" || g.DeadLetterReason != "nope" || g.DeadLetterSource != "t/subscriptions/a" {
			t.Fatalf("forwarded dead letter = %+v", g)
		}
		// The session subscription cannot take a message without a SessionId.
		d := tb.one(t, "t/subscriptions/sess/$deadletterqueue")
		if d.DeadLetterReason != "SessionIdIsMissing" {
			t.Fatalf("session subscription dead letter = %+v", d)
		}
		if err := tb.b.DeleteEntity(ctx, "t", broker.Topic); err != nil {
			t.Fatal(err)
		}
		_, err := tb.b.Send(ctx, "t", broker.Message{Body: []byte("gone")})
		wantKind(t, err, broker.KindEntityNotFound)
	})
}

// TestScheduledMessageWakesWaitingReceiver uses a store whose fallback poll
// never fires during the test, so only the running broker's due-time wake-up
// can deliver the scheduled message to the receiver already waiting.
func TestScheduledMessageWakesWaitingReceiver(t *testing.T) {
	t.Parallel()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "j.db"), sqlite.Options{Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
		t.Fatal(err)
	}
	b := broker.New(broker.Config{Driver: sqlstorage.New(s)})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(context.Background()) })
	if _, _, err := b.PutQueue(ctx, "q", broker.Properties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "q", broker.Message{Body: []byte("due"), ScheduledEnqueueTime: time.Now().Add(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(ctx, "q", broker.ReceiveOptions{Wait: 60 * time.Second})
	if err != nil || len(got) != 1 || string(got[0].Body) != "due" {
		t.Fatalf("receive = %+v, %v", got, err)
	}
}
