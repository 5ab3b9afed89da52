package lifecycle

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopWithoutStartAndTwice(t *testing.T) {
	t.Parallel()
	var w Worker
	if err := w.Stop(context.Background()); err != nil {
		t.Fatalf("stop without start: %v", err)
	}
	var runs atomic.Int32
	started := make(chan struct{})
	w.Start(context.Background(), func(ctx context.Context) { runs.Add(1); close(started); <-ctx.Done() })
	w.Start(context.Background(), func(ctx context.Context) { runs.Add(1) }) // already running: nothing
	<-started
	if err := w.Stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := w.Stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

func TestStopHonoursItsDeadline(t *testing.T) {
	t.Parallel()
	var w Worker
	release := make(chan struct{})
	w.Start(context.Background(), func(ctx context.Context) { <-release }) // ignores cancellation
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an expired deadline
	if err := w.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop with an expired context: %v", err)
	}
	close(release)
}

func TestStartOutlivesItsContextAndRestarts(t *testing.T) {
	t.Parallel()
	var w Worker
	ctx, cancel := context.WithCancel(context.Background())
	alive := make(chan struct{})
	w.Start(ctx, func(ctx context.Context) { close(alive); <-ctx.Done() })
	<-alive
	cancel() // the caller's context ends; the worker runs until Stop
	stopped := make(chan error, 1)
	go func() { stopped <- w.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a safety bound, not a timing assertion
		t.Fatal("stop did not end the worker")
	}
	again := make(chan struct{})
	w.Start(context.Background(), func(ctx context.Context) { close(again); <-ctx.Done() })
	<-again
	w.Stop(context.Background())
}
