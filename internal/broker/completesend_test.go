package broker_test

import (
	"errors"
	"strings"
	"testing"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestCompleteAndSendIsOneTransaction: the complete of a locked message, the
// messages sent with it and the caller's own rows commit together, and any
// failing part leaves the message locked and nothing sent.
func TestCompleteAndSendIsOneTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		tb := setup(t, s)
		ctx := tb.ctx
		for _, q := range []string{"in", "out", "gone"} {
			tb.queue(t, q, broker.Properties{})
		}
		if _, _, err := tb.b.PutQueue(ctx, "small", broker.Properties{MaxMessageSizeInKilobytes: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE cas_records (id TEXT PRIMARY KEY)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		record := func(id string) func(store.Tx) error {
			return func(tx store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO cas_records (id) VALUES (?)`, id)
				return err
			}
		}
		records := func() int {
			var n int
			if err := s.Read(ctx, func(q store.Querier) error {
				return q.QueryRow(ctx, `SELECT COUNT(*) FROM cas_records`).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		tb.send(t, "in", broker.Message{Body: []byte("order")})
		m := tb.one(t, "in")
		lock := broker.Settlement{LockToken: m.LockToken}
		out := func(path string, body string) []broker.Outgoing {
			return []broker.Outgoing{{Path: "out", Messages: []broker.Message{{Body: []byte("first")}}},
				{Path: path, Messages: []broker.Message{{Body: []byte(body)}}}}
		}

		// Another node deletes "gone" after this broker has it cached: the
		// complete runs, then the send finds no entity and undoes it.
		tb.send(t, "gone", broker.Message{Body: []byte("cache the entity")})
		other := broker.New(broker.Config{Driver: sqlstorage.New(s), Now: tb.clk.Now})
		if err := other.DeleteEntity(ctx, "gone", broker.Queue); err != nil {
			t.Fatal(err)
		}
		err := tb.b.CompleteAndSend(ctx, "in", lock, out("gone", "x"), record("a"))
		wantKind(t, err, broker.KindEntityNotFound)
		err = tb.b.CompleteAndSend(ctx, "in", lock, out("small", strings.Repeat("x", 2048)), record("a"))
		wantKind(t, err, broker.KindTooLarge)
		failed := errors.New("the record cannot be written")
		err = tb.b.CompleteAndSend(ctx, "in", lock, out("out", "second"), func(store.Tx) error { return failed })
		if !errors.Is(err, failed) {
			t.Fatalf("a failing also: %v, want %v", err, failed)
		}
		err = tb.b.CompleteAndSend(ctx, "in", broker.Settlement{LockToken: "not-a-lock"}, out("out", "second"), record("a"))
		wantKind(t, err, broker.KindLockLost)
		tb.none(t, "out")
		if n := records(); n != 0 {
			t.Fatalf("%d records after failed attempts, want 0", n)
		}
		// The message is still locked by this receiver: nothing was
		// completed.
		c, err := tb.b.Counts(ctx, "in")
		if err != nil || c.Active != 1 {
			t.Fatalf("counts of in = %+v, %v; want the message still there", c, err)
		}

		if err := tb.b.CompleteAndSend(ctx, "in", lock, out("out", "second"), record("a")); err != nil {
			t.Fatal(err)
		}
		got := tb.recv(t, "out", 10)
		if len(got) != 2 || string(got[0].Body) != "first" || string(got[1].Body) != "second" {
			t.Fatalf("out holds %d messages, want first and second", len(got))
		}
		if c, err := tb.b.Counts(ctx, "in"); err != nil || c.Total != 0 {
			t.Fatalf("counts of in = %+v, %v; want empty", c, err)
		}
		if n := records(); n != 1 {
			t.Fatalf("%d records, want 1", n)
		}
		// Done once: the lock is gone, so a second attempt changes nothing.
		wantKind(t, tb.b.CompleteAndSend(ctx, "in", lock, out("out", "third"), record("b")), broker.KindLockLost)
		tb.none(t, "out")
	})
}
