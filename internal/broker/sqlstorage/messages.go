package sqlstorage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

const messageColumns = "id, entity_id, dlq, state, visible_at, lock_token, locked_until, delivery_count, enqueued_at, expires_at, origin, message_id, session_id, size, props, body"

func scanMessage(r *sql.Rows) (storage.Message, error) {
	var m storage.Message
	var dlq, state int
	err := r.Scan(&m.ID, &m.EntityID, &dlq, &state, &m.VisibleAt, &m.LockToken, &m.LockedUntil, &m.Deliveries,
		&m.EnqueuedAt, &m.ExpiresAt, &m.Origin, &m.MessageID, &m.SessionID, &m.Size, &m.Props, &m.Body)
	m.DLQ, m.Deferred = dlq == 1, state == 1
	return m, err
}

func (r reader) messages(ctx context.Context, query string, args ...any) ([]storage.Message, error) {
	return store.Collect(ctx, r.q, scanMessage, "SELECT "+messageColumns+" FROM broker_messages "+query, args...)
}

// one is the only message of a query, or ErrNotFound.
func one(ms []storage.Message, err error) (storage.Message, error) {
	if err != nil {
		return storage.Message{}, err
	}
	if len(ms) == 0 {
		return storage.Message{}, storage.ErrNotFound
	}
	return ms[0], nil
}

func (r reader) Available(ctx context.Context, entityID int64, dlq bool, now int64) (bool, error) {
	var id int64
	err := r.q.QueryRow(ctx, `SELECT id FROM broker_messages WHERE entity_id = ? AND dlq = ? AND state = 0 AND session_id = ''
		AND visible_at <= ? AND locked_until <= ? LIMIT 1`, entityID, b2i(dlq), now, now).Scan(&id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r reader) Peek(ctx context.Context, entityID int64, dlq bool, from int64, max int) ([]storage.Message, error) {
	return r.messages(ctx, "WHERE entity_id = ? AND dlq = ? AND id >= ? ORDER BY id LIMIT ?", entityID, b2i(dlq), from, max)
}

func (t *tx) Dedupe(ctx context.Context, entityID int64, messageID string, until, now int64) (bool, error) {
	rows, err := t.t.Query(ctx, `INSERT INTO broker_dedupe (entity_id, message_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (entity_id, message_id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE broker_dedupe.expires_at <= ? RETURNING expires_at`, entityID, messageID, until, now)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	fresh := rows.Next()
	return !fresh, rows.Err()
}

func (t *tx) InsertMessage(ctx context.Context, m storage.Message) (int64, error) {
	body := m.Body
	if body == nil {
		body = []byte{}
	}
	var id int64
	// The entity may come from the engine's cache: insert only if it still
	// exists, so that an entity deleted by another node gets no orphans.
	err := t.t.QueryRow(ctx, `INSERT INTO broker_messages (entity_id, dlq, state, visible_at, enqueued_at, expires_at, origin, message_id, session_id, size, delivery_count, props, body)
		SELECT id, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM broker_entities WHERE id = ? RETURNING id`,
		b2i(m.DLQ), m.VisibleAt, m.EnqueuedAt, m.ExpiresAt, m.Origin, m.MessageID, m.SessionID,
		m.Size, m.Deliveries, m.Props, body, m.EntityID).Scan(&id)
	return id, err
}

// insertMessages is InsertMessages on PostgreSQL: one statement whatever
// the number of messages (its arrays are parameters, so its text and plan
// stay the same). Each message's sequence number is drawn before its row is
// inserted (v, materialised; the sequence is looked up once), so that it is
// known for each message whatever order the rows are inserted in; a message
// whose entity is gone is not inserted and its number is left unused.
const insertMessages = `WITH v AS MATERIALIZED (
		SELECT v.*, nextval((SELECT pg_get_serial_sequence('broker_messages', 'id'))::regclass) AS id
		FROM unnest(?::bigint[], ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::int[], ?::text[], ?::bytea[])
			WITH ORDINALITY AS v (entity_id, dlq, visible_at, enqueued_at, expires_at, origin, message_id, session_id, size, delivery_count, props, body, ord)
		ORDER BY ord),
	ins AS (INSERT INTO broker_messages (id, entity_id, dlq, state, visible_at, enqueued_at, expires_at, origin, message_id, session_id, size, delivery_count, props, body)
		SELECT v.id, e.id, v.dlq, 0, v.visible_at, v.enqueued_at, v.expires_at, v.origin, v.message_id, v.session_id, v.size, v.delivery_count, v.props, v.body
		FROM v JOIN broker_entities e ON e.id = v.entity_id RETURNING id)
	SELECT v.ord, v.id FROM v JOIN ins ON ins.id = v.id`

func (t *tx) InsertMessages(ctx context.Context, msgs []storage.Message) ([]int64, error) {
	ids := make([]int64, len(msgs))
	if len(msgs) == 1 {
		id, err := t.InsertMessage(ctx, msgs[0])
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		ids[0] = id
		return ids, nil
	}
	if t.q.Dialect() != store.Postgres {
		return ids, t.insertMessagesSQLite(ctx, msgs, ids)
	}
	n := len(msgs)
	entity, dlq, visible, enqueued, expires, origin := make([]int64, n), make([]int32, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	messageID, session, size, deliveries, props, body := make([]string, n), make([]string, n), make([]int64, n), make([]int32, n), make([]string, n), make([][]byte, n)
	for i, m := range msgs {
		entity[i], dlq[i], visible[i], enqueued[i], expires[i], origin[i] = m.EntityID, int32(b2i(m.DLQ)), m.VisibleAt, m.EnqueuedAt, m.ExpiresAt, m.Origin
		messageID[i], session[i], size[i], deliveries[i], props[i], body[i] = m.MessageID, m.SessionID, m.Size, int32(m.Deliveries), m.Props, m.Body
		if body[i] == nil {
			body[i] = []byte{}
		}
	}
	rows, err := t.t.Query(ctx, insertMessages, entity, dlq, visible, enqueued, expires, origin, messageID, session, size, deliveries, props, body)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ord, id int64
		if err := rows.Scan(&ord, &id); err != nil {
			return nil, err
		}
		if ord < 1 || ord > int64(n) {
			return nil, fmt.Errorf("insert messages: position %d of %d", ord, n)
		}
		ids[ord-1] = id
	}
	return ids, rows.Err()
}

// sqliteInsertRows is how many messages one insert statement of
// insertMessagesSQLite carries at most (13 parameters each, well within
// SQLite's 32,766).
const sqliteInsertRows = 256

// insertMessagesSQLite is InsertMessages on SQLite: a statement that reads
// the last sequence number drawn, then an insert statement of up to
// sqliteInsertRows rows. SQLite has one writer, which this transaction is:
// the numbers after the largest drawn (kept by AUTOINCREMENT in
// sqlite_sequence) are this transaction's to give, so each message gets its
// own in msgs' order whatever order the rows are inserted in. A message
// whose entity is gone is not inserted (the EXISTS) and its number is left
// unused. The statement's rows are padded to a power of two with rows of no
// entity, which insert nothing, so that a few statement texts serve every
// size and stay prepared.
func (t *tx) insertMessagesSQLite(ctx context.Context, msgs []storage.Message, ids []int64) error {
	var last int64
	if err := t.t.QueryRow(ctx, `SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'broker_messages'), 0),
		COALESCE((SELECT max(id) FROM broker_messages), 0))`).Scan(&last); err != nil {
		return err
	}
	for from := 0; from < len(msgs); from += sqliteInsertRows {
		chunk := msgs[from:min(len(msgs), from+sqliteInsertRows)]
		rows := 2
		for rows < len(chunk) {
			rows *= 2
		}
		args := make([]any, 0, 13*rows)
		for i, m := range chunk {
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			args = append(args, last+int64(from+i)+1, m.EntityID, b2i(m.DLQ), m.VisibleAt, m.EnqueuedAt, m.ExpiresAt, m.Origin,
				m.MessageID, m.SessionID, m.Size, m.Deliveries, m.Props, body)
		}
		for range rows - len(chunk) {
			args = append(args, 0, 0, 0, 0, 0, 0, 0, "", "", 0, 0, "", []byte{})
		}
		got, err := store.Collect(ctx, t.t, scanID, `INSERT INTO broker_messages (id, entity_id, dlq, state, visible_at, enqueued_at, expires_at, origin, message_id, session_id, size, delivery_count, props, body)
			SELECT column1, column2, column3, 0, column4, column5, column6, column7, column8, column9, column10, column11, column12, column13
			FROM (VALUES `+strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", rows-1)+`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))
			WHERE EXISTS (SELECT 1 FROM broker_entities e WHERE e.id = column2) RETURNING id`, args...)
		if err != nil {
			return err
		}
		for _, id := range got {
			i := id - last - 1
			if i < 0 || i >= int64(len(msgs)) {
				return fmt.Errorf("insert messages: sequence number %d outside %d..%d", id, last+1, last+int64(len(msgs)))
			}
			ids[i] = id
		}
	}
	return nil
}

func (t *tx) Claimable(ctx context.Context, entityID int64, dlq bool, sessionID string, now int64, limit int) ([]storage.Message, error) {
	return t.messages(ctx, `WHERE entity_id = ? AND dlq = ? AND state = 0 AND session_id = ? AND visible_at <= ? AND locked_until <= ?
		ORDER BY id LIMIT ?`+t.q.Dialect().SkipLocked(), entityID, b2i(dlq), sessionID, now, now, limit)
}

func (t *tx) Expired(ctx context.Context, now int64, limit int) ([]storage.Message, error) {
	return t.messages(ctx, `WHERE expires_at <= ? AND `+expiring+` AND dlq = 0 AND locked_until <= ? ORDER BY expires_at LIMIT ?`+t.q.Dialect().SkipLocked(), now, now, limit)
}

func (t *tx) MessageByLock(ctx context.Context, token string) (storage.Message, error) {
	// Only the lock token is in the WHERE clause, so that the lock-token
	// index is used; the engine checks the rest.
	return one(t.messages(ctx, "WHERE lock_token = ? AND "+locked+t.forUpdate(), token))
}

func (t *tx) MessageByID(ctx context.Context, id int64) (storage.Message, error) {
	return one(t.messages(ctx, "WHERE id = ?"+t.forUpdate(), id))
}

func (t *tx) Complete(ctx context.Context, c storage.Completion) (bool, error) {
	// One statement: the unary pluses keep SQLite on the lock-token index.
	// On a session entity the session's lock must still be held too.
	rows, err := t.t.Query(ctx, `DELETE FROM broker_messages WHERE lock_token = ? AND `+locked+` AND locked_until > ? AND +entity_id = ? AND +dlq = ?
		AND (? = 0 OR id = ?) AND (? = '' OR message_id = ?) AND (? = '' OR message_id = ? OR CAST(id AS TEXT) = ?)
		AND (session_id = '' OR EXISTS (SELECT 1 FROM broker_sessions s WHERE s.entity_id = broker_messages.entity_id
			AND s.session_id = broker_messages.session_id AND s.locked_until > ?)) RETURNING id`,
		c.LockToken, c.Now, c.EntityID, b2i(c.DLQ), c.Seq, c.Seq, c.MessageID, c.MessageID, c.Ref, c.Ref, c.Ref, c.Now)
	if err != nil {
		return false, err
	}
	found := rows.Next()
	rows.Close()
	return found, rows.Err()
}

func (t *tx) CompleteLocked(ctx context.Context, entityID int64, dlq bool, tokens []string, now int64) ([]string, error) {
	var done []string
	for lo := 0; lo < len(tokens); lo += manyChunk {
		part := tokens[lo:min(lo+manyChunk, len(tokens))]
		args := make([]any, 0, len(part)+4)
		for _, tok := range part {
			args = append(args, tok)
		}
		// Complete's conditions, for many tokens.
		got, err := store.Collect(ctx, t.t, func(r *sql.Rows) (string, error) {
			var tok string
			return tok, r.Scan(&tok)
		}, `DELETE FROM broker_messages WHERE lock_token IN (?`+strings.Repeat(", ?", len(part)-1)+`) AND `+locked+` AND locked_until > ?
			AND +entity_id = ? AND +dlq = ? AND (session_id = '' OR EXISTS (SELECT 1 FROM broker_sessions s
			WHERE s.entity_id = broker_messages.entity_id AND s.session_id = broker_messages.session_id AND s.locked_until > ?))
			RETURNING lock_token`, append(args, now, entityID, b2i(dlq), now)...)
		if err != nil {
			return nil, err
		}
		done = append(done, got...)
	}
	return done, nil
}

func (t *tx) DeleteMessage(ctx context.Context, id int64) error {
	_, err := t.t.Exec(ctx, "DELETE FROM broker_messages WHERE id = ?", id)
	return err
}

func (t *tx) LockMessage(ctx context.Context, id int64, token string, until int64, deliveries int) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_messages SET lock_token = ?, locked_until = ?, delivery_count = ? WHERE id = ?", token, until, deliveries, id)
	return err
}

// manyChunk bounds the messages one LockMessages or DeleteMessages
// statement names.
const manyChunk = 100

func (t *tx) LockMessages(ctx context.Context, locks []storage.MessageLock, until int64) error {
	for lo := 0; lo < len(locks); lo += manyChunk {
		part := locks[lo:min(lo+manyChunk, len(locks))]
		// A CTE of the new locks, which both SQLite and PostgreSQL join in
		// UPDATE ... FROM; the casts type PostgreSQL's parameters.
		var sb strings.Builder
		sb.WriteString("WITH l(id, token, deliveries) AS (VALUES ")
		args := make([]any, 0, 1+3*len(part))
		for i, l := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER))")
			args = append(args, l.ID, l.Token, l.Deliveries)
		}
		sb.WriteString(") UPDATE broker_messages SET lock_token = l.token, locked_until = ?, delivery_count = l.deliveries FROM l WHERE broker_messages.id = l.id")
		if _, err := t.t.Exec(ctx, sb.String(), append(args, until)...); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeleteMessages(ctx context.Context, ids []int64) error {
	for lo := 0; lo < len(ids); lo += manyChunk {
		part := ids[lo:min(lo+manyChunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := "DELETE FROM broker_messages WHERE id IN (?" + strings.Repeat(", ?", len(part)-1) + ")"
		if _, err := t.t.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ReleaseLock(ctx context.Context, entityID int64, dlq bool, token string) (bool, error) {
	// The unary pluses keep SQLite on the lock-token index.
	n, err := affected(t.t.Exec(ctx, `UPDATE broker_messages SET lock_token = '', locked_until = 0,
		delivery_count = CASE WHEN delivery_count > 0 THEN delivery_count - 1 ELSE 0 END
		WHERE lock_token = ? AND `+locked+` AND +entity_id = ? AND +dlq = ?`, token, entityID, b2i(dlq)))
	return n > 0, err
}

func (t *tx) RenewMessageLock(ctx context.Context, id int64, until int64) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_messages SET locked_until = ? WHERE id = ?", until, id)
	return err
}

func (t *tx) UnlockMessage(ctx context.Context, id int64, props string) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_messages SET lock_token = '', locked_until = 0, props = ? WHERE id = ?", props, id)
	return err
}

func (t *tx) DeferMessage(ctx context.Context, id int64, props string) error {
	_, err := t.t.Exec(ctx, "UPDATE broker_messages SET state = 1, lock_token = '', locked_until = 0, props = ? WHERE id = ?", props, id)
	return err
}

func (t *tx) DeadLetterMessage(ctx context.Context, id int64, props string) error {
	_, err := t.t.Exec(ctx, `UPDATE broker_messages SET dlq = 1, state = 0, session_id = '', lock_token = '', locked_until = 0,
		expires_at = ?, props = ? WHERE id = ?`, storage.Never, props, id)
	return err
}

func (t *tx) CancelScheduled(ctx context.Context, entityID int64, topic bool, seq, now int64) (int64, error) {
	if topic {
		return affected(t.t.Exec(ctx, `DELETE FROM broker_messages WHERE (id = ? OR (origin = ? AND `+copied+`)) AND visible_at > ? AND dlq = 0
			AND entity_id IN (SELECT id FROM broker_entities WHERE topic_id = ?)`, seq, seq, now, entityID))
	}
	return affected(t.t.Exec(ctx, `DELETE FROM broker_messages WHERE id = ? AND visible_at > ? AND dlq = 0
		AND entity_id = (SELECT id FROM broker_entities WHERE id = ?)`, seq, now, entityID))
}

func (t *tx) PurgeDeadLetters(ctx context.Context, entityID int64) (int64, error) {
	return affected(t.t.Exec(ctx, "DELETE FROM broker_messages WHERE entity_id = ? AND dlq = 1", entityID))
}

func (t *tx) DeadLetters(ctx context.Context, entityID int64, seqs []int64) ([]storage.Message, error) {
	query := "WHERE entity_id = ? AND dlq = 1"
	args := []any{entityID}
	if len(seqs) > 0 {
		query += " AND id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(seqs)), ",") + ")"
		for _, s := range seqs {
			args = append(args, s)
		}
	}
	return t.messages(ctx, query+" ORDER BY id", args...)
}

func (t *tx) PruneDeadLetters(ctx context.Context, before, now int64, batch int) (int64, error) {
	if _, err := t.t.Exec(ctx, `DELETE FROM broker_deadletter_seen WHERE NOT EXISTS
		(SELECT 1 FROM broker_messages m WHERE m.id = broker_deadletter_seen.message_id AND m.dlq = 1)`); err != nil {
		return 0, err
	}
	if _, err := t.t.Exec(ctx, `INSERT INTO broker_deadletter_seen (message_id, seen_at)
		SELECT m.id, ? FROM broker_messages m WHERE m.dlq = 1 AND NOT EXISTS
		(SELECT 1 FROM broker_deadletter_seen s WHERE s.message_id = m.id)`, now); err != nil {
		return 0, err
	}
	// A dead letter a receiver holds locked is left to it until its lock ends.
	return store.DeleteBatch(ctx, t.t, `SELECT s.message_id FROM broker_deadletter_seen s JOIN broker_messages m ON m.id = s.message_id
		WHERE s.seen_at < ? AND m.locked_until <= ? ORDER BY s.seen_at LIMIT ?`,
		[]any{before, now, batch}, "broker_messages.id", "broker_deadletter_seen.message_id")
}

func (t *tx) Forget(ctx context.Context, now int64) error {
	if _, err := t.t.Exec(ctx, "DELETE FROM broker_dedupe WHERE expires_at <= ?", now); err != nil {
		return err
	}
	_, err := t.t.Exec(ctx, `DELETE FROM broker_sessions WHERE locked_until <= ? AND state IS NULL AND NOT EXISTS
		(SELECT 1 FROM broker_messages m WHERE m.entity_id = broker_sessions.entity_id AND m.session_id = broker_sessions.session_id)`, now)
	return err
}

func scanID(r *sql.Rows) (int64, error) {
	var id int64
	err := r.Scan(&id)
	return id, err
}
