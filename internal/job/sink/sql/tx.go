package sql

import (
	"context"
	dbsql "database/sql"

	"github.com/jackc/pgx/v5"

	"junction/internal/job/sqldb"
)

// chunkTx is one chunk's transaction on a sink database. A query's row
// function is lent the row's values, to read before it returns.
type chunkTx interface {
	query(ctx context.Context, q string, args []any, row func([]any) error) error
	exec(ctx context.Context, q string, args []any) (int64, error)
}

type stdTx struct{ tx *dbsql.Tx }

func (t stdTx) query(ctx context.Context, q string, args []any, fn func([]any) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	return scanRows(rows, fn)
}

// scanRows calls fn with each row's values as plain Go values, and closes
// rows. The slice is reused from row to row: fn keeps none of it.
func scanRows(rows *dbsql.Rows, fn func([]any) error) error {
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := make([]any, len(vals))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			out[i] = sqldb.Value(v)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stdTx) exec(ctx context.Context, q string, args []any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) query(ctx context.Context, q string, args []any, fn func([]any) error) error {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, v := range vals {
			vals[i] = sqldb.Value(v)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t pgTx) exec(ctx context.Context, q string, args []any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}
