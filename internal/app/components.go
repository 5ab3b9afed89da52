package app

import (
	"path/filepath"
	"time"

	bridgepkg "junction/internal/bridge"
	"junction/internal/broker/amqp"
	"junction/internal/broker/httpapi"
	"junction/internal/connector"
	"junction/internal/connector/builtin"
	"junction/internal/connector/dataverse"
	"junction/internal/connector/eventgrid"
	jobsconn "junction/internal/connector/jobs"
	"junction/internal/connector/servicebus"
	"junction/internal/console"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/function/js"
	"junction/internal/job"
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/retention"
	"junction/internal/secrets"
	"junction/internal/sftp"
	"junction/internal/steps"
	"junction/internal/webapi"
	"junction/internal/workflow"
	"net/http"
	"strings"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
// The bridge connects the surfaces to each other (see package bridge).
func buildComponents(d Deps) []Component {
	local := func() (string, string) { return d.BaseURL(), d.Keys.Internal() }
	bridge := bridgepkg.New(bridgepkg.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID})
	bridge.Local, bridge.LocalClient = local, d.LocalClient

	lim := d.Config.Limits
	rec := records.New(records.Config{Store: d.Store, Logger: d.Logger})
	web := webapi.New(webapi.Config{Records: rec, Auth: d.Keys, Logger: d.Logger, Limits: d.Config.webapiLimits, NodeID: d.NodeID,
		MaxBody: lim.WebAPIMaxBody, JSON: lim.json()})
	bus := httpapi.New(httpapi.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, Registry: d.Registry, NodeID: d.NodeID, AdminKey: d.Config.AdminKey})
	amqpListen := d.Config.AMQPListen
	if amqpListen == "" {
		amqpListen = amqp.Off
	}
	amqpServer := amqp.New(amqp.Config{Broker: bus.Broker(), Auth: bus, Listen: amqpListen, Fallback: d.Config.AMQPFallback, Logger: d.Logger,
		ContainerID: d.NodeID, TLS: d.TLS})
	bus.SetAMQPAddr(amqpServer.Addr, d.TLS != nil)
	router := events.New(events.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, Registerer: d.Registry, NodeID: d.NodeID,
		Listen: d.Config.Listen, Outbound: d.Outbound, TimeScale: d.Config.EventsTimeScale, Lease: d.Config.EventsLease,
		Poll: d.Config.EventsPoll, PublicURL: d.Config.EventsPublicURL, Tracer: d.Tracer})
	bridge.Records, bridge.Broker, bridge.Router = rec, bus.Broker(), router
	bridge.RegisterDispatchers(router)
	plugins := steps.New(steps.Config{Records: rec, Logger: d.Logger, HTTPClient: d.Outbound.Client(60 * time.Second), Broker: bridge, Events: bridge,
		OwnNamespace: ownNamespace(d), NodeID: d.NodeID})
	rec.SetSteps(plugins)

	connectors := connector.NewRegistry()
	for _, c := range []*connector.Connector{
		dataverse.New(local, d.LocalClient, d.Outbound), servicebus.New(bus.Broker()), eventgrid.New(router),
	} {
		must(connectors.Register(c))
	}
	must(builtin.Register(connectors, d.Outbound))

	flows := workflow.NewComponent(workflow.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, Connectors: connectors, Outbound: d.Outbound,
		BaseURL: d.BaseURL, AppSetting: d.Secrets.Lookup, JS: bridgepkg.JSRunner{Sandbox: js.New(js.Options{})}, Functions: bridgepkg.FunctionCaller{Bridge: bridge},
		MaxBody: lim.WorkflowMaxBody, JSON: lim.json(), ExprLimits: lim.expr(), Tracer: d.Tracer, Registerer: d.Registry})
	flows.Engine().AddTriggerSource(bridge.ServiceBusTriggers())
	bridge.Engine = flows.Engine()

	functions := function.NewComponent(function.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, NodeID: d.NodeID, Registerer: d.Registry,
		NodePath: d.Config.FunctionsNode, DataDir: d.DataDir,
		Messages: bridge, Sender: bridge, Publisher: bridge, Rows: bridge, HTTPClient: d.Outbound.Client(30 * time.Second),
		Getenv: func(n string) string { v, _ := d.Secrets.Lookup(n); return v }, Environ: d.Secrets.Environ,
		NotFound: webAPIOr(web, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no function is served at this path", http.StatusNotFound)
		})), Reserved: []string{webapi.Prefix}, MaxBody: lim.FunctionsMaxBody, Tracer: d.Tracer})
	bridge.Host = functions.Host()
	web.Handler().SetCustomAPIs(bridge)

	sftpServer := sftp.New(sftp.Options{DataDir: d.DataDir, Logger: d.Logger, Secrets: d.Secrets,
		Lockout: sftp.Lockout{Threshold: d.Config.SFTPLockoutThreshold, Duration: d.Config.SFTPLockoutDuration}})
	jobs := job.New(job.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, DataDir: d.DataDir, SFTP: sftpServer, Secrets: d.Secrets, OwnStore: ownStore(d),
		Outbound: d.Outbound, LocalClient: d.LocalClient, LeaseTTL: d.Config.JobLease,
		Tables: bridgepkg.NewTables(rec), Local: local, Tracer: d.Tracer})
	sftpServer.SetOnUpload(jobs.FileArrived)
	must(connectors.Register(jobsconn.New(jobs)))
	components := []Component{&traces{rec: d.Tracer, st: d.Store}, web, bus, amqpServer, router, bridge, stepsComponent{plugins}, flows, functions, sftpServer, jobs}
	return append(components, newRetention(d, components))
}

// ownStore is the store's own database, which jobs may not reach.
func ownStore(d Deps) job.OwnStore {
	if d.Config.Store != "" {
		return job.OwnStore{Postgres: d.Config.Store}
	}
	return job.OwnStore{SQLitePath: filepath.Join(d.DataDir, "junction.db")}
}

// must panics on a wiring error: the set of built-in parts is fixed at build
// time, so a clash is a programming error that every test run would show.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	r, _ := NewSecrets("", nil)
	return ValidatorsWith(r)
}

// ValidatorsWith are the Validators, resolving app settings through r.
func ValidatorsWith(r *secrets.Resolver) []project.Validator {
	return []project.Validator{records.Validator{}, httpapi.Validator{}, events.Validator{}, workflow.Validator{AppSetting: r.Lookup},
		function.Validator{}, job.New(job.Config{}), sftp.New(sftp.Options{}), retention.Validator{}}
}

// reporters are what tells the console's overview what is failing now: the
// components that report themselves, and adapters for those that do not.
func reporters(components []Component) []console.Reporter {
	var out []console.Reporter
	for _, c := range components {
		if r, ok := c.(console.Reporter); ok {
			out = append(out, r)
		}
		if bus, ok := c.(*httpapi.API); ok {
			out = append(out, brokerAlerts{bus.Broker()})
		}
	}
	return out
}

// webAPIOr answers paths under /api/data/ that no versioned Web API route
// serves (no version, a mistyped one) with the Web API's own error, and
// anything else with other.
func webAPIOr(web *webapi.Component, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, webapi.Prefix) || r.URL.Path == strings.TrimSuffix(webapi.Prefix, "/") {
			web.Handler().ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}
