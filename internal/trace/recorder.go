package trace

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"junction/internal/lifecycle"
	"junction/internal/store"
)

// Span is one recorded hop of a trace.
type Span struct {
	TraceID   string            `json:"traceId"`
	SpanID    string            `json:"spanId"`
	ParentID  string            `json:"parentSpanId,omitempty"`
	Component string            `json:"component"` // the surface: Web API, Events, Workflows, Broker, Functions, Jobs
	Name      string            `json:"name"`
	Kind      string            `json:"kind"` // server, client, producer, consumer or internal, as OpenTelemetry names them
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end"`
	Error     string            `json:"error,omitempty"` // empty when the hop succeeded
	Attrs     map[string]string `json:"attributes,omitempty"`
}

// Duration is how long the hop took.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Span kinds, as OpenTelemetry names them.
const (
	KindServer   = "server"   // an incoming request
	KindClient   = "client"   // an outgoing request
	KindProducer = "producer" // work handed on: a change, an event, a message
	KindConsumer = "consumer" // work picked up: a delivery, a run, an invocation
	KindInternal = "internal"
)

// Exporter sends finished spans elsewhere (OTLP). Export is called from the
// recorder's writer, one batch at a time.
type Exporter interface {
	Export(ctx context.Context, spans []Span) error
	Shutdown(ctx context.Context) error
}

// Config is what a Recorder is built from.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Rate is how many new traces a second are sampled (recorded); a trace
	// that arrives sampled in its traceparent is always recorded, one that
	// arrives unsampled never. 0 samples no new trace; below 0, every one.
	Rate float64
	// Exporter, when set, receives every recorded span too.
	Exporter Exporter
	// Flush is how often buffered spans are written (default 250ms).
	Flush time.Duration
}

// Recorder hands out spans and records the sampled ones: buffered, then
// written to the store in batches off the path of the work they describe.
// A nil *Recorder records nothing and propagates nothing.
type Recorder struct {
	cfg     Config
	ch      chan Span
	worker  lifecycle.Worker
	dropped atomic.Int64
	written atomic.Int64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// bufferSize is how many finished spans may wait for the writer; past it a
// span is dropped (and counted) rather than slow the work it describes.
const bufferSize = 8192

// writeBatch is how many spans one transaction writes at most.
const writeBatch = 500

// New returns a recorder; Start runs its writer.
func New(cfg Config) *Recorder {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 250 * time.Millisecond
	}
	return &Recorder{cfg: cfg, ch: make(chan Span, bufferSize), tokens: max(cfg.Rate, 1)}
}

// Migrations are the spans table.
func Migrations() []store.Migration {
	return []store.Migration{{
		Component: "trace",
		Version:   1,
		Name:      "spans",
		SQL: `CREATE TABLE junction_spans (
			trace_id   TEXT NOT NULL,
			span_id    TEXT NOT NULL,
			parent_id  TEXT NOT NULL,
			component  TEXT NOT NULL,
			name       TEXT NOT NULL,
			kind       TEXT NOT NULL,
			start_at   BIGINT NOT NULL,
			end_at     BIGINT NOT NULL,
			error      TEXT NOT NULL,
			attrs      TEXT NOT NULL,
			PRIMARY KEY (trace_id, span_id)
		);
		CREATE INDEX junction_spans_start ON junction_spans (start_at);`,
	}}
}

// sample says whether a new trace is recorded: a token bucket of Rate
// tokens a second holding at most one second's worth.
func (r *Recorder) sample() bool {
	switch {
	case r.cfg.Rate < 0:
		return true
	case r.cfg.Rate == 0:
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() {
		r.tokens = min(r.cfg.Rate, r.tokens+now.Sub(r.last).Seconds()*r.cfg.Rate)
	}
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}

// Active is a span being timed. Its methods are safe on nil.
type Active struct {
	r      *Recorder
	c      Context
	parent [8]byte
	span   Span
	once   sync.Once
}

// Begin starts a span of component named name as a child of ctx's current
// span, or as the root of a new trace, and returns ctx carrying it.
func (r *Recorder) Begin(ctx context.Context, component, name string) (context.Context, *Active) {
	return r.BeginFrom(ctx, "", component, name)
}

// BeginFrom starts a span whose parent is the traceparent parent (what an
// earlier hop stored beside the work), falling back to ctx's current span
// and then to a new trace when parent is empty or not valid.
func (r *Recorder) BeginFrom(ctx context.Context, parent, component, name string) (context.Context, *Active) {
	if r == nil {
		return ctx, nil
	}
	p, ok := Parse(parent)
	if !ok {
		p = From(ctx)
	}
	var c Context
	if p.Valid() {
		c = p.child()
	} else {
		c = newRoot(r.sample())
	}
	a := &Active{r: r, c: c, parent: p.SpanID, span: Span{Component: component, Name: name, Kind: KindInternal, Start: time.Now()}}
	return With(ctx, c), a
}

// Context is the span's own context (zero on nil).
func (a *Active) Context() Context {
	if a == nil {
		return Context{}
	}
	return a.c
}

// As sets the span's component and name, for hops that know them only once
// the work is under way (an HTTP request once it is routed).
func (a *Active) As(component, name string) *Active {
	if a != nil {
		a.span.Component, a.span.Name = component, name
	}
	return a
}

// Kind sets the span's kind (KindServer, ...).
func (a *Active) Kind(kind string) *Active {
	if a != nil {
		a.span.Kind = kind
	}
	return a
}

// StartedAt moves the span's start back to t: a hop that began when earlier
// work committed (a change picked up by the change feed) starts then.
func (a *Active) StartedAt(t time.Time) *Active {
	if a != nil && !t.IsZero() {
		a.span.Start = t
	}
	return a
}

// Discard ends the span without recording it.
func (a *Active) Discard() {
	if a != nil {
		a.once.Do(func() {})
	}
}

// Set adds an attribute to the span and returns it.
func (a *Active) Set(key, value string) *Active {
	if a == nil || !a.c.Sampled {
		return a
	}
	if a.span.Attrs == nil {
		a.span.Attrs = map[string]string{}
	}
	a.span.Attrs[key] = value
	return a
}

// End finishes the span, failed when err is not nil, and hands it to the
// writer if its trace is sampled. Only the first End counts.
func (a *Active) End(err error) {
	if a == nil {
		return
	}
	a.once.Do(func() {
		if !a.c.Sampled {
			return
		}
		s := a.span
		s.End = time.Now()
		s.TraceID, s.SpanID = a.c.Trace(), a.c.Span()
		if a.parent != [8]byte{} {
			s.ParentID = Context{SpanID: a.parent}.Span()
		}
		if err != nil {
			s.Error = err.Error()
		}
		a.r.enqueue(s)
	})
}

// Fail finishes the span as failed with a message, for hops whose failure
// is an outcome (an HTTP status, a run's status) rather than a Go error.
func (a *Active) Fail(msg string) {
	if msg == "" {
		a.End(nil)
		return
	}
	a.End(errors.New(msg))
}

func (r *Recorder) enqueue(s Span) {
	select {
	case r.ch <- s:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many finished spans were dropped because the writer was
// behind; Written is how many it wrote.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Written is how many spans the writer has stored.
func (r *Recorder) Written() int64 { return r.written.Load() }

// Start runs the writer until Stop.
func (r *Recorder) Start(ctx context.Context) error {
	r.worker.Start(ctx, r.run)
	return nil
}

// Stop writes what is buffered and stops the writer, within ctx's deadline.
func (r *Recorder) Stop(ctx context.Context) error {
	err := r.worker.Stop(ctx)
	if r.cfg.Exporter != nil {
		err = errors.Join(err, r.cfg.Exporter.Shutdown(ctx))
	}
	return err
}

func (r *Recorder) run(ctx context.Context) {
	tick := time.NewTicker(r.cfg.Flush)
	defer tick.Stop()
	var buf []Span
	flush := func(ctx context.Context) {
		for len(buf) > 0 {
			n := min(len(buf), writeBatch)
			if err := r.write(ctx, buf[:n]); err != nil {
				r.cfg.Logger.Warn("trace: spans not written", "spans", n, "err", err)
			}
			buf = buf[n:]
		}
		buf = nil
	}
	for {
		select {
		case s := <-r.ch:
			buf = append(buf, s)
			if len(buf) >= writeBatch {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			// Write what is buffered with a little time of its own: spans
			// finished before the stop are part of what happened.
			for {
				select {
				case s := <-r.ch:
					buf = append(buf, s)
					continue
				default:
				}
				break
			}
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			flush(fctx)
			cancel()
			return
		}
	}
}

func (r *Recorder) write(ctx context.Context, spans []Span) error {
	if r.cfg.Exporter != nil {
		if err := r.cfg.Exporter.Export(ctx, spans); err != nil {
			r.cfg.Logger.Warn("trace: export", "spans", len(spans), "err", err)
		}
	}
	if r.cfg.Store == nil {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO junction_spans (trace_id, span_id, parent_id, component, name, kind, start_at, end_at, error, attrs) VALUES `)
	args := make([]any, 0, len(spans)*10)
	for i, s := range spans {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		attrs := "{}"
		if len(s.Attrs) > 0 {
			b, _ := json.Marshal(s.Attrs)
			attrs = string(b)
		}
		args = append(args, s.TraceID, s.SpanID, s.ParentID, s.Component, s.Name, s.Kind, store.Micros(s.Start), store.Micros(s.End), s.Error, attrs)
	}
	q.WriteString(" ON CONFLICT (trace_id, span_id) DO NOTHING")
	err := r.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, q.String(), args...)
		return err
	})
	if err == nil {
		r.written.Add(int64(len(spans)))
	}
	return err
}

// ErrNotFound is the answer for a trace with no recorded span.
var ErrNotFound = errors.New("trace not found")

// Get returns the recorded spans of trace id, in start order.
func Get(ctx context.Context, st store.Store, id string) ([]Span, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	var spans []Span
	err := st.Read(ctx, func(q store.Querier) error {
		var err error
		spans, err = store.Collect(ctx, q, scanSpan, `SELECT trace_id, span_id, parent_id, component, name, kind, start_at, end_at, error, attrs
			FROM junction_spans WHERE trace_id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, ErrNotFound
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].Start.Before(spans[j].Start) })
	return spans, nil
}

func scanSpan(rows *sql.Rows) (Span, error) {
	var s Span
	var start, end int64
	var attrs string
	if err := rows.Scan(&s.TraceID, &s.SpanID, &s.ParentID, &s.Component, &s.Name, &s.Kind, &start, &end, &s.Error, &attrs); err != nil {
		return s, err
	}
	s.Start, s.End = store.FromMicros(start), store.FromMicros(end)
	if attrs != "{}" {
		json.Unmarshal([]byte(attrs), &s.Attrs)
	}
	return s, nil
}

// Prune deletes up to batch spans that started before before, oldest first.
func Prune(ctx context.Context, st store.Store, before time.Time, batch int) (int64, error) {
	var n int64
	err := st.Tx(ctx, func(tx store.Tx) error {
		var err error
		// Spans have a composite key; the start time picks a batch.
		var cut int64
		err = tx.QueryRow(ctx, `SELECT start_at FROM junction_spans WHERE start_at < ? ORDER BY start_at LIMIT 1 OFFSET ?`,
			store.Micros(before), batch-1).Scan(&cut)
		if errors.Is(err, store.ErrNotFound) {
			cut = store.Micros(before) - 1
		} else if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM junction_spans WHERE start_at <= ? AND start_at < ?`, cut, store.Micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
