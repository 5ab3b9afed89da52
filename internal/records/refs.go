package records

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"junction/internal/changelog"
	"junction/internal/store"
)

// refCheck is the check that one lookup a write sets points at an existing
// row: a subquery counting the rows with the referenced id. A create or an
// update runs its checks in the RETURNING clause of the statement that
// writes the row (writeChecking), so that they cost no round trip of their
// own; they see what a SELECT just before the write would see, and take no
// lock, as the SELECT did.
type refCheck struct {
	col   string
	ref   Ref
	count string // (SELECT COUNT(*) ...), its one argument ref.ID
}

// refChecks are the checks of the lookups in row, in column order. A lookup
// naming an unknown table is an error at once.
func (s *Service) refChecks(t *Table, row Row) ([]refCheck, error) {
	var out []refCheck
	for k, v := range row {
		r, ok := v.(Ref)
		if !ok {
			continue
		}
		c, _ := t.Column(k)
		if c == nil || !c.Type.IsLookup() {
			continue
		}
		tt, ok := s.Table(r.Table)
		if !ok {
			return nil, Invalid("%s references the unknown table %s.", k, r.Table).about(k)
		}
		out = append(out, refCheck{col: k, ref: r,
			count: fmt.Sprintf("(SELECT COUNT(*) FROM %s WHERE %s = ?)", Quote(tt.SQLName()), Quote(tt.PrimaryID()))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].col < out[j].col })
	return out, nil
}

// checkRefs runs checks in one statement of their own: the reference checks
// of a validation that writes nothing (Check).
func checkRefs(ctx context.Context, q store.Querier, checks []refCheck) error {
	if len(checks) == 0 {
		return nil
	}
	counts, dest, args := countsOf(checks, nil)
	if err := q.QueryRow(ctx, "SELECT "+joinCounts(checks, false), args...).Scan(dest...); err != nil {
		return err
	}
	return missing(checks, counts)
}

// writeChecking runs stmt, an INSERT or an UPDATE of at most one row, with
// checks in its RETURNING clause, and reports whether it wrote a row. A
// lookup that points at no row is NotFound about its column, the first such
// column; the row is then written, and the caller's transaction, which the
// error rolls back, must not go on.
func writeChecking(ctx context.Context, tx store.Tx, stmt string, args []any, checks []refCheck) (bool, error) {
	if len(checks) == 0 {
		res, err := tx.Exec(ctx, stmt, args...)
		if err != nil {
			return false, err
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	counts, dest, args := countsOf(checks, args)
	err := tx.QueryRow(ctx, stmt+" RETURNING "+joinCounts(checks, false), args...).Scan(dest...)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, missing(checks, counts)
}

// insertChecking is writeChecking for stmt, an INSERT of one row, written
// with c, the row's change, in one statement on PostgreSQL (see
// changelog.Shapes.AppendWith): the row, its checks and its change in one
// round trip. It returns the change's id. A lookup that points at no row is
// NotFound as in writeChecking: the row and the change are written, and the
// error must roll the transaction back.
//
// fail makes a lookup that points at no row fail the statement itself (a
// division by the count of rows found: 1 / LEAST(count, 1)), for a
// statement that commits by itself; the error does not name the lookup.
func (s *Service) insertChecking(ctx context.Context, tx store.Tx, stmt string, args []any, checks []refCheck, c changelog.Encoded, fail bool) (int64, error) {
	var counts []int64
	var dest []any
	returning := "1"
	if len(checks) > 0 {
		counts, dest, args = countsOf(checks, args)
		returning = joinCounts(checks, fail)
	} else {
		dest = []any{new(int64)}
	}
	seq, err := s.shapes.AppendEncodedWith(ctx, tx, c, stmt+" RETURNING "+returning, args, dest...)
	if err != nil {
		return 0, err
	}
	return seq, missing(checks, counts)
}

// refusesItself is the error of a created row's lookup that points at the
// row itself, which did not exist before the write: the statement that
// writes it may see it (SQLite's RETURNING does), a check before it did not.
func refusesItself(t *Table, row Row, checks []refCheck) error {
	id := row[t.PrimaryID()]
	for _, c := range checks {
		if c.ref.Table == t.Name && c.ref.ID == id {
			return NotFound(c.ref.Table, c.ref.ID).about(c.col)
		}
	}
	return nil
}

// countsOf returns where the checks' counts are scanned to, and args with
// the checks' arguments after them.
func countsOf(checks []refCheck, args []any) (counts []int64, dest []any, all []any) {
	counts, dest = make([]int64, len(checks)), make([]any, len(checks))
	all = make([]any, 0, len(args)+len(checks))
	all = append(all, args...)
	for i, c := range checks {
		dest[i] = &counts[i]
		all = append(all, c.ref.ID)
	}
	return counts, dest, all
}

func joinCounts(checks []refCheck, fail bool) string {
	parts := make([]string, len(checks))
	for i, c := range checks {
		parts[i] = c.count
		if fail {
			// Not folded into a constant: the count is a subquery.
			parts[i] = "1 / LEAST(" + c.count + ", 1)"
		}
	}
	return strings.Join(parts, ", ")
}

// missing is the error of the first check that counted no row.
func missing(checks []refCheck, counts []int64) error {
	for i, n := range counts {
		if n == 0 {
			return NotFound(checks[i].ref.Table, checks[i].ref.ID).about(checks[i].col)
		}
	}
	return nil
}
