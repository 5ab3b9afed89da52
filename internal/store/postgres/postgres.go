// Package postgres is the storage driver for several Junction nodes sharing one
// PostgreSQL database: transactions on a pgx connection pool, claims with
// FOR UPDATE SKIP LOCKED, and wake-ups across nodes through LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"junction/internal/store"
)

// Options tune the driver; the zero value is the production default.
type Options struct {
	// Schema isolates Junction's tables (and notifications) in one PostgreSQL
	// schema, created if missing. Empty means the connection's search_path.
	Schema string
	// Poll is the fallback wake-up interval of subscriptions (default 2s).
	Poll time.Duration
	// MaxConns caps the pool (default 16).
	MaxConns int
}

// Store is the PostgreSQL driver.
type Store struct {
	db      *sql.DB
	config  *pgx.ConnConfig
	channel string
	hub     *store.Hub
	leases  *store.Leases
	counts  store.Counters
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	// plans drops the connections' prepared statements after a schema change
	// made one of them stale.
	plans *planCache

	// Notifications committed transactions asked for, sent by notifyLoop.
	noteMu  sync.Mutex
	pending map[string]bool
	noteC   chan struct{}
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.AutocommitReader  = (*Store)(nil)
	_ store.AutocommitWriter  = (*Store)(nil)
	_ store.ConnectionCounter = (*Store)(nil)
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,50}$`)

// Open connects to the database at url and applies the store's own migrations.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	config, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	channel := "junction"
	if sp := config.RuntimeParams["search_path"]; opts.Schema == "" && schemaName.MatchString(sp) {
		// A URL naming one schema (?search_path=x) selects it, created if missing.
		opts.Schema = sp
	}
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, fmt.Errorf("open postgres store: invalid schema name %q", opts.Schema)
		}
		setup, err := pgx.ConnectConfig(ctx, config)
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		_, err = setup.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+opts.Schema)
		setup.Close(ctx)
		if err != nil && !isDuplicate(err) {
			return nil, fmt.Errorf("open postgres store: create schema %s: %w", opts.Schema, err)
		}
		config.RuntimeParams["search_path"] = opts.Schema
		channel = "junction_" + opts.Schema
	}
	plans := &planCache{}
	db := stdlib.OpenDB(*config, stdlib.OptionAfterConnect(plans.connected), stdlib.OptionResetSession(plans.reset))
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	s := &Store{db: db, config: config, channel: channel, hub: store.NewHub(opts.Poll), cancel: cancel, plans: plans,
		pending: map[string]bool{}, noteC: make(chan struct{}, 1)}
	s.leases = store.NewLeases(s)
	s.wg.Add(2)
	go s.listen(lctx)
	go s.notifyLoop(lctx)
	if err := s.Migrate(ctx, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) Dialect() store.Dialect { return store.Postgres }

func (s *Store) Leases() *store.Leases { return s.leases }

func (s *Store) Listen(channel string) *store.Subscription { return s.hub.Listen(channel) }

func (s *Store) Stats() store.Stats { return s.counts.Snapshot() }

// DB exposes the pool for PostgreSQL-only fast paths such as COPY.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Migrate(ctx context.Context, migrations []store.Migration) error {
	return store.ApplyMigrations(ctx, s, append(store.CoreMigrations(), migrations...))
}

func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Tx runs fn in a READ COMMITTED transaction. Its notifications go out after
// the commit, batched with other transactions' by notifyLoop: a pg_notify
// inside each transaction would make PostgreSQL serialise every notifying
// commit on its notification queue's lock. A wake-up lost to a crash between
// the commit and the notify is covered by the listeners' polling.
func (s *Store) Tx(ctx context.Context, fn func(store.Tx) error) (err error) {
	start := time.Now()
	defer func() { s.counts.CountTx(start, err) }()
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	tx := store.NewSQLQuerier(sqlTx, store.Postgres, Rebind, s.plans.mapErr)
	if store.IsRelaxed(ctx) {
		// Asynchronous commit: WAL records are flushed in order, so a later
		// synchronous commit flushes this one too; a crash of the server can
		// lose only a tail of asynchronous commits (PostgreSQL manual,
		// "Asynchronous Commit").
		if _, err := sqlTx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			sqlTx.Rollback()
			return mapErr(err)
		}
	}
	defer func() {
		if v := recover(); v != nil {
			sqlTx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	s.counts.CountCommit(1)
	if store.IsRelaxed(ctx) {
		s.counts.CountRelaxed()
	}
	s.notify(tx.Notices)
	for _, fn := range tx.After {
		fn()
	}
	return nil
}

func (s *Store) Read(ctx context.Context, fn func(store.Querier) error) error {
	start := time.Now()
	defer s.counts.CountRead(start)
	return s.plans.retry(func() error {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return s.plans.mapErr(err)
		}
		defer tx.Rollback()
		return fn(store.NewSQLQuerier(tx, store.Postgres, Rebind, s.plans.mapErr))
	})
}

// ReadAutocommit runs fn on the pool outside a transaction: each statement
// sees its own snapshot (read committed). Its Querier is a
// store.ValuesQuerier.
func (s *Store) ReadAutocommit(ctx context.Context, fn func(store.Querier) error) error {
	start := time.Now()
	defer s.counts.CountRead(start)
	return s.plans.retry(func() error {
		return fn(autocommitReader{store.NewSQLQuerier(s.db, store.Postgres, Rebind, s.plans.mapErr), s})
	})
}

// WriteAutocommit runs fn on the pool outside a transaction: PostgreSQL
// runs each statement in a transaction of its own and commits it before it
// answers, durably (synchronous_commit stays on, even for a Relaxed ctx), so
// a statement that returned without error is committed. A statement that
// failed on a stale prepared statement is the one failure run again: the
// server refused it before executing it, and an error answer to a
// statement outside a transaction means that transaction rolled back. Any
// other failure may have committed (a connection lost after the statement
// was sent) and is returned as it is. Its notifications and AfterCommit
// functions run after fn returned nil, as Tx runs them after the commit.
func (s *Store) WriteAutocommit(ctx context.Context, fn func(store.Tx) error) error {
	var q *store.SQLQuerier
	err := s.plans.retryStale(func() error {
		q = store.NewSQLQuerier(s.db, store.Postgres, Rebind, s.plans.mapErr)
		return fn(q)
	})
	if err != nil {
		return err
	}
	s.counts.CountAutocommit()
	s.notify(q.Notices)
	for _, fn := range q.After {
		fn()
	}
	return nil
}

// planCache keeps the connections' prepared statements (pgx prepares each
// statement once per connection) in step with the schema. A statement
// prepared before a column changed its type fails with "cached plan must
// not change result type"; seeing that error starts a new generation, and a
// connection of an older one drops its prepared statements before its next
// use. A read that failed on a stale statement is run again.
// It also counts the connections opened (Store.Connects).
type planCache struct{ generation, connects atomic.Uint64 }

const planGenerationKey = "junction.plans"

func (p *planCache) connected(_ context.Context, c *pgx.Conn) error {
	c.PgConn().CustomData()[planGenerationKey] = p.generation.Load()
	p.connects.Add(1)
	return nil
}

// Connects implements store.ConnectionCounter: the connections the pool has
// opened so far.
func (s *Store) Connects() uint64 { return s.plans.connects.Load() }

func (p *planCache) reset(ctx context.Context, c *pgx.Conn) error {
	g := p.generation.Load()
	data := c.PgConn().CustomData()
	if seen, _ := data[planGenerationKey].(uint64); seen == g {
		return nil
	}
	if err := c.DeallocateAll(ctx); err != nil {
		return driver.ErrBadConn
	}
	data[planGenerationKey] = g
	return nil
}

// mapErr is the package's mapErr, noting a stale prepared statement.
func (p *planCache) mapErr(err error) error {
	if isStalePlan(err) {
		p.generation.Add(1)
	}
	return mapErr(err)
}

// isStalePlan reports whether err is the server refusing a prepared
// statement whose result columns changed type since it was prepared.
func isStalePlan(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type")
}

// retry runs read, and again (at most twice) when it failed while a stale
// prepared statement was seen: the failure may have been that statement.
func (p *planCache) retry(read func() error) error {
	for attempt := 0; ; attempt++ {
		g := p.generation.Load()
		err := read()
		if err == nil || attempt == 2 || p.generation.Load() == g {
			return err
		}
	}
}

// retryStale runs write, and again (at most twice) when it failed on a
// stale prepared statement itself, which the server refused to run. Unlike
// retry, another statement's staleness seen meanwhile is no reason: the
// write may have committed.
func (p *planCache) retryStale(write func() error) error {
	for attempt := 0; ; attempt++ {
		err := write()
		if err == nil || attempt == 2 || !isStalePlan(err) {
			return err
		}
	}
}

func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.hub.Close()
		err = s.db.Close()
	})
	return err
}

// notify queues channels for notifyLoop.
func (s *Store) notify(channels []string) {
	if len(channels) == 0 {
		return
	}
	s.noteMu.Lock()
	for _, c := range channels {
		s.pending[c] = true
	}
	s.noteMu.Unlock()
	select {
	case s.noteC <- struct{}{}:
	default: // a send is already due; it takes these too
	}
}

// notifyLoop sends the queued notifications, every channel once per batch,
// in one statement of its own, so that the nodes' listeners (this one's
// included) wake.
func (s *Store) notifyLoop(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.noteC:
		}
		s.noteMu.Lock()
		channels := make([]string, 0, len(s.pending))
		for c := range s.pending {
			channels = append(channels, c)
		}
		clear(s.pending)
		s.noteMu.Unlock()
		if _, err := s.db.ExecContext(ctx, "SELECT pg_notify($1, c) FROM unnest($2::text[]) AS c", s.channel, channels); err != nil && ctx.Err() == nil {
			// Tried again with the next batch; meanwhile the listeners poll.
			s.notify(channels)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// listen forwards notifications from every node to local subscriptions,
// reconnecting with back-off; polling covers the gaps.
func (s *Store) listen(ctx context.Context) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.config)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.hub.Fire(n.Payload)
	}
}

var rebound sync.Map

// Rebind rewrites `?` placeholders to `$1`, `$2`, ..., leaving quoted text alone.
func Rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

func isDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06")
}

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case "23502", "23503", "23514": // not_null, foreign_key, check
			return fmt.Errorf("%w: %v", store.ErrConstraint, err)
		}
	}
	return err
}
