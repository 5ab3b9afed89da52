package store

import (
	"sync"
	"time"
)

// Subscription wakes a waiter after a commit notified its channel. It also fires
// every poll interval, so a missed notification (a dropped PostgreSQL listener
// connection, another node's commit) only delays work, never strands it.
type Subscription struct {
	C       <-chan struct{}
	c       chan struct{}
	channel string
	hub     *Hub
}

// Close stops the subscription. It is safe to call twice.
func (s *Subscription) Close() { s.hub.remove(s) }

func (s *Subscription) fire() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// Hub fans notifications out to in-process subscriptions. Drivers own one.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
	stop chan struct{}
	once sync.Once
}

// NewHub starts a hub that also wakes every subscription each poll interval.
func NewHub(poll time.Duration) *Hub {
	h := &Hub{subs: map[string]map[*Subscription]struct{}{}, stop: make(chan struct{})}
	if poll > 0 {
		go h.poll(poll)
	}
	return h
}

func (h *Hub) poll(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.mu.Lock()
			for _, set := range h.subs {
				for s := range set {
					s.fire()
				}
			}
			h.mu.Unlock()
		}
	}
}

// Listen subscribes to channel.
func (h *Hub) Listen(channel string) *Subscription {
	c := make(chan struct{}, 1)
	s := &Subscription{C: c, c: c, channel: channel, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[channel] == nil {
		h.subs[channel] = map[*Subscription]struct{}{}
	}
	h.subs[channel][s] = struct{}{}
	return s
}

// Fire wakes every subscription of channel.
func (h *Hub) Fire(channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[channel] {
		s.fire()
	}
}

func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.subs[s.channel]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.subs, s.channel)
		}
	}
}

// Close stops the poll timer.
func (h *Hub) Close() { h.once.Do(func() { close(h.stop) }) }
