package job

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"junction/internal/store"
	"junction/internal/trace"
)

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"   // an error stopped the run
	StatusRejected  = "rejected" // the policy refused the input; nothing applied
)

// Run is one run of a job, as the history keeps it.
type Run struct {
	ID             int64           `json:"id"`
	Job            string          `json:"job"`
	Trigger        string          `json:"trigger"` // manual, schedule, file, api, cli
	Occurrence     string          `json:"occurrence,omitempty"`
	File           string          `json:"file,omitempty"`
	Status         string          `json:"status"`
	Phase          string          `json:"phase,omitempty"` // validating, applying
	Created        time.Time       `json:"created"`
	Started        *time.Time      `json:"started,omitempty"`
	Ended          *time.Time      `json:"ended,omitempty"`
	Attempt        int             `json:"attempt"`
	Read           int64           `json:"read"`
	Rejected       int64           `json:"rejected"`
	Counts                         // inserted, updated, unchanged, deleted
	Progress       float64         `json:"progress"` // 0..1, or -1 when the size is unknown
	Checkpoint     int64           `json:"checkpoint"`
	WatermarkFrom  string          `json:"watermarkFrom,omitempty"`
	WatermarkTo    string          `json:"watermarkTo,omitempty"`
	Error          string          `json:"error,omitempty"`
	Reconciliation *Reconciliation `json:"reconciliation,omitempty"`
	HasRejects     bool            `json:"hasRejects"`
	// Trace is the traceparent of the work that asked for the run (a
	// workflow action, a request); the rows the run writes join its trace.
	Trace string `json:"traceparent,omitempty"`
}

// Migrations are the job tables.
func Migrations() []store.Migration {
	return []store.Migration{{
		Component: "job",
		Version:   1,
		Name:      "runs",
		Func: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.Exec(ctx, schema(tx.Dialect()))
			return err
		},
	}, {
		Component: "job",
		Version:   2,
		Name:      "connections defined through the API; who defined a job",
		SQL: `CREATE TABLE batch_connections (
			name       TEXT PRIMARY KEY,
			spec       TEXT NOT NULL,
			updated_at BIGINT NOT NULL,
			defined_by TEXT NOT NULL
		);
		ALTER TABLE batch_jobs ADD COLUMN defined_by TEXT NOT NULL DEFAULT ''`,
	}, {
		Component: "job",
		Version:   3,
		Name:      "trace context of runs",
		SQL:       `ALTER TABLE batch_runs ADD COLUMN trace TEXT NOT NULL DEFAULT ''`,
	}}
}

// schema is the job tables' definition in dialect d.
func schema(d store.Dialect) string {
	return `CREATE TABLE batch_jobs (
			name       TEXT PRIMARY KEY,
			spec       TEXT NOT NULL,
			updated_at BIGINT NOT NULL
		);
		CREATE TABLE batch_runs (
			id             ` + d.AutoID() + `,
			job            TEXT NOT NULL,
			trigger_kind   TEXT NOT NULL,
			occurrence     TEXT,
			file           TEXT NOT NULL DEFAULT '',
			status         TEXT NOT NULL,
			phase          TEXT NOT NULL DEFAULT '',
			created_at     BIGINT NOT NULL,
			started_at     BIGINT,
			ended_at       BIGINT,
			claimed_by     TEXT NOT NULL DEFAULT '',
			lease_until    BIGINT NOT NULL DEFAULT 0,
			attempt        INTEGER NOT NULL DEFAULT 0,
			rows_read      BIGINT NOT NULL DEFAULT 0,
			rows_rejected  BIGINT NOT NULL DEFAULT 0,
			rows_inserted  BIGINT NOT NULL DEFAULT 0,
			rows_updated   BIGINT NOT NULL DEFAULT 0,
			rows_unchanged BIGINT NOT NULL DEFAULT 0,
			rows_deleted   BIGINT NOT NULL DEFAULT 0,
			progress       DOUBLE PRECISION NOT NULL DEFAULT 0,
			checkpoint     BIGINT NOT NULL DEFAULT 0,
			watermark_from TEXT NOT NULL DEFAULT '',
			watermark_to   TEXT NOT NULL DEFAULT '',
			error          TEXT NOT NULL DEFAULT '',
			reconciliation TEXT NOT NULL DEFAULT '',
			UNIQUE (job, occurrence)
		);
		CREATE INDEX batch_runs_status ON batch_runs (status, id);
		CREATE INDEX batch_runs_job ON batch_runs (job, id);
		CREATE TABLE batch_run_files (
			run_id  BIGINT NOT NULL,
			name    TEXT NOT NULL,
			content ` + d.Blob() + ` NOT NULL,
			PRIMARY KEY (run_id, name)
		);
		CREATE TABLE batch_watermarks (
			job        TEXT PRIMARY KEY,
			value      TEXT NOT NULL,
			updated_at BIGINT NOT NULL
		);
		CREATE TABLE batch_schedules (
			job  TEXT PRIMARY KEY,
			last BIGINT NOT NULL
		);`
}

const runColumns = `id, job, trigger_kind, COALESCE(occurrence, ''), file, status, phase, created_at, started_at, ended_at, attempt,
	rows_read, rows_rejected, rows_inserted, rows_updated, rows_unchanged, rows_deleted, progress, checkpoint,
	watermark_from, watermark_to, error, reconciliation, trace,
	EXISTS (SELECT 1 FROM batch_run_files f WHERE f.run_id = batch_runs.id AND f.name = 'rejects.csv')`

type scanner interface{ Scan(...any) error }

func scanRun(s scanner) (Run, error) {
	var r Run
	var created int64
	var started, ended sql.NullInt64
	var rec string
	err := s.Scan(&r.ID, &r.Job, &r.Trigger, &r.Occurrence, &r.File, &r.Status, &r.Phase, &created, &started, &ended, &r.Attempt,
		&r.Read, &r.Rejected, &r.Inserted, &r.Updated, &r.Unchanged, &r.Deleted, &r.Progress, &r.Checkpoint,
		&r.WatermarkFrom, &r.WatermarkTo, &r.Error, &rec, &r.Trace, &r.HasRejects)
	if err != nil {
		return r, err
	}
	r.Created = store.FromMicros(created)
	if started.Valid {
		t := store.FromMicros(started.Int64)
		r.Started = &t
	}
	if ended.Valid {
		t := store.FromMicros(ended.Int64)
		r.Ended = &t
	}
	if rec != "" {
		r.Reconciliation = &Reconciliation{}
		json.Unmarshal([]byte(rec), r.Reconciliation)
	}
	return r, nil
}

// ErrDuplicate reports a run for an occurrence (a schedule time, a file's
// content) that already has one.
var ErrDuplicate = errors.New("this occurrence already has a run")

// enqueue adds a queued run. An occurrence that already has a run returns
// that run's id and ErrDuplicate.
func enqueue(ctx context.Context, s store.Store, job, trigger, occurrence, file string, now time.Time) (int64, error) {
	var id int64
	var occ any
	if occurrence != "" {
		occ = occurrence
	}
	err := s.Tx(ctx, func(tx store.Tx) error {
		if occurrence != "" {
			err := tx.QueryRow(ctx, "SELECT id FROM batch_runs WHERE job = ? AND occurrence = ?", job, occurrence).Scan(&id)
			if err == nil {
				return ErrDuplicate
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO batch_runs (job, trigger_kind, occurrence, file, status, created_at, trace)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, job, trigger, occ, file, StatusQueued, store.Micros(now), trace.Parent(ctx)).Scan(&id)
		if err != nil {
			return err
		}
		tx.Notify(runChannel)
		return nil
	})
	if errors.Is(err, ErrDuplicate) {
		return id, err
	}
	if store.IsConflict(err) {
		s.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(ctx, "SELECT id FROM batch_runs WHERE job = ? AND occurrence = ?", job, occurrence).Scan(&id)
		})
		return id, ErrDuplicate
	}
	return id, err
}

const runChannel = "batch_runs"

// getRun reads one run.
func getRun(ctx context.Context, s store.Store, job string, id int64) (Run, error) {
	var r Run
	err := s.Read(ctx, func(q store.Querier) error {
		var err error
		r, err = scanRun(q.QueryRow(ctx, "SELECT "+runColumns+" FROM batch_runs WHERE id = ? AND job = ?", id, job))
		return err
	})
	return r, err
}

// listRuns returns a job's runs, newest first.
func listRuns(ctx context.Context, s store.Store, job string, limit int) ([]Run, error) {
	var out []Run
	err := s.Read(ctx, func(q store.Querier) error {
		var err error
		out, err = store.Collect(ctx, q, func(rows *sql.Rows) (Run, error) { return scanRun(rows) },
			"SELECT "+runColumns+" FROM batch_runs WHERE job = ? ORDER BY id DESC LIMIT ?", job, limit)
		return err
	})
	return out, err
}

func runFile(ctx context.Context, s store.Store, id int64, name string) ([]byte, error) {
	var b []byte
	err := s.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT content FROM batch_run_files WHERE run_id = ? AND name = ?", id, name).Scan(&b)
	})
	return b, err
}

// claim takes the oldest queued run, or a running one whose holder's lease
// expired (its node died), for owner.
func claim(ctx context.Context, s store.Store, owner string, ttl time.Duration) (Run, bool, error) {
	var r Run
	found := false
	err := s.Tx(ctx, func(tx store.Tx) error {
		d := tx.Dialect()
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM batch_runs WHERE status = ? OR (status = ? AND lease_until < `+d.NowExpr()+`)
			ORDER BY id LIMIT 1`+d.SkipLocked(), StatusQueued, StatusRunning).Scan(&id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE batch_runs SET status = ?, claimed_by = ?, lease_until = `+d.NowExpr()+` + ?,
			attempt = attempt + 1, started_at = COALESCE(started_at, ?) WHERE id = ?`,
			StatusRunning, owner, ttl.Microseconds(), store.Micros(time.Now()), id); err != nil {
			return err
		}
		r, err = scanRun(tx.QueryRow(ctx, "SELECT "+runColumns+" FROM batch_runs WHERE id = ?", id))
		found = err == nil
		return err
	})
	return r, found, err
}

// errLeaseLost says another node took the run over.
var errLeaseLost = errors.New("the run's lease was lost to another node")

// fenced runs an update on the run that only applies while owner still holds
// it at attempt.
func fenced(ctx context.Context, tx store.Tx, r *Run, owner, set string, args ...any) error {
	args = append(args, r.ID, owner, r.Attempt)
	res, err := tx.Exec(ctx, "UPDATE batch_runs SET "+set+" WHERE id = ? AND claimed_by = ? AND attempt = ?", args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLeaseLost
	}
	return nil
}

func watermarkOf(ctx context.Context, s store.Store, job string) (string, error) {
	var v string
	err := s.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT value FROM batch_watermarks WHERE job = ?", job).Scan(&v)
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read watermark: %w", err)
	}
	return v, nil
}
