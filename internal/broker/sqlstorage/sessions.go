package sqlstorage

import (
	"context"
	"database/sql"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

func (r reader) MessageSessions(ctx context.Context, entityID int64, skip, top int) ([]string, error) {
	return store.Collect(ctx, r.q, func(rows *sql.Rows) (string, error) {
		var id string
		err := rows.Scan(&id)
		return id, err
	}, `SELECT session_id FROM (
			SELECT DISTINCT session_id FROM broker_messages WHERE entity_id = ? AND dlq = 0 AND session_id <> ''
			UNION SELECT session_id FROM broker_sessions WHERE entity_id = ? AND state IS NOT NULL) s
		ORDER BY session_id LIMIT ? OFFSET ?`, entityID, entityID, top, skip)
}

func (r reader) sessionLock(ctx context.Context, entityID int64, sessionID, suffix string) (storage.SessionLock, error) {
	var l storage.SessionLock
	err := r.q.QueryRow(ctx, "SELECT lock_token, locked_until FROM broker_sessions WHERE entity_id = ? AND session_id = ?"+suffix,
		entityID, sessionID).Scan(&l.Token, &l.Until)
	return l, err
}

func (r reader) SessionLock(ctx context.Context, entityID int64, sessionID string) (storage.SessionLock, error) {
	return r.sessionLock(ctx, entityID, sessionID, "")
}

func (t *tx) ReserveSession(ctx context.Context, entityID int64, sessionID string) (storage.SessionLock, error) {
	return t.sessionLock(ctx, entityID, sessionID, t.forUpdate())
}

func (r reader) SessionState(ctx context.Context, entityID int64, sessionID string) ([]byte, error) {
	var state []byte
	err := r.q.QueryRow(ctx, "SELECT state FROM broker_sessions WHERE entity_id = ? AND session_id = ?", entityID, sessionID).Scan(&state)
	return state, err
}

func (t *tx) EnsureSession(ctx context.Context, entityID int64, sessionID string) error {
	_, err := t.t.Exec(ctx, `INSERT INTO broker_sessions (entity_id, session_id) VALUES (?, ?) ON CONFLICT (entity_id, session_id) DO NOTHING`, entityID, sessionID)
	return err
}

func (t *tx) NextSession(ctx context.Context, entityID, now int64) (string, error) {
	var id string
	err := t.t.QueryRow(ctx, `SELECT s.session_id FROM broker_sessions s WHERE s.entity_id = ? AND s.locked_until <= ?
		AND EXISTS (SELECT 1 FROM broker_messages m WHERE m.entity_id = s.entity_id AND m.dlq = 0 AND m.state = 0
			AND m.session_id = s.session_id AND m.visible_at <= ? AND m.locked_until <= ?)
		ORDER BY s.session_id LIMIT 1`+t.q.Dialect().SkipLocked(), entityID, now, now, now).Scan(&id)
	return id, err
}

func (t *tx) LockSession(ctx context.Context, entityID int64, sessionID, token string, until, now int64) (bool, error) {
	n, err := affected(t.t.Exec(ctx, "UPDATE broker_sessions SET lock_token = ?, locked_until = ? WHERE entity_id = ? AND session_id = ? AND locked_until <= ?",
		token, until, entityID, sessionID, now))
	return n == 1, err
}

func (t *tx) RenewSessionLock(ctx context.Context, entityID int64, sessionID string, until int64) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_sessions SET locked_until = ? WHERE entity_id = ? AND session_id = ?", until, entityID, sessionID)
	return err
}

func (t *tx) ReleaseSession(ctx context.Context, entityID int64, sessionID string) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_sessions SET lock_token = '', locked_until = 0 WHERE entity_id = ? AND session_id = ?", entityID, sessionID)
	return err
}

func (t *tx) SetSessionState(ctx context.Context, entityID int64, sessionID string, state []byte) error {
	var v any
	if state != nil {
		v = state
	}
	_, err := t.t.Exec(ctx, "UPDATE broker_sessions SET state = ? WHERE entity_id = ? AND session_id = ?", v, entityID, sessionID)
	return err
}
