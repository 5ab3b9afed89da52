package broker

import (
	"context"
	"errors"
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

// maxSettleCommits is how many group commits of settlements may be in
// flight at once (see callGroup).
const maxSettleCommits = 4

// settleGrouped applies a call's settlements in the next group commit and
// waits for it: the settlements of concurrent callers (any entity, any front
// end on this node) commit together in one transaction, and each caller gets
// its own results once the commit is durable. Once handed over, the caller
// waits for the outcome even if ctx ends, so that it is never told "failed"
// about settlements that were committed.
func (b *Broker) settleGrouped(ctx context.Context, path string, items []SettleItem, ops []settleOp) ([]SettleResult, error) {
	c := &settleCall{ctx: ctx, path: path, items: items, ops: ops, done: make(chan struct{})}
	b.settles.add(c, maxSettleCommits, settleGroupSize, b.runSettles)
	<-c.done
	return c.results, c.err
}

// settleGroupSize is how many pending calls the next group takes: at least
// one, and no more than maxSettleGroup settlements.
func settleGroupSize(pending []*settleCall) int {
	n, items := 0, 0
	for n < len(pending) && (n == 0 || items+len(pending[n].items) <= maxSettleGroup) {
		items += len(pending[n].items)
		n++
	}
	return n
}

// runSettles commits a group of calls and answers them.
func (b *Broker) runSettles(calls []*settleCall) {
	b.commitSettles(calls)
	for _, c := range calls {
		close(c.done)
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
