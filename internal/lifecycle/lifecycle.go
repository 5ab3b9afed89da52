// Package lifecycle is the start/stop contract of Junction's background
// workers: one goroutine per worker, started at most once, stopped by
// cancelling its context and waiting for it to end within the stopper's
// deadline. Stop is safe twice and without Start.
package lifecycle

import (
	"context"
	"sync"
)

// Worker runs one background goroutine.
type Worker struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a goroutine of its own, with a context that outlives
// ctx's cancellation (the worker runs until Stop) but keeps its values. A
// second Start while running does nothing.
func (w *Worker) Start(ctx context.Context, run func(ctx context.Context)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	w.cancel, w.done = cancel, done
	go func() {
		defer close(done)
		run(wctx)
	}()
}

// Stop cancels the worker and waits for it to end, or for ctx to end first,
// whose error it then returns. Safe twice and without Start.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done = nil, nil
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
