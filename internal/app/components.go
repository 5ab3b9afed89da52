package app

import (
	"junction/internal/broker/httpapi"
	"junction/internal/connector"
	"junction/internal/connector/builtin"
	"junction/internal/console"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/job"
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/sftp"
	"junction/internal/webapi"
	"junction/internal/workflow"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	connectors := connector.NewRegistry()
	if err := builtin.Register(connectors); err != nil {
		panic(err) // the built-in set is fixed at build time; a clash is a programming error
	}
	bus := httpapi.New(httpapi.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, Registry: d.Registry, NodeID: d.NodeID, AdminKey: d.Config.AdminKey})
	router := events.New(d.Store, d.Keys, d.Logger, d.Registry, d.NodeID, d.Config.Listen, events.OptionsFromEnv())
	flows := workflow.NewComponent(workflow.Options{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, Connectors: connectors, BaseURL: d.BaseURL})
	functions := function.NewComponent(function.Options{Store: d.Store, Keys: d.Keys, Logger: d.Logger, NodeID: d.NodeID, Registerer: d.Registry})
	sftpServer := sftp.New(sftp.Options{DataDir: d.DataDir, Logger: d.Logger})
	jobs := job.New(job.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, DataDir: d.DataDir, SFTP: sftpServer})
	sftpServer.SetOnUpload(jobs.FileArrived)
	return []Component{webapi.NewComponent(d.Store, d.Keys, d.Logger), bus, router, flows, functions, sftpServer, jobs}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{records.Validator{}, httpapi.Validator{}, events.Validator{}, workflow.Validator{},
		function.Validator{}, job.New(job.Config{}), sftp.New(sftp.Options{})}
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
