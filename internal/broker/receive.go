package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// ReceiveMode is how a receive takes messages.
type ReceiveMode int

// The receive modes.
const (
	// PeekLock locks messages for the entity's lock duration; the receiver
	// settles each one.
	PeekLock ReceiveMode = iota
	// ReceiveAndDelete removes messages as they are handed out.
	ReceiveAndDelete
)

// ReceiveOptions tune Receive.
type ReceiveOptions struct {
	Mode ReceiveMode
	// Max is the most messages to return (default 1, at most 1000).
	Max int
	// Wait is how long to wait for a first message (long poll); 0 returns at once.
	Wait time.Duration
	// Session receives from an accepted session; required on session entities.
	Session *Session
}

// row is a stored message with its properties decoded.
type row struct {
	storage.Message
	props stored
}

func decodeRow(m storage.Message) (row, error) {
	r := row{Message: m}
	if err := json.Unmarshal([]byte(m.Props), &r.props); err != nil {
		return r, fmt.Errorf("message %d: bad properties: %w", m.ID, err)
	}
	return r, nil
}

func decodeRows(ms []storage.Message, err error) ([]row, error) { return decodeAll(ms, err, decodeRow) }

func (r row) received(path string, now int64) (Received, error) {
	m, err := r.props.message(r.Body)
	if err != nil {
		return Received{}, err
	}
	out := Received{
		Message: m, Entity: path, SequenceNumber: r.ID, EnqueuedTime: store.FromMicros(r.EnqueuedAt),
		DeliveryCount: r.Deliveries, LockToken: r.LockToken, State: Active,
		DeadLetterSource: r.props.DLSource, DeadLetterReason: r.props.DLReason, DeadLetterErrorDescription: r.props.DLDescription,
		EnqueuedSequenceNumber: r.ID,
	}
	if r.ExpiresAt != never {
		out.ExpiresAt = store.FromMicros(r.ExpiresAt)
	}
	if r.LockedUntil > now {
		out.LockedUntil = store.FromMicros(r.LockedUntil)
	} else {
		out.LockToken = ""
	}
	switch {
	case r.Deferred:
		out.State = Deferred
	case r.VisibleAt > now:
		out.State = Scheduled
		out.ScheduledEnqueueTime = store.FromMicros(r.VisibleAt)
	}
	return out, nil
}

// Receive takes up to opts.Max messages from the entity at path (a queue, a
// subscription, or either's "/$deadletterqueue"), waiting up to opts.Wait for
// the first one. It returns no messages and no error when none came.
func (b *Broker) Receive(ctx context.Context, path string, opts ReceiveOptions) ([]Received, error) {
	if opts.Max <= 0 {
		opts.Max = 1
	}
	if opts.Max > maxReceiveBatch {
		opts.Max = maxReceiveBatch
	}
	var sub *store.Subscription
	deadline := time.Now().Add(opts.Wait)
	woken := false
	for {
		// After a wake-up, look on the read pool first: many receivers woken
		// by one send should not each take a write transaction to find
		// nothing.
		if !woken || opts.Session != nil || b.available(ctx, path) {
			got, channel, err := b.claim(ctx, path, opts)
			if err != nil || len(got) > 0 || opts.Wait <= 0 {
				if sub != nil {
					sub.Close()
				}
				return got, err
			}
			if sub == nil {
				// Subscribe, then look once more, so a send between the first
				// look and the subscription is not missed.
				sub = b.s.Listen(channel)
				continue
			}
		}
		woken = false
		left := time.Until(deadline)
		if left <= 0 {
			sub.Close()
			return nil, nil
		}
		t := time.NewTimer(left)
		select {
		case <-sub.C:
			woken = true
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			sub.Close()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

// available reports whether the entity at path may have a message to claim;
// errors say yes, so that the claim reports them.
func (b *Broker) available(ctx context.Context, path string) bool {
	found := true
	_ = b.s.Read(ctx, func(q storage.Reader) error {
		a, err := b.resolve(ctx, q, path)
		if err != nil || a.Properties.RequiresSession && !a.dlq {
			return err
		}
		ok, err := q.Available(ctx, a.ID, a.dlq, store.Micros(b.now()))
		if err == nil && !ok {
			found = false
		}
		return err
	})
	return found
}

func (b *Broker) claim(ctx context.Context, path string, opts ReceiveOptions) ([]Received, string, error) {
	var out []Received
	var channel string
	err := b.s.Tx(lockCtx(ctx, opts.Mode), func(tx storage.Tx) error {
		out = out[:0]
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		channel = channelOf(a.ID)
		if a.Kind == Topic {
			return errorf(KindBadRequest, "cannot receive from the topic '%s': receive from one of its subscriptions", path)
		}
		now := b.now()
		nowUS := store.Micros(now)
		sessionID := ""
		if a.Properties.RequiresSession && !a.dlq {
			if opts.Session == nil {
				return errorf(KindBadRequest, "the entity '%s' requires sessions: accept a session first", path)
			}
			if err := checkSession(ctx, tx, a.ID, opts.Session, nowUS); err != nil {
				return err
			}
			sessionID = opts.Session.ID
		}
		for len(out) < opts.Max {
			rows, err := decodeRows(tx.Claimable(ctx, a.ID, a.dlq, sessionID, nowUS, opts.Max-len(out)))
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				break
			}
			// The batch's locks (or deletes) are written together, in
			// one statement, before the next Claimable.
			var locks []storage.MessageLock
			var deletes []int64
			until := store.Micros(now.Add(time.Duration(a.Properties.LockDuration)))
			for _, r := range rows {
				if !a.dlq && r.ExpiresAt <= nowUS {
					if err := b.expire(ctx, tx, a.Entity, r, now); err != nil {
						return err
					}
					continue
				}
				if !a.dlq && r.Deliveries >= a.Properties.MaxDeliveryCount {
					if err := b.deadLetter(ctx, tx, a.Entity, r, reasonMaxDelivery, reasonMaxDeliveryDesc, nil, now); err != nil {
						return err
					}
					continue
				}
				r.Deliveries++
				if opts.Mode == ReceiveAndDelete {
					deletes = append(deletes, r.ID)
					r.LockToken, r.LockedUntil = "", 0
				} else {
					r.LockToken, r.LockedUntil = newLockToken(), until
					locks = append(locks, storage.MessageLock{ID: r.ID, Token: r.LockToken, Deliveries: r.Deliveries})
				}
				m, err := r.received(a.path(), nowUS)
				if err != nil {
					return err
				}
				out = append(out, m)
			}
			if err := tx.DeleteMessages(ctx, deletes); err != nil {
				return err
			}
			if err := tx.LockMessages(ctx, locks, until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, channel, fmt.Errorf("receive from %s: %w", path, err)
	}
	return out, channel, nil
}

// lockCtx relaxes a peek-lock receive's commit (storage.Relaxed): a claim
// lost in a power failure only means the message is delivered again, the
// at-least-once delivery Service Bus promises. A receive-and-delete is not
// relaxed: its message is gone once handed out.
func lockCtx(ctx context.Context, mode ReceiveMode) context.Context {
	if mode == PeekLock {
		return storage.Relaxed(ctx)
	}
	return ctx
}

// Release unlocks messages that were received (claimed) but never reached
// their receiver, such as those a front end prefetched for a link that
// closed: they can be received at once, and the delivery is not counted.
// Tokens no message holds any more are skipped. The commit is relaxed (see
// lockCtx): a release lost in a power failure leaves the lock to expire.
func (b *Broker) Release(ctx context.Context, path string, lockTokens ...string) error {
	if len(lockTokens) == 0 {
		return nil
	}
	err := b.s.Tx(storage.Relaxed(ctx), func(tx storage.Tx) error {
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		released := false
		for _, t := range lockTokens {
			ok, err := tx.ReleaseLock(ctx, a.ID, a.dlq, t)
			if err != nil {
				return err
			}
			released = released || ok
		}
		if released {
			b.wake(tx, a.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release messages in %s: %w", path, err)
	}
	return nil
}

// expire handles a message whose time to live has passed.
func (b *Broker) expire(ctx context.Context, tx storage.Tx, e Entity, r row, now time.Time) error {
	if e.Properties.DeadLetteringOnMessageExpiration {
		return b.deadLetter(ctx, tx, e, r, reasonTTLExpired, reasonTTLExpiredDesc, nil, now)
	}
	return tx.DeleteMessage(ctx, r.ID)
}

// deadLetter moves a message to its entity's dead-letter queue, or forwards it
// where ForwardDeadLetteredMessagesTo says.
func (b *Broker) deadLetter(ctx context.Context, tx storage.Tx, e Entity, r row, reason, desc string, props map[string]any, now time.Time) error {
	r.props.DLReason, r.props.DLDescription = reason, desc
	if props != nil {
		if err := mergeProps(&r.props, props); err != nil {
			return err
		}
	}
	if target := e.Properties.ForwardDeadLetteredMessagesTo; target != "" {
		t, err := loadEntity(ctx, tx, target)
		if err == nil && r.props.Hops < MaxTransferHops {
			m, err := r.props.message(r.Body)
			if err != nil {
				return err
			}
			m.ScheduledEnqueueTime = time.Time{}
			m.deadLetter = &deadLetterInfo{source: e.Path, reason: reason, desc: desc}
			if err := tx.DeleteMessage(ctx, r.ID); err != nil {
				return err
			}
			_, err = b.enqueue(ctx, tx, t, &m, r.props.Hops+1, now)
			return err
		}
	}
	propsJSON, _ := json.Marshal(r.props)
	return tx.DeadLetterMessage(ctx, r.ID, string(propsJSON))
}

func mergeProps(st *stored, props map[string]any) error {
	cur, err := decodeProps(st.Props)
	if err != nil {
		return err
	}
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range props {
		cur[k] = v
	}
	m := Message{Properties: cur}
	// Reuse the size and type checks of a send.
	if err := (&Broker{maxMsg: DefaultMaxMessageSize}).validate(&m); err != nil {
		return err
	}
	st.Props, err = encodeProps(m.Properties)
	return err
}

// Settle operations.
type settleOp int

const (
	opComplete settleOp = iota
	opAbandon
	opDeadLetter
	opDefer
	opRenew
)

// Settlement names a locked message and how to settle it.
type Settlement struct {
	LockToken string
	// SequenceNumber, when non-zero, must be the locked message's.
	SequenceNumber int64
	// MessageID, when set, must be the locked message's.
	MessageID string
	// Ref, when set, must be the locked message's sequence number or message
	// id (the REST API's {messageId or seq} path segment).
	Ref string
	// Properties are merged into the message's application properties
	// (abandon, dead-letter and defer).
	Properties map[string]any
	// Reason and Description are the dead-letter reason and description.
	Reason, Description string
}

// Complete removes a locked message.
func (b *Broker) Complete(ctx context.Context, path string, s Settlement) error {
	_, err := b.settle(ctx, path, s, opComplete)
	return err
}

// Abandon releases a message's lock so it can be received again; its
// delivery count already counts this delivery, and a message that reached the
// entity's MaxDeliveryCount goes to the dead-letter queue.
func (b *Broker) Abandon(ctx context.Context, path string, s Settlement) error {
	_, err := b.settle(ctx, path, s, opAbandon)
	return err
}

// DeadLetter moves a locked message to the dead-letter queue with a reason and
// description.
func (b *Broker) DeadLetter(ctx context.Context, path string, s Settlement) error {
	_, err := b.settle(ctx, path, s, opDeadLetter)
	return err
}

// Defer sets a locked message aside; it can then be received only by its
// sequence number (ReceiveDeferred).
func (b *Broker) Defer(ctx context.Context, path string, s Settlement) error {
	_, err := b.settle(ctx, path, s, opDefer)
	return err
}

// RenewLock extends a message's lock by the entity's lock duration.
func (b *Broker) RenewLock(ctx context.Context, path string, s Settlement) (time.Time, error) {
	return b.settle(ctx, path, s, opRenew)
}

// SettleOp names a settlement for SettleBatch.
type SettleOp string

// Settlement operations for SettleBatch.
const (
	SettleComplete   SettleOp = "complete"
	SettleAbandon    SettleOp = "abandon"
	SettleDeadLetter SettleOp = "deadLetter"
	SettleDefer      SettleOp = "defer"
	SettleRenew      SettleOp = "renew"
)

// Settle applies op to one message.
func (b *Broker) Settle(ctx context.Context, path string, op SettleOp, s Settlement) (time.Time, error) {
	switch op {
	case SettleComplete:
		return b.settle(ctx, path, s, opComplete)
	case SettleAbandon:
		return b.settle(ctx, path, s, opAbandon)
	case SettleDeadLetter:
		return b.settle(ctx, path, s, opDeadLetter)
	case SettleDefer:
		return b.settle(ctx, path, s, opDefer)
	case SettleRenew:
		return b.settle(ctx, path, s, opRenew)
	}
	return time.Time{}, errorf(KindBadRequest, "unknown settlement %q: use complete, abandon, deadLetter, defer or renew", op)
}

var errLockLost = "the lock supplied is invalid: either the lock expired, or the message has already been removed from the queue"

func (b *Broker) settle(ctx context.Context, path string, s Settlement, op settleOp) (time.Time, error) {
	if err := b.checkSettlement(s); err != nil {
		return time.Time{}, err
	}
	results, err := b.settleGrouped(ctx, path, []SettleItem{{Settlement: s}}, []settleOp{op})
	if err == nil {
		err = results[0].Err
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("settle message in %s: %w", path, err)
	}
	return results[0].LockedUntil, nil
}

func (b *Broker) checkSettlement(s Settlement) error {
	if s.LockToken == "" {
		return errorf(KindBadRequest, "a lock token is required")
	}
	if s.Properties != nil {
		m := Message{Properties: s.Properties}
		if err := b.validate(&m); err != nil {
			return err
		}
	}
	return nil
}

// settleIn settles one message inside tx. itemErr reports a problem with this
// settlement found before anything was written (a lost lock); err is a
// failure that must roll the transaction back.
func (b *Broker) settleIn(ctx context.Context, tx storage.Tx, a address, s Settlement, op settleOp, now time.Time) (until time.Time, itemErr, err error) {
	nowUS := store.Micros(now)
	lost := errorf(KindLockLost, "%s", errLockLost)
	if op == opComplete {
		found, err := tx.Complete(ctx, storage.Completion{LockToken: s.LockToken, Now: nowUS, EntityID: a.ID, DLQ: a.dlq,
			Seq: s.SequenceNumber, MessageID: s.MessageID, Ref: s.Ref})
		if err != nil {
			return until, nil, err
		}
		if !found {
			return until, lost, nil
		}
		return until, nil, nil
	}
	m, err := tx.MessageByLock(ctx, s.LockToken)
	if errors.Is(err, storage.ErrNotFound) {
		return until, lost, nil
	}
	if err != nil {
		return until, nil, err
	}
	r, err := decodeRow(m)
	if err != nil {
		return until, nil, err
	}
	if r.LockedUntil <= nowUS || r.EntityID != a.ID || r.DLQ != a.dlq {
		return until, lost, nil
	}
	if (s.SequenceNumber != 0 && s.SequenceNumber != r.ID) || (s.MessageID != "" && s.MessageID != r.props.MessageID) ||
		(s.Ref != "" && s.Ref != strconv.FormatInt(r.ID, 10) && s.Ref != r.props.MessageID) {
		return until, lost, nil
	}
	if a.Properties.RequiresSession && !a.dlq && r.props.SessionID != "" {
		l, err := tx.SessionLock(ctx, a.ID, r.props.SessionID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && l.Until <= nowUS) {
			return time.Time{}, errorf(KindSessionLockLost, "the session lock for '%s' was lost: it expired or was released", r.props.SessionID), nil
		}
		if err != nil {
			return time.Time{}, nil, err
		}
	}
	if op == opDeadLetter && a.dlq {
		return until, errorf(KindBadRequest, "a message in a dead-letter queue cannot be dead-lettered again"), nil
	}
	if s.Properties != nil && op != opComplete && op != opRenew {
		if err := mergeProps(&r.props, s.Properties); err != nil {
			return until, err, nil
		}
	}
	switch op {
	case opRenew:
		until = now.Add(time.Duration(a.Properties.LockDuration))
		err = tx.RenewMessageLock(ctx, r.ID, store.Micros(until))
	case opAbandon:
		if !a.dlq && !r.Deferred && r.Deliveries >= a.Properties.MaxDeliveryCount {
			return until, nil, b.deadLetter(ctx, tx, a.Entity, r, reasonMaxDelivery, reasonMaxDeliveryDesc, nil, now)
		}
		propsJSON, _ := json.Marshal(r.props)
		err = tx.UnlockMessage(ctx, r.ID, string(propsJSON))
		b.wake(tx, a.ID)
	case opDefer:
		propsJSON, _ := json.Marshal(r.props)
		err = tx.DeferMessage(ctx, r.ID, string(propsJSON))
	case opDeadLetter:
		return until, nil, b.deadLetter(ctx, tx, a.Entity, r, s.Reason, s.Description, nil, now)
	}
	return until, nil, err
}

// SettleItem is one settlement of SettleBatch.
type SettleItem struct {
	Op SettleOp
	Settlement
}

// SettleResult is the outcome of one SettleItem.
type SettleResult struct {
	LockedUntil time.Time // after a renew
	Err         error     // this item failed; the others were applied
}

// SettleBatch applies many settlements on one entity in one transaction (one
// commit, shared with other callers' settlements). An item whose lock was
// lost fails alone; the error return is for failures that applied nothing.
func (b *Broker) SettleBatch(ctx context.Context, path string, items []SettleItem) ([]SettleResult, error) {
	ops := make([]settleOp, len(items))
	for i, it := range items {
		switch it.Op {
		case SettleComplete:
			ops[i] = opComplete
		case SettleAbandon:
			ops[i] = opAbandon
		case SettleDeadLetter:
			ops[i] = opDeadLetter
		case SettleDefer:
			ops[i] = opDefer
		case SettleRenew:
			ops[i] = opRenew
		default:
			return nil, errorf(KindBadRequest, "settlement %d: unknown operation %q: use complete, abandon, deadLetter, defer or renew", i, it.Op)
		}
	}
	results, err := b.settleGrouped(ctx, path, items, ops)
	if err != nil {
		return nil, fmt.Errorf("settle messages in %s: %w", path, err)
	}
	return results, nil
}

// ReceiveDeferred locks (or, in ReceiveAndDelete mode, removes) deferred
// messages by sequence number. Every number must name a deferred message.
func (b *Broker) ReceiveDeferred(ctx context.Context, path string, mode ReceiveMode, seqs ...int64) ([]Received, error) {
	var out []Received
	err := b.s.Tx(lockCtx(ctx, mode), func(tx storage.Tx) error {
		out = out[:0]
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		now := b.now()
		nowUS := store.Micros(now)
		for _, seq := range seqs {
			sm, err := tx.MessageByID(ctx, seq)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err != nil || sm.EntityID != a.ID || sm.DLQ != a.dlq || !sm.Deferred {
				return errorf(KindMessageNotFound, "no deferred message with sequence number %d in '%s'", seq, path)
			}
			r, err := decodeRow(sm)
			if err != nil {
				return err
			}
			if r.LockedUntil > nowUS {
				return errorf(KindMessageNotFound, "the deferred message %d is locked by another receiver", seq)
			}
			r.Deliveries++
			if mode == ReceiveAndDelete {
				err = tx.DeleteMessage(ctx, r.ID)
				r.LockToken, r.LockedUntil = "", 0
			} else {
				r.LockToken = newLockToken()
				r.LockedUntil = store.Micros(now.Add(time.Duration(a.Properties.LockDuration)))
				err = tx.LockMessage(ctx, r.ID, r.LockToken, r.LockedUntil, r.Deliveries)
			}
			if err != nil {
				return err
			}
			m, err := r.received(a.path(), nowUS)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("receive deferred from %s: %w", path, err)
	}
	return out, nil
}

// Peek browses messages from sequence number from on, without locking them:
// active, locked, deferred and scheduled ones alike.
func (b *Broker) Peek(ctx context.Context, path string, from int64, max int) ([]Received, error) {
	if max <= 0 {
		max = 1
	}
	if max > maxReceiveBatch {
		max = maxReceiveBatch
	}
	var out []Received
	err := b.s.Read(ctx, func(q storage.Reader) error {
		a, err := b.resolve(ctx, q, path)
		if err != nil {
			return err
		}
		if a.Kind == Topic {
			return errorf(KindBadRequest, "cannot peek the topic '%s': peek one of its subscriptions", path)
		}
		rows, err := decodeRows(q.Peek(ctx, a.ID, a.dlq, from, max))
		if err != nil {
			return err
		}
		now := store.Micros(b.now())
		for _, r := range rows {
			m, err := r.received(a.path(), now)
			if err != nil {
				return err
			}
			m.LockToken = ""
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", path, err)
	}
	return out, nil
}

// PurgeDeadLetters deletes every message in the dead-letter queue of the entity
// at path and returns how many there were.
func (b *Broker) PurgeDeadLetters(ctx context.Context, path string) (int64, error) {
	var n int64
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		p, _ := splitDLQ(path)
		e, err := loadEntity(ctx, tx, p)
		if err != nil {
			return err
		}
		n, err = tx.PurgeDeadLetters(ctx, e.ID)
		return err
	})
	return n, err
}

// Resubmit moves dead-lettered messages back into the entity they were
// dead-lettered from, as new messages with fresh sequence numbers and the
// dead-letter properties removed. With no sequence numbers it moves them all.
// It returns how many moved.
func (b *Broker) Resubmit(ctx context.Context, path string, seqs ...int64) (int, error) {
	var n int
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		n = 0
		p, _ := splitDLQ(path)
		e, err := loadEntity(ctx, tx, p)
		if err != nil {
			return err
		}
		if e.Kind == Topic {
			return errorf(KindBadRequest, "a topic has no dead-letter queue: use one of its subscriptions")
		}
		rows, err := decodeRows(tx.DeadLetters(ctx, e.ID, seqs))
		if err != nil {
			return err
		}
		if len(seqs) > 0 && len(rows) != len(uniq(seqs)) {
			return errorf(KindMessageNotFound, "some of the sequence numbers are not in the dead-letter queue of '%s'", e.Path)
		}
		now := b.now()
		for _, r := range rows {
			m, err := r.props.message(r.Body)
			if err != nil {
				return err
			}
			if err := tx.DeleteMessage(ctx, r.ID); err != nil {
				return err
			}
			if _, err := b.insert(ctx, tx, e, &m, insertOpts{}, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func uniq(s []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}
