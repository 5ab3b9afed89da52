package broker

import (
	"context"
	"sync"
	"time"

	"junction/internal/broker/storage"
)

// wake tells receivers waiting on an entity that it has a message, once tx
// commits. Where the storage can notify inside the transaction (SQLite: an
// in-process signal) it does. On PostgreSQL a NOTIFY makes every committing
// transaction that sent one wait for the others (PostgreSQL serialises them
// on a global lock), which would undo group commit; so the sending
// transaction does not notify, and the notifier sends one notification for
// all the entities that received messages in the last moment.
func (b *Broker) wake(tx storage.Tx, entityID int64) {
	if !b.s.NotifyAfterCommit() {
		tx.Notify(channelOf(entityID))
		return
	}
	tx.AfterCommit(func() { b.mark(channelOf(entityID)) })
}

// notifier batches notifications, and wakes receivers when scheduled
// messages sent through this node become due instead of leaving them to the
// store's poll interval. Its loop (notifyLoop) runs in the broker's
// lifecycle group.
type notifier struct {
	mu      sync.Mutex
	pending map[string]bool
	due     dueHeap
	kick    chan struct{} // capacity 1: the loop has something new
}

const (
	// notifyDelay is how long notifications gather before they are sent.
	notifyDelay = 2 * time.Millisecond
	// maxDue bounds the due-time wake-ups a node keeps; beyond it, the
	// store's polling covers.
	maxDue = 100_000
	// notifyTimeout bounds one batch of notifications.
	notifyTimeout = 10 * time.Second
)

// mark queues a notification of channel. A broker that is not running (not
// started, or stopped) has no notifier loop and notifies at once.
func (b *Broker) mark(channel string) {
	if !b.tasks.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		// A failure only delays receivers until the store's poll interval.
		_ = b.s.Notify(ctx, []string{channel})
		cancel()
		return
	}
	n := &b.notifier
	n.mu.Lock()
	if n.pending == nil {
		n.pending = map[string]bool{}
	}
	n.pending[channel] = true
	n.mu.Unlock()
	n.poke()
}

func (n *notifier) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// wakeAt remembers that the entity has a message due at (on the broker's
// clock), for the running notifier loop; a broker that is not running
// leaves it to the store's polling.
func (b *Broker) wakeAt(at time.Time, entityID int64) {
	if !b.tasks.Running() {
		return
	}
	n := &b.notifier
	n.mu.Lock()
	if len(n.due) >= maxDue {
		n.mu.Unlock()
		return
	}
	first := len(n.due) == 0 || at.Before(n.due[0].at)
	n.due.push(dueEntry{at: at, channel: channelOf(entityID)})
	n.mu.Unlock()
	if first {
		n.poke()
	}
}

// take returns the channels to notify now (those marked, and those of due
// messages now due) and when the next due message is (zero for none).
func (n *notifier) take(now time.Time) ([]string, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.due) > 0 && !n.due[0].at.After(now) {
		if n.pending == nil {
			n.pending = map[string]bool{}
		}
		n.pending[n.due.pop().channel] = true
	}
	out := make([]string, 0, len(n.pending))
	for c := range n.pending {
		out = append(out, c)
	}
	clear(n.pending)
	var next time.Time
	if len(n.due) > 0 {
		next = n.due[0].at
	}
	return out, next
}

// notifyLoop sends the gathered notifications every notifyDelay while there
// are some, and those of due messages when they become due.
func (b *Broker) notifyLoop(ctx context.Context) {
	n := &b.notifier
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
			// Let notifications from other commits gather.
			select {
			case <-ctx.Done():
				return
			case <-time.After(notifyDelay):
			}
		case <-timer.C:
		}
		channels, next := n.take(b.now())
		if len(channels) > 0 {
			sctx, cancel := context.WithTimeout(ctx, notifyTimeout)
			// A failure only delays receivers until the store's poll interval.
			_ = b.s.Notify(sctx, channels)
			cancel()
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(next.Sub(b.now()), 0))
		}
	}
}

type dueEntry struct {
	at      time.Time
	channel string
}

type dueHeap []dueEntry

func (h dueHeap) less(i, j int) bool { return h[i].at.Before(h[j].at) }

func (h *dueHeap) push(e dueEntry) {
	*h = append(*h, e)
	for i := len(*h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		(*h)[i], (*h)[p] = (*h)[p], (*h)[i]
		i = p
	}
}

func (h *dueHeap) pop() dueEntry {
	old := *h
	top := old[0]
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		(*h)[i], (*h)[m] = (*h)[m], (*h)[i]
		i = m
	}
	return top
}
