package broker

import (
	"sync"
	"sync/atomic"
)

// arrivals counts the messages committed to each queue and subscription
// since this node started, by entity path: the integration map's rates are
// the differences of two readings.
type arrivals struct {
	mu sync.RWMutex
	n  map[string]*atomic.Int64
}

func (a *arrivals) counter(path string) *atomic.Int64 {
	a.mu.RLock()
	c := a.n[path]
	a.mu.RUnlock()
	if c != nil {
		return c
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]*atomic.Int64{}
	}
	if c = a.n[path]; c == nil {
		c = new(atomic.Int64)
		a.n[path] = c
	}
	return c
}

// Arrived reports how many messages this node has committed to each queue
// and subscription (by entity path, forwarded and fanned-out copies counted
// where they land, dead-lettered ones not) since it started.
func (b *Broker) Arrived() map[string]int64 {
	b.arrived.mu.RLock()
	defer b.arrived.mu.RUnlock()
	out := make(map[string]int64, len(b.arrived.n))
	for p, c := range b.arrived.n {
		if n := c.Load(); n > 0 { // a rolled-back send leaves a counter at 0
			out[p] = n
		}
	}
	return out
}
