// Package retention keeps Junction's storage bounded for months: on the one
// node that holds its lease it runs every history's pruner on a schedule and
// when the store is idle, deleting in batches (each its own transaction, so
// PostgreSQL's autovacuum keeps up and SQLite's single writer is never held
// long), and gives the freed pages of the SQLite file back to the disk. It
// also reports what takes the space, per component, with the retention in
// force (see report.go).
//
// Each surface prunes its own tables: package retention knows them only as a
// History with a Prune function, wired in internal/app.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/lifecycle"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// PruneFunc deletes up to batch entries older than before, in one
// transaction, and returns how many it deleted; fewer than batch means there
// are no more.
type PruneFunc func(ctx context.Context, before time.Time, batch int) (int64, error)

// History is one kind of entry that retention deletes once it is older than
// its setting.
type History struct {
	Name    string // as reports and metrics name it: "workflow runs"
	Setting string // the key of its period in Settings: "workflowRuns"
	Prune   PruneFunc
}

// Options are what a Worker is built from.
type Options struct {
	Store    store.Store
	Logger   *slog.Logger
	NodeID   string
	Registry prometheus.Registerer
	// Settings come from flags and the environment; the project file fills
	// what they leave unset, then the defaults.
	Settings  Settings
	Histories []History
	// ChangeLog prunes the change log (package changelog's tables must be
	// in the store): Settings.Changes and ChangesMax.
	ChangeLog bool
	// Report says what the storage report measures.
	Report ReportOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Check is how often the worker looks whether a pass is due or the store
	// is idle (default 10s).
	Check time.Duration
	// Pause is the rest between two batches, so that other writers get the
	// store (default 10ms).
	Pause time.Duration
	// LeaseTTL is the lease that makes one node run the passes (default 30s).
	LeaseTTL time.Duration
}

// Pass is what one pass did.
type Pass struct {
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"`
	Idle      bool             `json:"idle"` // run early because the store was idle
	Deleted   map[string]int64 `json:"deleted"`
	Reclaimed int64            `json:"reclaimedBytes"` // SQLite pages given back to the disk
	Errors    []string         `json:"errors,omitempty"`
}

// Worker runs the passes.
type Worker struct {
	o      Options
	worker lifecycle.Worker
	m      metrics
	rep    reporter

	mu       sync.Mutex
	settings Settings // in force: flags, then the project file, then defaults
	last     *Pass
}

// New returns a worker; Start runs it.
func New(o Options) *Worker {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Check <= 0 {
		o.Check = 10 * time.Second
	}
	if o.Pause <= 0 {
		o.Pause = 10 * time.Millisecond
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	w := &Worker{o: o, settings: o.Settings.WithDefaults()}
	w.m = newMetrics(o.Registry, w)
	return w
}

// Name names the component.
func (w *Worker) Name() string { return "retention" }

// Migrations: retention has no tables of its own.
func (w *Worker) Migrations() []store.Migration { return nil }

// Routes serve the storage report.
func (w *Worker) Routes() []server.Route { return w.routes() }

// ValidateProject checks the retention: section of junction.yaml.
func (w *Worker) ValidateProject(p *project.Project) []project.Problem {
	return Validator{}.ValidateProject(p)
}

// LoadProject takes the project file's settings for what flags and the
// environment left unset.
func (w *Worker) LoadProject(_ context.Context, p *project.Project) error {
	s, problems := fromProject(p)
	if len(problems) > 0 {
		return project.Problems(problems)
	}
	merged := w.o.Settings.Or(s)
	if err := merged.checkChanges(); err != nil {
		return fmt.Errorf("retention (with the flags): %w", err)
	}
	w.mu.Lock()
	w.settings = merged.WithDefaults()
	w.mu.Unlock()
	return nil
}

// Settings are the settings in force.
func (w *Worker) Settings() Settings {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.settings
}

// Last is the last pass this node ran, or nil.
func (w *Worker) Last() *Pass {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Start runs passes on whichever node holds the retention lease.
func (w *Worker) Start(ctx context.Context) error {
	w.worker.Start(ctx, func(ctx context.Context) {
		_ = w.o.Store.Leases().Hold(ctx, "retention", w.o.NodeID, w.o.LeaseTTL, w.loop)
	})
	return nil
}

// Stop ends the worker, within ctx's deadline.
func (w *Worker) Stop(ctx context.Context) error { return w.worker.Stop(ctx) }

// loop runs a pass when one is due, or sooner when the store is idle.
func (w *Worker) loop(ctx context.Context) {
	tick := time.NewTicker(w.o.Check)
	defer tick.Stop()
	var lastPass time.Time
	lastTx := w.o.Store.Stats().Transactions
	for {
		tx := w.o.Store.Stats().Transactions
		// The store is idle when it committed less than one transaction a
		// second since the last look (the lease's own renewals included).
		idle := tx-lastTx <= int64(w.o.Check/time.Second)
		lastTx = tx
		interval := w.Settings().Interval
		since := w.o.Now().Sub(lastPass)
		if since >= interval || (idle && since >= max(interval/10, time.Minute)) {
			lastPass = w.o.Now()
			w.pass(ctx, idle && since < interval)
			// The pass's own transactions do not make the store busy.
			lastTx = w.o.Store.Stats().Transactions
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunPass runs one pass at once on this node, whoever holds the lease, as
// if the clock read at: tests see what retention keeps at any age.
func (w *Worker) RunPass(ctx context.Context, at time.Time) Pass { return w.passAt(ctx, at, false) }

func (w *Worker) pass(ctx context.Context, idle bool) Pass { return w.passAt(ctx, w.o.Now(), idle) }

func (w *Worker) passAt(ctx context.Context, at time.Time, idle bool) Pass {
	s := w.Settings()
	start := time.Now()
	p := Pass{Started: at, Idle: idle, Deleted: map[string]int64{}}
	for _, h := range w.o.Histories {
		keep := s.period(h.Setting)
		if keep <= 0 { // forever
			continue
		}
		n, err := w.prune(ctx, h, p.Started.Add(-keep.Duration()), s.Batch)
		p.Deleted[h.Name] = n
		w.m.deleted.WithLabelValues(h.Name).Add(float64(n))
		if err != nil && ctx.Err() == nil {
			p.Errors = append(p.Errors, fmt.Sprintf("%s: %v", h.Name, err))
			w.o.Logger.Warn("retention: prune failed", "history", h.Name, "err", err)
		}
		if n > 0 {
			w.o.Logger.Info("retention: pruned", "history", h.Name, "deleted", n, "older_than", keep.String())
		}
	}
	if w.o.ChangeLog {
		w.pruneChanges(ctx, &p, s)
	}
	if w.o.Store.Dialect() == store.SQLite {
		n, err := w.reclaim(ctx)
		p.Reclaimed = n
		w.m.reclaimed.Add(float64(n))
		if err != nil && ctx.Err() == nil {
			p.Errors = append(p.Errors, fmt.Sprintf("reclaim free pages: %v", err))
			w.o.Logger.Warn("retention: reclaim free pages failed", "err", err)
		}
	}
	p.Seconds = time.Since(start).Seconds()
	w.m.passes.Inc()
	w.m.lastPass.Set(float64(p.Started.Unix()))
	w.mu.Lock()
	w.last = &p
	w.mu.Unlock()
	return p
}

// prune runs h's pruner batch after batch until it has nothing older than
// before, resting between batches.
func (w *Worker) prune(ctx context.Context, h History, before time.Time, batch int) (int64, error) {
	var total int64
	for {
		n, err := h.Prune(ctx, before, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(w.o.Pause):
		}
	}
}

// period is the setting named key.
func (s Settings) period(key string) Period {
	if f, ok := fieldByKey(key); ok {
		return *f.period(&s)
	}
	return 0
}
