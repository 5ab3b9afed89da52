package connector

import (
	"context"

	"junction/internal/store"
)

// Join lets an operation whose effect is a write to the caller's own store
// (a message sent to Junction's broker) make that write in the transaction
// that records the calling step, instead of committing it on its own: the
// step's record and its effect then commit together, both or neither.
//
// A caller that can join offers a Join in the operation's context
// (WithJoin); the operation, when its writes go to Join.Store, validates its
// inputs, hands the write to Defer and returns at once. The write runs in
// the caller's transaction, possibly more than once (the store may retry a
// transaction), and its result replaces the operation's result; its error
// fails the step.
type Join struct {
	Store store.Store
	write func(ctx context.Context, tx store.Tx) (any, error)
}

type joinKey struct{}

// WithJoin offers j to the operation invoked with the returned context.
func WithJoin(ctx context.Context, j *Join) context.Context {
	return context.WithValue(ctx, joinKey{}, j)
}

// JoinFrom returns the Join offered in ctx, or nil.
func JoinFrom(ctx context.Context) *Join {
	j, _ := ctx.Value(joinKey{}).(*Join)
	return j
}

// Defer hands the operation's write to the caller's transaction.
func (j *Join) Defer(write func(ctx context.Context, tx store.Tx) (any, error)) { j.write = write }

// Deferred returns the write an operation handed over, or nil.
func (j *Join) Deferred() func(ctx context.Context, tx store.Tx) (any, error) { return j.write }
