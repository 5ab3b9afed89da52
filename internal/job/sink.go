package job

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/job/format"
)

// Counts are what a run did to the sink.
type Counts struct {
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
}

func (c *Counts) add(o Counts) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Deleted += o.Deleted
}

// sinkWriter writes one run's rows.
type sinkWriter interface {
	Resolver
	// Apply writes one chunk of rows, atomically where the sink allows. Rows
	// the target refused, when the sink can tell them apart and the policy
	// accepts partial input, come back as rejects; the rest are applied.
	Apply(ctx context.Context, rows []Row) (Counts, []Reject, error)
	// Verify reads back the rows of the chunk just applied and returns the
	// checksum of each key found (reconciliation). Sinks that cannot read by
	// key return nil, false.
	Verify(ctx context.Context, rows []Row) (map[string][32]byte, bool, error)
	// Finish completes the output (renames files into place) and, for sinks
	// that cannot verify by key, returns the target's tally read back from it.
	Finish(ctx context.Context) (*tally, error)
	// Abort discards uncommitted output.
	Abort()
}

// rowChecker is a sink that can tell, before rows are applied, which of
// their values the target would refuse. The runner makes such a row a reject
// instead of letting it fail the chunk that holds it.
type rowChecker interface {
	// Check returns the problems with each row (out[i] for rows[i]); the
	// runner fills in the lines. An error is not about a row and ends the run.
	Check(ctx context.Context, rows []map[string]any) ([][]Reject, error)
}

// checkRows asks chk about rows and returns their rejects with their lines.
func checkRows(ctx context.Context, chk rowChecker, rows []Row) ([][]Reject, error) {
	values := make([]map[string]any, len(rows))
	for i, r := range rows {
		values[i] = r.Values
	}
	out, err := chk.Check(ctx, values)
	if err != nil {
		return nil, fmt.Errorf("lines %d to %d: check the rows against the sink: %w", rows[0].Line, rows[len(rows)-1].Line, err)
	}
	for i, rs := range out {
		for j := range rs {
			rs[j].Line = rows[i].Line
			rs[j].Value = truncate(rs[j].Value, 200)
		}
	}
	return out, nil
}

// sinkPlan is what a sink is opened with.
type sinkPlan struct {
	cols  []format.Column
	key   []string
	runID int64
	// resume says the run goes on from a checkpoint; output already committed
	// by the earlier attempt stays.
	resume bool
}

// TableSink writes Junction tables (the records service implements it): bulk
// upserts by alternate key with change-log entries, lookups by a readable key.
type TableSink interface {
	Resolver
	// Upsert writes rows to table keyed by key, in one transaction, and says
	// how many were inserted, updated and unchanged.
	Upsert(ctx context.Context, table string, key []string, rows []map[string]any) (Counts, error)
	// Delete removes the rows with the given keys.
	Delete(ctx context.Context, table string, key []string, keys []map[string]any) (int64, error)
	// Flag sets the Boolean column to true on the rows with the given keys
	// (deletes: flag) and says how many it changed.
	Flag(ctx context.Context, table string, key []string, column string, keys []map[string]any) (int64, error)
	// Get returns the rows with the given keys, by keyOf text.
	Get(ctx context.Context, table string, key []string, keys []map[string]any) ([]map[string]any, error)
	// Check converts and validates rows as Upsert would, without writing, and
	// returns what the table refuses of each (out[i] for rows[i]), each reject
	// naming its column. An error is not about a row.
	Check(ctx context.Context, table string, key []string, rows []map[string]any) ([][]Reject, error)
}

// TableSource reads Junction tables in full (the records service implements
// it). Delta reads come from the change log and need no TableSource.
type TableSource interface {
	Columns(ctx context.Context, table string) ([]format.Column, error)
	// Scan calls fn with every row of table, and returns the change-log
	// sequence number the rows are consistent with (the next delta's start).
	Scan(ctx context.Context, table string, fn func(row map[string]any) error) (int64, error)
}

// Tables is what the Web API issue's records service offers jobs.
type Tables interface {
	TableSource
	TableSink
}

// tableSink writes through a TableSink.
type tableSink struct {
	t      TableSink
	table  string
	plan   sinkPlan
	mode   string // what a deletion does: ignore, flag or delete
	delCol string // the Boolean column deletes: flag sets
}

var (
	_ sinkWriter = (*tableSink)(nil)
	_ rowChecker = (*tableSink)(nil)
)

// newTableSink opens a sink to a Junction table, checking what it can before
// a row is read: Junction tables are available, the table exists and, for
// deletes: flag, has the Boolean column to flag rows with.
func newTableSink(ctx context.Context, t Tables, sk Sink, p sinkPlan) (*tableSink, error) {
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
	return &tableSink{t: t, table: sk.Table, plan: p, mode: sk.Deletes, delCol: sk.DeletedColumn}, nil
}

// Check implements rowChecker.
func (s *tableSink) Check(ctx context.Context, rows []map[string]any) ([][]Reject, error) {
	live := make([]map[string]any, len(rows))
	for i, r := range rows {
		live[i] = s.live(r)
	}
	return s.t.Check(ctx, s.table, s.plan.key, live)
}

// live returns the values to upsert for a row that is not a deletion: with
// deletes: flag the flag is cleared, so a row deleted and then created again
// at the source is live again, unless the mapping sets the column itself.
func (s *tableSink) live(values map[string]any) map[string]any {
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

func (s *tableSink) Resolve(ctx context.Context, l Lookup, v string) (any, bool, error) {
	return s.t.Resolve(ctx, l, v)
}

// Apply upserts the chunk's rows and then deletes or flags its deletions.
// Upserts go first, so a row is left out when a deletion of its key follows
// it in the chunk, and a deletion when a row of its key follows it: the last
// of a key's rows decides, as it would row by row.
func (s *tableSink) Apply(ctx context.Context, rows []Row) (Counts, []Reject, error) {
	deletes := s.mode == "delete" || s.mode == "flag"
	keys := make([]string, len(rows))
	lastGone := map[string]int{}
	lastLive := map[string]int{}
	for i, r := range rows {
		keys[i] = keyOf(s.plan.key, r.Values)
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
	c, err := s.t.Upsert(ctx, s.table, s.plan.key, up)
	if err != nil || len(gone) == 0 {
		return c, nil, err
	}
	var n int64
	if s.mode == "flag" {
		n, err = s.t.Flag(ctx, s.table, s.plan.key, s.delCol, gone)
	} else {
		n, err = s.t.Delete(ctx, s.table, s.plan.key, gone)
	}
	c.Deleted += n
	return c, nil, err
}

// Verify reads the chunk's live rows back by key. With deletes: flag a row
// found flagged counts as missing.
func (s *tableSink) Verify(ctx context.Context, rows []Row) (map[string][32]byte, bool, error) {
	keys := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		if !r.Deleted {
			keys = append(keys, r.Values)
		}
	}
	got, err := s.t.Get(ctx, s.table, s.plan.key, keys)
	if err != nil {
		return nil, true, err
	}
	out := make(map[string][32]byte, len(got))
	for _, row := range got {
		if s.mode == "flag" && row[s.delCol] == true {
			continue // flagged deleted: not there for a live source row
		}
		out[keyOf(s.plan.key, row)] = rowHash(s.plan.cols, row)
	}
	return out, true, nil
}

func (s *tableSink) Finish(context.Context) (*tally, error) { return nil, nil }
func (s *tableSink) Abort()                                 {}
