package broker

import (
	"context"
	"sync"
	"time"

	"junction/internal/store"
)

// wake tells receivers waiting on an entity that it has a message, once tx
// commits. On SQLite a notification is an in-process signal. On PostgreSQL a
// NOTIFY makes every committing transaction that sent one wait for the others
// (PostgreSQL serialises them on a global lock), which would undo group
// commit; so the sending transaction does not notify, and a notifier sends one
// NOTIFY for all the entities that received messages in the last moment.
func (b *Broker) wake(tx store.Tx, entityID int64) {
	if tx.Dialect() != store.Postgres {
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

func (n *coalescingNotifier) mark(s store.Store, channel string) {
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

func (n *coalescingNotifier) loop(s store.Store) {
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A failure only delays receivers until the store's poll interval.
		_ = s.Tx(ctx, func(tx store.Tx) error {
			for c := range channels {
				tx.Notify(c)
			}
			return nil
		})
		cancel()
	}
}
