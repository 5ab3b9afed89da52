package broker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"junction/internal/store"
)

const never = math.MaxInt64

func channelOf(entityID int64) string { return notifyPrefix + strconv.FormatInt(entityID, 10) }

// Send enqueues msgs on the queue or topic at path, in one transaction, and
// returns once they are durably committed. It returns each message's sequence
// number (0 for a duplicate that was dropped, or a topic message no
// subscription took).
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
	err := b.s.Tx(ctx, func(tx store.Tx) error {
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		if a.dlq || a.Kind == Subscription {
			return errorf(KindBadRequest, "cannot send to '%s': send to a queue or a topic", path)
		}
		now := b.now()
		for i := range msgs {
			total := len(msgs[i].Body)
			if total > a.Properties.MaxMessageSizeInKilobytes*1024 {
				return errorf(KindTooLarge, "the message body of %d bytes is larger than the entity's limit of %d KB", total, a.Properties.MaxMessageSizeInKilobytes)
			}
			seq, err := b.enqueue(ctx, tx, a.Entity, &msgs[i], 0, now)
			if err != nil {
				return err
			}
			seqs[i] = seq
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", path, err)
	}
	return seqs, nil
}

// enqueue puts m on entity e (a queue, topic or subscription), following
// forwarding and topic rules. hops counts auto-forward transfers so far.
func (b *Broker) enqueue(ctx context.Context, tx store.Tx, e Entity, m *Message, hops int, now time.Time) (int64, error) {
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
func duplicate(ctx context.Context, tx store.Tx, e Entity, messageID string, now time.Time) (bool, error) {
	until := store.Micros(now.Add(time.Duration(e.Properties.DuplicateDetectionHistoryTimeWindow)))
	rows, err := tx.Query(ctx, `INSERT INTO broker_dedupe (entity_id, message_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (entity_id, message_id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE broker_dedupe.expires_at <= ? RETURNING expires_at`, e.ID, messageID, until, store.Micros(now))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	fresh := rows.Next()
	return !fresh, rows.Err()
}

type insertOpts struct {
	dlq          bool
	hops         int
	reason, desc string
	source       string
	origin       int64
	deliveries   int
}

func (b *Broker) insert(ctx context.Context, tx store.Tx, e Entity, m *Message, o insertOpts, now time.Time) (int64, error) {
	st, err := m.toStored()
	if err != nil {
		return 0, err
	}
	st.Hops = o.hops
	if o.dlq {
		st.DLReason, st.DLDescription, st.DLSource = o.reason, o.desc, o.source
	} else if d := m.deadLetter; d != nil {
		st.DLReason, st.DLDescription, st.DLSource = d.reason, d.desc, d.source
	}
	propsJSON, err := json.Marshal(st)
	if err != nil {
		return 0, err
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
		if _, err := tx.Exec(ctx, `INSERT INTO broker_sessions (entity_id, session_id) VALUES (?, ?) ON CONFLICT (entity_id, session_id) DO NOTHING`, e.ID, sessionCol); err != nil {
			return 0, err
		}
	}
	dlq := 0
	if o.dlq {
		dlq = 1
	}
	var id int64
	// The entity may come from the cache: insert only if it still exists, so
	// that an entity deleted by another node gets no orphan messages.
	err = tx.QueryRow(ctx, `INSERT INTO broker_messages (entity_id, dlq, state, visible_at, enqueued_at, expires_at, origin, message_id, session_id, size, delivery_count, props, body)
		SELECT id, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM broker_entities WHERE id = ? RETURNING id`,
		dlq, store.Micros(visible), store.Micros(visible), expires, o.origin, m.MessageID, sessionCol,
		int64(len(m.Body)+len(propsJSON)), o.deliveries, string(propsJSON), nonNil(m.Body), e.ID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		b.entities.Clear()
		return 0, errorf(KindEntityNotFound, "the messaging entity '%s' could not be found", e.Path)
	}
	if err != nil {
		return 0, err
	}
	if !visible.After(now) {
		b.wake(tx, e.ID)
	} else {
		tx.AfterCommit(func() { b.wakeAt(visible, e.ID) })
	}
	return id, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// fanOut copies m into every subscription of topic t whose rules match.
func (b *Broker) fanOut(ctx context.Context, tx store.Tx, t Entity, m *Message, hops int, now time.Time) (int64, error) {
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

func (b *Broker) subscriptionRules(ctx context.Context, q store.Querier, topicID int64) ([]subRules, error) {
	rows, err := q.Query(ctx, "SELECT "+entityColumns+" FROM broker_entities WHERE topic_id = ? ORDER BY id", topicID)
	if err != nil {
		return nil, err
	}
	var subs []subRules
	index := map[int64]int{}
	for rows.Next() {
		e, err := scanEntity(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[e.ID] = len(subs)
		subs = append(subs, subRules{entity: e})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(subs) == 0 {
		return subs, err
	}
	rows, err = q.Query(ctx, `SELECT r.entity_id, r.name, r.spec FROM broker_rules r JOIN broker_entities e ON e.id = r.entity_id
		WHERE e.topic_id = ? ORDER BY r.entity_id, r.name`, topicID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, spec string
		if err := rows.Scan(&id, &name, &spec); err != nil {
			return nil, err
		}
		r, err := b.rules.rule(name, spec)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", name, err)
		}
		if i, ok := index[id]; ok {
			subs[i].rules = append(subs[i].rules, r)
		}
	}
	return subs, rows.Err()
}

// CancelScheduled removes scheduled messages that are not yet due, by the
// sequence numbers Send returned.
func (b *Broker) CancelScheduled(ctx context.Context, path string, seqs ...int64) error {
	return b.s.Tx(ctx, func(tx store.Tx) error {
		a, err := b.resolve(ctx, tx, path)
		if err != nil {
			return err
		}
		if a.dlq || a.Kind == Subscription {
			return errorf(KindBadRequest, "scheduled messages are cancelled on the queue or topic they were sent to")
		}
		now := store.Micros(b.now())
		for _, seq := range seqs {
			var res interface{ RowsAffected() (int64, error) }
			if a.Kind == Topic {
				res, err = tx.Exec(ctx, `DELETE FROM broker_messages WHERE (id = ? OR origin = ?) AND visible_at > ? AND dlq = 0
					AND entity_id IN (SELECT id FROM broker_entities WHERE topic_id = ?)`, seq, seq, now, a.ID)
			} else {
				res, err = tx.Exec(ctx, `DELETE FROM broker_messages WHERE id = ? AND visible_at > ? AND dlq = 0
					AND entity_id = (SELECT id FROM broker_entities WHERE id = ?)`, seq, now, a.ID)
			}
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errorf(KindMessageNotFound, "no scheduled message with sequence number %d in '%s'", seq, path)
			}
		}
		return nil
	})
}
