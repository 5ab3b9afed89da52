// Package changelog is the transactional outbox of record changes. A record
// write appends its change in the same transaction (Append), so nothing is
// committed without its change; readers read the log in position order (Read)
// and wake on Channel. A change's position (Change.Seq) orders it for every
// reader: once a reader has seen position n it never later finds a smaller
// one (see Sequence for how PostgreSQL assigns positions). A reader that keeps its position across restarts (the
// event router's change feed, the workflows' row triggers) keeps it in a
// Cursor, placed at Head when it is created and advanced in the transaction
// that handles its changes; MinPosition says how far every such reader has
// got.
//
// Changes from a real Dataverse org (through its webhook) are appended here too,
// with Source set to the org, so consumers treat both alike.
package changelog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"junction/internal/store"
	"junction/internal/trace"
)

// Channel is notified after every commit that appended a change.
const Channel = "changelog"

// Messages of a change, as Dataverse names them.
const (
	Create = "Create"
	Update = "Update"
	Delete = "Delete"
)

// SourceJunction is the source of changes to Junction's own tables; changes a
// Dataverse org posted carry the org instead.
const SourceJunction = "junction"

// Change is one committed create, update or delete of one row.
type Change struct {
	Seq           int64          `json:"seq"`           // position in the log (see Sequence)
	Source        string         `json:"source"`        // "junction", or the org URL for real Dataverse
	Table         string         `json:"table"`         // logical name, e.g. "account"
	RecordID      string         `json:"recordId"`      // primary id (GUID)
	Message       string         `json:"message"`       // Create, Update or Delete
	Changed       []string       `json:"changed"`       // columns the write set
	Before        map[string]any `json:"before"`        // row before (nil for Create)
	After         map[string]any `json:"after"`         // row after (nil for Delete)
	CorrelationID string         `json:"correlationId"` // request correlation
	UserID        string         `json:"userId"`        // systemuser id of the caller
	At            time.Time      `json:"at"`            // commit time

	// Layout, when set, is the columns of the After image: a column After
	// lacks is null. Readers of the log get whole images (see Whole).
	Layout *Layout `json:"-"`

	rawBefore, rawAfter sql.NullString // stored images, until decodeImages
	// Trace is the traceparent of the work that made the change (the Web
	// API request, the workflow action, the function invocation), so that
	// whatever the change causes joins the same trace.
	Trace string `json:"traceparent,omitempty"`
}

// Migrations are the change log's tables.
func Migrations() []store.Migration {
	return []store.Migration{{
		Component: "changelog",
		Version:   1,
		Name:      "changes",
		Func: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE junction_changes (
				seq            `+tx.Dialect().AutoID()+`,
				source         TEXT NOT NULL,
				table_name     TEXT NOT NULL,
				record_id      TEXT NOT NULL,
				message        TEXT NOT NULL,
				changed        TEXT NOT NULL,
				before_row     TEXT,
				after_row      TEXT,
				correlation_id TEXT NOT NULL,
				user_id        TEXT NOT NULL,
				at             BIGINT NOT NULL
			);
			CREATE INDEX junction_changes_table ON junction_changes (table_name, seq);`)
			return err
		},
	}, {
		Component: "changelog",
		Version:   2,
		Name:      "history by row",
		SQL:       `CREATE INDEX junction_changes_row ON junction_changes (table_name, record_id, seq)`,
	}, cursorTable, trimTable, shapeTable, {
		Component: "changelog",
		Version:   6,
		Name:      "trace context",
		SQL:       `ALTER TABLE junction_changes ADD COLUMN trace TEXT NOT NULL DEFAULT ''`,
	}, positionColumn}
}

// Append records c inside tx and returns its id, which stays the change's
// identity. Call it in the same transaction as the write it describes. On
// SQLite the id is also the change's position; on PostgreSQL the change has
// no position until Sequence numbers it after its commit (PositionOf maps
// the id to it).
func Append(ctx context.Context, tx store.Tx, c Change) (int64, error) {
	return appendChange(ctx, tx, c, nil)
}

// Append is changelog.Append leaving out the shapes m knows tx's store holds.
func (m *Shapes) Append(ctx context.Context, tx store.Tx, c Change) (int64, error) {
	return appendChange(ctx, tx, c, m)
}

// AppendWith is Append with write, an INSERT of one row with a RETURNING
// clause, run before the change's insert and in the same statement on
// PostgreSQL (write goes in a data-modifying CTE: one round trip for both);
// on SQLite it is a statement of its own. dest receive the row write
// returns. write must return exactly one row: the change is recorded
// whatever it returns.
func (m *Shapes) AppendWith(ctx context.Context, tx store.Tx, c Change, write string, writeArgs []any, dest ...any) (int64, error) {
	e, err := Encode(ctx, c)
	if err != nil {
		return 0, err
	}
	return m.AppendEncodedWith(ctx, tx, e, write, writeArgs, dest...)
}

// AppendEncodedWith is AppendWith for a change encoded beforehand.
func (m *Shapes) AppendEncodedWith(ctx context.Context, tx store.Tx, e Encoded, write string, writeArgs []any, dest ...any) (int64, error) {
	if tx.Dialect() != store.Postgres {
		if err := tx.QueryRow(ctx, write, writeArgs...).Scan(dest...); err != nil {
			return 0, err
		}
		return e.append(ctx, tx, m)
	}
	a, err := e.statement(ctx, tx, m)
	if err != nil {
		return 0, err
	}
	a.with = append([]string{"w AS (" + write + ")"}, a.with...)
	a.withArgs = append(append([]any(nil), writeArgs...), a.withArgs...)
	a.with, a.insert = append(a.with, "ch AS ("+a.insert+")"), "SELECT ch.seq, w.* FROM ch, w"
	query, args := a.statement()
	var seq int64
	if err := tx.QueryRow(ctx, query, args...).Scan(append([]any{&seq}, dest...)...); err != nil {
		return 0, err
	}
	tx.Notify(Channel)
	return seq, nil
}

// appendChange is Append; known, when not nil, holds shapes the store holds.
func appendChange(ctx context.Context, tx store.Tx, c Change, known *Shapes) (int64, error) {
	e, err := Encode(ctx, c)
	if err != nil {
		return 0, err
	}
	return e.append(ctx, tx, known)
}

func (e Encoded) append(ctx context.Context, tx store.Tx, known *Shapes) (int64, error) {
	a, err := e.statement(ctx, tx, known)
	if err != nil {
		return 0, err
	}
	query, args := a.statement()
	var seq int64
	if err := tx.QueryRow(ctx, query, args...).Scan(&seq); err != nil {
		return 0, fmt.Errorf("append change: %w", err)
	}
	tx.Notify(Channel)
	return seq, nil
}

// appendStatement is the statement that records a change: its insert
// (returning seq), after the common table expressions it needs.
type appendStatement struct {
	with     []string // each "name AS (...)"
	withArgs []any
	insert   string
	args     []any
}

func (a appendStatement) statement() (string, []any) {
	if len(a.with) == 0 {
		return a.insert, a.args
	}
	return "WITH " + strings.Join(a.with, ", ") + " " + a.insert, append(a.withArgs, a.args...)
}

// An Encoded is a change in the form it is stored in (Encode). A writer
// may encode its change before its transaction begins, so that the work is
// not done while the transaction holds the store's single writer (SQLite).
type Encoded struct {
	c                       Change
	changed                 string
	before, after           sql.NullString
	beforeShape, afterShape *shape
}

// Encode encodes c for AppendEncodedWith, filling in its source, time and
// trace as Append does.
func Encode(ctx context.Context, c Change) (Encoded, error) {
	if c.Source == "" {
		c.Source = SourceJunction
	}
	if c.At.IsZero() {
		c.At = time.Now()
	}
	if c.Changed == nil {
		c.Changed = []string{}
	}
	if c.Trace == "" {
		c.Trace = trace.Parent(ctx)
	}
	changed, _ := json.Marshal(c.Changed)
	e := Encoded{c: c, changed: string(changed)}
	var err error
	if e.after, e.afterShape, err = encodeFull(c.After, c.Layout); err != nil {
		return Encoded{}, fmt.Errorf("append change: after: %w", err)
	}
	if c.Before != nil && c.After != nil {
		e.before, err = encodeBefore(c.Before, c.After)
	} else {
		e.before, e.beforeShape, err = encodeFull(c.Before, nil)
	}
	if err != nil {
		return Encoded{}, fmt.Errorf("append change: before: %w", err)
	}
	return e, nil
}

// statement returns the statement that records e. The row shapes the store
// lacks go in the statement on PostgreSQL (one round trip); on SQLite
// statement inserts them itself.
func (e Encoded) statement(ctx context.Context, tx store.Tx, known *Shapes) (appendStatement, error) {
	c := e.c
	a := appendStatement{insert: `INSERT INTO junction_changes
		(source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		args: []any{c.Source, c.Table, c.RecordID, c.Message, e.changed, e.before, e.after, c.CorrelationID, c.UserID, store.Micros(c.At), c.Trace}}
	shapes, shapeArgs := shapeInsert(known.unknown(tx, e.afterShape, e.beforeShape))
	if shapes != "" {
		if tx.Dialect() == store.Postgres {
			a.with, a.withArgs = []string{"shapes AS (" + shapes + ")"}, shapeArgs
		} else if _, err := tx.Exec(ctx, shapes, shapeArgs...); err != nil {
			return appendStatement{}, fmt.Errorf("append change: record the row's shape: %w", err)
		}
	}
	return a, nil
}

// History returns the last limit numbered changes of one row, newest first.
func History(ctx context.Context, q store.Querier, table, recordID string, limit int) ([]Change, error) {
	pos := position(q)
	out, err := store.Collect(ctx, q, scanChange, `SELECT `+columns(q)+` FROM junction_changes
		WHERE table_name = ? AND record_id = ? AND `+pos+` IS NOT NULL ORDER BY `+pos+` DESC LIMIT ?`, table, recordID, limit)
	if err == nil {
		err = decodeImages(ctx, q, out)
	}
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// columns are what scanChange reads, the position first.
func columns(q store.Querier) string {
	return position(q) + ", source, table_name, record_id, message, changed, before_row, after_row, correlation_id, user_id, at, trace"
}

// headerColumns are what scanHeader reads: no images, no changed columns.
func headerColumns(q store.Querier) string {
	return position(q) + ", source, table_name, record_id, message, correlation_id, user_id, at, trace"
}

func scanHeader(rows *sql.Rows) (Change, error) {
	var c Change
	var at int64
	err := rows.Scan(&c.Seq, &c.Source, &c.Table, &c.RecordID, &c.Message, &c.CorrelationID, &c.UserID, &at, &c.Trace)
	c.At = store.FromMicros(at)
	return c, err
}

// Read returns up to limit changes with Seq > after, in position order.
// table, when not empty, restricts the result to one table.
func Read(ctx context.Context, q store.Querier, after int64, table string, limit int) ([]Change, error) {
	pos := position(q)
	query := `SELECT ` + columns(q) + ` FROM junction_changes WHERE ` + pos + ` > ?`
	args := []any{after}
	if table != "" {
		query += " AND table_name = ?"
		args = append(args, table)
	}
	query += " ORDER BY " + pos + " LIMIT ?"
	args = append(args, limit)
	out, err := store.Collect(ctx, q, scanChange, query, args...)
	if err == nil {
		err = decodeImages(ctx, q, out)
	}
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

func scanChange(rows *sql.Rows) (Change, error) {
	var c Change
	var changed string
	var at int64
	if err := rows.Scan(&c.Seq, &c.Source, &c.Table, &c.RecordID, &c.Message, &changed, &c.rawBefore, &c.rawAfter, &c.CorrelationID, &c.UserID, &at, &c.Trace); err != nil {
		return c, err
	}
	c.At = store.FromMicros(at)
	if err := json.Unmarshal([]byte(changed), &c.Changed); err != nil {
		return c, fmt.Errorf("change %d: %w", c.Seq, err)
	}
	return c, nil
}
