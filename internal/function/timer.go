package function

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"junction/internal/store"
)

// runTimer fires a timerTrigger function at each occurrence of its schedule.
// Every node runs the schedule; the node that first records the occurrence in
// func_timer_fires (a unique row per function and occurrence) fires it, so an
// occurrence fires once however many nodes share the store. With useMonitor
// (the default) an occurrence missed while no node ran fires once at start,
// marked past due.
func (h *Host) runTimer(ctx context.Context, f *fn) {
	s := f.def.Schedule
	b := f.def.Trigger
	last, err := h.lastFire(ctx, f.def.Name)
	if err != nil {
		h.log.Warn("read the timer's last occurrence", "function", f.def.Name, "err", err)
	}
	now := h.opts.Now().UTC()
	if b.RunOnStartup {
		h.fireTimer(ctx, f, time.Time{}, last, false)
	}
	if (b.UseMonitor == nil || *b.UseMonitor) && !last.IsZero() {
		if missed := s.Next(last); !missed.IsZero() && missed.Before(now.Truncate(time.Second)) {
			// Fire the most recent missed occurrence once.
			for n := s.Next(missed); !n.IsZero() && n.Before(now.Truncate(time.Second)); n = s.Next(n) {
				missed = n
			}
			if h.claim(ctx, f.def.Name, missed) {
				h.fireTimer(ctx, f, missed, last, true)
				last = missed
			}
		}
	}
	for {
		next := s.Next(h.opts.Now())
		if next.IsZero() {
			h.log.Warn("the timer's schedule has no next occurrence", "function", f.def.Name)
			return
		}
		timer := time.NewTimer(next.Sub(h.opts.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if h.claim(ctx, f.def.Name, next) {
			h.fireTimer(ctx, f, next, last, false)
		}
		last = next
	}
}

func (h *Host) fireTimer(ctx context.Context, f *fn, occurrence, last time.Time, pastDue bool) {
	status := map[string]any{"LastUpdated": h.opts.Now().UTC().Format(time.RFC3339)}
	if !last.IsZero() {
		status["Last"] = last.Format(time.RFC3339)
	}
	ref := occurrence
	if ref.IsZero() {
		ref = h.opts.Now()
	}
	if n := f.def.Schedule.Next(ref); !n.IsZero() {
		status["Next"] = n.Format(time.RFC3339)
	}
	detail := "startup"
	if !occurrence.IsZero() {
		detail = occurrence.Format(time.RFC3339)
	}
	value := map[string]any{"Schedule": map[string]any{"AdjustForDST": false}, "ScheduleStatus": status, "IsPastDue": pastDue}
	h.invoke(ctx, f, Trigger{Type: TimerTrigger, Detail: detail, Value: value, BindingData: map[string]any{"timerTrigger": value}})
}

// claim records an occurrence; it reports false when another node already did.
func (h *Host) claim(ctx context.Context, function string, occurrence time.Time) bool {
	if h.opts.Store == nil {
		return true
	}
	err := h.opts.Store.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO func_timer_fires (function, occurrence, node, fired_at) VALUES (?, ?, ?, ?)`,
			function, store.Micros(occurrence), h.opts.NodeID, store.Micros(time.Now())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM func_timer_fires WHERE function = ? AND occurrence < ?`,
			function, store.Micros(occurrence.Add(-24*time.Hour)))
		return err
	})
	if store.IsConflict(err) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("claim a timer occurrence", "function", function, "err", err)
		}
		return false
	}
	return true
}

func (h *Host) lastFire(ctx context.Context, function string) (time.Time, error) {
	if h.opts.Store == nil {
		return time.Time{}, nil
	}
	var last sql.NullInt64
	err := h.opts.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT MAX(occurrence) FROM func_timer_fires WHERE function = ?`, function).Scan(&last)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, err
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return store.FromMicros(last.Int64), nil
}
