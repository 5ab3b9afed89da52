package job

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"junction/internal/secrets"
	"junction/internal/server"
	"junction/internal/store"
)

// Connections defined through the API (admin key only) sit beside those of
// connections.yaml, which win on a clash of names. Drop zones are folders of
// the server's host and are defined only in connections.yaml.

func (s *Service) savedConnection(ctx context.Context, name string) (*Connection, error) {
	var raw string
	err := s.cfg.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT spec FROM batch_connections WHERE name = ?", name).Scan(&raw)
	})
	if err != nil {
		return nil, err
	}
	var c Connection
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	return &c, nil
}

func (s *Service) isProjectConnection(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.conns.Connections[name]
	return ok
}

// connectionRoutes manage connections: operators list names and types;
// only the admin defines and removes them.
func (s *Service) connectionRoutes(tag string) []server.Route {
	obj := map[string]any{"type": "object"}
	return []server.Route{
		{Method: "GET", Pattern: "/admin/v1/connections", Access: server.Allow(server.RoleOperator), Handler: http.HandlerFunc(s.listConnections),
			Doc: &server.Operation{Summary: "List the connections and drop zones jobs may name", Description: "Names, types and origins only: DSNs, hosts, credentials and folders are the admin's.", Tag: tag, Response: obj}},
		{Method: "PUT", Pattern: "/admin/v1/connections/{name}", Access: server.AdminOnly, Handler: http.HandlerFunc(s.putConnection),
			Doc: &server.Operation{Summary: "Define a connection (admin)", Description: "A sql, sftp or dataverse connection; passwords, keys, client secrets and tokens are written ${VAR}.", Tag: tag, Request: obj, Response: obj}},
		{Method: "DELETE", Pattern: "/admin/v1/connections/{name}", Access: server.AdminOnly, Handler: http.HandlerFunc(s.deleteConnection),
			Doc: &server.Operation{Summary: "Remove a connection defined through the API (admin)", Tag: tag, Status: http.StatusNoContent}},
	}
}

func (s *Service) listConnections(w http.ResponseWriter, r *http.Request) {
	type item struct {
		Name   string `json:"name"`
		Type   string `json:"type,omitempty"`
		Origin string `json:"origin,omitempty"`
	}
	conns, zones := []item{}, []item{{Name: DefaultZone}}
	s.mu.Lock()
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(s.conns.Connections)) {
		conns = append(conns, item{name, s.conns.Connections[name].Type, "project"})
		seen[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.conns.DropZones)) {
		zones = append(zones, item{Name: name})
	}
	s.mu.Unlock()
	type named struct{ name, spec string }
	var saved []named
	err := s.cfg.Store.Read(r.Context(), func(q store.Querier) error {
		var err error
		saved, err = store.Collect(r.Context(), q, func(rows *sql.Rows) (named, error) {
			var n named
			err := rows.Scan(&n.name, &n.spec)
			return n, err
		}, "SELECT name, spec FROM batch_connections ORDER BY name")
		return err
	})
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	for _, n := range saved {
		var c Connection
		if json.Unmarshal([]byte(n.spec), &c) == nil && !seen[n.name] {
			conns = append(conns, item{n.name, c.Type, "api"})
		}
	}
	slices.SortFunc(conns, func(a, b item) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"connections": conns, "dropZones": zones})
}

func (s *Service) putConnection(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.isProjectConnection(name) {
		server.WriteError(w, http.StatusConflict, "ConnectionInProject", "connection "+strconv.Quote(name)+" is defined in "+ConnectionsFile+"; change it there")
		return
	}
	var c Connection
	if !server.DecodeJSON(w, r, &c) {
		return
	}
	var ps []Problem
	add := func(field, f string, args ...any) { ps = append(ps, Problem{field, fmt.Sprintf(f, args...)}) }
	if !namePattern.MatchString(name) {
		add("name", "%q must be lower case letters, digits, - and _ (at most 63)", name)
	}
	c.check(add, "connection")
	// Secrets stay out of the store: they are names resolved when used.
	for _, f := range []struct{ field, v string }{{"password", c.Password}, {"privateKey", c.PrivateKey}, {"clientSecret", c.ClientSecret}, {"token", c.Token}} {
		if f.v != "" && !secrets.HasRef(f.v) {
			add("connection."+f.field, "write it as ${JUNCTION_SECRET_NAME}: secrets are not stored")
		}
	}
	if c.Type == "sql" {
		if dsn, err := s.expand(c.DSN); err == nil {
			if err := s.cfg.OwnStore.refuse(c.Driver, dsn); err != nil {
				add("connection.dsn", "%v", err)
			}
		}
	}
	if len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.String()
		}
		server.WriteError(w, http.StatusBadRequest, "InvalidConnection", strings.Join(msgs, "; "))
		return
	}
	s.saveNamed(w, r, "batch_connections", name, &c, server.RoleAdmin, map[string]any{"name": name, "type": c.Type, "origin": "api"})
}

func (s *Service) deleteConnection(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.isProjectConnection(name) {
		server.WriteError(w, http.StatusConflict, "ConnectionInProject", "connection "+strconv.Quote(name)+" is defined in "+ConnectionsFile+"; remove it there")
		return
	}
	n, err := s.deleteNamed(r.Context(), "batch_connections", name)
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if n == 0 {
		server.WriteError(w, http.StatusNotFound, "ConnectionNotFound", "no connection named "+strconv.Quote(name)+" was defined through the API")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
