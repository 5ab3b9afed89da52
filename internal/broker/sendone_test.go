package broker_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/broker/storage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// sendCached sends msgs to path with path's entity in the broker's cache, as
// it is in steady sending, and returns the sequence numbers, how many
// writes the store committed outside a transaction meanwhile, and the error.
func (tb *bundle) sendCached(t *testing.T, path string, msgs ...broker.Message) ([]int64, int64, error) {
	t.Helper()
	// A peek reads the entity through the cache.
	if _, err := tb.b.Peek(tb.ctx, path, 0, 1); err != nil && broker.KindOf(err) != broker.KindBadRequest {
		t.Fatal(err)
	}
	before := tb.s.Stats().Autocommits
	seqs, err := tb.b.Send(tb.ctx, path, msgs...)
	return seqs, tb.s.Stats().Autocommits - before, err
}

// TestSendOfOneInsertIsOneStatement: a message sent alone to a queue that
// takes it as it is (no duplicate detection of it, no sessions, no
// forwarding) is one statement, which on PostgreSQL commits by itself
// outside a transaction; the messages sent so are received in order.
// Every other send takes a transaction and behaves as before.
func TestSendOfOneInsertIsOneStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		_, autocommits := s.(store.AutocommitWriter)
		oneStatement := func(t *testing.T, path string, msgs ...broker.Message) []int64 {
			t.Helper()
			seqs, n, err := tb.sendCached(t, path, msgs...)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 1}[autocommits]; n != want {
				t.Fatalf("send to %s: %d writes outside a transaction, want %d", path, n, want)
			}
			return seqs
		}
		inTx := func(t *testing.T, path string, msgs ...broker.Message) ([]int64, error) {
			t.Helper()
			seqs, n, err := tb.sendCached(t, path, msgs...)
			if n != 0 {
				t.Fatalf("send to %s: %d writes outside a transaction, want none", path, n)
			}
			return seqs, err
		}
		dedupe := broker.Properties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: broker.Duration(time.Minute)}
		tb.queue(t, "plain", broker.Properties{})
		tb.queue(t, "dedupe", dedupe)
		tb.queue(t, "sessions", broker.Properties{RequiresSession: true})
		tb.queue(t, "forward", broker.Properties{ForwardTo: "plain"})
		if _, _, err := tb.b.PutTopic(tb.ctx, "topic", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tb.b.PutSubscription(tb.ctx, "topic", "all", broker.Properties{}); err != nil {
			t.Fatal(err)
		}

		t.Run("plain", func(t *testing.T) {
			var seqs []int64
			for i := range 12 {
				seqs = append(seqs, oneStatement(t, "plain", broker.Message{Body: fmt.Appendf(nil, "m%d", i)})...)
			}
			// A queue with duplicate detection takes a message with no id as it is.
			oneStatement(t, "dedupe", broker.Message{Body: []byte("no id")})
			got := tb.recv(t, "plain", 20)
			if len(got) != len(seqs) {
				t.Fatalf("received %d messages, want %d", len(got), len(seqs))
			}
			for i, m := range got {
				if string(m.Body) != fmt.Sprintf("m%d", i) || m.SequenceNumber != seqs[i] {
					t.Fatalf("message %d: %q, sequence number %d; sent sequence numbers %v", i, m.Body, m.SequenceNumber, seqs)
				}
			}
			if m := tb.one(t, "dedupe"); string(m.Body) != "no id" {
				t.Fatalf("dedupe: %q", m.Body)
			}
		})

		t.Run("in a transaction", func(t *testing.T) {
			if seqs, err := inTx(t, "plain", broker.Message{Body: []byte("b1")}, broker.Message{Body: []byte("b2")}); err != nil || seqs[1] <= seqs[0] {
				t.Fatalf("batch: %v, %v", seqs, err)
			}
			if got := tb.recv(t, "plain", 10); len(got) != 2 || string(got[0].Body) != "b1" || string(got[1].Body) != "b2" {
				t.Fatalf("batch received %d", len(got))
			}
			for i := range 2 {
				seqs, err := inTx(t, "dedupe", broker.Message{Body: []byte("d"), MessageID: "id"})
				if err != nil || (i == 0) != (seqs[0] != 0) {
					t.Fatalf("duplicate detection, send %d: %v, %v", i, seqs, err)
				}
			}
			if got := tb.recv(t, "dedupe", 10); len(got) != 1 {
				t.Fatalf("duplicate detection: received %d, want 1", len(got))
			}
			_, err := inTx(t, "sessions", broker.Message{Body: []byte("s")})
			wantKind(t, err, broker.KindBadRequest)
			if _, err := inTx(t, "sessions", broker.Message{Body: []byte("s"), SessionID: "a"}); err != nil {
				t.Fatal(err)
			}
			if ids, err := tb.b.MessageSessions(tb.ctx, "sessions", 0, 10); err != nil || len(ids) != 1 || ids[0] != "a" {
				t.Fatalf("sessions: %v, %v", ids, err)
			}
			if _, err := inTx(t, "forward", broker.Message{Body: []byte("f")}); err != nil {
				t.Fatal(err)
			}
			if m := tb.one(t, "plain"); string(m.Body) != "f" {
				t.Fatalf("forwarded: %q", m.Body)
			}
			if _, err := inTx(t, "topic", broker.Message{Body: []byte("t")}); err != nil {
				t.Fatal(err)
			}
			if m := tb.one(t, "topic/subscriptions/all"); string(m.Body) != "t" {
				t.Fatalf("subscription: %q", m.Body)
			}
			_, err = inTx(t, "plain/$deadletterqueue", broker.Message{Body: []byte("x")})
			wantKind(t, err, broker.KindBadRequest)
		})
	})
}

// TestSendOfOneInsertToADeletedQueue: a queue deleted by another node while
// this one still has it in its cache gets no message, and the sender gets
// EntityNotFound; on PostgreSQL no transaction was begun for it.
func TestSendOfOneInsertToADeletedQueue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		other := broker.New(broker.Config{Driver: sqlstorage.New(s)})
		tb.queue(t, "gone", broker.Properties{})
		e, err := tb.b.Entity(tb.ctx, "gone")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.b.Peek(tb.ctx, "gone", 0, 1); err != nil {
			t.Fatal(err)
		}
		if err := other.DeleteEntity(tb.ctx, "gone", broker.Queue); err != nil {
			t.Fatal(err)
		}
		before := s.Stats()
		_, err = tb.b.Send(tb.ctx, "gone", broker.Message{Body: []byte("orphan")})
		wantKind(t, err, broker.KindEntityNotFound)
		st := s.Stats()
		if _, ok := s.(store.AutocommitWriter); ok && (st.Transactions != before.Transactions || st.Rollbacks != before.Rollbacks) {
			t.Errorf("a send of one statement began a transaction: stats %+v, then %+v", before, st)
		}
		var n int
		if err := s.Read(tb.ctx, func(q store.Querier) error {
			return q.QueryRow(tb.ctx, "SELECT COUNT(*) FROM broker_messages WHERE entity_id = ?", e.ID).Scan(&n)
		}); err != nil || n != 0 {
			t.Fatalf("messages of the deleted queue: %d, %v", n, err)
		}
		// The cache has forgotten it: the next send looks it up.
		_, err = tb.b.Send(tb.ctx, "gone", broker.Message{Body: []byte("orphan")})
		wantKind(t, err, broker.KindEntityNotFound)
	})
}

// TestConcurrentSendsWrittenTogether: one-message sends from many callers
// at once, to several queues, one of them deleted by another node while
// this one has it cached. Every acknowledged message is received once, from
// its queue, with the sequence number its send returned; the deleted
// queue's senders get EntityNotFound and it gets no message. The sends are
// written together: fewer writes than sends (on PostgreSQL statements
// committed by themselves, on SQLite transactions of its writer).
func TestConcurrentSendsWrittenTogether(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		queues := []string{"q0", "q1", "q2", "gone"}
		for _, q := range queues {
			tb.queue(t, q, broker.Properties{})
			if _, err := tb.b.Peek(tb.ctx, q, 0, 1); err != nil { // cached
				t.Fatal(err)
			}
		}
		other := broker.New(broker.Config{Driver: sqlstorage.New(s)})
		if err := other.DeleteEntity(tb.ctx, "gone", broker.Queue); err != nil {
			t.Fatal(err)
		}
		const senders, each = 32, 15
		type sent struct {
			queue string
			seq   int64
		}
		var mu sync.Mutex
		acked := map[string]sent{}
		before := s.Stats()
		atOnce(senders, func(g int) {
			for i := range each {
				q := queues[(g+i)%len(queues)]
				body := fmt.Sprintf("%s/%d/%d", q, g, i)
				seqs, err := tb.b.Send(tb.ctx, q, broker.Message{Body: []byte(body)})
				if q == "gone" {
					if broker.KindOf(err) != broker.KindEntityNotFound {
						t.Errorf("send to the deleted queue: %v", err)
					}
					continue
				}
				if err != nil || len(seqs) != 1 || seqs[0] == 0 {
					t.Errorf("send %s: %v, %v", body, seqs, err)
					continue
				}
				mu.Lock()
				acked[body] = sent{q, seqs[0]}
				mu.Unlock()
			}
		})
		if t.Failed() {
			return
		}
		after := s.Stats()
		// Where a statement commits by itself a group is one; elsewhere one
		// transaction.
		writes := after.Autocommits - before.Autocommits
		if !tb.b.Storage().WritesAlone() {
			writes = after.Transactions - before.Transactions
		}
		for _, q := range queues[:3] {
			got := tb.recv(t, q, senders*each)
			for _, m := range got {
				a, ok := acked[string(m.Body)]
				if !ok || a.queue != q || a.seq != m.SequenceNumber {
					t.Fatalf("received %q from %s with sequence number %d; sent: %+v, %v", m.Body, q, m.SequenceNumber, a, ok)
				}
				delete(acked, string(m.Body))
			}
		}
		if len(acked) != 0 {
			t.Fatalf("%d acknowledged messages not received, such as %v", len(acked), acked)
		}
		if n := int64(senders * each * 3 / 4); writes >= n || writes == 0 {
			t.Errorf("%d sends committed in %d writes: not written together", n, writes)
		}
	})
}

// TestGroupedSendRefusedAlone: a message the database refuses (PostgreSQL
// takes no NUL in text; on SQLite a unique index the test adds, whose one
// entry is taken) sent among many others at once fails its own send alone;
// the others, written with it in one statement the database refused, are
// written again and acknowledged.
func TestGroupedSendRefusedAlone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		if _, err := tb.b.Peek(tb.ctx, "q", 0, 1); err != nil {
			t.Fatal(err)
		}
		bad := "bad\x00id"
		if s.Dialect() == store.SQLite {
			bad = "taken"
			if err := s.Tx(tb.ctx, func(tx store.Tx) error {
				_, err := tx.Exec(tb.ctx, "CREATE UNIQUE INDEX test_taken ON broker_messages (message_id) WHERE message_id = 'taken'")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := tb.b.Send(tb.ctx, "q", broker.Message{Body: []byte("first"), MessageID: bad}); err != nil {
				t.Fatal(err)
			}
			if m := tb.one(t, "q"); string(m.Body) != "first" {
				t.Fatalf("received %q", m.Body)
			}
		}
		const senders, each = 16, 10
		var mu sync.Mutex
		var refused, acked int
		atOnce(senders, func(g int) {
			for i := range each {
				m := broker.Message{Body: fmt.Appendf(nil, "%d/%d", g, i)}
				if i%5 == 2 {
					m.MessageID = bad
				}
				_, err := tb.b.Send(tb.ctx, "q", m)
				mu.Lock()
				if m.MessageID != "" {
					if err != nil {
						refused++
					}
				} else if err != nil {
					t.Errorf("send %s: %v", m.Body, err)
				} else {
					acked++
				}
				mu.Unlock()
			}
		})
		if refused != senders*each/5 || acked != senders*each*4/5 {
			t.Fatalf("%d sends refused, %d acknowledged; want %d and %d", refused, acked, senders*each/5, senders*each*4/5)
		}
		if got := tb.recv(t, "q", senders*each); len(got) != acked {
			t.Fatalf("received %d messages, %d acknowledged", len(got), acked)
		}
	})
}

// lostAnswer is the broker's storage losing the answer to its first write
// of several messages after that write committed, as a connection lost
// between the commit and its answer would: the sender cannot tell whether
// the write committed.
type lostAnswer struct {
	*sqlstorage.Driver
	lost atomic.Bool
}

func (d *lostAnswer) WriteOne(ctx context.Context, fn func(storage.Tx) error) error {
	return d.lose(ctx, d.Driver.WriteOne, fn)
}

func (d *lostAnswer) Tx(ctx context.Context, fn func(storage.Tx) error) error {
	return d.lose(ctx, d.Driver.Tx, fn)
}

func (d *lostAnswer) lose(ctx context.Context, write func(context.Context, func(storage.Tx) error) error, fn func(storage.Tx) error) error {
	var several bool
	err := write(ctx, func(tx storage.Tx) error { return fn(severalTx{tx, &several}) })
	if err == nil && several && d.lost.CompareAndSwap(false, true) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// severalTx notes an insert of several messages.
type severalTx struct {
	storage.Tx
	several *bool
}

func (t severalTx) InsertMessages(ctx context.Context, msgs []storage.Message) ([]int64, error) {
	*t.several = *t.several || len(msgs) > 1
	return t.Tx.InsertMessages(ctx, msgs)
}

// TestGroupedSendsNotWrittenTwice: when a group write of sends fails in a
// way that does not prove it did not commit (its answer lost), its sends
// are not written again one by one: each message is stored at most once,
// and every acknowledged one exactly once with its sequence number.
func TestGroupedSendsNotWrittenTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
			t.Fatal(err)
		}
		d := &lostAnswer{Driver: sqlstorage.New(s)}
		b := broker.New(broker.Config{Driver: d})
		if _, _, err := b.PutQueue(ctx, "q", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Peek(ctx, "q", 0, 1); err != nil { // cached
			t.Fatal(err)
		}
		const senders, each = 16, 4
		var mu sync.Mutex
		acked := map[string]int64{}
		sent := 0
		for round := 0; round < 50 && !d.lost.Load(); round++ {
			atOnce(senders, func(g int) {
				for i := range each {
					body := fmt.Sprintf("%d/%d/%d", round, g, i)
					seqs, err := b.Send(ctx, "q", broker.Message{Body: []byte(body)})
					if err == nil {
						mu.Lock()
						acked[body] = seqs[0]
						mu.Unlock()
					}
				}
			})
			sent += senders * each
		}
		if !d.lost.Load() {
			t.Fatal("no sends were written together")
		}
		stored, err := b.Peek(ctx, "q", 0, 2*sent)
		if err != nil {
			t.Fatal(err)
		}
		times := map[string]int{}
		for _, m := range stored {
			times[string(m.Body)]++
			if seq, ok := acked[string(m.Body)]; ok && seq != m.SequenceNumber {
				t.Errorf("%s acknowledged with sequence number %d, stored with %d", m.Body, seq, m.SequenceNumber)
			}
		}
		for body, n := range times {
			if n > 1 {
				t.Errorf("%s stored %d times", body, n)
			}
		}
		for body := range acked {
			if times[body] != 1 {
				t.Errorf("%s acknowledged, stored %d times", body, times[body])
			}
		}
	})
}

// atOnce runs fn(0), ..., fn(n-1) on n goroutines started together, and
// waits for them.
func atOnce(n int, fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(g)
		}()
	}
	close(start)
	wg.Wait()
}

// TestGroupedSendsOnAClosedStore: sends written together to a store that
// has closed are each answered with an error, none left waiting, and a
// later send is answered too.
func TestGroupedSendsOnAClosedStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		tb.queue(t, "q", broker.Properties{})
		if _, err := tb.b.Peek(tb.ctx, "q", 0, 1); err != nil { // cached
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 2 {
				atOnce(16, func(g int) {
					if _, err := tb.b.Send(tb.ctx, "q", broker.Message{Body: []byte("m")}); err == nil {
						t.Errorf("sender %d: a send to a closed store succeeded", g)
					}
				})
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("sends to a closed store left waiting")
		}
	})
}
