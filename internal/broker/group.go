package broker

import "sync"

// callGroup collects concurrent callers' calls and runs them in groups: one
// commit for many callers instead of one each. At most max groups run at
// once, so a store that commits in parallel (PostgreSQL's connections) keeps
// doing so; calls that arrive while every runner is busy form the next
// groups. Each runner takes groups, one after another, until none is left.
type callGroup[C any] struct {
	mu      sync.Mutex
	pending []C
	running int // runners in flight
}

// add queues c and starts a runner when fewer than max are running. take
// says how many of the pending calls (at least one) the next group holds;
// run runs a group and must answer each of its calls.
func (g *callGroup[C]) add(c C, max int, take func(pending []C) int, run func(group []C)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, c)
	if g.running < max {
		g.running++
		go g.runAll(take, run)
	}
}

func (g *callGroup[C]) runAll(take func(pending []C) int, run func(group []C)) {
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		n := max(1, min(take(g.pending), len(g.pending)))
		group := append([]C(nil), g.pending[:n]...)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		g.mu.Unlock()
		run(group)
	}
}
