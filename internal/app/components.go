package app

import (
	"context"

	"junction/internal/changelog"
	"junction/internal/events"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	router := events.New(d.Store, d.Keys, d.Logger, d.Registry, d.NodeID, d.Config.Listen, events.OptionsFromEnv())
	return []Component{changeLog{}, router}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{events.Validator{}}
}

// changeLog owns the change log's table, which record writers append to and the
// event router reads.
type changeLog struct{}

func (changeLog) Name() string                    { return "changelog" }
func (changeLog) Migrations() []store.Migration   { return changelog.Migrations() }
func (changeLog) Routes() []server.Route          { return nil }
func (changeLog) Start(ctx context.Context) error { return nil }
func (changeLog) Stop(ctx context.Context) error  { return nil }
