package lifecycle_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"junction/internal/lifecycle"
	"junction/internal/lifecycle/lifecycletest"
)

// queue is work for a drainer: items taken one at a time, a failure once.
type queue struct {
	mu     sync.Mutex
	items  int
	failOn int // the item count at which next fails once, 0 for never
	taken  chan int
	failed chan error
}

func (q *queue) next(context.Context) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.items == 0 {
		return false, nil
	}
	if q.items == q.failOn {
		q.failOn = 0
		return false, errors.New("item failed")
	}
	q.items--
	q.taken <- q.items
	return true, nil
}

func (q *queue) add(n int) {
	q.mu.Lock()
	q.items += n
	q.mu.Unlock()
}

// TestDrainerTakesEveryItemWhenWoken queues work, wakes the drainer and sees
// every item taken at once (the poll interval is an hour), a failing item
// reported and the rest taken on the next wake.
func TestDrainerTakesEveryItemWhenWoken(t *testing.T) {
	t.Parallel()
	q := &queue{taken: make(chan int, 10), failed: make(chan error, 1), failOn: 2}
	d := lifecycle.NewDrainer(time.Hour, q.next, func(err error) { q.failed <- err })
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(context.Background())
	take := func(want int) {
		t.Helper()
		select {
		case got := <-q.taken:
			if got != want {
				t.Fatalf("took with %d left, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing taken; want the item leaving %d", want)
		}
	}
	q.add(4)
	d.Wake()
	take(3)
	take(2)
	select {
	case err := <-q.failed:
		if err.Error() != "item failed" {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failure was not reported")
	}
	d.Wake()
	take(1)
	take(0)
}

func TestDrainerLifecycle(t *testing.T) {
	t.Parallel()
	lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
		d := lifecycle.NewDrainer(time.Hour, func(context.Context) (bool, error) { return false, nil }, func(error) {})
		t.Cleanup(func() { d.Stop(context.Background()) })
		return d
	})
}
