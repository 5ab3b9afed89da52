package app

import (
	"junction/internal/broker/httpapi"
	"junction/internal/project"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	bus := httpapi.New(httpapi.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, Registry: d.Registry, NodeID: d.NodeID, AdminKey: d.Config.AdminKey})
	return []Component{bus}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{httpapi.Validator{}}
}
