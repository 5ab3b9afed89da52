package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestStopWithoutStartAndTwice: Stop is safe without Start and twice, and
// the service starts again after a stop.
func TestStopWithoutStartAndTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite))
	ctx := context.Background()
	if err := b.svc.Stop(ctx); err != nil {
		t.Fatalf("stop without start: %v", err)
	}
	for round := range 2 { // started, stopped, started again
		if err := b.svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Start(ctx); err != nil { // running already: nothing
			t.Fatal(err)
		}
		if err := b.svc.Stop(ctx); err != nil {
			t.Fatalf("round %d: stop: %v", round, err)
		}
		if err := b.svc.Stop(ctx); err != nil {
			t.Fatalf("round %d: second stop: %v", round, err)
		}
	}
}

// TestStopHonoursItsDeadline: a run held in a read that ignores
// cancellation (a named pipe nobody writes to yet) cannot end; Stop gives up
// at its deadline and says so, and the run, once released, stops without
// recording an outcome, to resume on the next node that claims it.
func TestStopHonoursItsDeadline(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	dir := filepath.Join(b.data, "files", "pipe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "in.csv")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	b.define(t, Spec{Name: "held", Source: Source{Type: "file", Path: "pipe"}, Mapping: []Mapping{{To: "id"}}, Key: []string{"id"},
		Sink: Sink{Type: "file", Path: t.TempDir()}})
	ctx := context.Background()
	if err := b.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := b.svc.Enqueue(ctx, "held", "manual", "", pipe)
	if err != nil {
		t.Fatal(err)
	}
	// The validation pass begins by opening the source: once the phase says
	// so, the run is in the open of the pipe or on its way there.
	waitUntil(t, "the run to open its source", func() bool {
		run, err := getRun(ctx, s, "held", id)
		return err == nil && run.Phase == "validating"
	})
	release := func() {
		w, err := os.OpenFile(pipe, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		w.WriteString("id\n1\n")
		w.Close()
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- b.svc.Stop(expired) }()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stop with an expired deadline: %v, want the deadline's error", err)
		}
	case <-time.After(time.Minute): // a safety bound, not a timing assertion
		release()
		t.Fatal("stop waited for the run past its deadline")
	}
	release()
	// The run's last act is to remove its rejects file.
	waitUntil(t, "the run to end", func() bool {
		m, _ := filepath.Glob(filepath.Join(b.data, "jobs", "tmp", "rejects-*.csv"))
		return len(m) == 0
	})
	run, err := getRun(ctx, s, "held", id)
	if err != nil || run.Status != StatusRunning || run.Ended != nil {
		t.Fatalf("a run stopped by Stop recorded an outcome: %+v, %v", run, err)
	}
	if err := b.svc.Stop(ctx); err != nil {
		t.Fatalf("stop after a stop that gave up: %v", err)
	}
}

// waitUntil polls ok; the bound is a safety net, not a timing assertion.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
