package app

import (
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/webapi"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	return []Component{webapi.NewComponent(d.Store, d.Keys, d.Logger)}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{records.Validator{}}
}
