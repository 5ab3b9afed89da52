package workflow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"junction/internal/expr"
	"junction/internal/store"
)

// TriggerSource serves trigger types that another surface owns: Dataverse
// row changes (OpenApiConnectionWebhook), broker messages and event
// subscriptions (ServiceProvider triggers), file arrival, polling. The
// engine calls Subscribe for each deployed workflow whose trigger has one of
// the source's types; the source calls Fire for every event.
type TriggerSource interface {
	// Types are the trigger types served, in lower case ("openapiconnectionwebhook").
	Types() []string
	// Match tells whether this source serves the trigger (several sources may
	// share a type, such as "serviceprovider").
	Match(t *Trigger) bool
	// Subscribe starts delivering events for a workflow's trigger until the
	// returned function is called. Unsubscribe waits for deliveries in
	// flight within its context's deadline, whose error it returns if they
	// have not ended by then; the engine never holds its lock across it, so
	// a delivery may start a run while it waits.
	Subscribe(ctx context.Context, sub Subscription) (unsubscribe func(ctx context.Context) error, err error)
}

// takeSubs removes and returns the unsubscribe functions of the triggers
// whose key starts with prefix ("" for all); the caller holds e.mu and calls
// them once it has let go of it.
func (e *Engine) takeSubs(prefix string) []func(context.Context) error {
	var out []func(context.Context) error
	for k, unsub := range e.subs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, unsub)
			delete(e.subs, k)
		}
	}
	return out
}

// unsubscribe stops triggers within ctx's deadline, all of them even when
// one fails.
func unsubscribe(ctx context.Context, unsubs []func(context.Context) error) error {
	var errs []error
	for _, unsub := range unsubs {
		errs = append(errs, unsub(ctx))
	}
	return errors.Join(errs...)
}

// Subscription is one workflow trigger a source delivers to.
type Subscription struct {
	Workflow string
	Trigger  string
	Def      *Trigger
	// Fire starts one run per item (after splitOn and trigger conditions) and
	// returns once each run is durably recorded. No run ids means the trigger
	// conditions filtered the event out.
	Fire func(ctx context.Context, outputs map[string]any) ([]*Handle, error)
}

// AddTriggerSource registers a source; call before deploying workflows.
func (e *Engine) AddTriggerSource(src TriggerSource) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range src.Types() {
		e.sources[strings.ToLower(t)] = src
	}
}

// arm sets up a deployed workflow's triggers: schedules for Recurrence,
// subscriptions for plug-in sources. Request triggers need nothing.
func (e *Engine) arm(ctx context.Context, l *Loaded) error {
	for name, t := range l.Def.Triggers {
		key := l.Name + "/" + name
		e.mu.Lock()
		var old []func(context.Context) error
		if unsub, ok := e.subs[key]; ok {
			old = append(old, unsub)
			delete(e.subs, key)
		}
		src := e.sources[strings.ToLower(t.Type)]
		e.mu.Unlock()
		if err := unsubscribe(ctx, old); err != nil {
			return fmt.Errorf("stop trigger %s of workflow %s: %w", name, l.Name, err)
		}
		switch {
		case strings.EqualFold(t.Type, "Recurrence"), isSlidingWindow(t):
			if err := e.armSchedule(ctx, l, name, t); err != nil {
				return err
			}
		case strings.EqualFold(t.Type, "Request"):
		case src == nil || !src.Match(t):
			e.log.Warn("no trigger source serves this trigger on this node yet; it will not fire", "workflow", l.Name, "trigger", name, "type", t.Type)
		default:
			trig, wf := name, l.Name
			unsub, err := src.Subscribe(e.ctx, Subscription{Workflow: l.Name, Trigger: name, Def: t,
				Fire: func(ctx context.Context, outputs map[string]any) ([]*Handle, error) {
					cur, ok := e.Workflow(wf)
					if !ok {
						return nil, fmt.Errorf("workflow %s: %w", wf, ErrNotFound)
					}
					return e.Fire(ctx, cur, trig, outputs)
				}})
			if err != nil {
				return fmt.Errorf("subscribe trigger %s of workflow %s: %w", name, l.Name, err)
			}
			e.mu.Lock()
			stopped := e.stopped
			if !stopped {
				e.subs[key] = unsub
			}
			e.mu.Unlock()
			if stopped {
				// Stop ran while it subscribed and did not see it.
				return unsub(ctx)
			}
		}
	}
	return nil
}

// Fire applies splitOn and trigger conditions to a trigger's outputs and
// starts the runs.
func (e *Engine) Fire(ctx context.Context, l *Loaded, trigger string, outputs map[string]any) ([]*Handle, error) {
	trigger, t := l.triggerNamed(trigger)
	if t == nil {
		return nil, fmt.Errorf("trigger %s of workflow %s: %w", trigger, l.Name, ErrNotFound)
	}
	items := []map[string]any{outputs}
	if t.SplitOn != "" {
		v, err := e.triggerEval(l, t.SplitOn, outputs)
		if err != nil {
			return nil, fmt.Errorf("splitOn: %w", err)
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("splitOn must evaluate to an array, not %s", kindName(v))
		}
		items = items[:0]
		for _, x := range arr {
			o := copyMap(outputs)
			o["body"] = x
			items = append(items, o)
		}
	}
	var opts []StartOptions
	for _, o := range items {
		ok := true
		for _, c := range t.Conditions {
			v, err := e.triggerEval(l, c.Expression, o)
			if err != nil {
				out, serr := e.fireRuns(ctx, l, opts)
				return out, errors.Join(fmt.Errorf("trigger condition: %w", err), serr)
			}
			if b, _ := expr.Truthy(v); !b {
				ok = false
			}
		}
		if !ok {
			continue
		}
		tracking := ""
		if t.Correlation != nil && t.Correlation.ClientTrackingID != "" {
			if v, err := e.triggerEval(l, t.Correlation.ClientTrackingID, o); err == nil {
				tracking = expr.ToString(v)
			}
		}
		if h, ok := o["headers"].(map[string]any); ok && tracking == "" {
			for k, v := range h {
				if strings.EqualFold(k, "x-ms-client-tracking-id") {
					tracking = expr.ToString(v)
				}
			}
		}
		opts = append(opts, StartOptions{Trigger: trigger, Outputs: o, ClientTrackingID: tracking})
	}
	return e.fireRuns(ctx, l, opts)
}

// fireRuns starts the runs a trigger fired. Without a run limit they are
// created in one transaction (a splitOn batch); with one, one by one, so
// that the runs created before the limit of waiting runs refuses one keep
// going.
func (e *Engine) fireRuns(ctx context.Context, l *Loaded, opts []StartOptions) ([]*Handle, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	if runLimit(l, opts[0].Trigger) == 0 {
		return e.startRuns(ctx, l, opts)
	}
	var out []*Handle
	for _, o := range opts {
		h, err := e.StartRun(ctx, l, o)
		if err != nil {
			return out, err
		}
		out = append(out, h)
	}
	return out, nil
}

// triggerEval evaluates an expression that sees only the trigger.
func (e *Engine) triggerEval(l *Loaded, src string, outputs map[string]any) (any, error) {
	t, err := e.cache.Compile(src)
	if err != nil {
		return nil, err
	}
	rs := &runState{e: e, l: l, run: &Run{Trigger: map[string]any{"outputs": outputs}}, vars: map[string]any{}, parents: map[string][]string{}}
	return t.Evaluate(rs.scope(&frame{}))
}

// CallbackURL is listCallbackUrl's answer, in Logic Apps' shape.
type CallbackURL struct {
	Value        string            `json:"value"`
	Method       string            `json:"method"`
	BasePath     string            `json:"basePath"`
	Queries      map[string]string `json:"queries"`
	RelativePath string            `json:"relativePath,omitempty"`
}

// callbackAPIVersion is the api-version Logic Apps Standard callback URLs carry.
const callbackAPIVersion = "2022-05-01"

// CallbackURL returns the signed URL of a Request trigger.
func (e *Engine) CallbackURL(workflow, trigger string) (*CallbackURL, error) {
	l, ok := e.Workflow(workflow)
	if !ok {
		return nil, fmt.Errorf("workflow %s: %w", workflow, ErrNotFound)
	}
	trigger, t := l.triggerNamed(trigger)
	if t == nil || !strings.EqualFold(t.Type, "Request") {
		return nil, fmt.Errorf("request trigger %s of workflow %s: %w", trigger, workflow, ErrNotFound)
	}
	sp := "/triggers/" + trigger + "/run"
	base := strings.TrimSuffix(e.baseURL(), "/") + "/api/" + url.PathEscape(workflow) + "/triggers/" + url.PathEscape(trigger) + "/invoke"
	q := map[string]string{"api-version": callbackAPIVersion, "sp": sp, "sv": "1.0", "sig": sign(l.SigKey, workflow, trigger, sp, "1.0")}
	vals := url.Values{}
	for k, v := range q {
		vals.Set(k, v)
	}
	method := "POST"
	in, _ := t.Inputs.(map[string]any)
	if m, ok := in["method"].(string); ok && m != "" {
		method = strings.ToUpper(m)
	}
	cb := &CallbackURL{Value: base + "?" + vals.Encode(), Method: method, BasePath: base, Queries: q}
	if rp, ok := in["relativePath"].(string); ok && rp != "" {
		cb.RelativePath = rp
	}
	return cb, nil
}

// sign is the callback URL signature: HMAC-SHA256 over the workflow, trigger,
// permissions and version, with the workflow's key, base64url.
func sign(key, workflow, trigger, sp, sv string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(workflow + "\n" + trigger + "\n" + sp + "\n" + sv))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func verify(key, workflow, trigger, sp, sv, sig string) bool {
	return hmac.Equal([]byte(sign(key, workflow, trigger, sp, sv)), []byte(sig))
}

func formValue(trigger map[string]any, key string, multi bool) (any, error) {
	outs, _ := trigger["outputs"].(map[string]any)
	if parts, ok, err := multipartParts(outs["body"]); ok {
		// multipart/form-data: the parts named key.
		if err != nil {
			return nil, err
		}
		var vals []any
		for _, p := range parts {
			if p.name == key {
				vals = append(vals, expr.ToString(p.value()))
			}
		}
		if multi {
			if vals == nil {
				vals = []any{}
			}
			return vals, nil
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("the form data has no key '%s'", key)
		}
		return vals[0], nil
	}
	body := expr.ToString(outs["body"])
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil, fmt.Errorf("the trigger body is not form data: %v", err)
	}
	if multi {
		out := []any{}
		for _, v := range vals[key] {
			out = append(out, v)
		}
		return out, nil
	}
	if _, ok := vals[key]; !ok {
		return nil, fmt.Errorf("the form data has no key '%s'", key)
	}
	return vals.Get(key), nil
}

// armSchedule records a Recurrence trigger's next occurrence, keeping the
// one already stored when the schedule did not change (so a restart neither
// skips nor repeats an occurrence).
func (e *Engine) armSchedule(ctx context.Context, l *Loaded, name string, t *Trigger) error {
	if e.opt.Store == nil || t.Recurrence == nil {
		return nil
	}
	now := e.opt.Now()
	var next time.Time
	if isSlidingWindow(t) {
		w, err := newSlidingWindow(t)
		if err != nil {
			return err
		}
		next = w.firstFire(now)
	} else {
		sch, err := newSchedule(t.Recurrence)
		if err != nil {
			return err
		}
		next = sch.next(now, now)
		if !sch.hasStart && t.Recurrence.Schedule == nil {
			next = now // Logic Apps fires a plain recurrence without a start time when it is saved
		}
	}
	return e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		var hash string
		err := tx.QueryRow(ctx, `SELECT def_hash FROM wf_schedules WHERE workflow = ? AND trigger = ?`, l.Name, name).Scan(&hash)
		if err == nil && hash == l.Hash {
			return nil
		}
		if err == nil && isSlidingWindow(t) {
			// A changed definition continues from the next window not yet
			// run, so no window is skipped or run twice.
			_, err = tx.Exec(ctx, `UPDATE wf_schedules SET def_hash = ? WHERE workflow = ? AND trigger = ?`, l.Hash, l.Name, name)
			return err
		}
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE wf_schedules SET def_hash = ?, next_at = ? WHERE workflow = ? AND trigger = ?`, l.Hash, store.Micros(next), l.Name, name)
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO wf_schedules (workflow, trigger, def_hash, next_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (workflow, trigger) DO NOTHING`, l.Name, name, l.Hash, store.Micros(next))
		return err
	})
}

// scheduleLoop fires due recurrences on the one node that holds the
// scheduler lease. Like the other loops it runs under e.ctx, the engine
// group's context.
func (e *Engine) scheduleLoop(context.Context) {
	_ = e.opt.Store.Leases().Hold(e.ctx, "workflow-scheduler", e.opt.NodeID, max(e.opt.LeaseTTL, time.Second), func(ctx context.Context) {
		t := time.NewTicker(e.opt.PollInterval)
		defer t.Stop()
		for {
			e.fireDue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}, func(err error) { e.log.Warn("workflow scheduler lease", "err", err) })
}

type due struct {
	workflow, trigger, hash string
	at                      int64
}

// fireDue starts the run of every due occurrence. The run and the advanced
// schedule commit together, guarded by the previous next_at, so an occurrence
// fires once even if two nodes briefly both believe they hold the lease.
func (e *Engine) fireDue(ctx context.Context) {
	now := e.opt.Now()
	var list []due
	err := e.opt.Store.Read(ctx, func(q store.Querier) (err error) {
		list, err = store.Collect(ctx, q, func(rows *sql.Rows) (d due, err error) {
			err = rows.Scan(&d.workflow, &d.trigger, &d.hash, &d.at)
			return
		}, `SELECT workflow, trigger, def_hash, next_at FROM wf_schedules WHERE next_at > 0 AND next_at <= ?`, store.Micros(now))
		return err
	})
	if err != nil {
		return
	}
	for _, d := range list {
		l, ok := e.Workflow(d.workflow)
		if !ok || l.Hash != d.hash {
			continue
		}
		t := l.Def.Triggers[d.trigger]
		if t == nil || t.Recurrence == nil {
			continue
		}
		if isSlidingWindow(t) {
			e.fireWindows(ctx, l, d, t, now)
			continue
		}
		sch, err := newSchedule(t.Recurrence)
		if err != nil {
			continue
		}
		at := store.FromMicros(d.at)
		// A missed occurrence fires once; the next is the first after now.
		next := sch.next(now, at)
		nextAt := int64(0)
		if !next.IsZero() {
			nextAt = store.Micros(next)
		}
		outputs := map[string]any{"headers": map[string]any{}, "body": nil, "scheduledTime": fmtTime(at)}
		e.fireOccurrence(ctx, l, d, now, nextAt, outputs, map[string]any{"scheduledTime": fmtTime(at)})
	}
}

// fireWindows runs every SlidingWindow window that is due, oldest first (a
// node that was down back-fills the windows it missed).
func (e *Engine) fireWindows(ctx context.Context, l *Loaded, d due, t *Trigger, now time.Time) {
	w, err := newSlidingWindow(t)
	if err != nil {
		return
	}
	for i := 0; i < 1000 && ctx.Err() == nil; i++ { // the rest on the next tick
		fire := store.FromMicros(d.at)
		if fire.After(now) {
			return
		}
		start, end := w.window(fire)
		next := store.Micros(fire.Add(w.length))
		outputs := map[string]any{"headers": map[string]any{}, "body": nil, "windowStartTime": fmtTime(start), "windowEndTime": fmtTime(end)}
		if !e.fireOccurrence(ctx, l, d, now, next, outputs, map[string]any{"scheduledTime": fmtTime(fire)}) {
			return
		}
		d.at = next
	}
}

// fireOccurrence advances a schedule from d.at to nextAt and records the
// run it starts, in one transaction guarded by d.at: an occurrence fires
// once even when two nodes both try. It reports whether this node fired it.
func (e *Engine) fireOccurrence(ctx context.Context, l *Loaded, d due, now time.Time, nextAt int64, outputs, extra map[string]any) bool {
	r := &Run{ID: newID(), Workflow: l.Name, Status: StatusRunning, StartTime: now.UTC(), defHash: l.Hash,
		Trigger: map[string]any{"name": d.trigger, "outputs": outputs, "startTime": fmtTime(now), "endTime": fmtTime(now), "status": StatusSucceeded}}
	for k, v := range extra {
		r.Trigger[k] = v
	}
	r.ClientTrackingID = r.ID
	fired := false
	err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE wf_schedules SET next_at = ? WHERE workflow = ? AND trigger = ? AND next_at = ?`, nextAt, d.workflow, d.trigger, d.at)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		fired = true
		if l.stateless() {
			return nil
		}
		return insertRun(ctx, tx, r, e.opt.NodeID, e.opt.LeaseTTL)
	})
	if err != nil || !fired {
		return false
	}
	var j journal = storeJournal{e.opt.Store}
	if l.stateless() {
		j = memoryJournal{}
	}
	e.launch(e.newRunState(l, r, j))
	return true
}
