package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"junction/internal/store"
)

// Run statuses.
const (
	StatusRunning   = "Running"
	StatusSucceeded = "Succeeded"
	StatusFailed    = "Failed"
	StatusCancelled = "Cancelled"
	StatusTimedOut  = "TimedOut"
	StatusSkipped   = "Skipped"
	StatusWaiting   = "Waiting"
)

func terminal(s string) bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusTimedOut, StatusSkipped:
		return true
	}
	return false
}

// notifyRuns wakes other nodes' run claimers.
const notifyRuns = "wf_runs"

// Migrations are the workflow tables.
func Migrations() []store.Migration {
	return append([]store.Migration{{
		Component: "workflow",
		Version:   1,
		Name:      "workflows, versions, runs, actions, schedules",
		SQL: `CREATE TABLE wf_workflows (
			name        TEXT PRIMARY KEY,
			kind        TEXT NOT NULL,
			def_hash    TEXT NOT NULL,
			source      TEXT NOT NULL,
			sig_key     TEXT NOT NULL,
			created_at  BIGINT NOT NULL,
			changed_at  BIGINT NOT NULL
		);
		CREATE TABLE wf_versions (
			def_hash   TEXT PRIMARY KEY,
			workflow   TEXT NOT NULL,
			document   TEXT NOT NULL,
			created_at BIGINT NOT NULL
		);
		CREATE TABLE wf_runs (
			id                 TEXT PRIMARY KEY,
			workflow           TEXT NOT NULL,
			def_hash           TEXT NOT NULL,
			status             TEXT NOT NULL,
			trigger_name       TEXT NOT NULL,
			trigger_record     TEXT NOT NULL,
			client_tracking_id TEXT NOT NULL,
			origin_run_id      TEXT NOT NULL,
			start_time         BIGINT NOT NULL,
			end_time           BIGINT NOT NULL,
			error              TEXT NOT NULL,
			outputs            TEXT NOT NULL,
			variables          TEXT NOT NULL,
			response           TEXT NOT NULL,
			owner              TEXT NOT NULL,
			lease_until        BIGINT NOT NULL
		);
		CREATE INDEX wf_runs_by_workflow ON wf_runs (workflow, start_time);
		CREATE INDEX wf_runs_by_status ON wf_runs (status, lease_until);
		CREATE INDEX wf_runs_by_tracking ON wf_runs (client_tracking_id);
		CREATE TABLE wf_actions (
			run_id      TEXT NOT NULL,
			path        TEXT NOT NULL,
			name        TEXT NOT NULL,
			status      TEXT NOT NULL,
			code        TEXT NOT NULL,
			start_time  BIGINT NOT NULL,
			end_time    BIGINT NOT NULL,
			inputs      TEXT NOT NULL,
			outputs     TEXT NOT NULL,
			error       TEXT NOT NULL,
			retries     TEXT NOT NULL,
			tracked     TEXT NOT NULL,
			PRIMARY KEY (run_id, path)
		);
		CREATE TABLE wf_schedules (
			workflow TEXT NOT NULL,
			trigger  TEXT NOT NULL,
			def_hash TEXT NOT NULL,
			next_at  BIGINT NOT NULL,
			PRIMARY KEY (workflow, trigger)
		)`,
	}, {
		Component: "workflow",
		Version:   2,
		Name:      "durable timers",
		SQL:       `ALTER TABLE wf_runs ADD COLUMN timers TEXT NOT NULL DEFAULT ''`,
	}, {
		Component: "workflow",
		Version:   3,
		Name:      "trace context",
		SQL:       `ALTER TABLE wf_runs ADD COLUMN trace TEXT NOT NULL DEFAULT ''`,
	}}, retentionMigrations...)
}

// Run is one run of a workflow, as the run history shows it.
type Run struct {
	ID               string          `json:"name"`
	Workflow         string          `json:"workflow"`
	Status           string          `json:"status"`
	Trigger          map[string]any  `json:"trigger"`
	ClientTrackingID string          `json:"clientTrackingId,omitempty"`
	OriginRunID      string          `json:"originRunId,omitempty"`
	StartTime        time.Time       `json:"startTime"`
	EndTime          *time.Time      `json:"endTime,omitempty"`
	Error            any             `json:"error,omitempty"`
	Outputs          map[string]any  `json:"outputs,omitempty"`
	Actions          []*ActionRecord `json:"actions,omitempty"`
	// Trace is the traceparent of the run's span: its actions' spans are its
	// children, and what they call joins the trace.
	Trace string `json:"traceparent,omitempty"`

	defHash   string
	variables map[string]any
	response  *Response
	timers    map[string]time.Time // Wait deadlines and start times, by action path
}

// ActionRecord is one action's persisted result. Path names the action and
// its enclosing containers and loop iterations ("Loop#3/Scope/Compose").
type ActionRecord struct {
	Path              string    `json:"path"`
	Name              string    `json:"name"`
	Status            string    `json:"status"`
	Code              string    `json:"code,omitempty"`
	StartTime         time.Time `json:"startTime"`
	EndTime           time.Time `json:"endTime"`
	Inputs            any       `json:"inputs,omitempty"`
	Outputs           any       `json:"outputs,omitempty"`
	Error             any       `json:"error,omitempty"`
	RetryHistory      []any     `json:"retryHistory,omitempty"`
	TrackedProperties any       `json:"trackedProperties,omitempty"`
}

// Response is what a Response action answered.
type Response struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       any               `json:"body,omitempty"`
}

func encode(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeInto(s string, v any) {
	if s == "" {
		return
	}
	_ = json.Unmarshal([]byte(s), v)
}

func decodeValue(s string) any {
	if s == "" {
		return nil
	}
	v, err := decodeJSONValue([]byte(s))
	if err != nil {
		return nil
	}
	return v
}

// errLeaseLost means another node took the run over; this node stops it.
var errLeaseLost = errors.New("the run's lease was lost to another node")

// journal persists a run as it goes. The durable journal writes to the store;
// the memory journal (stateless workflows, offline tests) keeps nothing.
// Every write but createRun also carries the records the run held back
// (runState.save): they commit with it, after its fencing.
type journal interface {
	createRun(ctx context.Context, r *Run, owner string, ttl time.Duration) error
	// saveActions records recs and, when vars is not nil, the variables.
	// effects (see joined) run in the same transaction, after the fencing.
	saveActions(ctx context.Context, runID, owner string, recs []*ActionRecord, vars map[string]any, effects []*joined) error
	finishRun(ctx context.Context, r *Run, owner string, recs []*ActionRecord, effects []*joined) error
	// setTimers records the run's durable timers (Wait starts and deadlines).
	setTimers(ctx context.Context, runID, owner string, timers map[string]time.Time, recs []*ActionRecord, vars map[string]any, effects []*joined) error
}

type memoryJournal struct{}

func (memoryJournal) createRun(context.Context, *Run, string, time.Duration) error { return nil }
func (memoryJournal) saveActions(context.Context, string, string, []*ActionRecord, map[string]any, []*joined) error {
	return nil
}
func (memoryJournal) finishRun(context.Context, *Run, string, []*ActionRecord, []*joined) error {
	return nil
}
func (memoryJournal) setTimers(context.Context, string, string, map[string]time.Time, []*ActionRecord, map[string]any, []*joined) error {
	return nil
}

type storeJournal struct{ s store.Store }

func (j storeJournal) setTimers(ctx context.Context, runID, owner string, timers map[string]time.Time, recs []*ActionRecord, vars map[string]any, effects []*joined) error {
	m := make(map[string]int64, len(timers))
	for k, t := range timers {
		m[k] = store.Micros(t)
	}
	return j.s.Tx(ctx, func(tx store.Tx) error {
		set, args := `timers = ?`, []any{encode(m)}
		if vars != nil {
			set, args = set+`, variables = ?`, append(args, encode(vars))
		}
		res, err := tx.Exec(ctx, `UPDATE wf_runs SET `+set+` WHERE id = ? AND owner = ? AND status = ?`, append(args, runID, owner, StatusRunning)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		return insertJoined(ctx, tx, runID, recs, effects)
	})
}

// insertJoined runs the effects and writes the records.
func insertJoined(ctx context.Context, tx store.Tx, runID string, recs []*ActionRecord, effects []*joined) error {
	recs, err := applyJoined(ctx, tx, recs, effects)
	if err != nil {
		return err
	}
	return insertActions(ctx, tx, runID, recs)
}

func (j storeJournal) createRun(ctx context.Context, r *Run, owner string, ttl time.Duration) error {
	return j.s.Tx(ctx, func(tx store.Tx) error { return insertRun(ctx, tx, r, owner, ttl) })
}

func insertRun(ctx context.Context, tx store.Tx, r *Run, owner string, ttl time.Duration) error {
	return insertRuns(ctx, tx, []*Run{r}, []string{owner}, ttl)
}

// insertRuns records runs, runs[i] owned by owners[i], in multi-row
// statements: a received batch's runs take one round trip, not one each.
func insertRuns(ctx context.Context, tx store.Tx, runs []*Run, owners []string, ttl time.Duration) error {
	const chunk = 64
	for lo := 0; lo < len(runs); lo += chunk {
		part := runs[lo:min(lo+chunk, len(runs))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO wf_runs (id, workflow, def_hash, status, trigger_name, trigger_record, client_tracking_id,
		origin_run_id, start_time, end_time, error, outputs, variables, response, owner, lease_until, trace) VALUES `)
		args := make([]any, 0, 13*len(part))
		for i, r := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '', ?, '', ?, ` + tx.Dialect().NowExpr() + ` + ?, ?)`)
			args = append(args, r.ID, r.Workflow, r.defHash, r.Status, triggerName(r), encode(r.Trigger), r.ClientTrackingID, r.OriginRunID,
				store.Micros(r.StartTime), encode(r.variables), owners[lo+i], ttl.Microseconds(), r.Trace)
		}
		// No notification: the creating node runs the run itself, and other
		// nodes only need to hear of runs whose owner died, which they find
		// by polling. (A NOTIFY per run would serialise commits on
		// PostgreSQL.)
		if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func triggerName(r *Run) string {
	n, _ := r.Trigger["name"].(string)
	return n
}

// actionChunk bounds the records one INSERT INTO wf_actions writes.
const actionChunk = 64

// insertActions writes action records in multi-row statements.
func insertActions(ctx context.Context, tx store.Tx, runID string, recs []*ActionRecord) error {
	for lo := 0; lo < len(recs); lo += actionChunk {
		q, args := actionsInsert(runID, recs[lo:min(lo+actionChunk, len(recs))])
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// actionsInsert is the statement writing recs, and its arguments.
func actionsInsert(runID string, recs []*ActionRecord) (string, []any) {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO wf_actions (run_id, path, name, status, code, start_time, end_time, inputs, outputs, error, retries, tracked) VALUES `)
	args := make([]any, 0, 12*len(recs))
	for i, rec := range recs {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, runID, rec.Path, rec.Name, rec.Status, rec.Code, store.Micros(rec.StartTime), store.Micros(rec.EndTime),
			encode(rec.Inputs), encode(rec.Outputs), encode(rec.Error), encode(rec.RetryHistory), encode(rec.TrackedProperties))
	}
	return sb.String(), args
}

func (j storeJournal) saveActions(ctx context.Context, runID, owner string, recs []*ActionRecord, vars map[string]any, effects []*joined) error {
	return j.s.Tx(ctx, func(tx store.Tx) error {
		// Fencing: the write only counts if this node still owns the run. A
		// shared row lock lets a run's parallel branches save concurrently
		// while keeping a takeover or cancel from slipping in between.
		if vars != nil {
			res, err := tx.Exec(ctx, `UPDATE wf_runs SET variables = ? WHERE id = ? AND owner = ? AND status = ?`,
				encode(vars), runID, owner, StatusRunning)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errLeaseLost
			}
		} else {
			lock := ""
			if tx.Dialect() == store.Postgres {
				lock = " FOR SHARE"
			}
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM wf_runs WHERE id = ? AND owner = ? AND status = ?`+lock, runID, owner, StatusRunning).Scan(&one)
			if errors.Is(err, store.ErrNotFound) {
				return errLeaseLost
			}
			if err != nil {
				return err
			}
		}
		return insertJoined(ctx, tx, runID, recs, effects)
	})
}

// finishRun records the run's end with its last records and effects. On
// PostgreSQL the records (up to actionChunk) are inserted by the statement
// that ends the run, a data-modifying WITH of its UPDATE: one round trip
// instead of two. The effects run first, as their results are in the
// records; when the run is not this node's any more, the UPDATE changes
// nothing and the transaction, effects and records with it, rolls back.
func (j storeJournal) finishRun(ctx context.Context, r *Run, owner string, recs []*ActionRecord, effects []*joined) error {
	return j.s.Tx(ctx, func(tx store.Tx) error {
		recs, err := applyJoined(ctx, tx, recs, effects)
		if err != nil {
			return err
		}
		end := int64(0)
		if r.EndTime != nil {
			end = store.Micros(*r.EndTime)
		}
		q := `UPDATE wf_runs SET status = ?, end_time = ?, error = ?, outputs = ?, variables = ?, response = ?, owner = ''
			WHERE id = ? AND owner = ? AND status = ?`
		args := []any{r.Status, end, encode(r.Error), encode(r.Outputs), encode(r.variables), encode(r.response), r.ID, owner, StatusRunning}
		withActions := tx.Dialect() == store.Postgres && len(recs) > 0 && len(recs) <= actionChunk
		if withActions {
			ins, insArgs := actionsInsert(r.ID, recs)
			q, args, recs = `WITH actions AS (`+ins+`) `+q, append(insArgs, args...), nil
		}
		res, err := tx.Exec(ctx, q, args...)
		if withActions && store.IsConflict(err) {
			// The WITH inserts whether or not the UPDATE finds the run
			// this node's: a record of the same action already there is
			// the node that took the run over having written it.
			return errLeaseLost
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		return insertActions(ctx, tx, r.ID, recs)
	})
}

// scanString reads a one-column row of text.
func scanString(rows *sql.Rows) (s string, err error) {
	err = rows.Scan(&s)
	return
}

const runColumns = `id, workflow, def_hash, status, trigger_record, client_tracking_id, origin_run_id, start_time, end_time, error, outputs, variables, response, timers, trace`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var trig, errS, outs, vars, resp, timers string
	var start, end int64
	if err := row.Scan(&r.ID, &r.Workflow, &r.defHash, &r.Status, &trig, &r.ClientTrackingID, &r.OriginRunID, &start, &end, &errS, &outs, &vars, &resp, &timers, &r.Trace); err != nil {
		return nil, err
	}
	if timers != "" {
		var m map[string]int64
		decodeInto(timers, &m)
		r.timers = map[string]time.Time{}
		for k, us := range m {
			r.timers[k] = store.FromMicros(us)
		}
	}
	r.StartTime = store.FromMicros(start)
	if end > 0 {
		t := store.FromMicros(end)
		r.EndTime = &t
	}
	if m, ok := decodeValue(trig).(map[string]any); ok {
		r.Trigger = m
	}
	r.Error = decodeValue(errS)
	if m, ok := decodeValue(outs).(map[string]any); ok {
		r.Outputs = m
	}
	if m, ok := decodeValue(vars).(map[string]any); ok {
		r.variables = m
	}
	if resp != "" {
		r.response = &Response{}
		decodeInto(resp, r.response)
	}
	return &r, nil
}

// loadRun reads a run and, with actions, every action record.
func loadRun(ctx context.Context, s store.Store, id string, actions bool) (*Run, error) {
	var r *Run
	err := s.Read(ctx, func(q store.Querier) error {
		var err error
		r, err = scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM wf_runs WHERE id = ?`, id))
		if err != nil || !actions {
			return err
		}
		r.Actions, err = store.Collect(ctx, q, scanAction, `SELECT path, name, status, code, start_time, end_time, inputs, outputs, error, retries, tracked
			FROM wf_actions WHERE run_id = ? ORDER BY start_time, path`, id)
		return err
	})
	return r, err
}

func scanAction(rows *sql.Rows) (*ActionRecord, error) {
	var a ActionRecord
	var start, end int64
	var in, out, e, retries, tracked string
	if err := rows.Scan(&a.Path, &a.Name, &a.Status, &a.Code, &start, &end, &in, &out, &e, &retries, &tracked); err != nil {
		return nil, err
	}
	a.StartTime, a.EndTime = store.FromMicros(start), store.FromMicros(end)
	a.Inputs, a.Outputs, a.Error, a.TrackedProperties = decodeValue(in), decodeValue(out), decodeValue(e), decodeValue(tracked)
	if l, ok := decodeValue(retries).([]any); ok {
		a.RetryHistory = l
	}
	return &a, nil
}

// RunFilter selects runs in the run history.
type RunFilter struct {
	Workflow         string
	Status           string
	Trigger          string
	ClientTrackingID string
	From, To         time.Time // start time range; zero means open
	Top              int
	// After continues a listing after this run id (paging, newest first).
	After string
	// Tracked selects runs with an action whose tracked property Name has
	// Value (compared as JSON: a string, number or boolean).
	Tracked *TrackedFilter
}

// TrackedFilter is a tracked property and its value.
type TrackedFilter struct {
	Name  string
	Value any
}

// likeEscape escapes LIKE wildcards; '\' is the escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// searchRuns lists runs newest first.
func searchRuns(ctx context.Context, s store.Store, f RunFilter) ([]*Run, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Workflow != "" {
		add("workflow = ?", f.Workflow)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Trigger != "" {
		add("trigger_name = ?", f.Trigger)
	}
	if f.ClientTrackingID != "" {
		add("client_tracking_id = ?", f.ClientTrackingID)
	}
	if !f.From.IsZero() {
		add("start_time >= ?", store.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("start_time < ?", store.Micros(f.To))
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	if f.Tracked != nil {
		// Records hold tracked properties as compact JSON, so "name":value
		// appears verbatim; the pattern is escaped for LIKE.
		// The value ends at "," or "}", so 4 does not match 42.
		pat := "%" + likeEscape(encode(f.Tracked.Name)+":"+encode(f.Tracked.Value))
		where = append(where, `EXISTS (SELECT 1 FROM wf_actions a WHERE a.run_id = wf_runs.id AND (a.tracked LIKE ? ESCAPE '\' OR a.tracked LIKE ? ESCAPE '\'))`)
		args = append(args, pat+",%", pat+"}%")
	}
	q := `SELECT ` + runColumns + ` FROM wf_runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	top := f.Top
	if top <= 0 || top > 250 {
		top = 50
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", top)
	var out []*Run
	err := s.Read(ctx, func(qr store.Querier) (err error) {
		out, err = store.Collect(ctx, qr, func(rows *sql.Rows) (*Run, error) { return scanRun(rows) }, q, args...)
		return err
	})
	return out, err
}
