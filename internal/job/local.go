package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"junction/internal/secrets"
	"junction/internal/store"
	"junction/internal/store/sqlite"
)

// Local runs one job in this process, outside any server: the engine of
// `junction import` and `junction export`. Its history and watermark live in
// a SQLite file in StateDir, so a delta export started again from the same
// folder goes on from where the last one ended.
type Local struct {
	StateDir string
	// Secrets resolves ${VAR} (nil: none resolve, values are taken as
	// written).
	Secrets *secrets.Resolver
	Logger  *slog.Logger
	// Progress is called with the run while it goes on, a few times a second.
	Progress func(Run)
}

// Result is how a local run ended.
type Result struct {
	Run     Run
	Rejects []byte // the rejects file (CSV), when rows were rejected
}

// Run checks spec, runs it once (on file when the source is a file) and
// waits for its end.
func (l Local) Run(ctx context.Context, spec Spec, file string) (Result, error) {
	if ps := spec.Check(); len(ps) > 0 {
		var msgs []string
		for _, p := range ps {
			msgs = append(msgs, p.String())
		}
		return Result{}, errors.New(strings.Join(msgs, "; "))
	}
	st, err := sqlite.Open(ctx, filepath.Join(l.StateDir, "state.db"), sqlite.Options{})
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	if err := st.Migrate(ctx, Migrations()); err != nil {
		return Result{}, err
	}
	// A run an interrupted invocation left behind is over: this one starts
	// again from the last watermark reached.
	err = st.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE batch_runs SET status = ?, error = 'interrupted', lease_until = 0 WHERE status IN (?, ?)",
			StatusFailed, StatusQueued, StatusRunning)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	svc := New(Config{Store: st, Logger: l.Logger, NodeID: "cli", DataDir: l.StateDir, Secrets: l.Secrets, Workers: 1, Tick: 100 * time.Millisecond})
	svc.mu.Lock()
	svc.project[spec.Name] = &spec
	svc.mu.Unlock()
	id, err := svc.Enqueue(ctx, spec.Name, "cli", "", file)
	if err != nil {
		return Result{}, err
	}
	if err := svc.Start(ctx); err != nil {
		return Result{}, err
	}
	defer svc.Stop(context.WithoutCancel(ctx))
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		run, err := svc.Run(ctx, spec.Name, id)
		if err != nil {
			return Result{}, err
		}
		if run.Status != StatusQueued && run.Status != StatusRunning {
			res := Result{Run: run}
			if run.HasRejects {
				res.Rejects, err = runFile(ctx, st, id, "rejects.csv")
			}
			return res, err
		}
		if l.Progress != nil {
			l.Progress(run)
		}
		select {
		case <-ctx.Done():
			return Result{Run: run}, fmt.Errorf("stopped: %w", ctx.Err())
		case <-t.C:
		}
	}
}
