package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// Every statement the store runs goes through database/sql's Exec and Query
// with its SQL text, which the driver parses and plans anew on each call:
// for a table of 150 columns that is most of a point read's time and a large
// part of a create's. The connections are therefore wrapped with a small
// cache of prepared statements keyed by SQL text, per connection (a prepared
// statement belongs to one connection), least recently used out first.
//
// A cached statement is reused only when it is idle: a query whose rows are
// still open holds it, and the same text run meanwhile on the same connection
// (a nested query) is prepared for that call alone, as without the cache.
// SQLite prepares statements with sqlite3_prepare_v2, which re-plans a
// statement by itself when the schema changes, so a cached statement stays
// right after ALTER TABLE and CREATE INDEX.

// defaultStatements is how many prepared statements a connection keeps.
const defaultStatements = 64

// connector opens the driver's connections and wraps each in a cachingConn.
type connector struct {
	driver.Connector
	size int
}

func newConnector(dsn string, size int) (*connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &connector{Connector: base, size: size}, nil
}

// conn is what every connection of the driver implements (see
// sqlite.NewConnector): a wrapper forwards all of it.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(conn)
	if !ok || c.size <= 0 {
		return dc, nil
	}
	return &cachingConn{conn: inner, size: c.size, byText: map[string]*list.Element{}, lru: list.New()}, nil
}

// cachingConn is one connection with its statement cache. database/sql uses
// a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	conn
	size   int
	byText map[string]*list.Element // of *cachedStmt
	lru    *list.List               // front: most recently used
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows of a query are open on it
	gone  bool // evicted while busy: closed when its rows close
}

// stmtRunner is what the driver's statements implement besides driver.Stmt.
type stmtRunner interface {
	driver.StmtExecContext
	driver.StmtQueryContext
}

// Unwrap returns the driver's own connection, for sqlite.Limit and the like.
func (c *cachingConn) Unwrap() driver.Conn { return c.conn }

// statement returns the idle cached statement for query, preparing and
// caching it when there is none; nil when the cached one is busy.
func (c *cachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byText[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(stmtRunner); !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byText[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.size {
		c.evict(c.lru.Back())
	}
	return cs, nil
}

func (c *cachingConn) evict(e *list.Element) {
	cs := c.lru.Remove(e).(*cachedStmt)
	delete(c.byText, cs.query)
	if cs.busy {
		cs.gone = true
		return
	}
	cs.stmt.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	return cs.stmt.(stmtRunner).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	r, err := cs.stmt.(stmtRunner).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	dr, ok := r.(rows)
	if !ok {
		// Not the driver's usual rows: the statement leaves the cache and
		// is closed with them.
		c.evict(c.byText[query])
		return &closingRows{Rows: r, cs: cs}, nil
	}
	return &cachedRows{rows: dr, cs: cs}, nil
}

// BeginTx starts a read-only transaction with the connection's cached BEGIN
// and ends it with its cached ROLLBACK or COMMIT: the driver's own
// transactions prepare their BEGIN and their ROLLBACK anew each time, and
// watch the context of the BEGIN from a goroutine, which is a good part of a
// point read. A deferred BEGIN takes no lock (the read snapshot starts with
// the first statement), so it has nothing to wait for and runs without the
// context. Other transactions are the driver's.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if !opts.ReadOnly || opts.Isolation != driver.IsolationLevel(0) {
		return c.conn.BeginTx(ctx, opts)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(context.Background(), "BEGIN", nil); err != nil {
		return nil, err
	}
	return readTx{c}, nil
}

// readTx is a read-only transaction begun by cachingConn.BeginTx.
type readTx struct{ c *cachingConn }

func (t readTx) Commit() error   { return t.end("COMMIT") }
func (t readTx) Rollback() error { return t.end("ROLLBACK") }

// end runs COMMIT or ROLLBACK. A connection it fails to take out of its
// transaction is reported bad, so that database/sql closes it rather than
// hand it to the next reader still holding this one's snapshot.
func (t readTx) end(query string) error {
	_, err := t.c.ExecContext(context.Background(), query, nil)
	if err == nil {
		return nil
	}
	if query != "ROLLBACK" {
		if _, rerr := t.c.ExecContext(context.Background(), "ROLLBACK", nil); rerr == nil {
			return err
		}
	}
	return errors.Join(err, driver.ErrBadConn)
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		if cs := e.Value.(*cachedStmt); !cs.busy {
			errs = append(errs, cs.stmt.Close())
		}
	}
	c.lru.Init()
	clear(c.byText)
	return errors.Join(append(errs, c.conn.Close())...)
}

// rows is what the driver's rows implement.
type rows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows are the rows of a cached statement: closing them resets the
// statement (the driver does) and makes it idle again.
type cachedRows struct {
	rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.rows.Close()
	return errors.Join(err, release(&r.cs))
}

// closingRows are rows of a statement evicted while they were open.
type closingRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *closingRows) Close() error {
	err := r.Rows.Close()
	return errors.Join(err, release(&r.cs))
}

// release makes the statement of closed rows idle again, or closes it if it
// left the cache meanwhile; once per rows.
func release(p **cachedStmt) error {
	cs := *p
	if cs == nil {
		return nil
	}
	*p = nil
	cs.busy = false
	if cs.gone {
		return cs.stmt.Close()
	}
	return nil
}
