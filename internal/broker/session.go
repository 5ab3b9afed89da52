package broker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"junction/internal/store"
)

// Session is an accepted (locked) session of a session-enabled entity.
type Session struct {
	Entity      string
	ID          string
	LockToken   string
	LockedUntil time.Time
}

// AcceptSession locks a session of the entity at path for the caller: the
// named one, or with id "" the next session that has messages available,
// waiting up to wait for one. A session locked by another receiver gives
// KindSessionCannotBeLocked; no available session within wait gives a nil
// session and no error.
func (b *Broker) AcceptSession(ctx context.Context, path, id string, wait time.Duration) (*Session, error) {
	if len(id) > MaxIDLength {
		return nil, errorf(KindBadRequest, "SessionId is longer than %d characters", MaxIDLength)
	}
	var sub *store.Subscription
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	deadline := time.Now().Add(wait)
	for {
		s, channel, err := b.acceptOnce(ctx, path, id)
		if err != nil || s != nil || id != "" || wait <= 0 {
			return s, err
		}
		if sub == nil {
			sub = b.s.Listen(channel)
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		t := time.NewTimer(left)
		select {
		case <-sub.C:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

func (b *Broker) acceptOnce(ctx context.Context, path, id string) (*Session, string, error) {
	var out *Session
	var channel string
	err := b.s.Tx(ctx, func(tx store.Tx) error {
		out = nil
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		channel = channelOf(a.ID)
		if a.dlq || !a.Properties.RequiresSession || a.Kind == Topic {
			return errorf(KindBadRequest, "the entity '%s' does not require sessions", path)
		}
		now := b.now()
		nowUS := store.Micros(now)
		if id == "" {
			err := tx.QueryRow(ctx, `SELECT s.session_id FROM broker_sessions s WHERE s.entity_id = ? AND s.locked_until <= ?
				AND EXISTS (SELECT 1 FROM broker_messages m WHERE m.entity_id = s.entity_id AND m.dlq = 0 AND m.state = 0
					AND m.session_id = s.session_id AND m.visible_at <= ? AND m.locked_until <= ?)
				ORDER BY s.session_id LIMIT 1`+tx.Dialect().SkipLocked(), a.ID, nowUS, nowUS, nowUS).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
		} else {
			if _, err := tx.Exec(ctx, `INSERT INTO broker_sessions (entity_id, session_id) VALUES (?, ?) ON CONFLICT (entity_id, session_id) DO NOTHING`, a.ID, id); err != nil {
				return err
			}
			var until int64
			if err := tx.QueryRow(ctx, "SELECT locked_until FROM broker_sessions WHERE entity_id = ? AND session_id = ?"+forUpdate(tx.Dialect()), a.ID, id).Scan(&until); err != nil {
				return err
			}
			if until > nowUS {
				return errorf(KindSessionCannotBeLocked, "the session '%s' is locked by another receiver", id)
			}
		}
		s := &Session{Entity: a.Path, ID: id, LockToken: newLockToken(), LockedUntil: now.Add(time.Duration(a.Properties.LockDuration))}
		res, err := tx.Exec(ctx, "UPDATE broker_sessions SET lock_token = ?, locked_until = ? WHERE entity_id = ? AND session_id = ? AND locked_until <= ?",
			s.LockToken, store.Micros(s.LockedUntil), a.ID, id, nowUS)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errorf(KindSessionCannotBeLocked, "the session '%s' is locked by another receiver", id)
		}
		out = s
		return nil
	})
	if err != nil {
		return nil, channel, fmt.Errorf("accept session on %s: %w", path, err)
	}
	return out, channel, nil
}

func checkSession(ctx context.Context, q store.Querier, entityID int64, s *Session, now int64) error {
	var token string
	var until int64
	err := q.QueryRow(ctx, "SELECT lock_token, locked_until FROM broker_sessions WHERE entity_id = ? AND session_id = ?", entityID, s.ID).Scan(&token, &until)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (token != s.LockToken || until <= now)) {
		return errorf(KindSessionLockLost, "the session lock for '%s' was lost: it expired or another receiver holds it", s.ID)
	}
	return err
}

func (b *Broker) withSession(ctx context.Context, s *Session, fn func(tx store.Tx, a address, now time.Time) error) error {
	return b.s.Tx(ctx, func(tx store.Tx) error {
		a, err := b.resolve(ctx, tx, s.Entity)
		if err != nil {
			return err
		}
		now := b.now()
		if err := checkSession(ctx, tx, a.ID, s, store.Micros(now)); err != nil {
			return err
		}
		return fn(tx, a, now)
	})
}

// RenewSessionLock extends the session's lock by the entity's lock duration.
func (b *Broker) RenewSessionLock(ctx context.Context, s *Session) error {
	return b.withSession(ctx, s, func(tx store.Tx, a address, now time.Time) error {
		until := now.Add(time.Duration(a.Properties.LockDuration))
		if _, err := tx.Exec(ctx, "UPDATE broker_sessions SET locked_until = ? WHERE entity_id = ? AND session_id = ?", store.Micros(until), a.ID, s.ID); err != nil {
			return err
		}
		s.LockedUntil = until
		return nil
	})
}

// ReleaseSession gives the session lock up so another receiver can accept it.
func (b *Broker) ReleaseSession(ctx context.Context, s *Session) error {
	return b.withSession(ctx, s, func(tx store.Tx, a address, now time.Time) error {
		_, err := tx.Exec(ctx, "UPDATE broker_sessions SET lock_token = '', locked_until = 0 WHERE entity_id = ? AND session_id = ?", a.ID, s.ID)
		b.wake(tx, a.ID)
		return err
	})
}

// SessionState returns the session's state blob (nil when none was set).
func (b *Broker) SessionState(ctx context.Context, s *Session) ([]byte, error) {
	var state []byte
	err := b.withSession(ctx, s, func(tx store.Tx, a address, now time.Time) error {
		return tx.QueryRow(ctx, "SELECT state FROM broker_sessions WHERE entity_id = ? AND session_id = ?", a.ID, s.ID).Scan(&state)
	})
	return state, err
}

// SetSessionState stores the session's state blob; nil clears it.
func (b *Broker) SetSessionState(ctx context.Context, s *Session, state []byte) error {
	if len(state) > b.maxMsg {
		return errorf(KindTooLarge, "the session state of %d bytes is larger than the limit of %d bytes", len(state), b.maxMsg)
	}
	return b.withSession(ctx, s, func(tx store.Tx, a address, now time.Time) error {
		var v any
		if state != nil {
			v = state
		}
		_, err := tx.Exec(ctx, "UPDATE broker_sessions SET state = ? WHERE entity_id = ? AND session_id = ?", v, a.ID, s.ID)
		return err
	})
}

// MessageSessions lists the sessions of a session entity that have messages
// or a state, in session id order, skipping skip and returning at most top.
func (b *Broker) MessageSessions(ctx context.Context, path string, skip, top int) ([]string, error) {
	if top <= 0 || top > maxReceiveBatch {
		top = maxReceiveBatch
	}
	skip = max(skip, 0)
	var out []string
	err := b.s.Read(ctx, func(q store.Querier) error {
		out = out[:0]
		a, err := b.resolve(ctx, q, path)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT session_id FROM (
				SELECT DISTINCT session_id FROM broker_messages WHERE entity_id = ? AND dlq = 0 AND session_id <> ''
				UNION SELECT session_id FROM broker_sessions WHERE entity_id = ? AND state IS NOT NULL) s
			ORDER BY session_id LIMIT ? OFFSET ?`, a.ID, a.ID, top, skip)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", path, err)
	}
	return out, nil
}
