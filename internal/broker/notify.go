package broker

import (
	"context"
	"sync"
	"time"

	"junction/internal/broker/storage"
)

// wake tells receivers waiting on an entity that it has a message, once tx
// commits. On SQLite a notification is an in-process signal. On PostgreSQL a
// NOTIFY makes every committing transaction that sent one wait for the others
// (PostgreSQL serialises them on a global lock), which would undo group
// commit; so the sending transaction does not notify, and a notifier sends one
// NOTIFY for all the entities that received messages in the last moment.
func (b *Broker) wake(tx storage.Tx, entityID int64) {
	if !b.s.NotifyAfterCommit() {
		tx.Notify(channelOf(entityID))
		return
	}
	tx.AfterCommit(func() { b.notifier.mark(b.s, channelOf(entityID)) })
}

// coalescingNotifier batches notifications into one transaction every
// notifyDelay. Its goroutine runs only while there is something to send.
type coalescingNotifier struct {
	mu      sync.Mutex
	pending map[string]bool
	running bool
}

const notifyDelay = 2 * time.Millisecond

func (n *coalescingNotifier) mark(s storage.Driver, channel string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending == nil {
		n.pending = map[string]bool{}
	}
	n.pending[channel] = true
	if !n.running {
		n.running = true
		go n.loop(s)
	}
}

func (n *coalescingNotifier) loop(s storage.Driver) {
	for {
		time.Sleep(notifyDelay)
		n.mu.Lock()
		if len(n.pending) == 0 {
			n.running = false
			n.mu.Unlock()
			return
		}
		channels := n.pending
		n.pending = map[string]bool{}
		n.mu.Unlock()
		list := make([]string, 0, len(channels))
		for c := range channels {
			list = append(list, c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A failure only delays receivers until the store's poll interval.
		_ = s.Notify(ctx, list)
		cancel()
	}
}

// dueWaker wakes receivers when scheduled messages sent through this node
// become due, instead of leaving them to the store's poll interval. It keeps
// at most maxDue entries; beyond that, polling covers.
type dueWaker struct {
	mu    sync.Mutex
	due   dueHeap
	timer *time.Timer
}

const maxDue = 100_000

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

// add remembers that channel has a message due at (on the broker's clock).
func (b *Broker) wakeAt(at time.Time, entityID int64) {
	w := &b.dueWaker
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.due) >= maxDue {
		return
	}
	w.due.push(dueEntry{at: at, channel: channelOf(entityID)})
	if w.due[0].at.Equal(at) {
		b.armLocked()
	}
}

func (b *Broker) armLocked() {
	w := &b.dueWaker
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if len(w.due) == 0 {
		return
	}
	d := w.due[0].at.Sub(b.now())
	if d < 0 {
		d = 0
	}
	w.timer = time.AfterFunc(d, b.fireDue)
}

func (b *Broker) fireDue() {
	w := &b.dueWaker
	w.mu.Lock()
	defer w.mu.Unlock()
	now := b.now()
	for len(w.due) > 0 && !w.due[0].at.After(now) {
		b.notifier.mark(b.s, w.due.pop().channel)
	}
	b.armLocked()
}
