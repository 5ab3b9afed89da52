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

const never = storage.Never

func channelOf(entityID int64) string { return notifyPrefix + strconv.FormatInt(entityID, 10) }

// Send enqueues msgs on the queue or topic at path, in one transaction, and
// returns once they are durably committed. It returns each message's sequence
// number (0 for a duplicate that was dropped, or a topic message no
// subscription took). A send known from the entity cache to be one insert
// (see oneInsert) is written together with other callers' such sends (see
// sendGrouped).
func (b *Broker) Send(ctx context.Context, path string, msgs ...Message) ([]int64, error) {
	if len(msgs) == 0 {
		return nil, errorf(KindBadRequest, "no messages to send")
	}
	for i := range msgs {
		if err := b.validate(&msgs[i]); err != nil {
			if len(msgs) > 1 {
				return nil, &Error{Kind: KindOf(err), Message: fmt.Sprintf("message %d: %s", i, err.Error())}
			}
			return nil, err
		}
	}
	seqs := make([]int64, len(msgs))
	var err error
	if a, ok := b.oneInsert(path, msgs); ok {
		if err = fits(a, &msgs[0]); err == nil {
			seqs[0], err = b.sendGrouped(ctx, a, &msgs[0])
		}
	} else {
		err = b.s.Tx(ctx, func(tx storage.Tx) error { return b.sendIn(ctx, tx, path, msgs, seqs, b.now()) })
	}
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", path, err)
	}
	return seqs, nil
}

// oneInsert returns the queue at path when sending msgs there is known
// beforehand, with no statement run, to be one insert and nothing else:
// one message (a batch is an insert per message), to a queue in the entity
// cache (an entity deleted meanwhile gets no message: the insert finds it
// gone) that puts it straight in (direct).
func (b *Broker) oneInsert(path string, msgs []Message) (address, bool) {
	if len(msgs) != 1 {
		return address{}, false
	}
	p, dlq := splitDLQ(path)
	if dlq {
		return address{}, false
	}
	e, ok := b.cachedEntity(p)
	if !ok || e.Kind != Queue || !direct(e, &msgs[0]) {
		return address{}, false
	}
	return address{Entity: e}, true
}

// direct reports whether putting m on e is one insert into e and nothing
// else: no duplicate detection of it, no fan-out, no forward, no session.
func direct(e Entity, m *Message) bool {
	return e.Kind != Topic && e.Properties.ForwardTo == "" && !e.Properties.RequiresSession &&
		!(e.Kind != Subscription && e.Properties.RequiresDuplicateDetection && m.MessageID != "")
}

// sendIn enqueues validated msgs on the queue or topic at path inside tx,
// writing each one's sequence number to seqs.
func (b *Broker) sendIn(ctx context.Context, tx storage.Tx, path string, msgs []Message, seqs []int64, now time.Time) error {
	a, err := b.resolve(ctx, tx, path)
	if err != nil {
		return err
	}
	return b.sendTo(ctx, tx, a, path, msgs, seqs, now)
}

// sendTo enqueues validated msgs on a, the queue or topic at path.
func (b *Broker) sendTo(ctx context.Context, tx storage.Tx, a address, path string, msgs []Message, seqs []int64, now time.Time) error {
	if a.dlq || a.Kind == Subscription {
		return errorf(KindBadRequest, "cannot send to '%s': send to a queue or a topic", path)
	}
	for i := range msgs {
		if err := fits(a, &msgs[i]); err != nil {
			return err
		}
		seq, err := b.enqueue(ctx, tx, a.Entity, &msgs[i], 0, now)
		if err != nil {
			return err
		}
		seqs[i] = seq
	}
	return nil
}

// fits refuses m when its body is larger than a's limit.
func fits(a address, m *Message) error {
	if total := len(m.Body); total > a.Properties.MaxMessageSizeInKilobytes*1024 {
		return errorf(KindTooLarge, "the message body of %d bytes is larger than the entity's limit of %d KB", total, a.Properties.MaxMessageSizeInKilobytes)
	}
	return nil
}

// enqueue puts m on entity e (a queue, topic or subscription), following
// forwarding and topic rules. hops counts auto-forward transfers so far.
func (b *Broker) enqueue(ctx context.Context, tx storage.Tx, e Entity, m *Message, hops int, now time.Time) (int64, error) {
	if direct(e, m) {
		return b.insert(ctx, tx, e, m, insertOpts{hops: hops}, now)
	}
	if e.Kind != Subscription && e.Properties.RequiresDuplicateDetection && m.MessageID != "" {
		dup, err := duplicate(ctx, tx, e, m.MessageID, now)
		if err != nil || dup {
			return 0, err
		}
	}
	if e.Kind == Queue && e.Properties.RequiresSession && m.SessionID == "" {
		return 0, errorf(KindBadRequest, "the queue '%s' requires sessions: the message must have a SessionId", e.Path)
	}
	if e.Kind == Topic {
		return b.fanOut(ctx, tx, e, m, hops, now)
	}
	if e.Properties.ForwardTo != "" {
		if hops >= MaxTransferHops {
			return b.insert(ctx, tx, e, m, insertOpts{dlq: true, hops: hops, reason: reasonHopCount, desc: reasonHopCountDesc}, now)
		}
		target, err := b.entityCached(ctx, tx, e.Properties.ForwardTo)
		if err != nil {
			// The target was deleted after the forward was set up: keep the
			// message here rather than lose it.
			return b.insert(ctx, tx, e, m, insertOpts{hops: hops}, now)
		}
		return b.enqueue(ctx, tx, target, m, hops+1, now)
	}
	if e.Properties.RequiresSession && m.SessionID == "" {
		return b.insert(ctx, tx, e, m, insertOpts{dlq: true, hops: hops, reason: reasonSessionIDMissing, desc: "The subscription requires sessions and the message has no SessionId."}, now)
	}
	return b.insert(ctx, tx, e, m, insertOpts{hops: hops}, now)
}

// duplicate records messageID in e's detection history and reports whether it
// was already there within the window.
func duplicate(ctx context.Context, tx storage.Tx, e Entity, messageID string, now time.Time) (bool, error) {
	until := store.Micros(now.Add(time.Duration(e.Properties.DuplicateDetectionHistoryTimeWindow)))
	return tx.Dedupe(ctx, e.ID, messageID, until, store.Micros(now))
}

type insertOpts struct {
	dlq          bool
	hops         int
	reason, desc string
	source       string
	origin       int64
	deliveries   int
}

func (b *Broker) insert(ctx context.Context, tx storage.Tx, e Entity, m *Message, o insertOpts, now time.Time) (int64, error) {
	sm, err := b.stored(e, m, o, now)
	if err != nil {
		return 0, err
	}
	if e.Properties.RequiresSession && !o.dlq {
		if err := tx.EnsureSession(ctx, e.ID, sm.SessionID); err != nil {
			return 0, err
		}
	}
	// The entity may come from the cache: the storage inserts only if it
	// still exists, so that an entity deleted by another node gets no
	// orphan messages.
	id, err := tx.InsertMessage(ctx, sm)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, b.entityGone(e)
	}
	if err != nil {
		return 0, err
	}
	b.inserted(tx, e, sm, o, now)
	return id, nil
}

// stored is m as the storage keeps it on e.
func (b *Broker) stored(e Entity, m *Message, o insertOpts, now time.Time) (storage.Message, error) {
	st, err := m.toStored()
	if err != nil {
		return storage.Message{}, err
	}
	st.Hops = o.hops
	if o.dlq {
		st.DLReason, st.DLDescription, st.DLSource = o.reason, o.desc, o.source
	} else if d := m.deadLetter; d != nil {
		st.DLReason, st.DLDescription, st.DLSource = d.reason, d.desc, d.source
	}
	propsJSON, err := json.Marshal(st)
	if err != nil {
		return storage.Message{}, err
	}
	visible := now
	if !m.ScheduledEnqueueTime.IsZero() && m.ScheduledEnqueueTime.After(now) && !o.dlq {
		visible = m.ScheduledEnqueueTime
	}
	expires := int64(never)
	if !o.dlq {
		ttl := time.Duration(e.Properties.DefaultMessageTimeToLive)
		if m.TimeToLive > 0 && m.TimeToLive < ttl {
			ttl = m.TimeToLive
		}
		if ttl < MaxTTL && visible.Add(ttl).After(visible) {
			expires = store.Micros(visible.Add(ttl))
		}
	}
	sessionCol := ""
	if e.Properties.RequiresSession && !o.dlq {
		sessionCol = m.SessionID
	}
	return storage.Message{
		EntityID: e.ID, DLQ: o.dlq, VisibleAt: store.Micros(visible), EnqueuedAt: store.Micros(visible), ExpiresAt: expires,
		Origin: o.origin, MessageID: m.MessageID, SessionID: sessionCol, Size: int64(len(m.Body) + len(propsJSON)),
		Deliveries: o.deliveries, Props: string(propsJSON), Body: m.Body,
	}, nil
}

// inserted wakes e's receivers once sm, just inserted, commits (or when it
// becomes due) and counts its arrival.
func (b *Broker) inserted(tx storage.Tx, e Entity, sm storage.Message, o insertOpts, now time.Time) {
	if visible := store.FromMicros(sm.VisibleAt); visible.After(now) {
		tx.AfterCommit(func() { b.wakeAt(visible, e.ID) })
	} else {
		b.wake(tx, e.ID)
	}
	if !o.dlq {
		n := b.arrived.counter(e.Path)
		tx.AfterCommit(func() { n.Add(1) })
	}
}

// entityGone forgets the cached entities, e among them, and answers that e
// is not found.
func (b *Broker) entityGone(e Entity) error {
	b.entities.Clear()
	return errorf(KindEntityNotFound, "the messaging entity '%s' could not be found", e.Path)
}

// fanOut copies m into every subscription of topic t whose rules match.
func (b *Broker) fanOut(ctx context.Context, tx storage.Tx, t Entity, m *Message, hops int, now time.Time) (int64, error) {
	subs, err := b.subscriptionRules(ctx, tx, t.ID)
	if err != nil {
		return 0, err
	}
	var first int64
	for _, s := range subs {
		for _, c := range matchRules(s.rules, m) {
			c := c
			c.TimeToLive = m.TimeToLive
			if c.TimeToLive == 0 || time.Duration(t.Properties.DefaultMessageTimeToLive) < c.TimeToLive {
				if time.Duration(t.Properties.DefaultMessageTimeToLive) < MaxTTL {
					c.TimeToLive = time.Duration(t.Properties.DefaultMessageTimeToLive)
				}
			}
			var seq int64
			if s.entity.Properties.ForwardTo != "" || (s.entity.Properties.RequiresSession && c.SessionID == "") {
				seq, err = b.enqueue(ctx, tx, s.entity, &c, hops, now)
			} else {
				seq, err = b.insert(ctx, tx, s.entity, &c, insertOpts{hops: hops, origin: first}, now)
			}
			if err != nil {
				return 0, err
			}
			if first == 0 {
				first = seq
			}
		}
	}
	return first, nil
}

type subRules struct {
	entity Entity
	rules  []Rule
}

func (b *Broker) subscriptionRules(ctx context.Context, q storage.Reader, topicID int64) ([]subRules, error) {
	entities, err := entitiesOf(q.Subscriptions(ctx, topicID))
	if err != nil || len(entities) == 0 {
		return nil, err
	}
	subs := make([]subRules, len(entities))
	index := map[int64]int{}
	for i, e := range entities {
		index[e.ID] = i
		subs[i] = subRules{entity: e}
	}
	rules, err := q.TopicRules(ctx, topicID)
	if err != nil {
		return nil, err
	}
	for _, sr := range rules {
		r, err := b.rules.rule(sr.Name, sr.Spec)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", sr.Name, err)
		}
		if i, ok := index[sr.EntityID]; ok {
			subs[i].rules = append(subs[i].rules, r)
		}
	}
	return subs, nil
}

// CancelScheduled removes scheduled messages that are not yet due, by the
// sequence numbers Send returned.
func (b *Broker) CancelScheduled(ctx context.Context, path string, seqs ...int64) error {
	return b.s.Tx(ctx, func(tx storage.Tx) error {
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		if a.dlq || a.Kind == Subscription {
			return errorf(KindBadRequest, "scheduled messages are cancelled on the queue or topic they were sent to")
		}
		now := store.Micros(b.now())
		for _, seq := range seqs {
			n, err := tx.CancelScheduled(ctx, a.ID, a.Kind == Topic, seq, now)
			if err != nil {
				return err
			}
			if n == 0 {
				return errorf(KindMessageNotFound, "no scheduled message with sequence number %d in '%s'", seq, path)
			}
		}
		return nil
	})
}

// SendJoined validates msgs for the queue or topic at path and returns the
// write that enqueues them inside a transaction of st, the store the
// broker's messages are kept in, so that the send commits with the caller's
// own writes (a workflow action's record): both or neither. The write may
// run more than once, as the store's transactions may; it returns each
// message's sequence number, as Send does. ok is false when the broker's
// messages are not kept in st: then the caller sends with Send.
func (b *Broker) SendJoined(ctx context.Context, st store.Store, path string, msgs ...Message) (write func(context.Context, store.Tx) ([]int64, error), ok bool, err error) {
	d, joins := b.s.(interface {
		Store() store.Store
		Join(store.Tx) storage.Tx
	})
	if !joins || d.Store() != st {
		return nil, false, nil
	}
	if len(msgs) == 0 {
		return nil, true, errorf(KindBadRequest, "no messages to send")
	}
	for i := range msgs {
		if err := b.validate(&msgs[i]); err != nil {
			return nil, true, err
		}
	}
	// The entity is looked up now (in the cache when it is there), so that
	// a send to a missing one fails the caller's step before its
	// transaction.
	p, dlq := splitDLQ(path)
	e, cached := b.cachedEntity(p)
	if !cached {
		err = b.s.Read(ctx, func(r storage.Reader) error {
			var err error
			e, err = b.entityCached(ctx, r, p)
			return err
		})
		if KindOf(err) == KindEntityNotFound {
			err = errorf(KindEntityNotFound, "the messaging entity '%s' could not be found", path)
		}
		if err != nil {
			return nil, true, err
		}
	}
	if dlq || e.Kind == Subscription {
		return nil, true, errorf(KindBadRequest, "cannot send to '%s': send to a queue or a topic", path)
	}
	return func(ctx context.Context, tx store.Tx) ([]int64, error) {
		seqs := make([]int64, len(msgs))
		if err := b.sendIn(ctx, d.Join(tx), path, msgs, seqs, b.now()); err != nil {
			return nil, fmt.Errorf("send to %s: %w", path, err)
		}
		return seqs, nil
	}, true, nil
}
