package sqlstorage

import (
	"context"
	"database/sql"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

func scanRule(r *sql.Rows) (storage.Rule, error) {
	var x storage.Rule
	err := r.Scan(&x.EntityID, &x.Name, &x.Spec, &x.CreatedAt)
	return x, err
}

func (r reader) TopicRules(ctx context.Context, topicID int64) ([]storage.Rule, error) {
	return store.Collect(ctx, r.q, scanRule, `SELECT r.entity_id, r.name, r.spec, r.created_at FROM broker_rules r JOIN broker_entities e ON e.id = r.entity_id
		WHERE e.topic_id = ? ORDER BY r.entity_id, r.name`, topicID)
}

func (r reader) Rules(ctx context.Context, entityID int64) ([]storage.Rule, error) {
	return store.Collect(ctx, r.q, scanRule, "SELECT entity_id, name, spec, created_at FROM broker_rules WHERE entity_id = ? ORDER BY name", entityID)
}

func (t *tx) InsertRule(ctx context.Context, r storage.Rule) error {
	_, err := t.t.Exec(ctx, "INSERT INTO broker_rules (entity_id, name, spec, created_at) VALUES (?, ?, ?, ?)", r.EntityID, r.Name, r.Spec, r.CreatedAt)
	return err
}

func (t *tx) DeleteRule(ctx context.Context, entityID int64, name string) (bool, error) {
	n, err := affected(t.t.Exec(ctx, "DELETE FROM broker_rules WHERE entity_id = ? AND name = ?", entityID, name))
	return n > 0, err
}

// Shared access rules.

func (r reader) AuthRule(ctx context.Context, scope, name string) (storage.AuthRule, error) {
	var a storage.AuthRule
	err := r.q.QueryRow(ctx, "SELECT scope, name, rights, primary_key, secondary_key FROM broker_auth_rules WHERE scope = ? AND name = ?",
		scope, name).Scan(&a.Scope, &a.Name, &a.Rights, &a.PrimaryKey, &a.SecondaryKey)
	return a, err
}

func (r reader) AuthRuleNames(ctx context.Context, scope string) ([]string, error) {
	return store.Collect(ctx, r.q, func(rows *sql.Rows) (string, error) {
		var n string
		err := rows.Scan(&n)
		return n, err
	}, "SELECT name FROM broker_auth_rules WHERE scope = ? ORDER BY name", scope)
}

func (t *tx) InsertAuthRule(ctx context.Context, a storage.AuthRule, ifAbsent bool) error {
	query := "INSERT INTO broker_auth_rules (scope, name, rights, primary_key, secondary_key) VALUES (?, ?, ?, ?, ?)"
	if ifAbsent {
		query += " ON CONFLICT (scope, name) DO NOTHING"
	}
	_, err := t.t.Exec(ctx, query, a.Scope, a.Name, a.Rights, a.PrimaryKey, a.SecondaryKey)
	return err
}

func (t *tx) SetAuthRights(ctx context.Context, scope, name, rights string) (bool, error) {
	n, err := affected(t.t.Exec(ctx, "UPDATE broker_auth_rules SET rights = ? WHERE scope = ? AND name = ?", rights, scope, name))
	return n == 1, err
}

func (t *tx) SetAuthKey(ctx context.Context, scope, name string, secondary bool, key string) (bool, error) {
	col := "primary_key"
	if secondary {
		col = "secondary_key"
	}
	n, err := affected(t.t.Exec(ctx, "UPDATE broker_auth_rules SET "+col+" = ? WHERE scope = ? AND name = ?", key, scope, name))
	return n > 0, err
}

func (t *tx) DeleteAuthRule(ctx context.Context, scope, name string) (bool, error) {
	n, err := affected(t.t.Exec(ctx, "DELETE FROM broker_auth_rules WHERE scope = ? AND name = ?", scope, name))
	return n > 0, err
}

func (t *tx) DeleteAuthRules(ctx context.Context, scope string) error {
	_, err := t.t.Exec(ctx, "DELETE FROM broker_auth_rules WHERE scope = ?", scope)
	return err
}
