// Package sqlite is the embedded storage driver: one SQLite database file in WAL
// mode with synchronous=FULL, a single writer goroutine that commits many
// callers' transactions in one flush (group commit), and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"junction/internal/store"
)

// Options tune the driver; the zero value is the production default.
type Options struct {
	// MaxGroup caps how many transactions one commit carries (default 512).
	MaxGroup int
	// Poll is the fallback wake-up interval of subscriptions (default 2s).
	Poll time.Duration
	// Readers is the size of the read pool (default 4).
	Readers int
	// Statements is how many prepared statements each connection keeps
	// (default 64; negative: none).
	Statements int
}

// Store is the SQLite driver.
type Store struct {
	writeDB *sql.DB
	readDB  *sql.DB
	queue   chan *request
	hub     *store.Hub
	leases  *store.Leases
	counts  store.Counters
	opts    Options

	// autocommit runs statements on the reader pool outside a transaction.
	autocommit autocommitReader

	mu     sync.RWMutex
	closed bool
	done   chan struct{}

	// relaxed is whether the writer connection's commits skip the WAL's
	// fsync (synchronous=NORMAL); only the writer goroutine touches it.
	relaxed bool
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.AutocommitReader = (*Store)(nil)
)

type request struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// Open opens (creating if needed) the database file at path and applies the
// store's own migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 512
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.Statements == 0 {
		opts.Statements = defaultStatements
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=journal_size_limit(67108864)"
	// The writer keeps its savepoints' journal in memory (temp_store): every
	// transaction of a group runs in a savepoint, and a journal spilled to a
	// file costs a write system call for each page a transaction changes.
	// The journal holds the earlier content of the pages one transaction
	// changes (pages it adds are not journaled) and is emptied when that
	// transaction's savepoint ends, so its memory is bounded by the largest
	// transaction's footprint on existing pages; the store's own writers work
	// in batches (imports, retention, bulk deletes).
	w, err := openDB(dsn+"&_pragma=temp_store(MEMORY)", opts.Statements)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := incrementalAutoVacuum(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r, err := openDB(dsn+"&_pragma=query_only(1)", opts.Statements)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	s := &Store{
		writeDB: w, readDB: r, opts: opts,
		queue: make(chan *request, 4*opts.MaxGroup),
		hub:   store.NewHub(opts.Poll),
		done:  make(chan struct{}),
	}
	s.autocommit = autocommitReader{SQLQuerier: store.NewSQLQuerier(r, store.SQLite, identity, mapErr), db: r}
	s.leases = store.NewLeases(s)
	go s.writer()
	if err := s.Migrate(ctx, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens a pool of connections to dsn, each caching up to statements
// prepared statements.
func openDB(dsn string, statements int) (*sql.DB, error) {
	c, err := newConnector(dsn, statements)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

func (s *Store) Dialect() store.Dialect { return store.SQLite }

func (s *Store) Leases() *store.Leases { return s.leases }

func (s *Store) Listen(channel string) *store.Subscription { return s.hub.Listen(channel) }

func (s *Store) Stats() store.Stats { return s.counts.Snapshot() }

func (s *Store) Migrate(ctx context.Context, migrations []store.Migration) error {
	return store.ApplyMigrations(ctx, s, append(store.CoreMigrations(), migrations...))
}

func (s *Store) Ping(ctx context.Context) error {
	return s.readDB.PingContext(ctx)
}

// Tx queues fn for the writer and waits for the commit. Once fn has been handed
// to the writer the caller waits for the outcome even if ctx ends, so that a
// caller is never told "failed" about a transaction that committed.
func (s *Store) Tx(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	req := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.queue <- req:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	err := <-req.done
	s.counts.CountTx(start, err)
	var p store.PanicError
	if errors.As(err, &p) {
		panic(p.Value)
	}
	return err
}

// Read runs fn in a read transaction on the reader pool.
func (s *Store) Read(ctx context.Context, fn func(store.Querier) error) error {
	start := time.Now()
	defer s.counts.CountRead(start)
	tx, err := s.readDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	return fn(store.NewSQLQuerier(tx, store.SQLite, identity, mapErr))
}

// ReadAutocommit runs fn on the reader pool outside a transaction: each
// statement is a read transaction of its own.
func (s *Store) ReadAutocommit(ctx context.Context, fn func(store.Querier) error) error {
	start := time.Now()
	defer s.counts.CountRead(start)
	return fn(s.autocommit)
}

// Close stops the writer after it has committed what was queued, then closes
// the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	s.hub.Close()
	return errors.Join(s.readDB.Close(), s.writeDB.Close())
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*request, 0, s.opts.MaxGroup)
	for first := range s.queue {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < s.opts.MaxGroup {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs a group of transactions inside one database transaction, each in
// its own savepoint so that one caller's error rolls back only its own work.
func (s *Store) commit(batch []*request) {
	ctx := context.Background()
	results := make([]error, len(batch))
	txs := make([]*store.SQLQuerier, len(batch))
	conn, err := s.writeDB.Conn(ctx)
	if err == nil {
		defer conn.Close()
		err = s.setRelaxed(ctx, conn, batch)
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	}
	if err != nil {
		for _, r := range batch {
			r.done <- fmt.Errorf("begin transaction: %w", mapErr(err))
		}
		return
	}
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := conn.ExecContext(ctx, "SAVEPOINT tx"); err != nil {
			results[i] = mapErr(err)
			continue
		}
		tx := store.NewSQLQuerier(conn, store.SQLite, identity, mapErr)
		txs[i] = tx
		results[i] = run(r.fn, tx)
		if results[i] != nil {
			if _, err := conn.ExecContext(ctx, "ROLLBACK TO tx"); err != nil {
				// What the failed transaction wrote is still in the group:
				// no transaction of it may commit.
				_, _ = conn.ExecContext(ctx, "ROLLBACK")
				err = fmt.Errorf("roll back a transaction of the same commit: %w", mapErr(err))
				results[i] = errors.Join(results[i], err)
				for j, r := range batch {
					if j != i && (j > i || results[j] == nil) {
						results[j] = err
					}
					r.done <- results[j]
				}
				return
			}
		} else {
			ok++
		}
		if _, err := conn.ExecContext(ctx, "RELEASE tx"); err != nil && results[i] == nil {
			results[i] = mapErr(err)
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	if err != nil {
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		for i, r := range batch {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w", mapErr(err))
			}
			r.done <- results[i]
		}
		return
	}
	s.counts.CountCommit(ok)
	if s.relaxed {
		s.counts.CountRelaxed()
	}
	for i, r := range batch {
		if results[i] == nil {
			for _, c := range txs[i].Notices {
				s.hub.Fire(c)
			}
			for _, fn := range txs[i].After {
				fn()
			}
		}
		r.done <- results[i]
	}
}

// setRelaxed skips the commit's fsync when every transaction of the batch is
// store.Relaxed. In WAL mode with synchronous=NORMAL a commit is appended to
// the WAL without a flush; the next synchronous=FULL commit flushes the WAL
// and so every earlier commit with it, and a power failure can only lose a
// tail of commits, never one before a commit that was flushed. A process
// crash loses nothing (the WAL is in the operating system's cache).
func (s *Store) setRelaxed(ctx context.Context, conn *sql.Conn, batch []*request) error {
	relaxed := true
	for _, r := range batch {
		if !store.IsRelaxed(r.ctx) {
			relaxed = false
			break
		}
	}
	if relaxed == s.relaxed {
		return nil
	}
	mode := "FULL"
	if relaxed {
		mode = "NORMAL"
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
		return err
	}
	s.relaxed = relaxed
	return nil
}

func run(fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = store.PanicError{Value: v}
		}
	}()
	return fn(tx)
}

func identity(q string) string { return q }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT_CHECK:
			return fmt.Errorf("%w: %v", store.ErrConstraint, err)
		}
	}
	return err
}
