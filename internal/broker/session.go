package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"junction/internal/broker/storage"
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
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
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
			next, err := tx.NextSession(ctx, a.ID, nowUS)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			id = next
		} else {
			if err := tx.EnsureSession(ctx, a.ID, id); err != nil {
				return err
			}
			l, err := tx.ReserveSession(ctx, a.ID, id)
			if err != nil {
				return err
			}
			if l.Until > nowUS {
				return errorf(KindSessionCannotBeLocked, "the session '%s' is locked by another receiver", id)
			}
		}
		s := &Session{Entity: a.Path, ID: id, LockToken: newLockToken(), LockedUntil: now.Add(time.Duration(a.Properties.LockDuration))}
		locked, err := tx.LockSession(ctx, a.ID, id, s.LockToken, store.Micros(s.LockedUntil), nowUS)
		if err != nil {
			return err
		}
		if !locked {
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

func checkSession(ctx context.Context, q storage.Reader, entityID int64, s *Session, now int64) error {
	l, err := q.SessionLock(ctx, entityID, s.ID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (l.Token != s.LockToken || l.Until <= now)) {
		return errorf(KindSessionLockLost, "the session lock for '%s' was lost: it expired or another receiver holds it", s.ID)
	}
	return err
}

func (b *Broker) withSession(ctx context.Context, s *Session, fn func(tx storage.Tx, a address, now time.Time) error) error {
	return b.s.Tx(ctx, func(tx storage.Tx) error {
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
	return b.withSession(ctx, s, func(tx storage.Tx, a address, now time.Time) error {
		until := now.Add(time.Duration(a.Properties.LockDuration))
		if err := tx.RenewSessionLock(ctx, a.ID, s.ID, store.Micros(until)); err != nil {
			return err
		}
		s.LockedUntil = until
		return nil
	})
}

// ReleaseSession gives the session lock up so another receiver can accept it.
func (b *Broker) ReleaseSession(ctx context.Context, s *Session) error {
	return b.withSession(ctx, s, func(tx storage.Tx, a address, now time.Time) error {
		err := tx.ReleaseSession(ctx, a.ID, s.ID)
		b.wake(tx, a.ID)
		return err
	})
}

// SessionState returns the session's state blob (nil when none was set).
func (b *Broker) SessionState(ctx context.Context, s *Session) ([]byte, error) {
	var state []byte
	err := b.withSession(ctx, s, func(tx storage.Tx, a address, now time.Time) error {
		var err error
		state, err = tx.SessionState(ctx, a.ID, s.ID)
		return err
	})
	return state, err
}

// SetSessionState stores the session's state blob; nil clears it.
func (b *Broker) SetSessionState(ctx context.Context, s *Session, state []byte) error {
	if len(state) > b.maxMsg {
		return errorf(KindTooLarge, "the session state of %d bytes is larger than the limit of %d bytes", len(state), b.maxMsg)
	}
	return b.withSession(ctx, s, func(tx storage.Tx, a address, now time.Time) error {
		return tx.SetSessionState(ctx, a.ID, s.ID, state)
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
	err := b.s.Read(ctx, func(q storage.Reader) error {
		a, err := b.resolve(ctx, q, path)
		if err != nil {
			return err
		}
		out, err = q.MessageSessions(ctx, a.ID, skip, top)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", path, err)
	}
	return out, nil
}
