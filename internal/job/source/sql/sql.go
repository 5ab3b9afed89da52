// Package sql is the source of a job that runs a query on PostgreSQL,
// MySQL/MariaDB or SQLite, in full or after a watermark, in a read-only
// transaction.
package sql

import (
	"context"
	dbsql "database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"junction/internal/job/format"
	"junction/internal/job/sqldb"
)

// Query is what a source reads.
type Query struct {
	Driver string // postgres, mysql or sqlite
	Query  string
	// Watermark is the column whose greatest value a delta run starts after.
	Watermark string
	// DeletedColumn marks rows that are deletions.
	DeletedColumn string
}

// Reader runs the job's query, wrapped to read after the watermark in
// watermark order when the job has one.
type Reader struct {
	d      sqldb.Dialect
	db     *dbsql.DB
	conn   *dbsql.Conn
	tx     *dbsql.Tx
	rows   *dbsql.Rows
	cols   []format.Column
	wmIdx  int
	delIdx int
	wm     string
	line   int64
	vals   []any
	ptrs   []any
}

// Open runs src on the database of dsn in a read-only transaction. With a
// watermark column, only rows after from (and up to pin, when set) are read.
func Open(ctx context.Context, src Query, dsn, from, pin string) (*Reader, error) {
	d := sqldb.Dialect(src.Driver)
	db, err := sqldb.Open(ctx, d, dsn)
	if err != nil {
		return nil, err
	}
	stmt := src.Query
	var args []any
	if src.Watermark != "" {
		w := d.Quote(src.Watermark)
		stmt = "SELECT * FROM (" + src.Query + ") q"
		var conds []string
		if from != "" {
			args = append(args, from)
			conds = append(conds, "q."+w+" > "+d.Ph(len(args)))
		}
		if pin != "" {
			args = append(args, pin)
			conds = append(conds, "q."+w+" <= "+d.Ph(len(args)))
		}
		for i, c := range conds {
			if i == 0 {
				stmt += " WHERE " + c
			} else {
				stmt += " AND " + c
			}
		}
		stmt += " ORDER BY q." + w
	}
	r := &Reader{d: d, db: db, wmIdx: -1, delIdx: -1, wm: from}
	if err := r.readOnly(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("source: begin a read-only transaction: %w", err)
	}
	rows, err := r.tx.QueryContext(ctx, stmt, args...)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("source query: %w", err)
	}
	r.rows = rows
	types, err := rows.ColumnTypes()
	if err != nil {
		r.Close()
		return nil, err
	}
	for i, t := range types {
		r.cols = append(r.cols, format.Column{Name: t.Name(), Type: columnType(t.DatabaseTypeName())})
		if t.Name() == src.Watermark {
			r.wmIdx = i
		}
		if src.DeletedColumn != "" && t.Name() == src.DeletedColumn {
			r.delIdx = i
		}
	}
	if src.Watermark != "" && r.wmIdx < 0 {
		r.Close()
		return nil, fmt.Errorf("the query has no column %s to use as the watermark", src.Watermark)
	}
	r.vals = make([]any, len(types))
	r.ptrs = make([]any, len(types))
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// Next returns the next row; a true deleted column makes it a deletion.
func (r *Reader) Next(ctx context.Context) (format.Record, bool, error) {
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
		rec.Fields[c.Name] = sqldb.Value(r.vals[i])
	}
	if r.wmIdx >= 0 {
		r.wm = watermarkText(r.d, rec.Fields[r.cols[r.wmIdx].Name])
	}
	deleted := false
	if r.delIdx >= 0 {
		b, _ := format.Convert(rec.Fields[r.cols[r.delIdx].Name], format.TypeBool, "")
		deleted = b == true
	}
	return rec, deleted, nil
}

// watermarkText writes a watermark value as the database compares it.
func watermarkText(d sqldb.Dialect, v any) string {
	if t, ok := v.(time.Time); ok {
		if d == "mysql" {
			return t.UTC().Format("2006-01-02 15:04:05.999999")
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return format.Text(v)
}

// Columns are the query's columns, typed by their database types.
func (r *Reader) Columns() []format.Column { return r.cols }

// Watermark is the watermark column's value of the last row read.
func (r *Reader) Watermark() string { return r.wm }

// Progress is unknown (-1): a query does not say how many rows it has.
func (r *Reader) Progress() float64 { return -1 }

// readOnly begins the transaction the source reads in: READ ONLY on
// PostgreSQL and MySQL; on SQLite, on a connection with query_only set, so
// that a statement that writes fails whatever the query hides.
func (r *Reader) readOnly(ctx context.Context) error {
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
	r.tx, err = r.conn.BeginTx(ctx, &dbsql.TxOptions{ReadOnly: true})
	return err
}

// Close ends the read and closes the database.
func (r *Reader) Close() error {
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

// columnType maps a database type name to a job column type.
func columnType(dbType string) string {
	t := strings.ToUpper(dbType)
	switch {
	case strings.Contains(t, "INT") && !strings.Contains(t, "INTERVAL") && !strings.Contains(t, "POINT"):
		return format.TypeInt
	case strings.HasPrefix(t, "BOOL"):
		return format.TypeBool
	case t == "FLOAT4" || t == "FLOAT8" || t == "REAL" || t == "DOUBLE" || t == "FLOAT" || t == "DOUBLE PRECISION":
		return format.TypeFloat
	case strings.HasPrefix(t, "NUMERIC") || strings.HasPrefix(t, "DECIMAL"):
		return format.TypeDecimal
	case strings.HasPrefix(t, "TIMESTAMP") || t == "DATETIME" || t == "TIMESTAMPTZ":
		return format.TypeDateTime
	case t == "DATE":
		return format.TypeDate
	case t == "UUID":
		return format.TypeGUID
	}
	return format.TypeString
}
