// Package lifecycle is the start/stop contract of Junction's long-lived
// services and background workers: goroutines started at most once per run,
// stopped by cancelling their context and waiting for them to end within the
// stopper's deadline. Stop is safe twice and without Start, and a stopped
// service may be started again.
package lifecycle

import (
	"context"
	"sync"
	"time"
)

// Group runs a service's goroutines under one context: the loops given to
// Start and the tasks Go adds while the group runs. Stop cancels them all and
// waits for every one of them.
type Group struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	wg     *sync.WaitGroup
}

// stopped is the context of a group that is not running.
var stopped = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Start runs each loop in a goroutine of its own, with a context that
// outlives ctx's cancellation (the group runs until Stop) but keeps its
// values. While the group runs, Start does nothing and reports false.
func (g *Group) Start(ctx context.Context, loops ...func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cancel != nil {
		return false
	}
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.wg = &sync.WaitGroup{}
	for _, loop := range loops {
		g.spawn(loop)
	}
	return true
}

// Go runs fn in a goroutine of the running group, under its context. When
// the group is not running (never started, or stopped) it runs nothing and
// reports false.
func (g *Group) Go(fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cancel == nil {
		return false
	}
	g.spawn(fn)
	return true
}

// spawn starts fn; the caller holds mu and the group runs.
func (g *Group) spawn(fn func(ctx context.Context)) {
	ctx, wg := g.ctx, g.wg
	wg.Add(1)
	go func() {
		defer wg.Done()
		fn(ctx)
	}()
}

// Context is the running group's context, cancelled by Stop; when the group
// is not running it is an already cancelled one.
func (g *Group) Context() context.Context {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cancel == nil {
		return stopped
	}
	return g.ctx
}

// Running reports whether the group was started and not stopped since.
func (g *Group) Running() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cancel != nil
}

// Stop cancels the group's context and waits for its goroutines to end, or
// for ctx to end first, whose error it then returns (the goroutines are left
// to end on their own). A ctx that has already ended gets its error back at
// once: the goroutines are told to end, with no time to see them do it. Safe
// twice and without Start.
func (g *Group) Stop(ctx context.Context) error {
	g.mu.Lock()
	cancel, wg := g.cancel, g.wg
	g.cancel, g.wg = nil, nil
	g.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	if err := Ended(ctx); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ended is ctx's error, or context.DeadlineExceeded once ctx's deadline has
// passed though its timer has not fired yet: whether a stop has time left.
func Ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// Worker runs one background goroutine: a Group of one loop.
type Worker struct {
	g Group
}

// Start runs run in a goroutine of its own, with a context that outlives
// ctx's cancellation (the worker runs until Stop) but keeps its values. A
// second Start while running does nothing.
func (w *Worker) Start(ctx context.Context, run func(ctx context.Context)) {
	w.g.Start(ctx, run)
}

// Stop cancels the worker and waits for it to end, or for ctx to end first,
// whose error it then returns (at once when ctx has already ended). Safe
// twice and without Start.
func (w *Worker) Stop(ctx context.Context) error { return w.g.Stop(ctx) }

// Drain is the loop of a worker that takes queued work one item at a time:
// it calls next until there is nothing left (or next fails, which it passes
// to failed), then waits for wake, for the poll interval, or for ctx to end.
func Drain(ctx context.Context, poll time.Duration, wake <-chan struct{}, next func(ctx context.Context) (bool, error), failed func(error)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := next(ctx)
			if err != nil && ctx.Err() == nil {
				failed(err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// Drainer is a Worker whose loop is Drain: it takes queued work one item at a
// time, woken at once by Wake (after the commit that queued work, say) or
// every poll interval. Start, Stop and their rules are the Worker's.
type Drainer struct {
	poll   time.Duration
	next   func(ctx context.Context) (bool, error)
	failed func(error)
	wake   chan struct{}
	worker Worker
}

// NewDrainer returns a drainer calling next for each item and failed with
// what next returns as an error.
func NewDrainer(poll time.Duration, next func(ctx context.Context) (bool, error), failed func(error)) *Drainer {
	return &Drainer{poll: poll, next: next, failed: failed, wake: make(chan struct{}, 1)}
}

// Wake makes a running drainer look for work now; it never blocks.
func (d *Drainer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start runs the drain loop until Stop; starting twice is a no-op.
func (d *Drainer) Start(ctx context.Context) error {
	d.worker.Start(ctx, func(ctx context.Context) { Drain(ctx, d.poll, d.wake, d.next, d.failed) })
	return nil
}

// Stop ends the loop, waiting for the item under way until ctx ends; safe
// twice and without Start.
func (d *Drainer) Stop(ctx context.Context) error { return d.worker.Stop(ctx) }
