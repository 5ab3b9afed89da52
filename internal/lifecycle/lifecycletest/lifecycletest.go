// Package lifecycletest checks a long-lived service against the lifecycle
// rules every Junction service keeps (see package lifecycle).
package lifecycletest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Service is what the rules apply to.
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Run checks the rules, each on a fresh service from newService: stopping
// without a start and twice is safe, starting twice is safe, a stopped
// service may be started again (or refuse nothing), and a stop whose
// deadline has passed returns at once with the deadline error. newService
// registers its own cleanup.
func Run(t *testing.T, newService func(t *testing.T) Service) {
	bg := context.Background()
	t.Run("StopWithoutStart", func(t *testing.T) {
		t.Parallel()
		s := newService(t)
		for i := range 2 {
			if err := s.Stop(bg); err != nil {
				t.Fatalf("stop %d without start: %v", i+1, err)
			}
		}
	})
	t.Run("StartTwiceStopTwice", func(t *testing.T) {
		t.Parallel()
		s := newService(t)
		for i := range 2 {
			if err := s.Start(bg); err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
		}
		for i := range 2 {
			if err := s.Stop(bg); err != nil {
				t.Fatalf("stop %d: %v", i+1, err)
			}
		}
		if err := s.Start(bg); err != nil {
			t.Fatalf("start after stop: %v", err)
		}
		if err := s.Stop(bg); err != nil {
			t.Fatalf("stop after restart: %v", err)
		}
	})
	t.Run("StopWithExpiredDeadline", func(t *testing.T) {
		t.Parallel()
		s := newService(t)
		if err := s.Start(bg); err != nil {
			t.Fatal(err)
		}
		expired, cancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
		defer cancel()
		if err := s.Stop(expired); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stop with an expired deadline: %v, want the deadline error", err)
		}
		if err := s.Stop(bg); err != nil {
			t.Fatalf("stop after a stop out of time: %v", err)
		}
	})
}
