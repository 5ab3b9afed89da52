package webapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"junction/internal/changelog"
	"junction/internal/jsonvalue"
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
)

// Config is what the Web API is built from.
type Config struct {
	// Records is the records service the API serves (the app builds it and
	// shares it with the other surfaces).
	Records *records.Service
	// Auth authenticates bearer tokens.
	Auth   server.Authenticator
	Logger *slog.Logger
	// Limits are the service protection limits (zero fields: Dataverse's).
	Limits LimitConfig
	// MaxBody is the request body limit in bytes, refused with Dataverse's
	// error before the body is read (0: DefaultMaxBody).
	MaxBody int64
	// JSON bounds the nesting depth and number of values of request bodies
	// (zero fields: no bound).
	JSON jsonvalue.Limits
	// NodeID names this node as the holder of the background jobs it runs
	// (asyncoperation.hostid); empty: a random id.
	NodeID string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Component is the Web API as an app component: it loads the project's
// tables into the records service and serves /api/data/.
type Component struct {
	rec     *records.Service
	handler *Handler
	tables  []records.Table
	maxBody int64
	// initialized is set once the tables exist.
	initialized bool
}

// DefaultMaxBody is the request body limit when Config sets none.
const DefaultMaxBody = 64 << 20

// New builds the component.
func New(cfg Config) *Component {
	return &Component{rec: cfg.Records, handler: NewHandler(cfg), maxBody: cfg.MaxBody}
}

// Handler is the Web API handler.
func (c *Component) Handler() *Handler { return c.handler }

func (c *Component) Name() string { return "webapi" }

// Migrations are the change log's and the records' own tables.
func (c *Component) Migrations() []store.Migration {
	return append(changelog.Migrations(), records.Migrations()...)
}

// Routes serve each supported version's prefix. They are literal prefixes, not
// "/api/data/", so that they share /api/ with workflow triggers
// (/api/{workflow}/triggers/{trigger}/invoke) and function HTTP triggers
// (/api/{path...}) without overlapping them. The version's root without its
// slash (/api/data/v9.2) is served too, as Dataverse does (the service
// document), rather than redirected.
func (c *Component) Routes() []server.Route {
	var routes []server.Route
	for _, v := range []string{"v9.0", "v9.1", "v9.2"} {
		for _, pattern := range []string{Prefix + v + "/", Prefix + v} {
			routes = append(routes, server.Route{Pattern: pattern, Name: "dataverse", Access: server.Open, Handler: c.handler,
				MaxBody: cmp.Or(c.maxBody, DefaultMaxBody), TooLarge: func(w http.ResponseWriter, limit int64) { writeError(w, tooLarge(limit)) }})
		}
	}
	return routes
}

// ValidateProject checks tables/*.yaml.
func (c *Component) ValidateProject(p *project.Project) []project.Problem {
	return records.Validator{}.ValidateProject(p)
}

// LoadProject keeps the project's tables for Start.
func (c *Component) LoadProject(ctx context.Context, p *project.Project) error {
	tables, problems := records.ProjectTables(p)
	if len(problems) > 0 {
		return project.Problems(problems)
	}
	c.tables = tables
	return nil
}

// Start creates or extends the tables (at the first start) and starts
// watching for schema changes and running bulk delete jobs. Starting a
// running component does nothing.
func (c *Component) Start(ctx context.Context) error {
	if !c.initialized {
		if err := c.rec.Init(ctx, c.tables); err != nil {
			return err
		}
		c.initialized = true
	}
	c.rec.Watch(ctx)
	return c.handler.jobs.Start(ctx)
}

// Stop stops the bulk delete jobs and the schema watcher within ctx's
// deadline. Safe twice and without Start.
func (c *Component) Stop(ctx context.Context) error {
	return errors.Join(c.handler.jobs.Stop(ctx), c.rec.StopWatching(ctx))
}
