// Package server is Junction's one HTTP listener: the route type every surface
// contributes, the middleware every request passes through (request ids, access
// logs, panic recovery, body limits, metrics, bearer-key authorisation), the
// management API's error format and its OpenAPI document.
package server

import (
	"context"
	"net/http"
	"strings"
)

// Role is what an API key may do.
type Role string

// The roles, from most to least powerful. Admin may do everything.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleSender   Role = "sender"
	RoleListener Role = "listener"
)

// Roles lists the valid roles.
var Roles = []Role{RoleAdmin, RoleOperator, RoleSender, RoleListener}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// Principal is the caller a request was authenticated as.
type Principal struct {
	KeyID string
	Name  string
	Role  Role
}

// Authenticator resolves a bearer key to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (Principal, bool)
}

// Access says who may call a route.
type Access struct {
	// Public routes are served without a bearer key; they authenticate in their
	// own way (SAS, signed URLs, webhook keys) or not at all (health checks).
	Public bool
	// Roles that may call the route besides admin. Empty with Public false means
	// admin only.
	Roles []Role
}

// Open is the access of routes that do their own authentication.
var Open = Access{Public: true}

// AdminOnly is the access of key management.
var AdminOnly = Access{}

// Allow returns the access granted to roles (and admin).
func Allow(roles ...Role) Access { return Access{Roles: roles} }

func (a Access) permits(r Role) bool {
	if r == RoleAdmin {
		return true
	}
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Route is one entry of the route table.
type Route struct {
	Method  string // GET, POST, ...; empty matches every method
	Pattern string // a net/http pattern path: "/admin/v1/keys/{id}"
	Name    string // the metrics label; defaults to the pattern
	Access  Access
	Handler http.Handler
	// Doc describes the operation in the OpenAPI document; management routes
	// (under /admin/v1/) must have one.
	Doc *Operation
	// MaxBody overrides the default request body limit (bytes); negative means none.
	MaxBody int64
	// TooLarge writes the answer to a body over MaxBody in the surface's own
	// error format (status 413); nil writes the management API's.
	TooLarge func(w http.ResponseWriter, limit int64)
}

func (r Route) muxPattern() string {
	if r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

func (r Route) label() string {
	if r.Name != "" {
		return r.Name
	}
	return strings.TrimSpace(r.muxPattern())
}

type principalKey struct{}

// PrincipalFrom returns the principal the request was authenticated as.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// WithPrincipal attaches p to ctx; surfaces with their own authentication use it
// so that handlers see one kind of caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// BearerKey returns the key of an "Authorization: Bearer <key>" header.
func BearerKey(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}
