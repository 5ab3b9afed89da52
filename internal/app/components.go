package app

import (
	"junction/internal/job"
	"junction/internal/project"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	return []Component{
		job.New(job.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, DataDir: d.DataDir}),
	}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{job.New(job.Config{})}
}
