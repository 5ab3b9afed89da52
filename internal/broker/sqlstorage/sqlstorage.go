// Package sqlstorage serves the broker's storage contract (package storage)
// over the store, on SQLite and PostgreSQL: the broker's tables, their
// migrations and every statement the broker runs.
package sqlstorage

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// Driver is the broker's storage over a store.
type Driver struct{ s store.Store }

var (
	_ storage.Driver = (*Driver)(nil)
	_ storage.Tx     = (*tx)(nil)
)

// New returns the broker's storage over s. Apply Migrations to s first.
func New(s store.Store) *Driver { return &Driver{s: s} }

// Store is the store the broker's storage is kept in.
func (d *Driver) Store() store.Store { return d.s }

// Tx implements storage.Driver.
func (d *Driver) Tx(ctx context.Context, fn func(storage.Tx) error) error {
	return d.s.Tx(ctx, func(t store.Tx) error { return fn(&tx{reader{t}, t}) })
}

// WriteOne implements storage.Driver: on PostgreSQL InsertMessage's one
// statement commits by itself (store.WriteOne).
func (d *Driver) WriteOne(ctx context.Context, fn func(storage.Tx) error) error {
	return store.WriteOne(ctx, d.s, func(t store.Tx) error { return fn(&tx{reader{t}, t}) })
}

// WritesAlone implements storage.Driver.
func (d *Driver) WritesAlone() bool {
	_, ok := d.s.(store.AutocommitWriter)
	return ok
}

// Join serves the broker's statements inside t, a transaction of the store
// begun by another part of Junction, so that the broker's writes commit with
// that part's.
func (d *Driver) Join(t store.Tx) storage.Tx { return &tx{reader{t}, t} }

// Read implements storage.Driver.
func (d *Driver) Read(ctx context.Context, fn func(storage.Reader) error) error {
	return d.s.Read(ctx, func(q store.Querier) error { return fn(reader{q}) })
}

// Listen implements storage.Driver.
func (d *Driver) Listen(channel string) *store.Subscription { return d.s.Listen(channel) }

// Notify implements storage.Driver: one transaction that only notifies.
func (d *Driver) Notify(ctx context.Context, channels []string) error {
	return d.s.Tx(ctx, func(t store.Tx) error {
		for _, c := range channels {
			t.Notify(c)
		}
		return nil
	})
}

// NotifyAfterCommit implements storage.Driver: PostgreSQL's NOTIFY takes a
// global lock at commit, which would undo group commit.
func (d *Driver) NotifyAfterCommit() bool { return d.s.Dialect() == store.Postgres }

// HoldLease implements storage.Driver.
func (d *Driver) HoldLease(ctx context.Context, name, owner string, ttl time.Duration, fn func(ctx context.Context), report func(error)) error {
	if report == nil {
		return d.s.Leases().Hold(ctx, name, owner, ttl, fn)
	}
	return d.s.Leases().Hold(ctx, name, owner, ttl, fn, report)
}

// reader serves storage.Reader on a read view or a transaction.
type reader struct{ q store.Querier }

// tx serves storage.Tx.
type tx struct {
	reader
	t store.Tx
}

func (t *tx) Notify(channel string) { t.t.Notify(channel) }
func (t *tx) AfterCommit(fn func()) { t.t.AfterCommit(fn) }
func (t *tx) Store() store.Tx       { return t.t }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// affected is how many rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// forUpdate reserves the rows a SELECT reads for the transaction.
func (r reader) forUpdate() string {
	if r.q.Dialect() == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Entities.

const entityColumns = "id, path, kind, topic_id, props, created_at, updated_at"

func scanEntity(row interface{ Scan(...any) error }) (storage.Entity, error) {
	var e storage.Entity
	err := row.Scan(&e.ID, &e.Path, &e.Kind, &e.TopicID, &e.Props, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

func scanEntities(r *sql.Rows) (storage.Entity, error) { return scanEntity(r) }

func (r reader) Entity(ctx context.Context, path string) (storage.Entity, error) {
	return scanEntity(r.q.QueryRow(ctx, "SELECT "+entityColumns+" FROM broker_entities WHERE path_key = ?", strings.ToLower(path)))
}

func (r reader) EntityByID(ctx context.Context, id int64) (storage.Entity, error) {
	return scanEntity(r.q.QueryRow(ctx, "SELECT "+entityColumns+" FROM broker_entities WHERE id = ?", id))
}

func (r reader) Entities(ctx context.Context, kind string, topicID int64) ([]storage.Entity, error) {
	query := "SELECT " + entityColumns + " FROM broker_entities WHERE kind = ?"
	args := []any{kind}
	if topicID != 0 {
		query += " AND topic_id = ?"
		args = append(args, topicID)
	}
	return store.Collect(ctx, r.q, scanEntities, query+" ORDER BY path_key", args...)
}

func (r reader) Subscriptions(ctx context.Context, topicID int64) ([]storage.Entity, error) {
	return store.Collect(ctx, r.q, scanEntities, "SELECT "+entityColumns+" FROM broker_entities WHERE topic_id = ? ORDER BY id", topicID)
}

func (t *tx) InsertEntity(ctx context.Context, e storage.Entity) (int64, error) {
	var id int64
	err := t.t.QueryRow(ctx, "INSERT INTO broker_entities (path_key, path, kind, topic_id, props, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
		strings.ToLower(e.Path), e.Path, e.Kind, e.TopicID, e.Props, e.CreatedAt, e.UpdatedAt).Scan(&id)
	return id, err
}

func (t *tx) UpdateEntity(ctx context.Context, id int64, props string, updatedAt int64) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_entities SET props = ?, updated_at = ? WHERE id = ?", props, updatedAt, id)
	return err
}

func (t *tx) DeleteEntity(ctx context.Context, id int64) error {
	for _, table := range []string{"broker_messages", "broker_sessions", "broker_rules", "broker_dedupe"} {
		if _, err := t.t.Exec(ctx, "DELETE FROM "+table+" WHERE entity_id = ?", id); err != nil {
			return err
		}
	}
	_, err := t.t.Exec(ctx, "DELETE FROM broker_entities WHERE id = ?", id)
	return err
}

func (r reader) Counts(ctx context.Context, entityID, now int64) (storage.Counts, error) {
	var c storage.Counts
	err := r.q.QueryRow(ctx, `SELECT
		COALESCE(SUM(CASE WHEN dlq = 0 AND state = 0 AND visible_at <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN dlq = 0 AND state = 0 AND visible_at > ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN dlq = 0 AND state = 1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN dlq = 1 THEN 1 ELSE 0 END), 0),
		COUNT(*), COALESCE(SUM(size), 0)
		FROM broker_messages WHERE entity_id = ?`, now, now, entityID).Scan(&c.Active, &c.Scheduled, &c.Deferred, &c.DeadLetter, &c.Total, &c.Size)
	return c, err
}
