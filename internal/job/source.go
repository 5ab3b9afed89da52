package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"junction/internal/changelog"
	"junction/internal/job/format"
	"junction/internal/store"
)

// itemReader yields source records in order. deleted marks a deletion (only
// its key columns matter). watermark is the greatest watermark read so far.
type itemReader interface {
	next(ctx context.Context) (rec format.Record, deleted bool, err error)
	columns() []format.Column
	watermark() string
	progress() float64 // 0..1 when known, -1 otherwise
	close() error
}

// sourceOpener opens a source; a run may open it twice (validate, then apply).
// pin bounds a delta read to what the first pass saw.
type sourceOpener func(ctx context.Context, from, pin string) (itemReader, error)

// countedFile is an open file that counts the bytes read from it, for the
// progress of the readers that read it from start to end.
type countedFile struct {
	f    *os.File
	size int64
	n    atomic.Int64
}

func openCounted(path string) (*countedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &countedFile{f: f, size: st.Size()}, nil
}

func (c *countedFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countedFile) close() error { return c.f.Close() }

func (c *countedFile) progress() float64 {
	if c.size == 0 {
		return 1
	}
	return min(1, float64(c.n.Load())/float64(c.size))
}

type fileReader struct {
	*countedFile
	r format.Reader
}

func openFile(path string, o format.Options) (itemReader, error) {
	cf, err := openCounted(path)
	if err != nil {
		return nil, err
	}
	r, err := format.NewReader(cf, o)
	if err != nil {
		cf.close()
		return nil, err
	}
	return &fileReader{countedFile: cf, r: r}, nil
}

func (f *fileReader) next(context.Context) (format.Record, bool, error) {
	rec, err := f.r.Next()
	return rec, false, err
}
func (f *fileReader) columns() []format.Column { return nil }
func (f *fileReader) watermark() string        { return "" }

// sqlReader runs the job's query, wrapped to read after the watermark in
// watermark order when the job has one.
type sqlReader struct {
	d      sqlDialect
	db     *sql.DB
	conn   *sql.Conn
	tx     *sql.Tx
	rows   *sql.Rows
	cols   []format.Column
	wmIdx  int
	delIdx int
	wm     string
	line   int64
	vals   []any
	ptrs   []any
}

func openSQLSource(ctx context.Context, src Source, dsn, from, pin string) (itemReader, error) {
	d := sqlDialect(src.Driver)
	db, err := openSQL(ctx, d, dsn)
	if err != nil {
		return nil, err
	}
	q := src.Query
	var args []any
	if src.Watermark != "" {
		w := d.quote(src.Watermark)
		q = "SELECT * FROM (" + src.Query + ") q"
		var conds []string
		if from != "" {
			args = append(args, from)
			conds = append(conds, "q."+w+" > "+d.ph(len(args)))
		}
		if pin != "" {
			args = append(args, pin)
			conds = append(conds, "q."+w+" <= "+d.ph(len(args)))
		}
		for i, c := range conds {
			if i == 0 {
				q += " WHERE " + c
			} else {
				q += " AND " + c
			}
		}
		q += " ORDER BY q." + w
	}
	r := &sqlReader{d: d, db: db, wmIdx: -1, delIdx: -1, wm: from}
	if err := r.readOnly(ctx); err != nil {
		r.close()
		return nil, fmt.Errorf("source: begin a read-only transaction: %w", err)
	}
	rows, err := r.tx.QueryContext(ctx, q, args...)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("source query: %w", err)
	}
	r.rows = rows
	types, err := rows.ColumnTypes()
	if err != nil {
		r.close()
		return nil, err
	}
	for i, t := range types {
		r.cols = append(r.cols, format.Column{Name: t.Name(), Type: sourceColumnType(t.DatabaseTypeName())})
		if t.Name() == src.Watermark {
			r.wmIdx = i
		}
		if src.DeletedColumn != "" && t.Name() == src.DeletedColumn {
			r.delIdx = i
		}
	}
	if src.Watermark != "" && r.wmIdx < 0 {
		r.close()
		return nil, fmt.Errorf("the query has no column %s to use as the watermark", src.Watermark)
	}
	r.vals = make([]any, len(types))
	r.ptrs = make([]any, len(types))
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

func (r *sqlReader) next(ctx context.Context) (format.Record, bool, error) {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return format.Record{}, false, fmt.Errorf("source query: %w", err)
		}
		return format.Record{}, false, io.EOF
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return format.Record{}, false, err
	}
	r.line++
	rec := format.Record{Line: r.line, Fields: make(map[string]any, len(r.cols))}
	for i, c := range r.cols {
		rec.Fields[c.Name] = dbValue(r.vals[i])
	}
	if r.wmIdx >= 0 {
		r.wm = r.d.watermarkText(rec.Fields[r.cols[r.wmIdx].Name])
	}
	deleted := false
	if r.delIdx >= 0 {
		b, _ := convert(rec.Fields[r.cols[r.delIdx].Name], format.TypeBool, "")
		deleted = b == true
	}
	return rec, deleted, nil
}

func (d sqlDialect) watermarkText(v any) string {
	if t, ok := v.(time.Time); ok {
		if d == "mysql" {
			return t.UTC().Format("2006-01-02 15:04:05.999999")
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return format.Text(v)
}

func (r *sqlReader) columns() []format.Column { return r.cols }
func (r *sqlReader) watermark() string        { return r.wm }
func (r *sqlReader) progress() float64        { return -1 }

// readOnly begins the transaction the source reads in: READ ONLY on
// PostgreSQL and MySQL; on SQLite, on a connection with query_only set, so
// that a statement that writes fails whatever the query hides.
func (r *sqlReader) readOnly(ctx context.Context) error {
	var err error
	if r.conn, err = r.db.Conn(ctx); err != nil {
		return err
	}
	if r.d == "sqlite" {
		if _, err := r.conn.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
			return err
		}
		r.tx, err = r.conn.BeginTx(ctx, nil)
		return err
	}
	r.tx, err = r.conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	return err
}

func (r *sqlReader) close() error {
	if r.rows != nil {
		r.rows.Close()
	}
	if r.tx != nil {
		r.tx.Rollback()
	}
	if r.conn != nil {
		r.conn.Close()
	}
	return r.db.Close()
}

// changeReader reads a Junction table's changes from the change log after a
// sequence number: creates and updates as rows, deletes as deletions.
type changeReader struct {
	s     store.Store
	table string
	after int64
	upto  int64
	buf   []changelog.Change
	cols  []format.Column
}

func openChangeReader(ctx context.Context, s store.Store, table, from, pin string) (itemReader, error) {
	r := &changeReader{s: s, table: table}
	if from != "" {
		n, err := strconv.ParseInt(from, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("watermark %q is not a change-log sequence number", from)
		}
		r.after = n
	}
	if pin != "" {
		r.upto, _ = strconv.ParseInt(pin, 10, 64)
	} else {
		err := s.Read(ctx, func(q store.Querier) error {
			var err error
			r.upto, err = changelog.Head(ctx, q)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *changeReader) next(ctx context.Context) (format.Record, bool, error) {
	if len(r.buf) == 0 {
		if r.after >= r.upto {
			return format.Record{}, false, io.EOF
		}
		err := r.s.Read(ctx, func(q store.Querier) error {
			var err error
			r.buf, err = changelog.Read(ctx, q, r.after, r.table, 1000)
			return err
		})
		if err != nil {
			return format.Record{}, false, err
		}
		for len(r.buf) > 0 && r.buf[len(r.buf)-1].Seq > r.upto {
			r.buf = r.buf[:len(r.buf)-1]
		}
		if len(r.buf) == 0 {
			r.after = r.upto
			return format.Record{}, false, io.EOF
		}
	}
	c := r.buf[0]
	r.buf = r.buf[1:]
	r.after = c.Seq
	fields := c.After
	deleted := c.Message == changelog.Delete
	if deleted {
		fields = c.Before
	}
	if fields == nil {
		fields = map[string]any{}
	}
	return format.Record{Line: c.Seq, Fields: fields}, deleted, nil
}

func (r *changeReader) columns() []format.Column { return r.cols }
func (r *changeReader) watermark() string        { return strconv.FormatInt(r.after, 10) }
func (r *changeReader) progress() float64        { return -1 }
func (r *changeReader) close() error             { return nil }

// tableReader reads a whole Junction table through a TableSource.
type tableReader struct {
	cols   []format.Column
	rows   chan map[string]any
	done   chan struct{}
	err    error
	wm     int64
	line   int64
	cancel context.CancelFunc
}

func openTableReader(ctx context.Context, ts TableSource, table string) (itemReader, error) {
	if ts == nil {
		return nil, errors.New("Junction tables are not available to jobs in this build; use delta: true to read the table's change log")
	}
	cols, err := ts.Columns(ctx, table)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &tableReader{cols: cols, rows: make(chan map[string]any, 256), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(r.rows)
		r.wm, r.err = ts.Scan(ctx, table, func(row map[string]any) error {
			select {
			case r.rows <- row:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return r, nil
}

func (r *tableReader) next(context.Context) (format.Record, bool, error) {
	row, ok := <-r.rows
	if !ok {
		if r.err != nil {
			return format.Record{}, false, r.err
		}
		return format.Record{}, false, io.EOF
	}
	r.line++
	return format.Record{Line: r.line, Fields: row}, false, nil
}

func (r *tableReader) columns() []format.Column { return r.cols }
func (r *tableReader) watermark() string        { return strconv.FormatInt(r.wm, 10) }
func (r *tableReader) progress() float64        { return -1 }
func (r *tableReader) close() error {
	r.cancel()
	for range r.rows {
	}
	return nil
}
