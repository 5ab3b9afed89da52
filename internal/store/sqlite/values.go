package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"

	"junction/internal/store"
)

// autocommitReader is ReadAutocommit's Querier: the reader pool's, and
// QueryValues straight on one of the pool's driver connections. A point read
// through database/sql's QueryRow and Scan pays for a Rows and a Row, the
// arguments' checks, a lock taken and released for every call on the rows,
// each value copied into the scan's destinations and converted there, and
// the statement's reset under yet another lock: about a fifth of a read by
// id's time in the Web API. The driver's rows already hand each value over
// as Scan into an *any keeps it (a BLOB is a fresh copy), so they are passed
// on as they come.
type autocommitReader struct {
	*store.SQLQuerier
	db *sql.DB
}

var _ store.ValuesQuerier = autocommitReader{}

// QueryValues implements store.ValuesQuerier. A connection found broken
// before the statement ran is dropped and the statement run on another, as
// database/sql does.
func (q autocommitReader) QueryValues(ctx context.Context, query string, args []any, fn func(row []any) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		if _, ok := a.(sql.NamedArg); ok {
			// database/sql's names, which the store's statements do not
			// use, are left to it.
			return store.QueryValues(ctx, q.SQLQuerier, query, args, fn)
		}
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return q.MapErr(err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	for attempt := 0; ; attempt++ {
		ran, err := q.queryValues(ctx, query, named, fn)
		if !ran && errors.Is(err, driver.ErrBadConn) && attempt < 2 {
			continue
		}
		return q.MapErr(err)
	}
}

// queryValues runs query on a connection of the pool; ran reports whether
// the statement ran (its rows were opened).
func (q autocommitReader) queryValues(ctx context.Context, query string, args []driver.NamedValue, fn func(row []any) error) (ran bool, err error) {
	conn, err := q.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, query, args)
		if err != nil {
			return err
		}
		ran = true
		n := len(rows.Columns())
		dest, row := make([]driver.Value, n), make([]any, n)
		for {
			if err = ctx.Err(); err != nil {
				break
			}
			if err = rows.Next(dest); err != nil {
				if err == io.EOF {
					err = nil
				}
				break
			}
			for i, v := range dest {
				row[i] = v
			}
			if err = fn(row); err != nil {
				break
			}
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return ran, err
}
