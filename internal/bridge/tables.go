package bridge

import (
	"context"
	"fmt"
	"strconv"

	"junction/internal/job"
	"junction/internal/job/format"
	"junction/internal/records"
	"junction/internal/store"
)

// Tables gives batch jobs Junction's own tables as sources and sinks, over
// the records service's bulk key operations: every write goes through
// records' Create, Update and Delete, so jobs get the same validation,
// auto-numbers and change-log entries as Web API clients, and each Upsert,
// Delete or Flag call (one job chunk) is one transaction.
type Tables struct {
	Records *records.Service
	// Caller is who the change log names as the writer (default: the system
	// user). Writes of a job's run carry the correlation id job:NAME:RUN.
	Caller records.Caller
}

var _ job.Tables = (*Tables)(nil)

// NewTables returns the jobs' view of rs.
func NewTables(rs *records.Service) *Tables { return &Tables{Records: rs} }

// caller is who the change log names for a write made with ctx: Caller,
// with the correlation id job:NAME:RUN when ctx belongs to a job's run.
func (ts *Tables) caller(ctx context.Context) records.Caller {
	c := ts.Caller
	if name, id, ok := job.RunOf(ctx); ok {
		c.CorrelationID = "job:" + name + ":" + strconv.FormatInt(id, 10)
	}
	return c
}

func (ts *Tables) table(name string) (*records.Table, error) {
	t, ok := ts.Records.Table(name)
	if !ok {
		return nil, fmt.Errorf("there is no Junction table %q", name)
	}
	return t, nil
}

// Columns implements job.TableSource: every column with its job type.
// Lookups are strings: rows carry them as {"id", "logicalName"} objects, as
// the change log does (map one with from: column.id).
func (ts *Tables) Columns(_ context.Context, table string) ([]format.Column, error) {
	t, err := ts.table(table)
	if err != nil {
		return nil, err
	}
	out := make([]format.Column, 0, len(t.Columns))
	for i := range t.Columns {
		out = append(out, format.Column{Name: t.Columns[i].Name, Type: jobType(&t.Columns[i])})
	}
	return out, nil
}

func jobType(c *records.Column) string {
	switch c.Type {
	case records.Integer, records.BigInt, records.Picklist, records.State, records.Status:
		return format.TypeInt
	case records.Decimal, records.Money:
		return format.TypeDecimal
	case records.Double:
		return format.TypeFloat
	case records.Boolean:
		return format.TypeBool
	case records.DateTime:
		return format.TypeDateTime
	case records.UniqueIdentifier:
		return format.TypeGUID
	}
	return format.TypeString
}

// Scan implements job.TableSource with records.ScanTable: the rows in the
// change log's shape (records.JSONRow), so one mapping serves full and delta
// reads, and the change-log position a delta read continues from.
func (ts *Tables) Scan(ctx context.Context, table string, fn func(row map[string]any) error) (int64, error) {
	t, err := ts.table(table)
	if err != nil {
		return 0, err
	}
	return ts.Records.ScanTable(ctx, t, func(r records.Row) error { return fn(records.JSONRow(r)) })
}

// Resolve implements job.Resolver: the Return column of the Table row whose
// Key column (an alternate key or any column) equals value, text matched as
// records.FindByValue matches it. Two matching rows are an error: a lookup
// key must be unique.
func (ts *Tables) Resolve(ctx context.Context, l job.Lookup, value string) (any, bool, error) {
	t, err := ts.table(l.Table)
	if err != nil {
		return nil, false, err
	}
	kc, ok := t.Column(l.Key)
	if !ok {
		return nil, false, fmt.Errorf("table %s has no column %q to look rows up by", t.Name, l.Key)
	}
	if _, ok := t.Column(l.Return); !ok {
		return nil, false, fmt.Errorf("table %s has no column %q to return", t.Name, l.Return)
	}
	var found []records.Row
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		var err error
		found, err = ts.Records.FindByValue(ctx, q, t, kc, value, 2)
		return err
	})
	switch {
	case err != nil:
		return nil, false, err
	case len(found) == 0:
		return nil, false, nil
	case len(found) == 1:
		return records.Flat(found[0][l.Return]), true, nil
	}
	return nil, false, fmt.Errorf("more than one %s row has %s = %q; a lookup key must be unique", t.Name, l.Key, value)
}

// Check implements job.TableSink with records.CheckByKey, in one read: each
// value the table refuses is a reject of its row naming its column, with
// the reason the Web API would give.
func (ts *Tables) Check(ctx context.Context, table string, key []string, rows []map[string]any) ([][]job.Reject, error) {
	t, err := ts.table(table)
	if err != nil {
		return nil, err
	}
	var refused [][]records.Refusal
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		var err error
		refused, err = ts.Records.CheckByKey(ctx, q, t, key, rows, ts.caller(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([][]job.Reject, len(rows))
	for i, rs := range refused {
		for _, r := range rs {
			var v string
			if r.Value != nil {
				v = format.Text(r.Value)
			}
			out[i] = append(out[i], job.Reject{Column: r.Column, Reason: r.Err.Message, Value: v})
		}
	}
	return out, nil
}

// Upsert implements job.TableSink with records.UpsertByKey: all rows commit
// in one transaction or none do.
func (ts *Tables) Upsert(ctx context.Context, table string, key []string, rows []map[string]any) (job.Counts, error) {
	if len(rows) == 0 {
		return job.Counts{}, nil
	}
	t, err := ts.table(table)
	if err != nil {
		return job.Counts{}, err
	}
	var c records.UpsertCounts
	err = ts.Records.Store().Tx(ctx, func(tx store.Tx) error {
		var err error
		c, err = ts.Records.UpsertByKey(ctx, tx, t, key, rows, ts.caller(ctx))
		return err
	})
	if err != nil {
		return job.Counts{}, err
	}
	return job.Counts{Inserted: c.Inserted, Updated: c.Updated, Unchanged: c.Unchanged}, nil
}

// Delete implements job.TableSink with records.DeleteByKey, in one
// transaction; keys with no row are skipped.
func (ts *Tables) Delete(ctx context.Context, table string, key []string, keys []map[string]any) (int64, error) {
	return ts.byKey(ctx, table, keys, func(tx store.Tx, t *records.Table) (int64, error) {
		return ts.Records.DeleteByKey(ctx, tx, t, key, keys, ts.caller(ctx))
	})
}

// Flag implements job.TableSink with records.FlagByKey, in one transaction:
// the Boolean column is set on the rows with the given keys not flagged yet.
func (ts *Tables) Flag(ctx context.Context, table string, key []string, column string, keys []map[string]any) (int64, error) {
	return ts.byKey(ctx, table, keys, func(tx store.Tx, t *records.Table) (int64, error) {
		return ts.Records.FlagByKey(ctx, tx, t, key, column, keys, ts.caller(ctx))
	})
}

// byKey runs write in one transaction when there are keys.
func (ts *Tables) byKey(ctx context.Context, table string, keys []map[string]any, write func(tx store.Tx, t *records.Table) (int64, error)) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	t, err := ts.table(table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = ts.Records.Store().Tx(ctx, func(tx store.Tx) error {
		var err error
		n, err = write(tx, t)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Get implements job.TableSink with records.GetByKeys, for reconciliation:
// lookups are ids, or objects when the job gave objects.
func (ts *Tables) Get(ctx context.Context, table string, key []string, keys []map[string]any) ([]map[string]any, error) {
	t, err := ts.table(table)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	err = ts.Records.Store().Read(ctx, func(q store.Querier) error {
		var err error
		out, err = ts.Records.GetByKeys(ctx, q, t, key, keys)
		return err
	})
	return out, err
}
