// Package console is Junction's web console at /console/: a page served by the
// binary itself (no build step, no external network) that signs in with an API
// key and shows each surface through the management API, within what the key's
// role allows.
package console

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"sort"

	"junction/internal/server"
)

//go:embed static
var static embed.FS

// Alert is something failing now, reported by a surface for the overview.
type Alert struct {
	Surface  string `json:"surface"`
	Severity string `json:"severity"` // "error" or "warning"
	Title    string `json:"title"`
	Detail   string `json:"detail,omitempty"`
	Link     string `json:"link,omitempty"` // a console route, e.g. "#/messaging/orders"
}

// Reporter is a surface that can say what is failing now.
type Reporter interface {
	Alerts(ctx context.Context) []Alert
}

// Console serves the console and its overview API.
type Console struct {
	version   string
	activity  *server.Activity
	reporters []Reporter
}

// New returns the console. reporters may grow as surfaces are wired.
func New(version string, activity *server.Activity, reporters ...Reporter) *Console {
	return &Console{version: version, activity: activity, reporters: reporters}
}

// Routes are the console's routes.
func (c *Console) Routes() []server.Route {
	files, _ := fs.Sub(static, "static")
	fileServer := http.StripPrefix("/console/", http.FileServerFS(files))
	return []server.Route{
		{Method: "GET", Pattern: "/console", Access: server.Open, Handler: http.RedirectHandler("/console/", http.StatusMovedPermanently)},
		{Method: "GET", Pattern: "/console/", Name: "GET /console/", Access: server.Open, Handler: withCSP(fileServer)},
		{Method: "GET", Pattern: "/admin/v1/whoami", Access: server.Allow(server.RoleOperator, server.RoleSender, server.RoleListener),
			Handler: http.HandlerFunc(c.handleWhoAmI),
			Doc: &server.Operation{Tag: "console", Summary: "Describe the caller's key", Response: map[string]any{
				"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "role": map[string]any{"type": "string"}, "version": map[string]any{"type": "string"}}}}},
		{Method: "GET", Pattern: "/admin/v1/overview", Access: server.Allow(server.RoleOperator),
			Handler: http.HandlerFunc(c.handleOverview),
			Doc:     &server.Operation{Tag: "console", Summary: "Traffic and errors of every surface over the last hour, and what is failing now"}},
	}
}

// withCSP forbids the page from loading anything that is not its own.
func withCSP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	p, _ := server.PrincipalFrom(r.Context())
	server.WriteJSON(w, http.StatusOK, map[string]string{"name": p.Name, "role": string(p.Role), "version": c.version})
}

func (c *Console) handleOverview(w http.ResponseWriter, r *http.Request) {
	alerts := []Alert{}
	for _, rep := range c.reporters {
		alerts = append(alerts, rep.Alerts(r.Context())...)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].Severity == "error" && alerts[j].Severity != "error" })
	server.WriteJSON(w, http.StatusOK, map[string]any{"surfaces": c.activity.LastHour(), "alerts": alerts})
}
