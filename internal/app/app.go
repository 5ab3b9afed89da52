package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"junction/demo"
	"junction/internal/auth"
	"junction/internal/broker/amqp"
	"junction/internal/broker/httpapi"
	"junction/internal/changelog"
	"junction/internal/console"
	"junction/internal/lifecycle"
	"junction/internal/outbound"
	"junction/internal/project"
	"junction/internal/secrets"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/postgres"
	"junction/internal/store/sqlite"
	"junction/internal/trace"
)

// Component is one surface or worker of Junction. Components are built in
// components.go, started in order after the store is ready, and stopped in
// reverse order.
type Component interface {
	Name() string
	Migrations() []store.Migration
	Routes() []server.Route
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// ProjectLoader is a component that reads definitions from the project folder.
type ProjectLoader interface {
	project.Validator
	LoadProject(ctx context.Context, p *project.Project) error
}

// Deps are what components are built from.
type Deps struct {
	Config   Config
	Store    store.Store
	Keys     *auth.Keys
	Logger   *slog.Logger
	Registry *prometheus.Registry
	NodeID   string
	DataDir  string
	// Outbound is the policy every outbound request dials through.
	Outbound *outbound.Policy
	// TLS is the listeners' certificate (nil: plain TCP); the AMQP listener
	// takes it as the HTTP one does.
	TLS *tls.Config
	// LocalClient calls BaseURL: Junction's own surfaces, over TLS when the
	// listener has a certificate (it trusts that certificate alone).
	LocalClient *http.Client
	// Secrets resolves ${VAR}, @appsetting() and app settings under the
	// allow-list rule (see package secrets).
	Secrets *secrets.Resolver
	// Tracer records the spans of every hop (nil: none).
	Tracer *trace.Recorder
	// BaseURL is the server's own URL ("http://host:port"), known once it
	// listens; before that it is built from --listen.
	BaseURL func() string
}

// App is one running Junction.
type App struct {
	cfg        Config
	log        *slog.Logger
	data       *dataDir
	store      store.Store
	secrets    *secrets.Resolver
	keys       *auth.Keys
	registry   *prometheus.Registry
	components []Component
	migrations []store.Migration
	server     *server.Server
	activity   *server.Activity
	console    *console.Console
	ready      atomic.Bool
	addr       atomic.Value // the bound net.Addr's string
	started    []Component
	stopOnce   sync.Once
	stopErr    error
}

// New opens the data folder and the store, applies migrations, loads the
// project and builds every component. Configuration problems are ConfigErrors.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.closeStorage()
		}
	}()
	if a.secrets, err = newSecrets(cfg); err != nil {
		return nil, err
	}
	if a.data, err = openDataDir(cfg.Data); err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg, a.data); err != nil {
		return nil, err
	}
	a.keys = auth.New(a.store, cfg.AdminKey)
	deps := Deps{Config: cfg, Store: a.store, Keys: a.keys, Logger: cfg.Logger, Registry: a.registry, NodeID: nodeID(), DataDir: a.data.path, Secrets: a.secrets, BaseURL: a.baseURL,
		Outbound: cfg.OutboundPolicy(), TLS: cfg.TLSConfig(), LocalClient: localClient(cfg.TLSConfig())}
	if deps.Tracer, err = newTracer(cfg, a.store, a.registry); err != nil {
		return nil, err
	}
	a.components = buildComponents(deps)

	// The change log is core: record writers append to it, the event router and
	// delta exports read it.
	migrations := append(append([]store.Migration(nil), auth.Migrations...), changelog.Migrations()...)
	for _, c := range a.components {
		migrations = append(migrations, c.Migrations()...)
	}
	a.migrations = migrations
	if err := a.store.Migrate(ctx, migrations); err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	generated, err := a.keys.Bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		fmt.Fprintf(cfg.Out, "\nGenerated the admin key (shown once; it is stored hashed):\n\n    %s\n\nSet JUNCTION_ADMIN_KEY to choose your own.\n\n", generated)
	}
	if err := a.loadProject(ctx); err != nil {
		return nil, err
	}
	a.registerMetrics()
	a.activity = server.NewActivity(surfaceOf, surfaceNames...)
	a.console = console.New(cfg.Version, a.activity, reporters(a.components)...)
	if a.server, err = server.New(a.log, a.keys, a.registry, a.routes()); err != nil {
		return nil, err
	}
	a.server.Activity = a.activity
	a.server.TLS = cfg.TLSConfig()
	a.server.AccessLog = cfg.AccessLog.accessLog()
	a.server.Tracer, a.server.Traced = deps.Tracer, tracedSurface
	return a, nil
}

func openStore(ctx context.Context, cfg Config, data *dataDir) (store.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if cfg.Store == "" {
		s, err := sqlite.Open(octx, data.join("junction.db"), sqlite.Options{})
		if err != nil {
			return nil, configErr("--data", "cannot open the SQLite store: %v", err)
		}
		return s, nil
	}
	s, err := postgres.Open(octx, cfg.Store, postgres.Options{Schema: cfg.PostgresSchema})
	if err != nil {
		return nil, configErr("--store", "cannot open %s: %v", redact(cfg.Store), err)
	}
	return s, nil
}

func (a *App) loadProject(ctx context.Context) error {
	var p *project.Project
	var problems project.Problems
	switch {
	case a.cfg.Demo:
		p, problems = project.Open(demo.Project(), "demo")
	case a.cfg.Project != "":
		p, problems = project.Open(os.DirFS(a.cfg.Project), a.cfg.Project)
	default:
		return nil
	}
	if len(problems) == 0 {
		problems = p.Validate(ValidatorsWith(a.secrets)...)
	}
	if errs := problems.Errors(); len(errs) > 0 {
		return &ConfigError{Field: "--project", Err: fmt.Errorf("the project has problems:\n%w", errs)}
	}
	for _, pr := range problems {
		a.log.Warn("project problem; the rest of the project runs", "problem", pr.String())
	}
	for _, c := range a.components {
		if l, ok := c.(ProjectLoader); ok {
			if err := l.LoadProject(ctx, p); err != nil {
				return &ConfigError{Field: "--project", Err: fmt.Errorf("load %s definitions: %w", c.Name(), err)}
			}
		}
	}
	return nil
}

// Start listens and starts every component. The returned address is the bound
// one (useful with port 0).
func (a *App) Start(ctx context.Context) (net.Addr, error) {
	for _, c := range a.components {
		if err := c.Start(ctx); err != nil {
			a.stopAfterFailedStart()
			if le := (*amqp.ListenError)(nil); errors.As(err, &le) {
				return nil, configErr("--amqp-listen", "%v", err)
			}
			return nil, fmt.Errorf("start %s: %w", c.Name(), err)
		}
		a.started = append(a.started, c)
	}
	addr, err := a.server.Listen(a.cfg.Listen)
	if err != nil {
		a.stopAfterFailedStart()
		return nil, configErr("--listen", "%v", err)
	}
	a.addr.Store(addr.String())
	a.ready.Store(true)
	a.log.Info("junction serving", "addr", addr.String(), "store", string(a.store.Dialect()), "data", a.data.path, "version", a.cfg.Version)
	return addr, nil
}

// stopAfterFailedStart stops what a failed Start started; the start's error
// is what is reported, and the stop's problems are logged.
func (a *App) stopAfterFailedStart() {
	ctx, cancel := a.StopContext()
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		a.log.Warn("junction: stop after a failed start", "err", err)
	}
}

// Run starts the app and serves until ctx ends, then stops it gracefully.
func (a *App) Run(ctx context.Context) error {
	if _, err := a.Start(ctx); err != nil {
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-a.server.Done():
	}
	stopCtx, cancel := a.StopContext()
	defer cancel()
	return errors.Join(serveErr, a.Stop(stopCtx))
}

// StopContext is the context of a graceful stop: it ends after the
// configured stop timeout.
func (a *App) StopContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.cfg.StopTimeout)
}

// Stop drains HTTP requests, stops components in reverse order, and closes the
// store, within ctx's deadline: the parts that did not stop in time are named
// in the log and in the error. Safe to call twice and without Start.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() {
		a.ready.Store(false)
		a.log.Info("junction stopping")
		var errs []error
		var late []string
		stopped := func(name string, err error) {
			switch {
			case err == nil:
			case lifecycle.Ended(ctx) != nil && errors.Is(err, lifecycle.Ended(ctx)):
				late = append(late, name)
			default:
				errs = append(errs, fmt.Errorf("stop %s: %w", name, err))
			}
		}
		if a.server != nil {
			stopped("http server", a.server.Shutdown(ctx))
		}
		for i := len(a.started) - 1; i >= 0; i-- {
			stopped(a.started[i].Name(), a.started[i].Stop(ctx))
		}
		if len(late) > 0 {
			a.log.Error("junction: not stopped in time; their work is abandoned to its leases", "components", late, "err", lifecycle.Ended(ctx))
			errs = append([]error{&StopTimeoutError{Components: late, Err: lifecycle.Ended(ctx)}}, errs...)
		}
		errs = append(errs, a.closeStorage())
		a.stopErr = errors.Join(errs...)
		a.log.Info("junction stopped")
	})
	return a.stopErr
}

// StopTimeoutError names the parts of Junction that did not stop before the
// stop's deadline.
type StopTimeoutError struct {
	Components []string
	Err        error // the stop context's error
}

func (e *StopTimeoutError) Error() string {
	return "did not stop in time: " + strings.Join(e.Components, ", ") + " (" + e.Err.Error() + ")"
}

func (e *StopTimeoutError) Unwrap() error { return e.Err }

func (a *App) closeStorage() error {
	var errs []error
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	errs = append(errs, a.data.close())
	return errors.Join(errs...)
}

// Store is the app's store, for tests.
func (a *App) Store() store.Store { return a.store }

// Keys is the app's key service, for tests.
func (a *App) Keys() *auth.Keys { return a.keys }

// Server is the app's HTTP server, for in-process tests.
func (a *App) Server() *server.Server { return a.server }

func (a *App) registerMetrics() {
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st := a.store
	counter := func(name, help string, f func(store.Stats) float64) {
		a.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(st.Stats()) }))
	}
	counter("junction_store_transactions_total", "Write transactions committed.", func(s store.Stats) float64 { return float64(s.Transactions) })
	counter("junction_store_rollbacks_total", "Write transactions rolled back.", func(s store.Stats) float64 { return float64(s.Rollbacks) })
	counter("junction_store_commits_total", "Database commits (group commit puts several transactions in one).", func(s store.Stats) float64 { return float64(s.Commits) })
	counter("junction_store_reads_total", "Read transactions.", func(s store.Stats) float64 { return float64(s.Reads) })
	counter("junction_store_transaction_seconds_total", "Time callers spent in write transactions, commit included.", func(s store.Stats) float64 { return s.TxSeconds })
	counter("junction_store_read_seconds_total", "Time spent in read transactions.", func(s store.Stats) float64 { return s.ReadSeconds })
	a.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "junction_store_max_group_commit", Help: "Most transactions carried by one commit."},
		func() float64 { return float64(st.Stats().MaxGroupCommit) }))
}

func nodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Components are the app's components, for tests and the CLI's in-process tools.
func (a *App) Components() []Component { return a.components }

// baseURL is the server's own URL.
func (a *App) baseURL() string {
	scheme := "http://"
	if a.cfg.TLSConfig() != nil {
		scheme = "https://"
	}
	if addr, ok := a.addr.Load().(string); ok {
		return scheme + addr
	}
	return scheme + a.cfg.Listen
}

// localClient calls Junction's own listener. With TLS it accepts exactly the
// listener's certificate, whatever address the listener is reached at.
func localClient(cfg *tls.Config) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second}
	if cfg != nil && len(cfg.Certificates) > 0 && len(cfg.Certificates[0].Certificate) > 0 {
		own := cfg.Certificates[0].Certificate[0]
		tr.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The chain is not verified against roots: the peer must present
			// the very certificate this process serves.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, own) {
					return errors.New("the local listener presented a certificate other than its own")
				}
				return nil
			},
		}
	}
	return &http.Client{Transport: trace.Transport{Base: tr}, Timeout: 100 * time.Second}
}

// AMQPAddr is the address the broker's AMQP listener is bound to ("" when it
// is off or not started).
func (a *App) AMQPAddr() string {
	for _, c := range a.components {
		if s, ok := c.(*amqp.Server); ok {
			return s.Addr()
		}
	}
	return ""
}

// ServiceBusConnectionString is the connection string of the namespace's
// RootManageSharedAccessKey rule, for the Service Bus SDKs.
func (a *App) ServiceBusConnectionString(ctx context.Context) (string, error) {
	host, _ := a.addr.Load().(string)
	if host == "" {
		host = a.cfg.Listen
	}
	for _, c := range a.components {
		if bus, ok := c.(*httpapi.API); ok {
			return bus.RootConnectionString(ctx, host)
		}
	}
	return "", errors.New("the broker is not part of this build")
}
