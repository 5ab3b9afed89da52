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

func TestGroupStopsEveryGoroutineItRan(t *testing.T) {
	t.Parallel()
	var g Group
	if g.Go(func(context.Context) { t.Error("ran before Start") }) {
		t.Fatal("Go before Start reported true")
	}
	if err := g.Context().Err(); err == nil {
		t.Fatal("a group that is not running has a live context")
	}
	var ended atomic.Int32
	loop := func(ctx context.Context) { <-ctx.Done(); ended.Add(1) }
	if !g.Start(context.Background(), loop, loop) {
		t.Fatal("Start reported false")
	}
	if g.Start(context.Background(), loop) {
		t.Fatal("a second Start while running reported true")
	}
	if !g.Running() || g.Context().Err() != nil {
		t.Fatal("a started group is not running")
	}
	if !g.Go(loop) {
		t.Fatal("Go while running reported false")
	}
	ctx := g.Context()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ended.Load(); n != 3 {
		t.Fatalf("Stop returned with %d of 3 goroutines ended", n)
	}
	if ctx.Err() == nil || g.Running() {
		t.Fatal("the group's context is alive after Stop")
	}
	if g.Go(loop) {
		t.Fatal("Go after Stop reported true")
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	// A stopped group starts again, afresh.
	if !g.Start(context.Background(), loop) {
		t.Fatal("Start after Stop reported false")
	}
	if err := g.Stop(context.Background()); err != nil || ended.Load() != 4 {
		t.Fatalf("stop after restart: %v, %d ended", err, ended.Load())
	}
}

func TestGroupStopHonoursItsDeadline(t *testing.T) {
	t.Parallel()
	var g Group
	release := make(chan struct{})
	g.Start(context.Background(), func(ctx context.Context) { <-ctx.Done() })
	g.Go(func(ctx context.Context) { <-release }) // ignores cancellation
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done() // an expired deadline
	if err := g.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop with an expired deadline: %v", err)
	}
	if g.Running() {
		t.Fatal("the group runs on after a stop whose deadline passed")
	}
	close(release)
}

func TestStopWithAnEndedContextDoesNotWait(t *testing.T) {
	t.Parallel()
	var g Group
	g.Start(context.Background(), func(ctx context.Context) { <-ctx.Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop with an ended context: %v", err)
	}
	// The loop was told to end: a new run starts afresh.
	if !g.Start(context.Background(), func(ctx context.Context) { <-ctx.Done() }) {
		t.Fatal("no restart after a stop without time")
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEndedSeesAPassedDeadline(t *testing.T) {
	t.Parallel()
	if err := Ended(context.Background()); err != nil {
		t.Fatal(err)
	}
	live, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := Ended(live); err != nil {
		t.Fatal(err)
	}
	passed, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := Ended(passed); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a passed deadline: %v", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Ended(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context: %v", err)
	}
}
