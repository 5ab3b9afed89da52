package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"junction/internal/store"
	"junction/internal/trace"
)

// runState is a run executing on this node.
type runState struct {
	e   *Engine
	l   *Loaded
	run *Run
	j   journal

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	records   map[string]*ActionRecord
	cancelled bool
	lost      bool
	term      *termination

	varMu sync.Mutex
	vars  map[string]any

	timerMu sync.Mutex
	timers  map[string]time.Time

	respOnce sync.Once
	respCh   chan *Response
	// responding is set once a Response action has answered (or is about
	// to, once its record is committed).
	responding bool
	done       chan struct{}

	// held are the records of replayable actions not yet written, and
	// heldVars the variables to write with them (nil: unchanged); they
	// commit with the run's next write (see save).
	heldMu   sync.Mutex
	held     []*ActionRecord
	heldVars map[string]any
	answers  []func() // run once the held records are committed
	// effects are the joined effects of held records (see saveJoined).
	effects []*joined
	// joinFailures names the actions whose joined effect failed at their
	// commit (guarded by mu; see joinFailed).
	joinFailures []string
	// working counts the actions other than containers in progress, and
	// inflight every action in progress.
	working  atomic.Int32
	inflight atomic.Int32
	// varsMu orders the writes that carry variables, so that an older
	// snapshot never commits over a newer one.
	varsMu sync.Mutex

	// mocks replace actions' results in offline tests.
	mocks map[string]*Mock
	// parents are the enclosing actions of every action, by name.
	parents map[string][]string
	defs    map[string]*Action
	// span times the run on the node that started it (nil after a
	// takeover: the actions' spans still join the run's trace).
	span *trace.Active
}

type termination struct {
	status string
	err    any
}

// Mock is a canned result for an action in offline tests.
type Mock struct {
	Status  string `json:"status"`
	Outputs any    `json:"outputs,omitempty"`
	Error   any    `json:"error,omitempty"`
	source  string
}

func (e *Engine) newRunState(l *Loaded, r *Run, j journal) *runState {
	ctx, cancel := context.WithCancel(e.ctx)
	rs := &runState{e: e, l: l, run: r, j: j, ctx: ctx, cancel: cancel, records: map[string]*ActionRecord{},
		vars: map[string]any{}, respCh: make(chan *Response, 1), done: make(chan struct{}), parents: map[string][]string{}}
	for k, v := range r.variables {
		rs.vars[k] = v
	}
	rs.timers = map[string]time.Time{}
	for k, v := range r.timers {
		rs.timers[k] = v
	}
	for _, a := range r.Actions {
		rs.records[a.Path] = a
	}
	indexParents(l.Def.Actions, nil, rs.parents)
	return rs
}

func indexParents(set map[string]*Action, chain []string, out map[string][]string) {
	for name, a := range set {
		if a == nil {
			continue
		}
		out[name] = chain
		for _, c := range a.Children() {
			indexParents(c.Actions, append(append([]string{}, chain...), name), out)
		}
	}
}

// StartOptions describe a new run.
type StartOptions struct {
	Trigger          string
	Outputs          map[string]any // the trigger's outputs (headers, body, queries, ...)
	ClientTrackingID string
	OriginRunID      string
	// Records are results carried over from another run (resubmit from an action).
	Records   []*ActionRecord
	Variables map[string]any
	Mocks     map[string]*Mock
	// Parent links a child run to the run and action that called it
	// (a Workflow action): {"workflow", "runId", "action"}.
	Parent map[string]any
}

// Handle is a started run.
type Handle struct {
	ID string
	// Waiting is set when the trigger's run limit was reached: the run is
	// queued and starts when a slot frees.
	Waiting bool
	rs      *runState
}

// ClientTrackingID is the run's client tracking id: the trigger's
// x-ms-client-tracking-id header or correlation expression, else the run id.
func (h *Handle) ClientTrackingID() string { return h.rs.run.ClientTrackingID }

// Response waits for the run's Response action, or returns nil when the run
// ends without one.
func (h *Handle) Response(ctx context.Context) (*Response, error) {
	select {
	case r := <-h.rs.respCh:
		if r != nil {
			h.rs.respCh <- r // keep it for other readers
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Wait waits for the run to finish and returns it.
func (h *Handle) Wait(ctx context.Context) (*Run, error) {
	select {
	case <-h.rs.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	h.rs.mu.Lock()
	lost := h.rs.lost
	h.rs.mu.Unlock()
	s := h.rs.e.opt.Store
	if !lost || s == nil {
		return h.rs.snapshot(), nil
	}
	// Another node took the run over: follow it in the store.
	for {
		r, err := loadRun(ctx, s, h.ID, true)
		if err != nil {
			return nil, err
		}
		if r.Status != StatusRunning && r.Status != StatusWaiting {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(h.rs.e.opt.PollInterval):
		}
	}
}

// StartRun creates a run and executes it on this node. It returns once the
// run is durably recorded (stateful workflows).
func (e *Engine) StartRun(ctx context.Context, l *Loaded, o StartOptions) (*Handle, error) {
	hs, err := e.startRuns(ctx, l, []StartOptions{o})
	if err != nil {
		return nil, err
	}
	return hs[0], nil
}

// startRuns creates runs of l, one per options, in one transaction (all or
// none), and executes them on this node.
func (e *Engine) startRuns(ctx context.Context, l *Loaded, opts []StartOptions) ([]*Handle, error) {
	if e.ctx.Err() != nil {
		return nil, errors.New("the workflow engine is stopped")
	}
	runs := make([]*Run, len(opts))
	spans := make([]*trace.Active, len(opts))
	for i, o := range opts {
		runs[i], spans[i] = e.newRun(ctx, l, o)
	}
	var j journal = memoryJournal{}
	if !l.stateless() && e.opt.Store != nil && opts[0].Mocks == nil {
		j = storeJournal{e.opt.Store}
		// Carried-over records are written with the run, in one transaction.
		err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
			if !slices.ContainsFunc(runs, func(r *Run) bool { return runLimit(l, triggerName(r)) > 0 }) {
				return e.insertRunsUnlimited(ctx, tx, runs, opts)
			}
			for i, r := range runs {
				r.Status = StatusRunning
				if err := e.insertRun(ctx, tx, l, r, opts[i].Records); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, ErrTooManyWaitingRuns) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("create run: %w", err)
		}
	}
	hs := make([]*Handle, len(runs))
	for i, r := range runs {
		if opts[i].Mocks == nil {
			e.runsStarted.WithLabelValues(l.Name).Inc()
		}
		rs := e.newRunState(l, r, j)
		rs.mocks, rs.span = opts[i].Mocks, spans[i]
		if r.Status == StatusWaiting {
			// Another run holds the last slot: this one starts when a slot
			// frees, on whichever node promotes it. Its handle follows it in
			// the store.
			close(rs.done)
			rs.respOnce.Do(func() { rs.respCh <- nil })
			rs.lost = true
			hs[i] = &Handle{ID: r.ID, rs: rs, Waiting: true}
			continue
		}
		e.launch(rs)
		hs[i] = &Handle{ID: r.ID, rs: rs}
	}
	return hs, nil
}

// newRun is a new run of l as o describes it, with its span begun.
func (e *Engine) newRun(ctx context.Context, l *Loaded, o StartOptions) (*Run, *trace.Active) {
	now := e.opt.Now().UTC()
	trig := o.Trigger
	if trig != "" {
		trig, _ = l.triggerNamed(trig)
	}
	if trig == "" {
		for name := range l.Def.Triggers {
			trig = name
		}
	}
	outputs := o.Outputs
	if outputs == nil {
		outputs = map[string]any{}
	}
	r := &Run{ID: newID(), Workflow: l.Name, Status: StatusRunning, StartTime: now, defHash: l.Hash,
		ClientTrackingID: o.ClientTrackingID, OriginRunID: o.OriginRunID, variables: o.Variables,
		Trigger: map[string]any{"name": trig, "outputs": outputs, "startTime": fmtTime(now), "endTime": fmtTime(now), "status": StatusSucceeded}}
	if r.ClientTrackingID == "" {
		r.ClientTrackingID = r.ID
	}
	r.Trigger["clientTrackingId"] = r.ClientTrackingID
	_, span := e.opt.Tracer.Begin(ctx, "Workflows", "run "+l.Name)
	span.Kind(trace.KindConsumer).Set("junction.workflow", l.Name).Set("junction.run_id", r.ID).Set("junction.trigger", trig).
		Set("junction.client_tracking_id", r.ClientTrackingID)
	r.Trace = span.Context().String()
	if o.Parent != nil {
		r.Trigger["parent"] = o.Parent
	}
	r.Actions = o.Records
	return r, span
}

// insertRun records r, running on this node or, when its trigger's run
// limit is reached, waiting; records are results carried over.
func (e *Engine) insertRun(ctx context.Context, tx store.Tx, l *Loaded, r *Run, records []*ActionRecord) error {
	owner := e.opt.NodeID
	trig := triggerName(r)
	if limit := runLimit(l, trig); limit > 0 {
		running, err := countRunning(ctx, tx, l.Name)
		if err != nil {
			return err
		}
		if running >= limit {
			if maxWaiting := waitingLimit(l, trig); maxWaiting > 0 {
				var waiting int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM wf_runs WHERE workflow = ? AND status = ?`, l.Name, StatusWaiting).Scan(&waiting); err != nil {
					return err
				}
				if waiting >= maxWaiting {
					return ErrTooManyWaitingRuns
				}
			}
			r.Status, owner = StatusWaiting, ""
		}
	}
	if err := insertRun(ctx, tx, r, owner, e.opt.LeaseTTL); err != nil {
		return err
	}
	return insertActions(ctx, tx, r.ID, records)
}

// insertRunsUnlimited records runs of a trigger with no run limit, all
// running on this node, in one multi-row statement, and their carried-over
// records.
func (e *Engine) insertRunsUnlimited(ctx context.Context, tx store.Tx, runs []*Run, opts []StartOptions) error {
	owners := make([]string, len(runs))
	for i, r := range runs {
		r.Status, owners[i] = StatusRunning, e.opt.NodeID
	}
	if err := insertRuns(ctx, tx, runs, owners, e.opt.LeaseTTL); err != nil {
		return err
	}
	for i, r := range runs {
		if err := insertActions(ctx, tx, r.ID, opts[i].Records); err != nil {
			return err
		}
	}
	return nil
}

// ErrTooManyWaitingRuns refuses a run when the trigger's run limit is reached
// and runtimeConfiguration.concurrency.maximumWaitingRuns runs already wait.
var ErrTooManyWaitingRuns = errors.New("the workflow has reached its limit of waiting runs (runtimeConfiguration.concurrency.maximumWaitingRuns)")

// waitingLimit is the trigger's maximumWaitingRuns (0: no limit).
func waitingLimit(l *Loaded, trigger string) int {
	t := l.Def.Triggers[trigger]
	if t == nil || t.RuntimeConfiguration == nil || t.RuntimeConfiguration.Concurrency == nil {
		return 0
	}
	return t.RuntimeConfiguration.Concurrency.MaximumWaitingRuns
}

// runLimit is the trigger's runtimeConfiguration.concurrency.runs (0: none).
func runLimit(l *Loaded, trigger string) int {
	t := l.Def.Triggers[trigger]
	if t == nil || t.RuntimeConfiguration == nil || t.RuntimeConfiguration.Concurrency == nil {
		return 0
	}
	return t.RuntimeConfiguration.Concurrency.Runs
}

// countRunning counts a workflow's running runs, serialising callers per
// workflow on PostgreSQL (SQLite has one writer) so that two nodes cannot
// both take the last slot.
func countRunning(ctx context.Context, tx store.Tx, workflow string) (int, error) {
	if tx.Dialect() == store.Postgres {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "wf-runs:"+workflow); err != nil {
			return 0, err
		}
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM wf_runs WHERE workflow = ? AND status = ?`, workflow, StatusRunning).Scan(&n)
	return n, err
}

// promote starts waiting runs of workflows with a run limit while slots are free.
func (e *Engine) promote(ctx context.Context) {
	if e.opt.Store == nil {
		return
	}
	for _, l := range e.Workflows() {
		for trig := range l.Def.Triggers {
			limit := runLimit(l, trig)
			if limit <= 0 {
				continue
			}
			var ids []string
			err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
				ids = nil
				running, err := countRunning(ctx, tx, l.Name)
				if err != nil || running >= limit {
					return err
				}
				ids, err = store.Collect(ctx, tx, scanString, `SELECT id FROM wf_runs WHERE workflow = ? AND status = ? ORDER BY id LIMIT `+strconv.Itoa(limit-running), l.Name, StatusWaiting)
				if err != nil {
					return err
				}
				for _, id := range ids {
					if _, err := tx.Exec(ctx, `UPDATE wf_runs SET status = ?, owner = ?, lease_until = `+tx.Dialect().NowExpr()+` + ? WHERE id = ? AND status = ?`,
						StatusRunning, e.opt.NodeID, e.opt.LeaseTTL.Microseconds(), id, StatusWaiting); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("start waiting runs", "workflow", l.Name, "err", err)
				}
				continue
			}
			for _, id := range ids {
				r, err := loadRun(ctx, e.opt.Store, id, true)
				if err != nil {
					continue
				}
				if v, err := e.version(ctx, r.Workflow, r.defHash); err == nil {
					e.launch(e.newRunState(v, r, storeJournal{e.opt.Store}))
				}
			}
		}
	}
}

func (e *Engine) launch(rs *runState) {
	e.mu.Lock()
	if _, dup := e.runs[rs.run.ID]; dup {
		e.mu.Unlock()
		return
	}
	e.runs[rs.run.ID] = rs
	e.mu.Unlock()
	forget := func() {
		e.mu.Lock()
		delete(e.runs, rs.run.ID)
		e.mu.Unlock()
	}
	started := e.group.Go(func(context.Context) {
		defer forget()
		rs.execute()
	})
	if !started {
		// The engine stopped: the run resumes at the next start, as a run
		// paused by the stop does.
		forget()
		rs.respOnce.Do(func() { rs.respCh <- nil })
		close(rs.done)
	}
}

// localRun returns a run executing on this node.
func (e *Engine) localRun(id string) (*runState, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rs, ok := e.runs[id]
	return rs, ok
}

// abort stops a run: cancelled by a user, or lost to another node.
func (rs *runState) abort(cancelled bool) {
	rs.mu.Lock()
	if cancelled {
		rs.cancelled = true
	} else {
		rs.lost = true
	}
	rs.mu.Unlock()
	rs.cancel()
}

func (rs *runState) execute() {
	defer close(rs.done)
	defer rs.respOnce.Do(func() { rs.respCh <- nil })
	status, err := rs.runSet(rs.ctx, rs.l.Def.Actions, &frame{})
	rs.mu.Lock()
	lost, cancelled, term := rs.lost, rs.cancelled, rs.term
	rs.mu.Unlock()
	if lost || errors.Is(err, errLeaseLost) || rs.e.isKilled() {
		return // another node carries on, or the node "crashed"
	}
	if rs.e.ctx.Err() != nil && term == nil && !cancelled {
		return // shutting down: the run resumes at the next start
	}
	now := rs.e.opt.Now().UTC()
	r := rs.run
	r.EndTime = &now
	switch {
	case term != nil:
		r.Status, r.Error = term.status, term.err
	case cancelled:
		r.Status = StatusCancelled
	default:
		r.Status = status
		if status == StatusFailed {
			r.Error = rs.firstError()
		}
	}
	if len(rs.l.Def.Outputs) > 0 && r.Status == StatusSucceeded {
		outs := map[string]any{}
		sc := rs.scope(&frame{})
		for name, o := range rs.l.Def.Outputs {
			v, err := rs.e.cache.Resolve(o.Value, sc)
			if err != nil {
				outs[name] = map[string]any{"type": o.Type, "error": err.Error()}
				continue
			}
			outs[name] = map[string]any{"type": o.Type, "value": v}
		}
		r.Outputs = outs
	}
	rs.varMu.Lock()
	r.variables = copyMap(rs.vars)
	rs.varMu.Unlock()
	rs.endSpan(r)
	if cancelled {
		// The row was already marked Cancelled by the API; nothing to write.
		return
	}
	// The run's variables are final: the held ones are older.
	h := rs.takeHeld()
	h.release(rs)
	err = rs.commitHeld(&h, func(recs []*ActionRecord, effects []*joined) error {
		if len(rs.takeJoinFailures()) > 0 && term == nil && !cancelled {
			// The last action's joined effect failed: the run fails.
			r.Status, r.Error = StatusFailed, rs.firstError()
		}
		return rs.j.finishRun(context.WithoutCancel(rs.ctx), r, rs.e.opt.NodeID, recs, effects)
	})
	if err == nil {
		for _, answer := range h.answers {
			answer()
		}
	} else if !errors.Is(err, errLeaseLost) {
		rs.e.log.Error("finish workflow run", "run", r.ID, "err", err)
	}
	if runLimit(rs.l, triggerName(r)) > 0 && rs.e.ctx.Err() == nil {
		rs.e.promote(rs.e.ctx)
	}
}

// endSpan ends the run's span with the run's outcome.
func (rs *runState) endSpan(r *Run) {
	rs.span.Set("junction.status", r.Status)
	if r.Status == StatusSucceeded {
		rs.span.End(nil)
		return
	}
	rs.span.Fail("the run ended " + r.Status)
}

func (rs *runState) firstError() any {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var first *ActionRecord
	for _, rec := range rs.records {
		if (rec.Status == StatusFailed || rec.Status == StatusTimedOut) && rec.Error != nil && !isContainerRecord(rs, rec) {
			if first == nil || rec.EndTime.Before(first.EndTime) {
				first = rec
			}
		}
	}
	msg := "An action failed. No dependent actions succeeded."
	if first != nil {
		if m, ok := first.Error.(map[string]any); ok {
			if s, ok := m["message"].(string); ok {
				msg = fmt.Sprintf("Action '%s' failed: %s", first.Name, s)
			}
		}
	}
	return map[string]any{"code": "ActionFailed", "message": msg}
}

func isContainerRecord(rs *runState, rec *ActionRecord) bool {
	a := rs.findDef(rec.Name)
	return a != nil && (isContainer(a.Type) || strings.EqualFold(a.Type, "Switch"))
}

func (rs *runState) findDef(name string) *Action {
	var found *Action
	walkActions(rs.l.Def.Actions, func(n string, a *Action) {
		if n == name {
			found = a
		}
	})
	return found
}

// snapshot returns the run with its records, for Handle.Wait.
func (rs *runState) snapshot() *Run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := *rs.run
	r.Actions = nil
	for _, rec := range rs.records {
		r.Actions = append(r.Actions, rec)
	}
	r.variables = copyMap(rs.vars)
	return &r
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// timer returns the durable timer at key, creating it with t (persisted
// before it is used) the first time; a resumed run gets the original back.
func (rs *runState) timer(key string, t time.Time) (time.Time, error) {
	rs.timerMu.Lock()
	defer rs.timerMu.Unlock()
	if v, ok := rs.timers[key]; ok {
		return v, nil
	}
	next := make(map[string]time.Time, len(rs.timers)+1)
	for k, v := range rs.timers {
		next[k] = v
	}
	next[key] = t
	// The held records go with the timers: a run waiting long shows them.
	h := rs.takeHeld()
	defer h.release(rs)
	err := rs.commitHeld(&h, func(recs []*ActionRecord, effects []*joined) error {
		return rs.j.setTimers(context.WithoutCancel(rs.ctx), rs.run.ID, rs.e.opt.NodeID, next, recs, h.vars, effects)
	})
	rs.wrote(err, h)
	if err != nil {
		return time.Time{}, err
	}
	rs.timers = next
	return t, nil
}

// record returns the completed record at path.
func (rs *runState) record(path string) (*ActionRecord, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rec, ok := rs.records[path]
	return rec, ok && terminal(rec.Status)
}

// maxHeld bounds the records a run holds back: a long loop of replayable
// actions writes them in batches of this many.
const maxHeld = 64

// save records rec (and the variables, when vars is not nil) and makes it
// visible to expressions.
//
// The record of a replayable action (one that reaches nothing outside its
// run, see replayable) is held back and committed with the run's next write:
// the next other action's record, a timer, the run's end, or a batch of
// maxHeld. Losing it in a crash only means the action runs again when the
// run resumes, with the same inputs. Any other record is written before save
// returns, with the held ones, so an action with effects outside the run is
// not repeated once its record is written.
func (rs *runState) save(rec *ActionRecord, vars map[string]any) error {
	if rs.e.isKilled() {
		return errLeaseLost
	}
	if rs.replayable(rec) {
		return rs.hold(rec, vars, nil)
	}
	if vars != nil {
		// Only variable actions carry variables, and they are replayable.
		return fmt.Errorf("the record of %s carries variables but is not replayable", rec.Path)
	}
	if err := rs.write(rec, false); err != nil {
		return err
	}
	rs.mu.Lock()
	rs.records[rec.Path] = rec
	rs.mu.Unlock()
	return nil
}

// hold keeps rec (and vars) for the run's next write; answer, when not nil,
// runs once that write is committed. A Response action's record is held
// this way: its caller is answered once it is durable, which is when the
// run ends if the Response is its last action (one commit for both), or
// before the next action starts (see answerHeld).
func (rs *runState) hold(rec *ActionRecord, vars map[string]any, answer func()) error {
	if rs.e.isKilled() {
		return errLeaseLost
	}
	rs.heldMu.Lock()
	rs.held = append(rs.held, rec)
	if vars != nil {
		rs.heldVars = vars
	}
	if answer != nil {
		rs.answers = append(rs.answers, answer)
	}
	full := len(rs.held) >= maxHeld
	rs.heldMu.Unlock()
	rs.mu.Lock()
	rs.records[rec.Path] = rec
	rs.mu.Unlock()
	if full {
		return rs.write(nil, true)
	}
	return nil
}

// replayableTypes are the actions that reach nothing outside their run:
// they read the trigger, earlier records and variables, and write only their
// own record (and variables). Running one again after a crash gives the
// same result.
var replayableTypes = map[string]bool{"compose": true, "parsejson": true, "query": true, "select": true, "join": true,
	"table": true, "initializevariable": true, "setvariable": true, "incrementvariable": true, "decrementvariable": true,
	"appendtoarrayvariable": true, "appendtostringvariable": true, "if": true, "switch": true, "scope": true,
	"foreach": true, "until": true, "terminate": true}

// replayable reports whether rec may be held back (see save): a skipped
// action's record, or a replayable action's.
func (rs *runState) replayable(rec *ActionRecord) bool {
	if rec.Status == StatusSkipped {
		return true
	}
	_, a := rs.actionNamed(rec.Name)
	return a != nil && replayableTypes[strings.ToLower(a.Type)]
}

// flushHeld writes the held records, if any (before an action that may take
// long, so that the run history shows what ran before it).
func (rs *runState) flushHeld() error {
	rs.heldMu.Lock()
	n := len(rs.held)
	rs.heldMu.Unlock()
	if n == 0 || rs.e.isKilled() {
		return nil
	}
	return rs.write(nil, true)
}

// answerHeld reports whether a caller waits for a held record to commit.
func (rs *runState) answerHeld() bool {
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	return len(rs.answers) > 0
}

// write commits rec (when not nil) with the held records and variables.
// relaxed asks for a commit a power failure may lose, used only for a batch
// of replayable records that no caller waits for.
func (rs *runState) write(rec *ActionRecord, relaxed bool) error {
	h := rs.takeHeld()
	defer h.release(rs)
	if len(h.recs) == 0 && rec == nil && h.vars == nil {
		return nil
	}
	ctx := context.WithoutCancel(rs.ctx)
	if relaxed && rec == nil && len(h.answers) == 0 && len(h.effects) == 0 {
		ctx = store.Relaxed(ctx)
	}
	err := rs.commitHeld(&h, func(recs []*ActionRecord, effects []*joined) error {
		if rec != nil {
			recs = append(recs[:len(recs):len(recs)], rec)
		}
		return rs.j.saveActions(ctx, rs.run.ID, rs.e.opt.NodeID, recs, h.vars, effects)
	})
	rs.wrote(err, h)
	return err
}

// heldWrite is what a write took from the held records.
type heldWrite struct {
	recs    []*ActionRecord
	vars    map[string]any
	answers []func()
	effects []*joined
	locked  bool // holds varsMu
}

func (h heldWrite) release(rs *runState) {
	if h.locked {
		rs.varsMu.Unlock()
	}
}

// takeHeld takes the held records, variables and answers. With variables it
// also takes varsMu, which the caller releases (heldWrite.release) once
// they are committed: writes carrying variables commit in the order they
// took them, so an older snapshot never overwrites a newer one.
func (rs *runState) takeHeld() heldWrite {
	var h heldWrite
	rs.heldMu.Lock()
	if rs.heldVars != nil {
		rs.heldMu.Unlock()
		rs.varsMu.Lock()
		rs.heldMu.Lock()
		h.locked = true
	}
	h.recs, h.vars, h.answers, h.effects = rs.held, rs.heldVars, rs.answers, rs.effects
	rs.held, rs.heldVars, rs.answers, rs.effects = nil, nil, nil, nil
	rs.heldMu.Unlock()
	if h.locked && h.vars == nil {
		rs.varsMu.Unlock() // another write took them meanwhile
		h.locked = false
	}
	return h
}

// wrote handles the outcome of a write of held records: once committed the
// waiting callers are answered; a lost lease stops the run; after another
// error they are held again for the next write.
func (rs *runState) wrote(err error, h heldWrite) {
	switch {
	case err == nil:
		for _, answer := range h.answers {
			answer()
		}
	case errors.Is(err, errLeaseLost):
		rs.abort(false)
	default:
		rs.heldMu.Lock()
		rs.held = append(h.recs, rs.held...)
		if rs.heldVars == nil {
			rs.heldVars = h.vars
		}
		rs.answers = append(h.answers, rs.answers...)
		rs.effects = append(h.effects, rs.effects...)
		rs.heldMu.Unlock()
	}
}
