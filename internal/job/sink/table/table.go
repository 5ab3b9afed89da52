// Package table is the sink of a job into a Junction table, through the
// records service: bulk upserts by alternate key with change-log entries,
// deletions or a deleted flag, lookups by a readable key.
package table

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

// Tables writes Junction tables (the records service implements it): bulk
// upserts by alternate key with change-log entries, lookups by a readable key.
type Tables interface {
	// Columns lists a table's columns with their job types.
	Columns(ctx context.Context, table string) ([]format.Column, error)
	// Resolve finds l.Return of the row of l.Table whose l.Key is value.
	Resolve(ctx context.Context, l sink.Lookup, value string) (any, bool, error)
	// Upsert writes rows to table keyed by key, in one transaction, and says
	// how many were inserted, updated and unchanged.
	Upsert(ctx context.Context, table string, key []string, rows []map[string]any) (sink.Counts, error)
	// Delete removes the rows with the given keys.
	Delete(ctx context.Context, table string, key []string, keys []map[string]any) (int64, error)
	// Flag sets the Boolean column to true on the rows with the given keys
	// (deletes: flag) and says how many it changed.
	Flag(ctx context.Context, table string, key []string, column string, keys []map[string]any) (int64, error)
	// Get returns the rows with the given keys, by KeyOf text.
	Get(ctx context.Context, table string, key []string, keys []map[string]any) ([]map[string]any, error)
	// Check converts and validates rows as Upsert would, without writing, and
	// returns what the table refuses of each (out[i] for rows[i]), each reject
	// naming its column. An error is not about a row.
	Check(ctx context.Context, table string, key []string, rows []map[string]any) ([][]sink.Reject, error)
}

// Target is the table a sink writes and what a deletion does to it.
type Target struct {
	Table string
	// Deletes is ignore, flag (set DeletedColumn) or delete.
	Deletes       string
	DeletedColumn string
}

// Sink writes a Junction table through Tables.
type Sink struct {
	t      Tables
	table  string
	plan   sink.Plan
	mode   string // what a deletion does: ignore, flag or delete
	delCol string // the Boolean column deletes: flag sets
}

// Open opens a sink to a Junction table, checking what it can before a row
// is read: Junction tables are available, the table exists and, for
// deletes: flag, has the Boolean column to flag rows with.
func Open(ctx context.Context, t Tables, sk Target, p sink.Plan) (*Sink, error) {
	if t == nil {
		return nil, errors.New("Junction tables are not available to jobs in this build")
	}
	cols, err := t.Columns(ctx, sk.Table)
	if err != nil {
		return nil, fmt.Errorf("sink.table: %w", err)
	}
	if sk.Deletes == "flag" {
		typ := ""
		for _, c := range cols {
			if c.Name == sk.DeletedColumn {
				typ = c.Type
			}
		}
		switch typ {
		case format.TypeBool:
		case "":
			return nil, fmt.Errorf("sink.deletedColumn: table %s has no column %q to flag deleted rows with; add a Boolean column or name one", sk.Table, sk.DeletedColumn)
		default:
			return nil, fmt.Errorf("sink.deletedColumn: column %s of table %s is not a Boolean column (it holds %s values)", sk.DeletedColumn, sk.Table, typ)
		}
	}
	return &Sink{t: t, table: sk.Table, plan: p, mode: sk.Deletes, delCol: sk.DeletedColumn}, nil
}

// Check tells, before rows are applied, what the table refuses of each.
func (s *Sink) Check(ctx context.Context, rows []map[string]any) ([][]sink.Reject, error) {
	live := make([]map[string]any, len(rows))
	for i, r := range rows {
		live[i] = s.live(r)
	}
	return s.t.Check(ctx, s.table, s.plan.Key, live)
}

// live returns the values to upsert for a row that is not a deletion: with
// deletes: flag the flag is cleared, so a row deleted and then created again
// at the source is live again, unless the mapping sets the column itself.
func (s *Sink) live(values map[string]any) map[string]any {
	if s.mode != "flag" {
		return values
	}
	if _, mapped := values[s.delCol]; mapped {
		return values
	}
	out := make(map[string]any, len(values)+1)
	for k, v := range values {
		out[k] = v
	}
	out[s.delCol] = false
	return out
}

// Resolve finds l.Return of the Junction table row whose l.Key is v.
func (s *Sink) Resolve(ctx context.Context, l sink.Lookup, v string) (any, bool, error) {
	return s.t.Resolve(ctx, l, v)
}

// Apply upserts the chunk's rows and then deletes or flags its deletions.
// Upserts go first, so a row is left out when a deletion of its key follows
// it in the chunk, and a deletion when a row of its key follows it: the last
// of a key's rows decides, as it would row by row.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row) (sink.Counts, []sink.Reject, error) {
	deletes := s.mode == "delete" || s.mode == "flag"
	keys := make([]string, len(rows))
	lastGone := map[string]int{}
	lastLive := map[string]int{}
	for i, r := range rows {
		keys[i] = sink.KeyOf(s.plan.Key, r.Values)
		switch {
		case !r.Deleted:
			lastLive[keys[i]] = i
		case deletes:
			lastGone[keys[i]] = i
		}
	}
	var up, gone []map[string]any
	for i, r := range rows {
		switch {
		case !r.Deleted:
			if g, ok := lastGone[keys[i]]; !ok || g < i {
				up = append(up, s.live(r.Values))
			}
		case deletes:
			if l, ok := lastLive[keys[i]]; lastGone[keys[i]] == i && (!ok || l < i) {
				gone = append(gone, r.Values)
			}
		}
	}
	c, err := s.t.Upsert(ctx, s.table, s.plan.Key, up)
	if err != nil || len(gone) == 0 {
		return c, nil, err
	}
	var n int64
	if s.mode == "flag" {
		n, err = s.t.Flag(ctx, s.table, s.plan.Key, s.delCol, gone)
	} else {
		n, err = s.t.Delete(ctx, s.table, s.plan.Key, gone)
	}
	c.Deleted += n
	return c, nil, err
}

// Verify reads the chunk's live rows back by key. With deletes: flag a row
// found flagged counts as missing.
func (s *Sink) Verify(ctx context.Context, rows []sink.Row) (map[string][32]byte, bool, error) {
	keys := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		if !r.Deleted {
			keys = append(keys, r.Values)
		}
	}
	got, err := s.t.Get(ctx, s.table, s.plan.Key, keys)
	if err != nil {
		return nil, true, err
	}
	out := make(map[string][32]byte, len(got))
	for _, row := range got {
		if s.mode == "flag" && row[s.delCol] == true {
			continue // flagged deleted: not there for a live source row
		}
		out[sink.KeyOf(s.plan.Key, row)] = sink.Hash(s.plan.Cols, row)
	}
	return out, true, nil
}

// Finish has nothing to complete: every chunk was written when applied.
func (s *Sink) Finish(context.Context) (*sink.Tally, error) { return nil, nil }

// Abort has nothing to discard.
func (s *Sink) Abort() {}
