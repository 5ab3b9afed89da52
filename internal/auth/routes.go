package auth

import (
	"errors"
	"net/http"
	"strings"

	"junction/internal/server"
)

var keySchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"id":      map[string]any{"type": "string"},
		"name":    map[string]any{"type": "string"},
		"role":    map[string]any{"type": "string", "enum": []string{"admin", "operator", "sender", "listener"}},
		"prefix":  map[string]any{"type": "string", "description": "the first characters of the key, to recognise it"},
		"created": map[string]any{"type": "string", "format": "date-time"},
		"key":     map[string]any{"type": "string", "description": "the secret; returned once, on creation"},
	},
}

// Routes are the key management endpoints: admin only.
func (k *Keys) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Pattern: "/admin/v1/keys", Access: server.AdminOnly, Handler: http.HandlerFunc(k.handleList),
			Doc: &server.Operation{Tag: "keys", Summary: "List API keys", Response: map[string]any{
				"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": keySchema}}}}},
		{Method: "POST", Pattern: "/admin/v1/keys", Access: server.AdminOnly, Handler: http.HandlerFunc(k.handleCreate),
			Doc: &server.Operation{Tag: "keys", Summary: "Create an API key", Status: http.StatusCreated,
				Description: "The response carries the key itself; it is not stored and cannot be read again.",
				Request: map[string]any{"type": "object", "required": []string{"name", "role"}, "properties": map[string]any{
					"name": map[string]any{"type": "string"}, "role": keySchema["properties"].(map[string]any)["role"]}},
				Response: keySchema}},
		{Method: "GET", Pattern: "/admin/v1/keys/{id}", Access: server.AdminOnly, Handler: http.HandlerFunc(k.handleGet),
			Doc: &server.Operation{Tag: "keys", Summary: "Get an API key's description", Response: keySchema}},
		{Method: "DELETE", Pattern: "/admin/v1/keys/{id}", Access: server.AdminOnly, Handler: http.HandlerFunc(k.handleDelete),
			Doc: &server.Operation{Tag: "keys", Summary: "Revoke an API key", Status: http.StatusNoContent}},
	}
}

func (k *Keys) handleList(w http.ResponseWriter, r *http.Request) {
	keys, err := k.List(r.Context())
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "list keys failed")
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": keys})
}

type createRequest struct {
	Name string      `json:"name"`
	Role server.Role `json:"role"`
}

type createdKey struct {
	Key
	Secret string `json:"key"`
}

func (k *Keys) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !server.DecodeJSON(w, r, &req) {
		return
	}
	if err := ValidateName(req.Name); err != nil {
		server.WriteFieldError(w, "name", err.Error())
		return
	}
	if !req.Role.Valid() {
		server.WriteFieldError(w, "role", "role must be one of admin, operator, sender, listener; got "+quote(string(req.Role)))
		return
	}
	name := strings.TrimSpace(req.Name)
	existing, err := k.List(r.Context())
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "create key failed")
		return
	}
	for _, e := range existing {
		if strings.EqualFold(e.Name, name) {
			// Names are how people tell keys apart in lists and logs.
			server.WriteError(w, http.StatusConflict, server.CodeConflict, "a key named "+quote(e.Name)+" exists (id "+e.ID+", prefix "+e.Prefix+
				"); choose another name, or revoke that key first")
			return
		}
	}
	key, secret, err := k.Create(r.Context(), name, req.Role)
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "create key failed")
		return
	}
	w.Header().Set("Location", "/admin/v1/keys/"+key.ID)
	server.WriteJSON(w, http.StatusCreated, createdKey{Key: key, Secret: secret})
}

func (k *Keys) handleGet(w http.ResponseWriter, r *http.Request) {
	key, err := k.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no API key with id "+quote(r.PathValue("id")))
		return
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "get key failed")
		return
	}
	server.WriteJSON(w, http.StatusOK, key)
}

func (k *Keys) handleDelete(w http.ResponseWriter, r *http.Request) {
	err := k.Delete(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "no API key with id "+quote(r.PathValue("id")))
		return
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "delete key failed")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func quote(s string) string { return "\"" + s + "\"" }
