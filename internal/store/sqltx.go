package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// Row is the result of QueryRow: Scan maps "no rows" to ErrNotFound and the
// driver's errors to the store's sentinels.
type Row struct {
	row    *sql.Row
	mapErr func(error) error
	err    error // the statement was not run: Scan's error
}

// Scan copies the row's columns into dest.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil && r.mapErr != nil {
		return r.mapErr(err)
	}
	return err
}

// Collect runs query on q and reads every row with scan. It closes the rows
// and reports the query's, a scan's or the iteration's error (rows.Err),
// whichever came first.
func Collect[T any](ctx context.Context, q Querier, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return CollectRows(rows, scan)
}

// CollectRows reads rows to the end with scan, closes them and checks rows.Err.
func CollectRows[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// execer is what database/sql's DB, Conn and Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQLQuerier adapts a database/sql handle to Querier, rewriting placeholders and
// mapping driver errors. Drivers build their Tx and read views from it.
type SQLQuerier struct {
	DB      execer
	D       Dialect
	Rebind  func(string) string
	MapErr  func(error) error
	Notices []string
	After   []func()
}

// NewSQLQuerier wraps db for dialect d.
func NewSQLQuerier(db execer, d Dialect, rebind func(string) string, mapErr func(error) error) *SQLQuerier {
	return &SQLQuerier{DB: db, D: d, Rebind: rebind, MapErr: mapErr}
}

func (q *SQLQuerier) Dialect() Dialect { return q.D }

func (q *SQLQuerier) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := q.DB.ExecContext(ctx, q.Rebind(query), args...)
	return r, q.MapErr(err)
}

func (q *SQLQuerier) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, err := q.DB.QueryContext(ctx, q.Rebind(query), args...)
	return r, q.MapErr(err)
}

func (q *SQLQuerier) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: q.DB.QueryRowContext(ctx, q.Rebind(query), args...), mapErr: q.MapErr}
}

// Notify queues a notification for after the commit.
func (q *SQLQuerier) Notify(channel string) {
	for _, c := range q.Notices {
		if c == channel {
			return
		}
	}
	q.Notices = append(q.Notices, channel)
}

// AfterCommit queues fn for after the commit.
func (q *SQLQuerier) AfterCommit(fn func()) { q.After = append(q.After, fn) }

// Counters are the atomic counters behind Stats; drivers embed one.
type Counters struct {
	transactions, rollbacks, commits, reads atomic.Int64
	txNanos, readNanos, maxGroup            atomic.Int64
	relaxed, autocommits                    atomic.Int64
}

// CountTx records one caller's transaction.
func (c *Counters) CountTx(start time.Time, err error) {
	c.txNanos.Add(int64(time.Since(start)))
	if err != nil {
		c.rollbacks.Add(1)
	} else {
		c.transactions.Add(1)
	}
}

// CountCommit records one database commit carrying n transactions.
func (c *Counters) CountCommit(n int) {
	c.commits.Add(1)
	for {
		old := c.maxGroup.Load()
		if int64(n) <= old || c.maxGroup.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// CountRelaxed counts a commit that was not waited on the disk (Relaxed),
// besides CountCommit.
func (c *Counters) CountRelaxed() { c.relaxed.Add(1) }

// CountAutocommit records one write of one statement committed outside a
// transaction (a commit of its own).
func (c *Counters) CountAutocommit() {
	c.autocommits.Add(1)
	c.CountCommit(1)
}

// CountRead records one read.
func (c *Counters) CountRead(start time.Time) {
	c.reads.Add(1)
	c.readNanos.Add(int64(time.Since(start)))
}

// Snapshot returns the counters as Stats.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Transactions:   c.transactions.Load(),
		Rollbacks:      c.rollbacks.Load(),
		Commits:        c.commits.Load(),
		Reads:          c.reads.Load(),
		TxSeconds:      time.Duration(c.txNanos.Load()).Seconds(),
		ReadSeconds:    time.Duration(c.readNanos.Load()).Seconds(),
		MaxGroupCommit: c.maxGroup.Load(),
		RelaxedCommits: c.relaxed.Load(),
		Autocommits:    c.autocommits.Load(),
	}
}

// IsConflict reports whether err is a unique-key violation.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsRefused reports whether err is the database's own answer to a statement
// it would not run: a violated key or constraint, or a PostgreSQL server's
// error (an SQLSTATE). A statement committed by itself (WriteOne) that the
// server refused changed nothing. Any other error, a connection lost while
// the statement ran above all, leaves unknown whether it committed; so do
// the server's errors that end the connection (SQLSTATE classes 08, a
// connection exception, and 57P, the server shutting down or the session
// terminated), which may come after a local commit.
func IsRefused(err error) bool {
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrConstraint) {
		return true
	}
	var server interface{ SQLState() string }
	if !errors.As(err, &server) {
		return false
	}
	code := server.SQLState()
	return !strings.HasPrefix(code, "08") && !strings.HasPrefix(code, "57P")
}

// PanicError carries a panic out of a transaction function run on another
// goroutine, so the caller can re-raise it on its own.
type PanicError struct{ Value any }

func (p PanicError) Error() string { return "store: panic in transaction" }
