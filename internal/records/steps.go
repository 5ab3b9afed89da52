package records

import (
	"context"

	"junction/internal/changelog"
	"junction/internal/store"
)

// Steps runs what an org registers on its own writes (Dataverse's
// sdkmessageprocessingstep rows): Written is called in the write's
// transaction after each change is appended to the change log, and an error
// rolls the whole write back. The Web API answers it like any other error:
// give it the shape with Errorf. internal/app injects the implementation.
type Steps interface {
	Written(ctx context.Context, tx store.Tx, t *Table, c changelog.Change) error
	// Quiet reports whether Written would do nothing for a change of
	// message (Create, Update, Delete) to t: no step is registered on it
	// and t holds no registrations. q reads what it must.
	Quiet(ctx context.Context, q store.Querier, t *Table, message string) (bool, error)
}

// SetSteps makes every Create, Update and Delete (cascaded ones too) run
// st's steps; nil runs none. Set it before the service serves writes.
func (s *Service) SetSteps(st Steps) { s.steps = st }

// appendChange appends c to the change log and runs the steps registered
// on it, in tx.
func (s *Service) appendChange(ctx context.Context, tx store.Tx, t *Table, c changelog.Change) error {
	seq, err := s.shapes.Append(ctx, tx, c)
	if err != nil {
		return err
	}
	return s.written(ctx, tx, t, c, seq)
}

// quiet reports whether a change of message to t runs no step.
func (s *Service) quiet(ctx context.Context, q store.Querier, t *Table, message string) (bool, error) {
	if s.steps == nil {
		return true, nil
	}
	return s.steps.Quiet(ctx, q, t, message)
}

// written runs the steps registered on c, appended as seq, in tx.
func (s *Service) written(ctx context.Context, tx store.Tx, t *Table, c changelog.Change, seq int64) error {
	if s.steps == nil {
		return nil
	}
	// The change's id: an identity only, as the change has no position in
	// the log before its commit (changelog.Sequence).
	c.Seq = seq
	return s.steps.Written(ctx, tx, t, c)
}
