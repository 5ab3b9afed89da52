package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// sendCall is one caller's one-message send to a plain queue (see
// oneInsert), waiting for the group write that carries it.
type sendCall struct {
	ctx  context.Context
	a    address
	m    *Message
	seq  int64
	err  error
	done chan struct{}
}

const (
	// maxSendWrites is how many group writes of sends may be in flight at
	// once (see callGroup) where the store commits in parallel
	// (storage.Driver.WritesAlone); elsewhere (SQLite's one writer) one is,
	// as a second would only split the sends the first leaves waiting.
	maxSendWrites = 4
	// maxSendGroup caps how many sends one group write carries.
	maxSendGroup = 256
	// maxSendGroupBytes caps the bodies one group write carries past its
	// first send: with large messages (MaxMessageSize well above the
	// default) 256 of them would make a statement larger than PostgreSQL
	// takes, refused before it is sent.
	maxSendGroupBytes = 16 << 20
)

// sendGroupSize is how many pending sends the next group write takes: at
// least one, and no more than maxSendGroup sends or, past the first,
// maxSendGroupBytes of bodies (a message sent over AMQP keeps its encoded
// body too).
func sendGroupSize(pending []*sendCall) int {
	n, size := 0, 0
	for n < len(pending) && n < maxSendGroup {
		m := pending[n].m
		if size += len(m.Body) + len(m.AMQPBody); n > 0 && size > maxSendGroupBytes {
			break
		}
		n++
	}
	return n
}

// sendGrouped writes m to the queue a in the next group write of
// one-message sends and waits for it: the sends of concurrent callers (any
// queue, any front end on this node) are one InsertMessages. On a store
// where a statement commits by itself (storage.Driver.WritesAlone) that is
// one statement, one round trip and one commit, instead of one each; on
// SQLite, whose writer commits many transactions at once already, one
// transaction (one savepoint) and one multi-row insert instead of one each.
// Each caller is answered once the commit is durable. Once handed over, the
// caller waits for the outcome even if ctx ends, so that it is never told
// "failed" about a message that was committed. A panic in the group write
// is raised again here, in every caller of the group (see caught).
func (b *Broker) sendGrouped(ctx context.Context, a address, m *Message) (int64, error) {
	c := &sendCall{ctx: ctx, a: a, m: m, done: make(chan struct{})}
	if b.s.WritesAlone() {
		b.sends.add(c, maxSendWrites, sendGroupSize, b.writeSends)
	} else {
		b.queuedSends.add(c, b.writeQueuedSends)
	}
	<-c.done
	var p store.PanicError
	if errors.As(c.err, &p) {
		panic(p.Value)
	}
	return c.seq, c.err
}

// writeSends writes a group of sends with WriteOne and answers them (see
// retrySends).
func (b *Broker) writeSends(calls []*sendCall) {
	defer answered(calls)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	live := waiting(calls)
	if len(live) == 0 {
		return
	}
	err := caught(func() error {
		return b.s.WriteOne(ctx, func(tx storage.Tx) error { return b.insertSends(ctx, tx, live) })
	})
	b.retrySends(ctx, b.s.WriteOne, live, err)
}

// sendQueue holds one-message sends for a store with one writer (SQLite),
// which runs transactions one after another: a group write is queued in the
// store as soon as a send waits and none is queued, and it takes its group
// when the writer comes to it, so that every send that arrived while the
// writer ran earlier transactions is in it.
type sendQueue struct {
	mu      sync.Mutex
	pending []*sendCall
	queued  bool // a group write is queued that has not taken its group
}

// add queues c and, when no group write is queued, runs one on the
// caller's goroutine, which waits anyway: c is first in line, so that write
// takes it. A lone sender so costs no other goroutine.
func (q *sendQueue) add(c *sendCall, write func()) {
	q.mu.Lock()
	q.pending = append(q.pending, c)
	start := !q.queued
	q.queued = true
	q.mu.Unlock()
	if start {
		write()
	}
}

// take takes the next group (see sendGroupSize) and reports whether sends
// are left, for a group write to be queued at once.
func (q *sendQueue) take() (group []*sendCall, more bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(sendGroupSize(q.pending), len(q.pending))
	group = append(group, q.pending[:n]...)
	q.pending = append(q.pending[:0], q.pending[n:]...)
	q.queued = len(q.pending) > 0
	return group, q.queued
}

// writeQueuedSends is a group write of b.queuedSends: a transaction that
// takes its group when it runs, writes it and answers it (see retrySends).
// A transaction that did not run (the store closed) takes its group after.
func (b *Broker) writeQueuedSends() {
	var group, live []*sendCall
	taken := false
	takeGroup := func() {
		var more bool
		group, more = b.queuedSends.take()
		if more {
			go b.writeQueuedSends()
		}
		live, taken = waiting(group), true
	}
	// No deadline: the store's one writer runs what it queued (a timer per
	// write would also wake the runtime's poller each time).
	ctx := context.Background()
	err := caught(func() error {
		return b.s.Tx(ctx, func(tx storage.Tx) error {
			if !taken {
				takeGroup()
			}
			if len(live) == 0 {
				return nil
			}
			return b.insertSends(ctx, tx, live)
		})
	})
	if !taken {
		takeGroup()
	}
	defer answered(group)
	b.retrySends(ctx, b.s.Tx, live, err)
}

// caught runs write and returns a panic in it as a store.PanicError: the
// group write runs on one sender's goroutine, or one of its own, and every
// sender it carries re-raises the panic on its own goroutine (see
// sendGrouped), as from a transaction of its own, instead of one sender
// taking it and the others waiting for ever.
func caught(write func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = store.PanicError{Value: v}
		}
	}()
	return write()
}

// waiting sets each call's error to its context's and returns the calls
// whose callers still wait.
func waiting(calls []*sendCall) []*sendCall {
	live := calls[:0:0]
	for _, c := range calls {
		if c.err = c.ctx.Err(); c.err == nil {
			live = append(live, c)
		}
	}
	return live
}

// answered answers the calls.
func answered(calls []*sendCall) {
	for _, c := range calls {
		close(c.done)
	}
}

// retrySends settles the outcome err of the group write of the live calls
// with write. A statement the store refused (store.IsRefused), which
// inserted none of them, is retried send by send, so that it fails only the
// send that caused it; any other failure leaves unknown whether the write
// committed, and every send of the group gets it, as a send of its own
// would.
func (b *Broker) retrySends(ctx context.Context, write func(context.Context, func(storage.Tx) error) error, live []*sendCall, err error) {
	if err == nil || len(live) == 1 || !store.IsRefused(err) {
		for _, c := range live {
			if c.err == nil {
				c.err = err
			}
		}
		return
	}
	for _, c := range live {
		c.seq, c.err = 0, nil
		if err := caught(func() error {
			return write(ctx, func(tx storage.Tx) error { return b.insertSends(ctx, tx, []*sendCall{c}) })
		}); err != nil {
			c.err = err
		}
	}
}

// insertSends inserts the calls' messages with one InsertMessages and sets
// each call's sequence number, or its error when its queue is gone.
func (b *Broker) insertSends(ctx context.Context, tx storage.Tx, calls []*sendCall) error {
	now := b.now()
	msgs := make([]storage.Message, len(calls))
	for i, c := range calls {
		sm, err := b.stored(c.a.Entity, c.m, insertOpts{}, now)
		if err != nil {
			return err
		}
		msgs[i] = sm
	}
	seqs, err := tx.InsertMessages(ctx, msgs)
	if err != nil {
		return err
	}
	for i, c := range calls {
		c.err = nil // a transaction may run again
		if c.seq = seqs[i]; c.seq == 0 {
			c.err = b.entityGone(c.a.Entity)
			continue
		}
		b.inserted(tx, c.a.Entity, msgs[i], insertOpts{}, now)
	}
	return nil
}
