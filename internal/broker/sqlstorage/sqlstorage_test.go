package sqlstorage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"junction/internal/broker/sqlstorage"
	"junction/internal/broker/storage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

func open(t *testing.T, s store.Store) *sqlstorage.Driver {
	t.Helper()
	if err := s.Migrate(context.Background(), sqlstorage.Migrations()); err != nil {
		t.Fatal(err)
	}
	return sqlstorage.New(s)
}

// TestContractErrors checks what the engine relies on beyond the tests of
// package broker: absent things are storage.ErrNotFound, taken names
// storage.ErrConflict, and a message for a deleted entity is not stored.
func TestContractErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		d := open(t, s)
		var id int64
		err := d.Tx(ctx, func(tx storage.Tx) (err error) {
			id, err = tx.InsertEntity(ctx, storage.Entity{Path: "Orders", Kind: "queue", Props: "{}", CreatedAt: 1, UpdatedAt: 1})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Tx(ctx, func(tx storage.Tx) error {
			_, err := tx.InsertEntity(ctx, storage.Entity{Path: "orders", Kind: "queue", Props: "{}"})
			return err
		})
		if !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("a second entity at the same path (case-blind): %v, want ErrConflict", err)
		}
		err = d.Read(ctx, func(r storage.Reader) error {
			e, err := r.Entity(ctx, "ORDERS")
			if err != nil || e.ID != id || e.Path != "Orders" {
				t.Fatalf("entity = %+v, %v", e, err)
			}
			if _, err := r.Entity(ctx, "absent"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("absent entity: %v, want ErrNotFound", err)
			}
			if _, err := r.SessionLock(ctx, id, "none"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("absent session: %v, want ErrNotFound", err)
			}
			if _, err := r.AuthRule(ctx, "", "none"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("absent rule: %v, want ErrNotFound", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Tx(ctx, func(tx storage.Tx) error {
			if _, err := tx.MessageByLock(ctx, "no-such-lock"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("absent lock: %v, want ErrNotFound", err)
			}
			if _, err := tx.NextSession(ctx, id, 0); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("no session: %v, want ErrNotFound", err)
			}
			return tx.InsertRule(ctx, storage.Rule{EntityID: id, Name: "r", Spec: "{}"})
		})
		if err != nil {
			t.Fatal(err)
		}
		// A failed statement ends a PostgreSQL transaction: the engine
		// returns such errors, and so does each step here.
		err = d.Tx(ctx, func(tx storage.Tx) error {
			return tx.InsertRule(ctx, storage.Rule{EntityID: id, Name: "r", Spec: "{}"})
		})
		if !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("a second rule of the same name: %v, want ErrConflict", err)
		}
		if err := d.Tx(ctx, func(tx storage.Tx) error { return tx.DeleteEntity(ctx, id) }); err != nil {
			t.Fatal(err)
		}
		err = d.Tx(ctx, func(tx storage.Tx) error {
			_, err := tx.InsertMessage(ctx, storage.Message{EntityID: id, Props: "{}", ExpiresAt: storage.Never})
			return err
		})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a message for a deleted entity: %v, want ErrNotFound", err)
		}
	})
}

// TestContractOneTransaction checks what CompleteAndSend relies on: a
// complete, the rows another component writes through Store and a later
// failing step (a message for an entity deleted meanwhile) are undone
// together, and commit together when every step succeeds.
func TestContractOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		d := open(t, s)
		var in, gone, seq int64
		err := d.Tx(ctx, func(tx storage.Tx) (err error) {
			if in, err = tx.InsertEntity(ctx, storage.Entity{Path: "in", Kind: "queue", Props: "{}"}); err != nil {
				return err
			}
			if gone, err = tx.InsertEntity(ctx, storage.Entity{Path: "gone", Kind: "queue", Props: "{}"}); err != nil {
				return err
			}
			if seq, err = tx.InsertMessage(ctx, storage.Message{EntityID: in, Props: "{}", ExpiresAt: storage.Never}); err != nil {
				return err
			}
			if err := tx.LockMessage(ctx, seq, "lock", 100, 1); err != nil {
				return err
			}
			if err := tx.DeleteEntity(ctx, gone); err != nil {
				return err
			}
			_, err = tx.Store().Exec(ctx, `CREATE TABLE contract_records (id TEXT PRIMARY KEY)`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		attempt := func(target int64) error {
			return d.Tx(ctx, func(tx storage.Tx) error {
				done, err := tx.Complete(ctx, storage.Completion{LockToken: "lock", Now: 50, EntityID: in})
				if err != nil || !done {
					t.Fatalf("complete = %v, %v", done, err)
				}
				if _, err := tx.Store().Exec(ctx, `INSERT INTO contract_records (id) VALUES ('r')`); err != nil {
					return err
				}
				_, err = tx.InsertMessage(ctx, storage.Message{EntityID: target, Props: "{}", ExpiresAt: storage.Never})
				return err
			})
		}
		count := func() (messages, records int) {
			err := d.Read(ctx, func(r storage.Reader) error {
				c, err := r.Counts(ctx, in, 50)
				messages = int(c.Total)
				return err
			})
			if err == nil {
				err = s.Read(ctx, func(q store.Querier) error {
					return q.QueryRow(ctx, `SELECT COUNT(*) FROM contract_records`).Scan(&records)
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			return messages, records
		}
		if err := attempt(gone); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a send to a deleted entity: %v, want ErrNotFound", err)
		}
		if m, r := count(); m != 1 || r != 0 {
			t.Fatalf("after the failed transaction: %d messages in, %d records; want 1 and 0", m, r)
		}
		err = d.Tx(ctx, func(tx storage.Tx) error {
			_, err := tx.MessageByLock(ctx, "lock")
			return err
		})
		if err != nil {
			t.Fatalf("the message lost its lock with the rollback: %v", err)
		}
		if err := attempt(in); err != nil {
			t.Fatal(err)
		}
		if m, r := count(); m != 1 || r != 1 {
			t.Fatalf("after the committed transaction: %d messages in (the new one), %d records; want 1 and 1", m, r)
		}
	})
}

// TestInsertMessages: messages to several entities, one of them deleted,
// are inserted (on a store that writes a statement alone, in one statement
// that WriteOne takes), each with its own values; the deleted entity's
// message is not stored and its number is 0; the numbers follow the
// messages' order.
func TestInsertMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		d := open(t, s)
		var a, b, gone int64
		err := d.Tx(ctx, func(tx storage.Tx) (err error) {
			for _, e := range []struct {
				id   *int64
				path string
			}{{&a, "a"}, {&b, "b"}, {&gone, "gone"}} {
				if *e.id, err = tx.InsertEntity(ctx, storage.Entity{Path: e.path, Kind: "queue", Props: "{}"}); err != nil {
					return err
				}
			}
			return tx.DeleteEntity(ctx, gone)
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs := []storage.Message{
			{EntityID: a, VisibleAt: 10, EnqueuedAt: 10, ExpiresAt: storage.Never, MessageID: "m1", Size: 3, Props: `{"p":1}`, Body: []byte("one")},
			{EntityID: gone, VisibleAt: 10, EnqueuedAt: 10, ExpiresAt: storage.Never, Props: "{}", Body: []byte("orphan")},
			{EntityID: b, DLQ: true, VisibleAt: 20, EnqueuedAt: 20, ExpiresAt: 99, Origin: 7, SessionID: "s", Deliveries: 2, Props: "{}"},
			{EntityID: a, VisibleAt: 30, EnqueuedAt: 30, ExpiresAt: storage.Never, MessageID: "m3", Props: "{}", Body: []byte("three")},
		}
		var seqs []int64
		write := d.Tx
		if d.WritesAlone() {
			write = d.WriteOne // one statement
		}
		if err := write(ctx, func(tx storage.Tx) (err error) {
			seqs, err = tx.InsertMessages(ctx, msgs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(seqs) != 4 || seqs[0] == 0 || seqs[1] != 0 || seqs[2] <= seqs[0] || seqs[3] <= seqs[2] {
			t.Fatalf("sequence numbers %v: want increasing, 0 for the deleted entity's", seqs)
		}
		for i, m := range msgs {
			if seqs[i] == 0 {
				continue
			}
			var got storage.Message
			if err := d.Tx(ctx, func(tx storage.Tx) (err error) {
				got, err = tx.MessageByID(ctx, seqs[i])
				return err
			}); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			m.ID = seqs[i]
			if m.Body == nil {
				m.Body = []byte{}
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", m) {
				t.Errorf("message %d stored as\n%+v\nwant\n%+v", i, got, m)
			}
		}
		var orphans int
		if err := s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT COUNT(*) FROM broker_messages WHERE entity_id = ?", gone).Scan(&orphans)
		}); err != nil || orphans != 0 {
			t.Fatalf("messages of the deleted entity: %d, %v", orphans, err)
		}

		// More messages than one statement carries on SQLite, every third
		// to the deleted entity, the last of them too: the numbers still
		// follow the messages' order, after every number given before, and
		// the next message's number comes after them all.
		many := make([]storage.Message, 301)
		for i := range many {
			many[i] = storage.Message{EntityID: a, VisibleAt: 40, EnqueuedAt: 40, ExpiresAt: storage.Never, Props: "{}", Body: fmt.Appendf(nil, "%d", i)}
			if i%3 == 0 {
				many[i].EntityID = gone
			}
		}
		last := seqs[3]
		if err := d.Tx(ctx, func(tx storage.Tx) (err error) {
			seqs, err = tx.InsertMessages(ctx, many)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, seq := range seqs {
			if (i%3 == 0) != (seq == 0) || (seq != 0 && seq <= last) {
				t.Fatalf("message %d: sequence number %d after %d", i, seq, last)
			}
			if seq != 0 {
				last = seq
				var got storage.Message
				if err := d.Read(ctx, func(r storage.Reader) (err error) {
					rows, err := r.Peek(ctx, a, false, seq, 1)
					if err == nil && len(rows) == 1 {
						got = rows[0]
					}
					return err
				}); err != nil || got.ID != seq || string(got.Body) != fmt.Sprint(i) {
					t.Fatalf("message %d stored as %d %q, %v; want %d", i, got.ID, got.Body, err, seq)
				}
			}
		}
		var next []int64
		if err := d.Tx(ctx, func(tx storage.Tx) (err error) {
			next, err = tx.InsertMessages(ctx, many[1:3])
			return err
		}); err != nil || next[0] <= last || next[1] <= next[0] {
			t.Fatalf("after %d: sequence numbers %v, %v", last, next, err)
		}
	})
}
