package function

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"junction/internal/function/js"
	"junction/internal/lifecycle"
	"junction/internal/store"
)

// Migrations are the function host's tables.
func Migrations() []store.Migration {
	return append([]store.Migration{
		{Component: "function", Version: 1, Name: "keys and invocations", SQL: `
CREATE TABLE func_keys (
	scope      TEXT NOT NULL,
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (scope, name)
);
CREATE INDEX func_keys_hash ON func_keys (hash);
CREATE TABLE func_invocations (
	id          TEXT PRIMARY KEY,
	function    TEXT NOT NULL,
	trigger     TEXT NOT NULL,
	detail      TEXT NOT NULL,
	status      TEXT NOT NULL,
	started_at  BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	logs        TEXT NOT NULL,
	error       TEXT NOT NULL,
	node        TEXT NOT NULL
);
CREATE INDEX func_invocations_fn ON func_invocations (function, started_at);
CREATE TABLE func_timer_fires (
	function   TEXT NOT NULL,
	occurrence BIGINT NOT NULL,
	node       TEXT NOT NULL,
	fired_at   BIGINT NOT NULL,
	PRIMARY KEY (function, occurrence)
);`},
	}, retentionMigrations...)
}

// HostScope is the key scope of host keys, which open every function.
const HostScope = ""

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// checkKey reports whether key is a key of the function or a host key.
func (h *Host) checkKey(ctx context.Context, function, key string) (bool, error) {
	if h.opts.Store == nil {
		return false, nil
	}
	want := hashKey(key)
	var got string
	err := h.opts.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT hash FROM func_keys WHERE hash = ? AND (scope = ? OR scope = ?)`, want, function, HostScope).Scan(&got)
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1, nil
}

// KeyInfo describes a stored key; the value is shown only when created.
type KeyInfo struct {
	Name    string    `json:"name"`
	Value   string    `json:"value,omitempty"`
	Created time.Time `json:"created"`
}

// SetKey stores a key for a function (or HostScope); an empty value generates one.
func (h *Host) SetKey(ctx context.Context, scope, name, value string) (KeyInfo, error) {
	if value == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		value = base64.RawURLEncoding.EncodeToString(b)
	}
	if len(value) < 16 {
		return KeyInfo{}, errors.New("a key value needs at least 16 characters")
	}
	now := time.Now().UTC()
	err := h.opts.Store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO func_keys (scope, name, hash, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (scope, name) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
			scope, name, hashKey(value), store.Micros(now))
		return err
	})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("store key: %w", err)
	}
	return KeyInfo{Name: name, Value: value, Created: now}, nil
}

// ListKeys lists the keys of a scope, without values.
func (h *Host) ListKeys(ctx context.Context, scope string) ([]KeyInfo, error) {
	out := []KeyInfo{}
	err := h.opts.Store.Read(ctx, func(q store.Querier) error {
		keys, err := store.Collect(ctx, q, func(rows *sql.Rows) (KeyInfo, error) {
			var k KeyInfo
			var created int64
			err := rows.Scan(&k.Name, &created)
			k.Created = store.FromMicros(created)
			return k, err
		}, `SELECT name, created_at FROM func_keys WHERE scope = ? ORDER BY name`, scope)
		out = append(out, keys...)
		return err
	})
	return out, err
}

// DeleteKey removes a key; it reports whether one existed.
func (h *Host) DeleteKey(ctx context.Context, scope, name string) (bool, error) {
	var n int64
	err := h.opts.Store.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM func_keys WHERE scope = ? AND name = ?`, scope, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// Invocation is one recorded invocation.
type Invocation struct {
	ID         string    `json:"id"`
	Function   string    `json:"function"`
	Trigger    string    `json:"trigger"`
	Detail     string    `json:"detail,omitempty"`
	Status     string    `json:"status"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"durationMs"`
	Logs       []js.Log  `json:"logs"`
	Error      string    `json:"error,omitempty"`
	Node       string    `json:"node"`
}

type invocationRecord struct {
	ID, Function, Trigger, Detail, Status, Error string
	Started                                      time.Time
	Duration                                     time.Duration
	Logs                                         []js.Log
}

// history writes invocation records in batches, off the invocation's path:
// the record is bookkeeping, so one write transaction carries many of them.
// A crash loses what the writer has not written yet; the record of a
// message-triggered invocation whose message was completed is not among
// them, as it is written in the complete's own transaction (see Committer).
type history struct {
	st     store.Store
	node   string
	log    *slog.Logger
	worker lifecycle.Worker
	mu     sync.RWMutex
	run    bool
	in     chan any // invocationRecord or flush request, while run
}

type flushReq chan struct{}

func newHistory(st store.Store, node string, log *slog.Logger) *history {
	return &history{st: st, node: node, log: log}
}

func (hs *history) start(ctx context.Context) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.run || hs.st == nil {
		return
	}
	hs.run = true
	in := make(chan any, 4096)
	hs.in = in
	hs.worker.Start(ctx, func(ctx context.Context) { hs.loop(ctx, in) })
}

func (hs *history) record(r invocationRecord) {
	if hs.st == nil {
		return
	}
	hs.mu.RLock()
	if !hs.run {
		hs.mu.RUnlock()
		// Not started (or stopped): write synchronously so nothing is lost.
		hs.write([]invocationRecord{r})
		return
	}
	hs.in <- r
	hs.mu.RUnlock()
}

// flush waits until every record handed in before it is written.
func (hs *history) flush(ctx context.Context) {
	req := make(flushReq)
	hs.mu.RLock()
	if !hs.run {
		hs.mu.RUnlock()
		return
	}
	select {
	case hs.in <- req:
		hs.mu.RUnlock()
	case <-ctx.Done():
		hs.mu.RUnlock()
		return
	}
	select {
	case <-req:
	case <-ctx.Done():
	}
}

// stop ends the writer, which writes what was handed in first; within
// ctx's deadline. Records that come after are written synchronously.
func (hs *history) stop(ctx context.Context) error {
	hs.mu.Lock()
	hs.run = false
	hs.mu.Unlock()
	return hs.worker.Stop(ctx)
}

// loop writes records in batches until ctx ends, then writes what is
// still queued: nothing is queued once stop has set run.
func (hs *history) loop(ctx context.Context, in chan any) {
	for {
		select {
		case item := <-in:
			hs.batch(in, item, false)
		case <-ctx.Done():
			hs.batch(in, nil, true)
			return
		}
	}
}

// batch writes item and what else is queued, up to 512 records (all of it
// when all is set), and answers the flush requests among them.
func (hs *history) batch(in chan any, item any, all bool) {
	var batch []invocationRecord
	var waiters []flushReq
	add := func(it any) {
		switch x := it.(type) {
		case invocationRecord:
			batch = append(batch, x)
		case flushReq:
			waiters = append(waiters, x)
		}
	}
	add(item)
drain:
	for all || len(batch) < 512 {
		select {
		case it := <-in:
			add(it)
		default:
			break drain
		}
	}
	hs.write(batch)
	for _, w := range waiters {
		close(w)
	}
}

func (hs *history) write(batch []invocationRecord) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := hs.st.Tx(ctx, func(tx store.Tx) error { return hs.insert(ctx, tx, batch...) })
	if err != nil {
		hs.log.Error("record function invocations", "count", len(batch), "err", err)
	}
}

// insert writes records in tx: the writer's batches, or one record in the
// transaction that completes its triggering message.
func (hs *history) insert(ctx context.Context, tx store.Tx, batch ...invocationRecord) error {
	for _, r := range batch {
		logs := r.Logs
		if logs == nil {
			logs = []js.Log{}
		}
		lb, _ := json.Marshal(logs)
		if _, err := tx.Exec(ctx, `INSERT INTO func_invocations (id, function, trigger, detail, status, started_at, duration_us, logs, error, node)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Function, r.Trigger, r.Detail, r.Status, store.Micros(r.Started), r.Duration.Microseconds(), string(lb), r.Error, hs.node); err != nil {
			return err
		}
	}
	return nil
}

// Invocations lists a function's invocations, newest first.
func (h *Host) Invocations(ctx context.Context, function string, top int) ([]Invocation, error) {
	h.history.flush(ctx)
	out := []Invocation{}
	err := h.opts.Store.Read(ctx, func(q store.Querier) error {
		invs, err := store.Collect(ctx, q, scanInvocationRows, `SELECT `+invocationCols+`
			FROM func_invocations WHERE function = ? ORDER BY started_at DESC, id LIMIT ?`, function, top)
		out = append(out, invs...)
		return err
	})
	return out, err
}

// GetInvocation returns one invocation.
func (h *Host) GetInvocation(ctx context.Context, function, id string) (Invocation, error) {
	h.history.flush(ctx)
	var inv Invocation
	err := h.opts.Store.Read(ctx, func(q store.Querier) (err error) {
		inv, err = scanInvocation(q.QueryRow(ctx, `SELECT `+invocationCols+` FROM func_invocations WHERE function = ? AND id = ?`, function, id))
		return err
	})
	return inv, err
}

const invocationCols = `id, function, trigger, detail, status, started_at, duration_us, logs, error, node`

func scanInvocationRows(rows *sql.Rows) (Invocation, error) { return scanInvocation(rows) }

func scanInvocation(rows interface{ Scan(...any) error }) (Invocation, error) {
	var inv Invocation
	var started, dur int64
	var logs string
	if err := rows.Scan(&inv.ID, &inv.Function, &inv.Trigger, &inv.Detail, &inv.Status, &started, &dur, &logs, &inv.Error, &inv.Node); err != nil {
		return inv, err
	}
	inv.Started = store.FromMicros(started)
	inv.DurationMS = float64(dur) / 1000
	if err := json.Unmarshal([]byte(logs), &inv.Logs); err != nil {
		return inv, fmt.Errorf("invocation %s logs: %w", inv.ID, err)
	}
	return inv, nil
}
