package webapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/jsonvalue"
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
)

// Component is the Web API as an app component: it owns the records
// service, loads the project's tables and serves /api/data/.
type Component struct {
	rec     *records.Service
	handler *Handler
	tables  []records.Table
	started bool
	maxBody int64
}

// DefaultMaxBody is the request body limit when SetBodyLimits sets none.
const DefaultMaxBody = 64 << 20

// SetBodyLimits sets the request body limit in bytes (refused with
// Dataverse's error before the body is read) and the JSON bounds of bodies.
// Call it before the routes are taken.
func (c *Component) SetBodyLimits(maxBody int64, json jsonvalue.Limits) {
	c.maxBody = maxBody
	c.handler.json = json
}

// NewComponent builds the component. limits come from
// JUNCTION_WEBAPI_LIMITS when set (see ParseLimits).
// A malformed value is logged and the defaults apply.
func NewComponent(st store.Store, auth server.Authenticator, log *slog.Logger) *Component {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := ParseLimits(os.Getenv("JUNCTION_WEBAPI_LIMITS"))
	if err != nil {
		log.Warn("ignoring JUNCTION_WEBAPI_LIMITS; using Dataverse's limits", "err", err)
		cfg = LimitConfig{}
	}
	rec := records.New(st, log, nil)
	return &Component{rec: rec, handler: NewHandler(rec, auth, log, Options{Limits: cfg})}
}

// ParseLimits reads "off" or "requests=6000,window=300s,execution=1200s,concurrent=52".
func ParseLimits(s string) (LimitConfig, error) {
	var c LimitConfig
	s = strings.TrimSpace(s)
	if s == "" {
		return c, nil
	}
	if s == "off" {
		c.Disabled = true
		return c, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("%q is not key=value", kv)
		}
		var err error
		switch k {
		case "requests":
			c.MaxRequests, err = strconv.Atoi(v)
		case "concurrent":
			c.MaxConcurrent, err = strconv.Atoi(v)
		case "window":
			c.Window, err = time.ParseDuration(v)
		case "execution":
			c.MaxExecution, err = time.ParseDuration(v)
		default:
			err = fmt.Errorf("unknown limit %q (requests, concurrent, window, execution)", k)
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", k, err)
		}
	}
	return c, nil
}

// Records is the records service, for other components and tests.
func (c *Component) Records() *records.Service { return c.rec }

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
// (/api/{path...}) without overlapping them.
func (c *Component) Routes() []server.Route {
	var routes []server.Route
	for _, v := range []string{"v9.0", "v9.1", "v9.2"} {
		routes = append(routes, server.Route{Pattern: Prefix + v + "/", Name: "dataverse", Access: server.Open, Handler: c.handler,
			MaxBody: cmp.Or(c.maxBody, DefaultMaxBody), TooLarge: func(w http.ResponseWriter, limit int64) { writeError(w, tooLarge(limit)) }})
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

// Start creates or extends the tables and starts watching for schema changes.
func (c *Component) Start(ctx context.Context) error {
	if c.started {
		return nil
	}
	if err := c.rec.Init(ctx, c.tables); err != nil {
		return err
	}
	c.rec.Watch()
	if err := c.handler.jobs.Start(ctx); err != nil {
		return err
	}
	c.started = true
	return nil
}

// Stop stops the background jobs and the schema watcher.
func (c *Component) Stop(ctx context.Context) error {
	err := c.handler.jobs.Stop(ctx)
	c.rec.Close()
	return err
}
