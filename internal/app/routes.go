package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"junction/internal/changelog"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/webapi"
)

// routes is the route table of the whole server, in one place: the core
// endpoints, key management, and each component's routes.
func (a *App) routes() []server.Route {
	routes := []server.Route{
		{Method: "GET", Pattern: "/healthz", Access: server.Open, Handler: http.HandlerFunc(a.handleHealthz)},
		{Method: "GET", Pattern: "/readyz", Access: server.Open, Handler: http.HandlerFunc(a.handleReadyz)},
		{Method: "GET", Pattern: "/metrics", Access: server.Open,
			Handler: a.metricsAccess(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))},
		{Method: "GET", Pattern: "/admin/v1/openapi.json", Access: server.Allow(server.RoleOperator, server.RoleSender, server.RoleListener),
			Handler: http.HandlerFunc(a.handleOpenAPI)},
	}
	routes = append(routes, a.keys.Routes()...)
	routes = append(routes, a.console.Routes()...)
	routes = append(routes, changelog.Routes(a.store)...)
	// Anything no surface claims gets a 404 in the management API's format.
	var unmatched http.Handler = http.HandlerFunc(notFound)
	for _, c := range a.components {
		if web, ok := c.(*webapi.Component); ok {
			unmatched = webAPIOr(web, unmatched)
		}
	}
	routes = append(routes, server.Route{Pattern: "/", Name: "unmatched", Access: server.Open, Handler: unmatched})
	for _, c := range a.components {
		routes = append(routes, c.Routes()...)
	}
	return routes
}

func (a *App) handleHealthz(w http.ResponseWriter, r *http.Request) {
	server.WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

func (a *App) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "migrations": "ok", "started": "ok"}
	ready := true
	if err := a.store.Ping(ctx); err != nil {
		checks["store"], ready = "unreachable: "+err.Error(), false
	} else if missing, err := a.missingMigrations(ctx); err != nil || missing != "" {
		checks["migrations"], ready = "not applied: "+missing, false
	}
	if !a.ready.Load() {
		checks["started"], ready = "not serving", false
	}
	switch addr := a.AMQPAddr(); {
	case a.cfg.AMQPListen == "off" || a.cfg.AMQPListen == "":
		checks["amqp"] = "off"
	case addr != "":
		checks["amqp"] = "listening on " + addr
	default:
		checks["amqp"], ready = "not listening", false
	}
	for _, c := range a.components {
		// Parts that run degraded (a function that did not load while the
		// others run) say so here without making the node unready.
		if d, ok := c.(interface{ ReadyDetail() string }); ok {
			if detail := d.ReadyDetail(); detail != "" {
				checks[c.Name()] = detail
			}
		}
	}
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not ready"
	}
	server.WriteJSON(w, status, map[string]any{"status": word, "checks": checks})
}

func (a *App) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	server.WriteJSON(w, http.StatusOK, server.OpenAPI(a.cfg.Version, a.server.Routes()))
}

// missingMigrations names the first expected migration not applied.
func (a *App) missingMigrations(ctx context.Context) (string, error) {
	applied, err := store.Applied(ctx, a.store)
	if err != nil {
		return "", err
	}
	for _, m := range append(store.CoreMigrations(), a.migrations...) {
		if id := fmt.Sprintf("%s/%d", m.Component, m.Version); !applied[id] {
			return id, nil
		}
	}
	return "", nil
}

func notFound(w http.ResponseWriter, r *http.Request) {
	server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no endpoint at "+r.Method+" "+r.URL.Path)
}

// surfaces names the surface of each route prefix, for the console's overview;
// the longest matching prefix wins.
var surfaces = []struct{ prefix, name string }{
	{"/api/data/", "Web API"},
	{"/servicebus/", "Broker"},
	{"/admin/v1/servicebus/", "Broker"},
	{"/eventgrid/", "Events"},
	{"/webhooks/", "Events"},
	{"/admin/v1/eventgrid/", "Events"},
	{"/admin/v1/workflows", "Workflows"},
	{"/workflows/", "Workflows"},
	{"/api/", "Functions"},
	{"/admin/v1/functions", "Functions"},
	{"/admin/v1/jobs", "Jobs"},
	{"/admin/v1/", "Management"},
}

// namedSurfaces names the surface of routes labelled by name rather than by
// pattern (catch-all routes that serve a whole surface).
var namedSurfaces = map[string]string{
	"dataverse":                   "Web API",
	"dataverse unversioned":       "Web API",
	"function http trigger":       "Functions",
	"function event grid webhook": "Functions",
	"dataverse webhook":           "Events",
	"workflow trigger":            "Workflows",
	"workflow trigger path":       "Workflows",
}

// surfaceNames are the surfaces the overview always shows, traffic or not.
var surfaceNames = []string{"Web API", "Broker", "Events", "Workflows", "Functions", "Jobs", "Management"}

// surfaceOf maps a route label ("POST /servicebus/{queue}/messages", or a
// route's name) to its surface.
func surfaceOf(route string) string {
	if name, ok := namedSurfaces[route]; ok {
		return name
	}
	path := route
	if i := strings.IndexByte(route, ' '); i >= 0 {
		path = route[i+1:]
	}
	best, name := -1, ""
	for _, s := range surfaces {
		if strings.HasPrefix(path, s.prefix) && len(s.prefix) > best {
			best, name = len(s.prefix), s.name
		}
	}
	return name
}
