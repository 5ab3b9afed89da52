package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"junction/internal/changelog"
	"junction/internal/connector"
	"junction/internal/expr"
	"junction/internal/jsonvalue"
	"junction/internal/lifecycle"
	"junction/internal/outbound"
	"junction/internal/store"
	"junction/internal/trace"
)

var decodeJSONValue = expr.DecodeJSON

// JSRunner runs a JavaScriptCode action's code in a sandbox (the function
// host provides one). workflowContext has trigger, actions and workflow.
type JSRunner interface {
	RunJS(ctx context.Context, code string, workflowContext map[string]any) (any, error)
}

// Config is what an Engine is built from: its dependencies and its tuning.
type Config struct {
	Store      store.Store
	Logger     *slog.Logger
	NodeID     string
	Connectors *connector.Registry
	JS         JSRunner
	// Functions runs Function actions (the function host provides it).
	Functions FunctionCaller
	// AppSetting resolves @appsetting(...) under the secrets rule (see
	// package secrets); default: none resolve.
	AppSetting func(name string) (string, bool)
	// HTTPClient makes Http actions' calls (default: a client that dials
	// through Outbound).
	HTTPClient *http.Client
	// Outbound is the policy Http actions dial through (nil: the default, which
	// refuses link-local and metadata addresses).
	Outbound *outbound.Policy
	// BaseURL is this server's public URL, for callback URLs.
	BaseURL func() string
	// LeaseTTL bounds how long a crashed node's runs wait to be resumed.
	LeaseTTL time.Duration
	// PollInterval is how often orphaned runs and schedules are looked for.
	PollInterval time.Duration
	// TimeScale divides every wait (retries, Wait, polling); tests use 1000.
	TimeScale float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SyncTimeout bounds how long a Request trigger waits for a Response.
	SyncTimeout time.Duration
	// ExprLimits caps what expression functions may build (see expr.Limits;
	// zero fields take the defaults).
	ExprLimits expr.Limits
	// MaxBody caps request trigger bodies in bytes (default DefaultMaxBody);
	// JSON bounds their nesting and number of values (zero: no bound).
	MaxBody int64
	JSON    jsonvalue.Limits
	// Tracer records runs' and actions' spans (nil: none).
	Tracer *trace.Recorder
	// Registerer takes the engine's metrics (nil: not exported).
	Registerer prometheus.Registerer
}

// Engine runs workflows.
type Engine struct {
	opt   Config
	log   *slog.Logger
	cache expr.Cache

	mu        sync.RWMutex
	workflows map[string]*Loaded
	runs      map[string]*runState // runs executing on this node
	sources   map[string]TriggerSource
	subs      map[string]func(context.Context) error // workflow/trigger -> unsubscribe

	// group runs the engine's goroutines, runs and background loops alike,
	// from New until Stop; ctx is its context, which runs derive from.
	group   lifecycle.Group
	ctx     context.Context
	started bool // the background loops run
	stopped bool // Stop ran (an engine does not start again)
	killed  bool
	tokens  tokenCache
	checked map[string]time.Time
	project Project
	base    string
	// runsStarted counts the runs started on this node, by workflow.
	runsStarted *prometheus.CounterVec
}

func (e *Engine) setBase(u string) {
	e.mu.Lock()
	e.base = u
	e.mu.Unlock()
}

func (e *Engine) baseURL() string {
	e.mu.RLock()
	b := e.base
	e.mu.RUnlock()
	if b != "" {
		return b
	}
	return e.opt.BaseURL()
}

// New builds an engine; Start runs its background work.
func New(opt Config) *Engine {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.NodeID == "" {
		opt.NodeID = newID()
	}
	if opt.AppSetting == nil {
		opt.AppSetting = noSettings
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = safeClient(opt.Outbound)
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.TimeScale <= 0 {
		opt.TimeScale = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SyncTimeout <= 0 {
		opt.SyncTimeout = 120 * time.Second
	}
	if opt.BaseURL == nil {
		opt.BaseURL = func() string { return "http://localhost" }
	}
	e := &Engine{opt: opt, log: opt.Logger, workflows: map[string]*Loaded{}, runs: map[string]*runState{},
		sources: map[string]TriggerSource{}, subs: map[string]func(context.Context) error{},
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_workflow_runs_total",
			Help: "Workflow runs started on this node, by workflow."}, []string{"workflow"})}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(e.runsStarted)
	}
	// Runs may start before Start (offline tests, a trigger fired in
	// process); Start adds the background loops.
	e.group.Start(context.Background())
	e.ctx = e.group.Context()
	return e
}

// Loaded is a workflow ready to run.
type Loaded struct {
	Name        string
	Kind        string // Stateful or Stateless
	Def         *Definition
	Hash        string
	Document    []byte
	Parameters  map[string]any
	Connections map[string]connector.Connection
	Maps        map[string]string
	// Agents are connections.json agentConnections, by name.
	Agents map[string]AgentConnection
	SigKey string
	// FlowName is the flow's name in a Power Automate export (a child flow
	// action's host.workflowReferenceName).
	FlowName string
	// Warnings are what deploys but cannot run here (actions needing a
	// Microsoft-hosted connector, triggers that never fire).
	Warnings    Problems
	hasResponse bool
}

func (l *Loaded) stateless() bool { return strings.EqualFold(l.Kind, "Stateless") }

// Project is what a workflow is compiled against: the project's parameters,
// connections and settings.
type Project struct {
	Parameters  map[string]any
	Connections map[string]connector.Connection
	// Maps are the Artifacts/Maps files (Liquid templates) by file name.
	Maps map[string]string
	// Agents are connections.json agentConnections (the models Agent
	// actions talk to), by name.
	Agents map[string]AgentConnection
}

// Compile validates a workflow file and prepares it for running.
func (e *Engine) Compile(name string, f *File, p Project) (*Loaded, error) {
	env := e.environment(p)
	if ps := Validate(f.Definition, env); len(ps) > 0 {
		return nil, ps
	}
	doc, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte(name+"\x00"), doc...))
	l := &Loaded{Name: name, Kind: f.Kind, Def: f.Definition, Hash: hex.EncodeToString(sum[:16]), Document: doc, FlowName: f.FlowName,
		Parameters: map[string]any{}, Connections: p.Connections, Maps: p.Maps, Agents: p.Agents}
	if l.Kind == "" {
		l.Kind = "Stateful"
	}
	for k, v := range p.Parameters {
		l.Parameters[k] = v
	}
	for k, pd := range f.Definition.Parameters {
		if _, ok := l.Parameters[k]; ok {
			continue
		}
		if pd.Value != nil {
			l.Parameters[k] = pd.Value
		} else {
			l.Parameters[k] = pd.DefaultValue
		}
	}
	walkActions(f.Definition.Actions, func(_ string, a *Action) {
		if strings.EqualFold(a.Type, "Response") {
			l.hasResponse = true
		}
	})
	l.Warnings = e.hostedWarnings(f.Definition, p)
	for _, w := range l.Warnings {
		e.log.Warn("workflow deploys with an action that cannot run here", "workflow", name, "path", w.Path, "warning", w.Message)
	}
	return l, nil
}

func (e *Engine) environment(p Project) Environment {
	env := Environment{AppSetting: e.opt.AppSetting, Parameters: p.Parameters, TriggerTypes: map[string]bool{}, Maps: p.Maps}
	if p.Connections != nil {
		env.Connections = map[string]bool{}
		for k := range p.Connections {
			env.Connections[k] = true
		}
	}
	e.mu.RLock()
	for t := range e.sources {
		env.TriggerTypes[t] = true
	}
	e.mu.RUnlock()
	return env
}

func walkActions(set map[string]*Action, fn func(name string, a *Action)) {
	for name, a := range set {
		if a == nil {
			continue
		}
		fn(name, a)
		for _, c := range a.Children() {
			walkActions(c.Actions, fn)
		}
	}
}

// Deploy makes a compiled workflow current: it is stored (so that runs can
// resume on any node and other nodes see it) and its triggers are armed.
func (e *Engine) Deploy(ctx context.Context, l *Loaded, source string) error {
	if e.opt.Store != nil {
		err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
			now := store.Micros(e.opt.Now())
			if _, err := tx.Exec(ctx, `INSERT INTO wf_versions (def_hash, workflow, document, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (def_hash) DO NOTHING`, l.Hash, l.Name, string(l.Document), now); err != nil {
				return err
			}
			var key string
			err := tx.QueryRow(ctx, `SELECT sig_key FROM wf_workflows WHERE name = ?`, l.Name).Scan(&key)
			if err == nil {
				l.SigKey = key
				_, err = tx.Exec(ctx, `UPDATE wf_workflows SET kind = ?, def_hash = ?, source = ?, changed_at = ? WHERE name = ?`,
					l.Kind, l.Hash, source, now, l.Name)
				return err
			}
			l.SigKey = newKey()
			_, err = tx.Exec(ctx, `INSERT INTO wf_workflows (name, kind, def_hash, source, sig_key, created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				l.Name, l.Kind, l.Hash, source, l.SigKey, now, now)
			return err
		})
		if err != nil {
			return fmt.Errorf("store workflow %s: %w", l.Name, err)
		}
	} else if l.SigKey == "" {
		l.SigKey = newKey()
	}
	e.mu.Lock()
	e.workflows[l.Name] = l
	e.mu.Unlock()
	return e.arm(ctx, l)
}

// Remove deletes a workflow; its run history stays until retention.
func (e *Engine) Remove(ctx context.Context, name string) (bool, error) {
	// Its triggers stop first, so none places a cursor again once dropped.
	// They stop outside the lock: a trigger firing right now takes it to
	// start its run.
	e.mu.Lock()
	_, found := e.workflows[name]
	delete(e.workflows, name)
	unsubs := e.takeSubs(name + "/")
	e.mu.Unlock()
	if err := unsubscribe(ctx, unsubs); err != nil {
		return found, fmt.Errorf("stop the triggers of workflow %s: %w", name, err)
	}
	if e.opt.Store != nil {
		err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM wf_workflows WHERE name = ?`, name)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				found = true
			}
			if _, err = tx.Exec(ctx, `DELETE FROM wf_schedules WHERE workflow = ?`, name); err != nil {
				return err
			}
			// Its row triggers no longer hold the change log back.
			return changelog.DropCursors(ctx, tx, rowTriggerCursor(name+"/"))
		})
		if err != nil {
			return false, err
		}
	}
	return found, nil
}

// Workflow returns a deployed workflow by name.
func (e *Engine) Workflow(name string) (*Loaded, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	l, ok := e.workflows[name]
	return l, ok
}

// Workflows lists the deployed workflows.
func (e *Engine) Workflows() []*Loaded {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*Loaded, 0, len(e.workflows))
	for _, l := range e.workflows {
		out = append(out, l)
	}
	return out
}

// version loads the definition a run was started with.
func (e *Engine) version(ctx context.Context, workflow, hash string) (*Loaded, error) {
	e.mu.RLock()
	l, ok := e.workflows[workflow]
	e.mu.RUnlock()
	if ok && l.Hash == hash {
		return l, nil
	}
	if e.opt.Store == nil {
		return nil, fmt.Errorf("workflow %s version %s is not loaded", workflow, hash)
	}
	var doc string
	err := e.opt.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT document FROM wf_versions WHERE def_hash = ?`, hash).Scan(&doc)
	})
	if err != nil {
		return nil, fmt.Errorf("load workflow %s version %s: %w", workflow, hash, err)
	}
	f, err := ParseFile([]byte(doc))
	if err != nil {
		return nil, err
	}
	var p Project
	if ok {
		p = Project{Parameters: l.Parameters, Connections: l.Connections}
	}
	nl, err := e.Compile(workflow, f, p)
	if err != nil {
		return nil, err
	}
	nl.Hash = hash
	return nl, nil
}

// Start resumes orphaned runs, claims runs of crashed nodes as their leases
// expire, and fires schedules. (Run history retention is package
// retention's: see PruneRuns.) Starting a started engine does nothing; a
// stopped engine does not start again.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.stopped || e.opt.Store == nil {
		return nil
	}
	e.started = true
	e.group.Go(e.claimLoop)
	e.group.Go(e.renewLoop)
	e.group.Go(e.scheduleLoop)
	return nil
}

// Stop stops background work and waits for local runs to pause within ctx's
// deadline; their leases are then released so another node (or the next
// start) resumes them. Runs still going when the deadline passes keep their
// leases, which expire. Safe twice and without Start.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	first := !e.stopped
	e.stopped = true
	unsubs := e.takeSubs("")
	killed := e.killed
	e.mu.Unlock()
	// Triggers stop outside the lock: one firing now takes it to start its
	// run, and its source waits for it within ctx's deadline.
	if err := unsubscribe(ctx, unsubs); err != nil {
		return fmt.Errorf("workflow triggers did not stop: %w", err)
	}
	if err := e.group.Stop(ctx); err != nil {
		return fmt.Errorf("workflow runs did not pause: %w", err)
	}
	if !first || e.opt.Store == nil || killed {
		return nil
	}
	err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE wf_runs SET lease_until = 0 WHERE owner = ? AND status = ?`, e.opt.NodeID, StatusRunning)
		return err
	})
	if err != nil {
		return fmt.Errorf("release workflow run leases: %w", err)
	}
	return nil
}

// kill stops the engine as a crash would: nothing more is written, leases
// are left to expire. For tests.
func (e *Engine) kill() {
	e.mu.Lock()
	e.killed = true
	e.mu.Unlock()
	_ = e.Stop(context.Background())
}

func (e *Engine) isKilled() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.killed
}

// sleep waits d (divided by the time scale) or until ctx ends.
func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	d = time.Duration(float64(d) / e.opt.TimeScale)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) claimLoop(context.Context) {
	sub := e.opt.Store.Listen(notifyRuns)
	defer sub.Close()
	tick := time.NewTicker(e.opt.PollInterval)
	defer tick.Stop()
	for {
		e.claimOrphans()
		e.promote(e.ctx)
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		case <-sub.C:
		}
	}
}

// claimOrphans takes over running runs whose owner's lease expired.
func (e *Engine) claimOrphans() {
	ctx := e.ctx
	var ids []string
	err := e.opt.Store.Tx(ctx, func(tx store.Tx) error {
		now := tx.Dialect().NowExpr()
		cand, err := store.Collect(ctx, tx, scanString, `SELECT id FROM wf_runs WHERE status = ? AND lease_until < `+now+` ORDER BY id LIMIT 20`+tx.Dialect().SkipLocked(), StatusRunning)
		if err != nil {
			return err
		}
		for _, id := range cand {
			res, err := tx.Exec(ctx, `UPDATE wf_runs SET owner = ?, lease_until = `+now+` + ? WHERE id = ? AND status = ? AND lease_until < `+now,
				e.opt.NodeID, e.opt.LeaseTTL.Microseconds(), id, StatusRunning)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("claim workflow runs", "err", err)
		}
		return
	}
	for _, id := range ids {
		r, err := loadRun(ctx, e.opt.Store, id, true)
		if err != nil {
			e.log.Warn("load claimed run", "run", id, "err", err)
			continue
		}
		l, err := e.version(ctx, r.Workflow, r.defHash)
		if err != nil {
			e.log.Warn("resume run", "run", id, "err", err)
			continue
		}
		e.log.Info("resuming workflow run", "workflow", r.Workflow, "run", id)
		rs := e.newRunState(l, r, storeJournal{e.opt.Store})
		e.launch(rs)
	}
}

func (e *Engine) renewLoop(context.Context) {
	t := time.NewTicker(e.opt.LeaseTTL / 4)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		err := e.opt.Store.Tx(e.ctx, func(tx store.Tx) error {
			_, err := tx.Exec(e.ctx, `UPDATE wf_runs SET lease_until = `+tx.Dialect().NowExpr()+` + ? WHERE owner = ? AND status = ?`,
				e.opt.LeaseTTL.Microseconds(), e.opt.NodeID, StatusRunning)
			return err
		})
		if err != nil && e.ctx.Err() == nil {
			e.log.Warn("renew workflow run leases", "err", err)
		}
		e.checkCancelled()
	}
}

// checkCancelled stops local runs that were cancelled through another node.
func (e *Engine) checkCancelled() {
	e.mu.RLock()
	var local []*runState
	for _, rs := range e.runs {
		if !rs.l.stateless() {
			local = append(local, rs)
		}
	}
	e.mu.RUnlock()
	for _, rs := range local {
		var status, owner string
		err := e.opt.Store.Read(e.ctx, func(q store.Querier) error {
			return q.QueryRow(e.ctx, `SELECT status, owner FROM wf_runs WHERE id = ?`, rs.run.ID).Scan(&status, &owner)
		})
		if err == nil && (status != StatusRunning || owner != e.opt.NodeID) {
			rs.abort(status == StatusCancelled)
		}
	}
}

func newID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%014X%s", time.Now().UnixMicro(), strings.ToUpper(hex.EncodeToString(b)))
}

func newKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrNotFound reports an unknown workflow, trigger or run.
var ErrNotFound = errors.New("not found")
