package store

import "context"

// AutocommitWriter is a Store that can run a write of one statement outside
// a transaction: the database commits the statement by itself, so the write
// takes one round trip instead of three (BEGIN, the statement, COMMIT).
// WriteOne uses it; callers go through WriteOne, which refuses a second
// statement.
type AutocommitWriter interface {
	// WriteAutocommit runs fn with no transaction around it: each statement
	// fn runs commits by itself, durably, before it returns without error,
	// and a statement that fails changed nothing. The notifications and
	// AfterCommit functions fn queued run once fn returned nil, as after a
	// Tx's commit. fn may be run again when its statement failed in a way
	// that proves it did not run.
	WriteAutocommit(ctx context.Context, fn func(tx Tx) error) error
}

// WriteOne runs fn, a write known beforehand to be exactly one statement,
// and returns once that statement is durably committed, as Tx does. On an
// AutocommitWriter the statement runs outside a transaction, in one round
// trip; on other stores fn runs in Tx. A second statement is refused with
// ErrSecondStatement without running, on every store; on an
// AutocommitWriter the first has then committed already and nothing can
// undo it, so a write that may take several statements must use Tx. For
// the same reason fn's error does not undo a statement that succeeded: fn
// should end with its statement.
func WriteOne(ctx context.Context, s Store, fn func(tx Tx) error) error {
	one := func(tx Tx) error { return fn(oneWrite{oneStatement: &oneStatement{Querier: tx}, tx: tx}) }
	if aw, ok := s.(AutocommitWriter); ok {
		return aw.WriteAutocommit(ctx, one)
	}
	return s.Tx(ctx, one)
}

// oneWrite is a Tx that runs only its first statement.
type oneWrite struct {
	*oneStatement
	tx Tx
}

func (o oneWrite) Notify(channel string) { o.tx.Notify(channel) }
func (o oneWrite) AfterCommit(fn func()) { o.tx.AfterCommit(fn) }
