package sqlstorage

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"junction/internal/broker/storage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestPartialMessageIndexes checks that the lock, expiry and origin indexes
// of broker_messages hold only the messages their queries look for (version
// 2 of the broker's migrations replaces version 1's full indexes), and that
// each database still reads them for those queries, written with the
// index's condition as messages.go writes them.
func TestPartialMessageIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		d := New(s)
		// 2,000 messages: every tenth a topic's copy, every fifth expiring,
		// every fiftieth locked.
		err := d.Tx(ctx, func(tx storage.Tx) error {
			id, err := tx.InsertEntity(ctx, storage.Entity{Path: "q", Kind: "queue", Props: "{}", CreatedAt: 1, UpdatedAt: 1})
			if err != nil {
				return err
			}
			for i := int64(1); i <= 2000; i++ {
				m := storage.Message{EntityID: id, Props: "{}", VisibleAt: i, EnqueuedAt: i, ExpiresAt: storage.Never}
				if i%10 == 0 {
					m.Origin = i - 1
				}
				if i%5 == 0 {
					m.ExpiresAt = 1_000_000 + i
				}
				seq, err := tx.InsertMessage(ctx, m)
				if err != nil {
					return err
				}
				if i%50 == 0 {
					if err := tx.LockMessage(ctx, seq, fmt.Sprintf("token-%d", i), 5_000_000, 1); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			err = s.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, "ANALYZE broker_messages"); return err })
		}
		if err != nil {
			t.Fatal(err)
		}
		for name, cond := range map[string]string{"broker_messages_lock": locked, "broker_messages_expiry": expiring, "broker_messages_origin": copied} {
			if def := indexDef(t, s, name); !strings.Contains(def, "WHERE") {
				t.Errorf("index %s is not partial: %s", name, def)
			}
			var n int
			err := s.Read(ctx, func(q store.Querier) error {
				return q.QueryRow(ctx, "SELECT COUNT(*) FROM broker_messages WHERE "+cond).Scan(&n)
			})
			if err != nil || n == 0 || n >= 2000 {
				t.Errorf("%s: %d of 2,000 messages, %v", cond, n, err)
			}
		}
		for _, c := range []struct {
			index, sql string
			args       []any
		}{
			{"broker_messages_lock", "SELECT id FROM broker_messages WHERE lock_token = ? AND " + locked + " AND +entity_id = ? AND +dlq = ?", []any{"token-100", 1, 0}},
			{"broker_messages_expiry", "SELECT id FROM broker_messages WHERE expires_at <= ? AND " + expiring + " AND dlq = 0 AND locked_until <= ? ORDER BY expires_at LIMIT ?", []any{1_000_500, 10, 100}},
			{"broker_messages_origin", "SELECT id FROM broker_messages WHERE (id = ? OR (origin = ? AND " + copied + ")) AND visible_at > ? AND dlq = 0", []any{99, 99, 10}},
		} {
			if plan := explain(t, s, c.sql, c.args); !strings.Contains(plan, c.index) {
				t.Errorf("the plan of %s does not read %s:\n%s", c.sql, c.index, plan)
			}
		}
		// What the queries find, through the storage.
		err = d.Tx(ctx, func(tx storage.Tx) error {
			m, err := tx.MessageByLock(ctx, "token-100")
			if err != nil || m.ID != 100 {
				return fmt.Errorf("message by lock token-100: %+v, %v", m.ID, err)
			}
			if _, err := tx.MessageByLock(ctx, ""); err != storage.ErrNotFound {
				return fmt.Errorf("message by the empty lock token: %v, want not found", err)
			}
			exp, err := tx.Expired(ctx, 1_000_020, 10)
			if err != nil || len(exp) != 4 {
				return fmt.Errorf("expired by 1,000,020: %d messages, %v; want 4", len(exp), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func indexDef(t *testing.T, s store.Store, name string) string {
	t.Helper()
	q := "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
	if s.Dialect() == store.Postgres {
		q = "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?"
	}
	var def string
	if err := s.Read(context.Background(), func(qr store.Querier) error { return qr.QueryRow(context.Background(), q, name).Scan(&def) }); err != nil {
		t.Fatalf("index %s: %v", name, err)
	}
	return def
}

// explain returns the database's plan of query, as text.
func explain(t *testing.T, s store.Store, query string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if s.Dialect() == store.Postgres {
		prefix = "EXPLAIN "
	}
	var b strings.Builder
	err := s.Read(context.Background(), func(q store.Querier) error {
		rows, err := q.Query(context.Background(), prefix+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			fmt.Fprintln(&b, vals[len(vals)-1])
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
