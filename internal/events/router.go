package events

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/lifecycle"
	"junction/internal/outbound"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/trace"
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

// Config is what a Router is built from: its dependencies, and tuning whose
// zero values are Event Grid's behaviour.
type Config struct {
	Store store.Store
	// Keys authenticates bearer API keys on the data plane.
	Keys   server.Authenticator
	Logger *slog.Logger
	// Registerer takes the router's metrics (nil: they are not registered).
	Registerer prometheus.Registerer
	// NodeID names this node in leases and delivery claims.
	NodeID string
	// Listen is the server's listen address: validation links point to
	// http://<Listen> when neither PublicURL nor the request says otherwise.
	Listen string

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
	// Concurrency is the number of deliveries in flight per node (default 64),
	// shared evenly among its Rounds.
	Concurrency int
	// Rounds is how many delivery rounds a node runs at once (default 4), each
	// for its own share of the subscriptions, so that one subscription's
	// batches still go one after the other.
	Rounds int
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
	// Tracer records the change feed's and the deliveries' spans (nil:
	// none; events still carry the traceparent they were published with).
	Tracer *trace.Recorder
}

// Router is the event router: topics, subscriptions, publishing, and the
// workers that deliver events and publish the change log. Its HTTP front is
// in api.go.
type Router struct {
	st     store.Store
	keys   server.Authenticator
	log    *slog.Logger
	node   string
	listen string
	opts   Config
	client *http.Client

	mu          sync.RWMutex
	dispatchers map[string]Dispatcher

	m metrics

	runMu   sync.Mutex // serialises Start and Stop
	workers lifecycle.Group

	// inFlight caps each round's deliveries in flight, a share of
	// Concurrency: a round's claimed deliveries wait only on its own, so
	// their leases do not run out behind another round's slow endpoints.
	inFlight []chan struct{}
}

type metrics struct {
	published  prometheus.Counter
	delivered  *prometheus.CounterVec
	bySub      *prometheus.CounterVec
	failed     *prometheus.CounterVec
	deadLetter *prometheus.CounterVec
}

// New builds the router.
func New(opts Config) *Router {
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
	if opts.Rounds <= 0 {
		opts.Rounds = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{st: opts.Store, keys: opts.Keys, log: opts.Logger, node: opts.NodeID, listen: opts.Listen, opts: opts, dispatchers: map[string]Dispatcher{},
		inFlight: make([]chan struct{}, opts.Rounds)}
	for k := range r.inFlight {
		r.inFlight[k] = make(chan struct{}, max(1, opts.Concurrency/opts.Rounds))
	}
	r.client = opts.Client
	if r.client == nil {
		r.client = &http.Client{Transport: opts.Outbound.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	r.m = metrics{
		published:  prometheus.NewCounter(prometheus.CounterOpts{Name: "junction_events_published_total", Help: "Events accepted by publish."}),
		delivered:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_delivered_total", Help: "Events delivered, by endpoint type."}, []string{"endpoint"}),
		failed:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_delivery_failures_total", Help: "Failed delivery attempts, by outcome."}, []string{"outcome"}),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_dead_lettered_total", Help: "Events dead-lettered or dropped, by reason."}, []string{"reason"}),
		bySub: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_events_subscription_delivered_total",
			Help: "Events delivered, by topic and event subscription."}, []string{"topic", "subscription"}),
	}
	if reg := opts.Registerer; reg != nil {
		reg.MustRegister(r.m.published, r.m.delivered, r.m.failed, r.m.deadLetter, r.m.bySub)
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

// Start ensures the system topic and starts the workers. Starting a running
// router does nothing; a stopped one starts again.
func (r *Router) Start(ctx context.Context) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.workers.Running() {
		return nil
	}
	if err := r.ensureSystemTopic(ctx); err != nil {
		return err
	}
	if err := assignLanes(ctx, r.st); err != nil {
		return err
	}
	loops := []func(context.Context){r.validationLoop}
	for k := range r.opts.Rounds {
		loops = append(loops, func(ctx context.Context) { r.deliveryLoop(ctx, k) })
	}
	if !r.opts.DisableChangeFeed {
		loops = append(loops, r.changeFeed)
	}
	r.workers.Start(ctx, loops...)
	return nil
}

// Stop stops the workers and waits for them within ctx's deadline;
// deliveries in flight are abandoned to their leases. Safe twice and without
// Start.
func (r *Router) Stop(ctx context.Context) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	return r.workers.Stop(ctx)
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
