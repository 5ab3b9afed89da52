package store

import (
	"context"
	"database/sql"
)

// ValuesQuerier is a Querier that can hand a statement's rows over as
// values without database/sql's work a row (its locks, the driver's values
// copied into the scan's destinations one by one, a conversion a column):
// the PostgreSQL driver's reads outside a transaction decode the values
// from pgx's wire bytes. QueryValues calls it where q has it.
type ValuesQuerier interface {
	QueryValues(ctx context.Context, query string, args []any, fn func(row []any) error) error
}

// QueryValues runs query on q and calls fn with each row's values, one a
// result column, each what database/sql's Scan into an *any gives: nil,
// int64, float64, bool, string, []byte or time.Time. The slice row is
// reused from row to row; the values in it are fn's to keep. It stops at
// fn's first error and returns it.
func QueryValues(ctx context.Context, q Querier, query string, args []any, fn func(row []any) error) error {
	if vq, ok := q.(ValuesQuerier); ok {
		return vq.QueryValues(ctx, query, args, fn)
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	return scanValues(rows, fn)
}

// scanValues reads rows to the end, calling fn with each row's values as
// QueryValues does, and closes them.
func scanValues(rows *sql.Rows, fn func(row []any) error) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	buf := make([]any, 2*len(cols))
	row, ptrs := buf[:len(cols)], buf[len(cols):]
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}
