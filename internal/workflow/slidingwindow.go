package workflow

import (
	"fmt"
	"strings"
	"time"
)

// slidingWindow is a SlidingWindow trigger's contiguous windows (Microsoft
// Learn, "Schedule and run tasks for contiguous data by using the Sliding
// Window trigger", connectors-native-sliding-window): windows of interval ×
// frequency (Second, Minute or Hour) follow each other from startTime (or
// from when the trigger is first deployed); each window's run starts once
// the window has ended and inputs.delay has passed, with windowStartTime and
// windowEndTime in the trigger outputs. Windows missed while no node ran are
// all run afterwards, in order (back-fill); each runs once across nodes.
type slidingWindow struct {
	length   time.Duration
	delay    time.Duration
	start    time.Time
	hasStart bool
}

func newSlidingWindow(t *Trigger) (*slidingWindow, error) {
	r := t.Recurrence
	if r == nil {
		return nil, fmt.Errorf("a SlidingWindow trigger needs a recurrence")
	}
	sch, err := newSchedule(r)
	if err != nil {
		return nil, err
	}
	unit := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour}[sch.freq]
	if unit == 0 {
		return nil, fmt.Errorf("a SlidingWindow frequency is Second, Minute or Hour, not %q", r.Frequency)
	}
	w := &slidingWindow{length: time.Duration(sch.interval) * unit, start: sch.start, hasStart: sch.hasStart}
	if in, ok := t.Inputs.(map[string]any); ok && in["delay"] != nil {
		s, _ := in["delay"].(string)
		d, err := ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("inputs.delay: %v", err)
		}
		w.delay = d
	}
	return w, nil
}

// firstFire is when the first window's run is due, for a trigger deployed
// at now.
func (w *slidingWindow) firstFire(now time.Time) time.Time {
	start := now
	if w.hasStart {
		start = w.start
	}
	return start.Add(w.length + w.delay)
}

// window is the window whose run is due at fire.
func (w *slidingWindow) window(fire time.Time) (start, end time.Time) {
	end = fire.Add(-w.delay)
	return end.Add(-w.length), end
}

func isSlidingWindow(t *Trigger) bool { return t != nil && strings.EqualFold(t.Type, "SlidingWindow") }
