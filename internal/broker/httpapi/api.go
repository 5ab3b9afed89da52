// Package httpapi is the broker's HTTP front end: the Service Bus REST runtime
// API under /servicebus/ (SAS or bearer-key authentication), a JSON API for
// batch receive and settle, sessions, peek and deferred messages, and the
// management API under /admin/v1/servicebus/ in the shape of Azure Resource
// Manager resources. It also loads the Service Bus emulator's config.json from
// the project folder. It is one front end over package broker; an AMQP
// listener would be another.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"junction/internal/auth"
	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// Config is what the front end is built from.
type Config struct {
	Store    store.Store
	Keys     *auth.Keys
	Logger   *slog.Logger
	Registry prometheus.Registerer
	NodeID   string
	// AdminKey is the key of RootManageSharedAccessKey; empty means a key is
	// generated and kept in the store (readable with listKeys).
	AdminKey string
	// Broker overrides the engine's options (tests inject a clock).
	Broker broker.Config // its Driver is the store's
}

// API is the broker component: the engine and its HTTP surfaces.
type API struct {
	b    *broker.Broker
	keys *auth.Keys
	sas  *sasKeys
	log  *slog.Logger
	m    metrics
	// amqpAddr is the AMQP listener's address, for connection strings;
	// amqpTLS says it speaks TLS.
	amqpAddr func() string
	amqpTLS  bool
}

type metrics struct {
	sent, received, settled *prometheus.CounterVec
}

// New builds the component.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts := cfg.Broker
	if opts.Owner == "" {
		opts.Owner = cfg.NodeID
	}
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	st := sqlstorage.New(cfg.Store)
	opts.Driver = st
	b := broker.New(opts)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a := &API{b: b, keys: cfg.Keys, log: cfg.Logger, sas: &sasKeys{s: st, adminKey: cfg.AdminKey, now: now}}
	a.m.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_broker_messages_sent_total", Help: "Messages accepted by the broker's HTTP API."}, []string{"api"})
	a.m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_broker_messages_received_total", Help: "Messages handed out by the broker's HTTP API."}, []string{"api"})
	a.m.settled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_broker_messages_settled_total", Help: "Settlements through the broker's HTTP API."}, []string{"op"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(a.m.sent, a.m.received, a.m.settled, arrivedCollector{b})
	}
	return a
}

// Broker is the engine, for other components (event router, workflows,
// functions) that send and receive in-process.
func (a *API) Broker() *broker.Broker { return a.b }

// Name implements app.Component.
func (a *API) Name() string { return "broker" }

// Migrations implements app.Component.
func (a *API) Migrations() []store.Migration { return sqlstorage.Migrations() }

// Start runs the engine's background worker and makes sure the namespace has
// its RootManageSharedAccessKey rule.
func (a *API) Start(ctx context.Context) error {
	if err := a.sas.ensureRoot(ctx); err != nil {
		return err
	}
	return a.b.Start(ctx)
}

// Stop implements app.Component.
func (a *API) Stop(ctx context.Context) error { return a.b.Stop(ctx) }

// ValidateProject checks servicebus/config.json.
func (a *API) ValidateProject(p *project.Project) []project.Problem {
	return Validator{}.ValidateProject(p)
}

// LoadProject creates the entities of servicebus/config.json.
func (a *API) LoadProject(ctx context.Context, p *project.Project) error {
	if !p.Exists(ConfigFile) {
		return nil
	}
	if err := a.sas.ensureRoot(ctx); err != nil {
		return err
	}
	var cfg EmulatorConfig
	if pr := p.DecodeJSON(ConfigFile, &cfg); pr != nil {
		return pr
	}
	return cfg.Apply(ctx, a.b)
}

// Routes implements app.Component.
func (a *API) Routes() []server.Route {
	routes := []server.Route{
		{Pattern: "/servicebus/", Name: "servicebus runtime", Access: server.Open, MaxBody: -1, Handler: http.HandlerFunc(a.serveRuntime)},
	}
	return append(routes, a.manageRoutes()...)
}

var arrivedDesc = prometheus.NewDesc("junction_broker_entity_messages_total",
	"Messages committed to a queue or subscription on this node (forwarded and fanned-out copies where they land), by entity path.", []string{"entity"}, nil)

// arrivedCollector reports the broker's per-entity arrival counts.
type arrivedCollector struct{ b *broker.Broker }

func (c arrivedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- arrivedDesc }

func (c arrivedCollector) Collect(ch chan<- prometheus.Metric) {
	for path, n := range c.b.Arrived() {
		ch <- prometheus.MustNewConstMetric(arrivedDesc, prometheus.CounterValue, float64(n), path)
	}
}
