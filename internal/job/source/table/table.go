// Package table is the source of a job that reads a Junction table: in full
// through the records service, or its changes from the change log.
package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"junction/internal/changelog"
	"junction/internal/job/format"
	"junction/internal/store"
)

// Tables reads Junction tables in full (the records service implements it).
// Delta reads come from the change log and need no Tables.
type Tables interface {
	Columns(ctx context.Context, table string) ([]format.Column, error)
	// Scan calls fn with every row of table, and returns the change-log
	// sequence number the rows are consistent with (the next delta's start).
	Scan(ctx context.Context, table string, fn func(row map[string]any) error) (int64, error)
}

// Changes reads a Junction table's changes from the change log after a
// sequence number: creates and updates as rows, deletes as deletions.
type Changes struct {
	s     store.Store
	table string
	after int64
	upto  int64
	buf   []changelog.Change
	cols  []format.Column
}

// OpenChanges reads the changes of table after the sequence number from, up
// to pin (when set) or the change log's head now. cols, when known, are the
// table's columns.
func OpenChanges(ctx context.Context, s store.Store, table, from, pin string, cols []format.Column) (*Changes, error) {
	r := &Changes{s: s, table: table, cols: cols}
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
		if err := changelog.Sequence(ctx, s); err != nil {
			return nil, err
		}
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

// Next returns the next change.
func (r *Changes) Next(ctx context.Context) (format.Record, bool, error) {
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

// Columns are the table's columns when they were given.
func (r *Changes) Columns() []format.Column { return r.cols }

// Watermark is the sequence number of the last change read.
func (r *Changes) Watermark() string { return strconv.FormatInt(r.after, 10) }

// Progress is unknown (-1).
func (r *Changes) Progress() float64 { return -1 }

// Close does nothing: each page is read in a transaction of its own.
func (r *Changes) Close() error { return nil }

// Reader reads a whole Junction table through Tables.
type Reader struct {
	cols   []format.Column
	rows   chan map[string]any
	done   chan struct{}
	err    error
	wm     int64
	line   int64
	cancel context.CancelFunc
}

// Open reads table in full.
func Open(ctx context.Context, ts Tables, table string) (*Reader, error) {
	if ts == nil {
		return nil, errors.New("Junction tables are not available to jobs in this build; use delta: true to read the table's change log")
	}
	cols, err := ts.Columns(ctx, table)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Reader{cols: cols, rows: make(chan map[string]any, 256), done: make(chan struct{}), cancel: cancel}
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

// Next returns the next row.
func (r *Reader) Next(context.Context) (format.Record, bool, error) {
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

// Columns are the table's columns.
func (r *Reader) Columns() []format.Column { return r.cols }

// Watermark is the change-log sequence number the rows are consistent with:
// where the next delta read starts.
func (r *Reader) Watermark() string { return strconv.FormatInt(r.wm, 10) }

// Progress is unknown (-1).
func (r *Reader) Progress() float64 { return -1 }

// Close stops the scan.
func (r *Reader) Close() error {
	r.cancel()
	for range r.rows {
	}
	return nil
}
