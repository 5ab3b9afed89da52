package app

import (
	"junction/internal/function"
	"junction/internal/project"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	return []Component{
		function.NewComponent(function.Options{Store: d.Store, Keys: d.Keys, Logger: d.Logger, NodeID: d.NodeID, Registerer: d.Registry}),
	}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{function.Validator{}}
}
