package app

import (
	"junction/internal/connector"
	"junction/internal/project"
	"junction/internal/workflow"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	connectors := connector.NewRegistry()
	return []Component{
		workflow.NewComponent(workflow.Options{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, Connectors: connectors,
			BaseURL: func() string { return "http://" + d.Config.Listen }}),
	}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{workflow.Validator{}}
}
