package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// maxSettleGroup caps how many settlements one group commit carries.
const maxSettleGroup = 1024

// settleCall is one caller's settlements (a single Complete, Abandon, … or a
// SettleBatch) on one entity, waiting for the group commit that carries them.
type settleCall struct {
	ctx     context.Context
	path    string
	items   []SettleItem
	ops     []settleOp
	results []SettleResult
	err     error // a failure that applied none of this call's settlements
	done    chan struct{}
}

// settleGroup collects the settlements of concurrent callers (any entity,
// any front end on this node) and commits them together in one transaction:
// one commit instead of one per caller. Each caller gets its own results,
// and only once the commit is durable.
type settleGroup struct {
	mu      sync.Mutex
	pending []*settleCall
	running int // commits in flight
}

// maxSettleCommits is how many group commits may be in flight at once: a
// store that commits transactions in parallel (PostgreSQL's connections)
// keeps doing so, and calls that arrive while all are busy form the next
// groups.
const maxSettleCommits = 4

// settleGrouped applies a call's settlements in the next group commit and
// waits for it. Once handed over, the caller waits for the outcome even if
// ctx ends, so that it is never told "failed" about settlements that were
// committed.
func (b *Broker) settleGrouped(ctx context.Context, path string, items []SettleItem, ops []settleOp) ([]SettleResult, error) {
	c := &settleCall{ctx: ctx, path: path, items: items, ops: ops, done: make(chan struct{})}
	g := &b.settles
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.running < maxSettleCommits {
		g.running++
		go b.runSettles()
	}
	g.mu.Unlock()
	<-c.done
	return c.results, c.err
}

// runSettles commits the pending calls, group after group, until none is left.
func (b *Broker) runSettles() {
	g := &b.settles
	for {
		g.mu.Lock()
		n, items := 0, 0
		for n < len(g.pending) && (n == 0 || items+len(g.pending[n].items) <= maxSettleGroup) {
			items += len(g.pending[n].items)
			n++
		}
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		calls := append([]*settleCall(nil), g.pending[:n]...)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		g.mu.Unlock()
		b.commitSettles(calls)
		for _, c := range calls {
			close(c.done)
		}
	}
}

// commitSettles applies calls in one transaction. A failure that must roll
// the transaction back (not a lost lock, which fails its item alone) is
// retried call by call, so that it fails only the call that caused it.
func (b *Broker) commitSettles(calls []*settleCall) {
	live := calls[:0:0]
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := b.settleTx(ctx, live)
	if err == nil {
		return
	}
	if len(live) == 1 {
		live[0].err = err
		return
	}
	for _, c := range live {
		// settleTx sets c.err itself when the call's entity is unknown.
		if err := b.settleTx(ctx, []*settleCall{c}); err != nil {
			c.err = err
		}
	}
}

// settleTx applies calls in one transaction; renewals alone are relaxed (a
// lost renewal means a lock that ends early, and so a redelivery).
func (b *Broker) settleTx(ctx context.Context, calls []*settleCall) error {
	relaxed := true
	for _, c := range calls {
		for _, op := range c.ops {
			relaxed = relaxed && op == opRenew
		}
	}
	if relaxed {
		ctx = storage.Relaxed(ctx)
	}
	return b.s.Tx(ctx, func(tx storage.Tx) error {
		now := b.now()
		addrs := map[string]address{}
		for _, c := range calls {
			c.err, c.results = nil, make([]SettleResult, len(c.items))
			a, ok := addrs[c.path]
			if !ok {
				var err error
				if a, err = b.resolve(ctx, tx, c.path); err != nil {
					if KindOf(err) == 0 && !errors.Is(err, storage.ErrNotFound) {
						return err
					}
					c.err = err
					continue
				}
				addrs[c.path] = a
			}
			if b.plainCompletes(c) {
				if err := completeLocked(ctx, tx, a, c, now); err != nil {
					return err
				}
				continue
			}
			for i, it := range c.items {
				if err := b.checkSettlement(it.Settlement); err != nil {
					c.results[i].Err = err
					continue
				}
				until, itemErr, err := b.settleIn(ctx, tx, a, it.Settlement, c.ops[i], now)
				if err != nil {
					return err
				}
				c.results[i] = SettleResult{LockedUntil: until, Err: itemErr}
			}
		}
		return nil
	})
}

// plainCompletes reports whether every settlement of c completes a message
// by its lock token alone (as a Service Bus trigger's batch does), so that
// completeLocked can apply them in one statement with the results settleIn
// would give them one by one.
func (b *Broker) plainCompletes(c *settleCall) bool {
	if len(c.items) < 2 {
		return false
	}
	for i, it := range c.items {
		s := it.Settlement
		if c.ops[i] != opComplete || s.SequenceNumber != 0 || s.MessageID != "" || s.Ref != "" || b.checkSettlement(s) != nil {
			return false
		}
	}
	return true
}

// completeLocked completes c's messages in one statement: an item whose
// message was not deleted, or whose token an earlier item of c named, lost
// its lock.
func completeLocked(ctx context.Context, tx storage.Tx, a address, c *settleCall, now time.Time) error {
	tokens := make([]string, len(c.items))
	for i, it := range c.items {
		tokens[i] = it.LockToken
	}
	done, err := tx.CompleteLocked(ctx, a.ID, a.dlq, tokens, store.Micros(now))
	if err != nil {
		return err
	}
	deleted := make(map[string]bool, len(done))
	for _, tok := range done {
		deleted[tok] = true
	}
	for i, tok := range tokens {
		if !deleted[tok] {
			c.results[i].Err = errorf(KindLockLost, "%s", errLockLost)
		}
		delete(deleted, tok)
	}
	return nil
}
