package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/outbound"
	"junction/internal/server"
	"junction/internal/store"
)

// Dispatcher delivers events to a destination other than a webhook: a broker
// queue or topic, a workflow trigger, a function. target is the destination's
// resourceId. Returning an error makes the delivery retry on the ladder; wrap
// it with Permanent to dead-letter at once.
type Dispatcher interface {
	Deliver(ctx context.Context, target string, events []Event) error
}

type deliveryKey struct{}

// Delivery describes the subscription a dispatcher is delivering for.
type Delivery struct {
	Topic        string
	Subscription string
	// Schema is the subscription's delivery schema; render events with
	// Event.Render(Schema).
	Schema string
	// Attempt counts earlier attempts of the first event (aeg-delivery-count).
	Attempt int
}

// DeliveryFrom returns what a dispatcher's context says about the delivery.
func DeliveryFrom(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

// DispatcherFunc adapts a function to Dispatcher.
type DispatcherFunc func(ctx context.Context, target string, events []Event) error

// Deliver calls f.
func (f DispatcherFunc) Deliver(ctx context.Context, target string, events []Event) error {
	return f(ctx, target, events)
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a dispatcher error as not worth retrying.
func Permanent(err error) error { return permanentError{err} }

// Options tune the router; the zero value is Event Grid's behaviour.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TimeScale multiplies the retry ladder, delayed delivery and time to live
	// (default 1; tests use 0.001 so that 10 s becomes 10 ms).
	TimeScale float64
	// Jitter returns the factor applied to each ladder step (default uniform in [0.9, 1.1]).
	Jitter func() float64
	// Timeout is the webhook response timeout (default 30 s).
	Timeout time.Duration
	// Lease is how long a node holds claimed deliveries (default 2 min); it must
	// exceed Timeout.
	Lease time.Duration
	// Poll bounds how long an idle worker sleeps (default 1 s).
	Poll time.Duration
	// Concurrency is the number of deliveries in flight per node (default 64).
	Concurrency int
	// PublicURL is the base URL validation links point to (default derived from
	// the request that created the subscription, else http://<listen>).
	PublicURL string
	// Outbound is the policy webhook deliveries dial through (nil: the
	// default, which refuses link-local and metadata addresses).
	Outbound *outbound.Policy
	// DisableChangeFeed turns off the change-log dispatcher.
	DisableChangeFeed bool
	// Client overrides the HTTP client used for webhooks.
	Client *http.Client
}

// Router is the event router component.
type Router struct {
	st     store.Store
	keys   server.Authenticator
	log    *slog.Logger
	node   string
	listen string
	opts   Options
	client *http.Client

	mu          sync.RWMutex
	dispatchers map[string]Dispatcher

	m metrics

	runMu   sync.Mutex
	cancel  context.CancelFunc
	done    sync.WaitGroup
	started bool
}

type metrics struct {
	published  prometheus.Counter
	delivered  *prometheus.CounterVec
	failed     *prometheus.CounterVec
	deadLetter *prometheus.CounterVec
}

// New builds the router. keys authenticates bearer API keys on the data plane;
// reg may be nil.
func New(st store.Store, keys server.Authenticator, log *slog.Logger, reg prometheus.Registerer, node, listen string, opts Options) *Router {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.Jitter == nil {
		opts.Jitter = func() float64 { return 0.9 + 0.2*rand.Float64() }
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{st: st, keys: keys, log: log, node: node, listen: listen, opts: opts, dispatchers: map[string]Dispatcher{}}
	r.client = opts.Client
	if r.client == nil {
		r.client = &http.Client{Transport: opts.Outbound.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	r.m = metrics{
		published:  prometheus.NewCounter(prometheus.CounterOpts{Name: "junction_events_published_total", Help: "Events accepted by publish."}),
		delivered:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_delivered_total", Help: "Events delivered, by endpoint type."}, []string{"endpoint"}),
		failed:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_delivery_failures_total", Help: "Failed delivery attempts, by outcome."}, []string{"outcome"}),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_dead_lettered_total", Help: "Events dead-lettered or dropped, by reason."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(r.m.published, r.m.delivered, r.m.failed, r.m.deadLetter)
	}
	return r
}

// RegisterDispatcher plugs a destination type in ("ServiceBusQueue",
// "ServiceBusTopic", "Workflow", "Function", "AzureFunction").
func (r *Router) RegisterDispatcher(endpointType string, d Dispatcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dispatchers[endpointType] = d
}

func (r *Router) dispatcher(endpointType string) (Dispatcher, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.dispatchers[endpointType]
	return d, ok
}

func (r *Router) now() time.Time { return r.opts.Now() }

// scaled applies the time scale to a duration of the ladder or a time to live.
func (r *Router) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * r.opts.TimeScale)
}

// Name is the component's name.
func (r *Router) Name() string { return "events" }

// Migrations are the router's tables.
func (r *Router) Migrations() []store.Migration { return Migrations() }

// Start ensures the system topic and starts the workers.
func (r *Router) Start(ctx context.Context) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.started {
		return nil
	}
	if err := r.ensureSystemTopic(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.started = true
	r.spawn(runCtx, r.deliveryLoop)
	r.spawn(runCtx, r.validationLoop)
	if !r.opts.DisableChangeFeed {
		r.spawn(runCtx, r.changeFeed)
	}
	return nil
}

func (r *Router) spawn(ctx context.Context, fn func(context.Context)) {
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		fn(ctx)
	}()
}

// Stop stops the workers; deliveries in flight are abandoned to their leases.
func (r *Router) Stop(ctx context.Context) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if !r.started {
		return nil
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.started = false
	return nil
}

// sleep waits d or until ctx ends or wake fires; it reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// Routes are the data plane (publish, pull, validation, Dataverse webhook) and
// the management API.
func (r *Router) Routes() []server.Route {
	routes := []server.Route{
		{Method: "POST", Pattern: "/eventgrid/topics/{topic}/api/events", Name: "events publish", Access: server.Open, MaxBody: -1,
			Handler: http.HandlerFunc(r.handlePublish)},
		{Method: "POST", Pattern: "/eventgrid/topics/{topicAction}", Name: "events publish (namespace)", Access: server.Open, MaxBody: -1,
			Handler: http.HandlerFunc(r.handlePublish)},
		{Method: "POST", Pattern: "/eventgrid/topics/{topic}/eventsubscriptions/{subAction}", Name: "events pull", Access: server.Open,
			MaxBody: 1 << 20, Handler: http.HandlerFunc(r.handlePull)},
		{Method: "GET", Pattern: "/eventgrid/validate", Name: "events validate", Access: server.Open, Handler: http.HandlerFunc(r.handleValidate)},
		{Method: "POST", Pattern: "/webhooks/dataverse", Name: "dataverse webhook", Access: server.Open, MaxBody: 4 << 20,
			Handler: http.HandlerFunc(r.handleDataverse)},
	}
	return append(routes, r.manageRoutes()...)
}

// handlePublish accepts events at /eventgrid/topics/{t}/api/events (custom
// topics) and /eventgrid/topics/{t}:publish (namespace topics).
func (r *Router) handlePublish(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("topic")
	if name == "" {
		ta := req.PathValue("topicAction")
		var ok bool
		name, ok = strings.CutSuffix(ta, ":publish")
		if !ok {
			(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "unknown operation " + ta + "; use {topic}:publish"}).write(w)
			return
		}
	}
	var t topicRow
	err := r.st.Read(req.Context(), func(q store.Querier) error {
		var err error
		t, err = getTopic(req.Context(), q, name)
		return err
	})
	if errors.Is(err, ErrTopicNotFound) {
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "The topic '" + name + "' was not found."}).write(w)
		return
	}
	if err != nil {
		r.internal(w, err)
		return
	}
	if _, aerr := r.authorize(req, t, server.RoleSender); aerr != nil {
		aerr.write(w)
		return
	}
	if t.Kind == KindSystem {
		(&apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "'" + name + "' is a system topic; its events come from the change log"}).write(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestSize+1))
	if err != nil {
		badInput("cannot read the request body: %v", err).write(w)
		return
	}
	if len(body) > MaxRequestSize {
		tooLarge("the request is larger than %d bytes", MaxRequestSize).write(w)
		return
	}
	evs, aerr := r.decode(req, t, body)
	if aerr != nil {
		aerr.write(w)
		return
	}
	if err := r.Publish(req.Context(), name, evs); err != nil {
		r.internal(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (r *Router) decode(req *http.Request, t topicRow, body []byte) ([]Event, *apiError) {
	ct := strings.ToLower(req.Header.Get("Content-Type"))
	isCE := strings.HasPrefix(ct, "application/cloudevents") || req.Header.Get("ce-specversion") != ""
	if t.InputSchema == SchemaEventGrid {
		if isCE {
			return nil, badInput("topic %s accepts the Event Grid schema; this request is a CloudEvent", t.Name)
		}
		return decodeEventGrid(body, t.Name)
	}
	return decodeCloudEvents(req.Header, body)
}

// Publish stores events on topic and queues their deliveries in one
// transaction; when it returns nil the events are durable.
func (r *Router) Publish(ctx context.Context, topic string, evs []Event) error {
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		_, err := publishTx(ctx, tx, topic, evs, r.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	r.m.published.Add(float64(len(evs)))
	return nil
}

func (r *Router) internal(w http.ResponseWriter, err error) {
	r.log.Error("events: internal error", "err", err)
	(&apiError{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "internal error"}).write(w)
}

// OptionsFromEnv reads tuning from the environment, for operators and for
// tests that drive the real binary: JUNCTION_EVENTS_TIME_SCALE (a float),
// JUNCTION_EVENTS_LEASE and JUNCTION_EVENTS_POLL (durations), and
// JUNCTION_EVENTS_PUBLIC_URL.
func OptionsFromEnv() Options {
	var o Options
	if v, err := strconv.ParseFloat(os.Getenv("JUNCTION_EVENTS_TIME_SCALE"), 64); err == nil && v > 0 {
		o.TimeScale = v
	}
	if d, err := time.ParseDuration(os.Getenv("JUNCTION_EVENTS_LEASE")); err == nil {
		o.Lease = d
	}
	if d, err := time.ParseDuration(os.Getenv("JUNCTION_EVENTS_POLL")); err == nil {
		o.Poll = d
	}
	o.PublicURL = os.Getenv("JUNCTION_EVENTS_PUBLIC_URL")
	return o
}
