package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
)

// AutocommitReader is a Store that can run reads outside a transaction.
// A single statement sees one snapshot of the database by itself, so a read
// of one statement needs no BEGIN and no ROLLBACK (on SQLite two statements
// and the bookkeeping of a database/sql transaction, on PostgreSQL two round
// trips); ReadOne uses it.
type AutocommitReader interface {
	// ReadAutocommit runs fn against the store's read connections with no
	// transaction around it: each statement fn runs sees its own snapshot.
	ReadAutocommit(ctx context.Context, fn func(q Querier) error) error
}

// ReadOne runs fn, a read of one statement, against a consistent view, as
// Read does. On an AutocommitReader fn's statement runs outside a
// transaction; should fn run a second statement after all, that statement
// fails and fn is run again in Read, so fn must be safe to run twice (it
// reads). A caller that knows its read takes several statements calls Read.
func ReadOne(ctx context.Context, s Store, fn func(q Querier) error) error {
	ar, ok := s.(AutocommitReader)
	if !ok {
		return s.Read(ctx, fn)
	}
	var one *oneStatement
	err := ar.ReadAutocommit(ctx, func(q Querier) error {
		one = &oneStatement{Querier: q}
		return fn(one)
	})
	if one == nil || !one.exceeded.Load() {
		return err
	}
	return s.Read(ctx, fn)
}

// ErrSecondStatement is what a second statement of a read or write of one
// statement (ReadOne, WriteOne) returns; it was not run.
var ErrSecondStatement = errors.New("store: a second statement in a read or write of one statement")

var _ ValuesQuerier = (*oneStatement)(nil)

// oneStatement lets the first statement through and fails every later
// one, noting that the read needs a transaction.
type oneStatement struct {
	Querier
	n        atomic.Int32
	exceeded atomic.Bool
}

func (o *oneStatement) first() bool {
	if o.n.Add(1) == 1 {
		return true
	}
	o.exceeded.Store(true)
	return false
}

func (o *oneStatement) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !o.first() {
		return nil, ErrSecondStatement
	}
	return o.Querier.Exec(ctx, query, args...)
}

func (o *oneStatement) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !o.first() {
		return nil, ErrSecondStatement
	}
	return o.Querier.Query(ctx, query, args...)
}

func (o *oneStatement) QueryValues(ctx context.Context, query string, args []any, fn func(row []any) error) error {
	if !o.first() {
		return ErrSecondStatement
	}
	return QueryValues(ctx, o.Querier, query, args, fn)
}

func (o *oneStatement) QueryRow(ctx context.Context, query string, args ...any) *Row {
	if !o.first() {
		return &Row{err: ErrSecondStatement}
	}
	return o.Querier.QueryRow(ctx, query, args...)
}
