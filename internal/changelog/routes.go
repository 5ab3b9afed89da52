package changelog

import (
	"net/http"
	"strconv"

	"junction/internal/server"
	"junction/internal/store"
)

// Routes serve the change log for operators: one row's history, or the log
// after a sequence number.
func Routes(s store.Store) []server.Route {
	return []server.Route{{
		Method: "GET", Pattern: "/admin/v1/changes", Access: server.Allow(server.RoleOperator),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			top := 100
			if v := q.Get("top"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 1000 {
					server.WriteFieldError(w, "top", "top must be between 1 and 1000")
					return
				}
				top = n
			}
			var after int64
			if v := q.Get("after"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					server.WriteFieldError(w, "after", "after must be a position in the log")
					return
				}
				after = n
			}
			table, id := q.Get("table"), q.Get("id")
			if id != "" && table == "" {
				server.WriteFieldError(w, "table", "table is required with id")
				return
			}
			var changes []Change
			err := Sequence(r.Context(), s)
			if err == nil {
				err = s.Read(r.Context(), func(tx store.Querier) error {
					var err error
					if id != "" {
						changes, err = History(r.Context(), tx, table, id, top)
					} else {
						changes, err = Read(r.Context(), tx, after, table, top)
					}
					return err
				})
			}
			if err != nil {
				server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "read the change log failed")
				return
			}
			if changes == nil {
				changes = []Change{}
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"value": changes})
		}),
		Doc: &server.Operation{Tag: "changes", Summary: "Read the change log",
			Description: "Query: table and id give one row's history, newest first; otherwise the log after `after` (a position), oldest first, optionally for one table. top: 1..1000, default 100.",
			Response:    map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}}},
	}}
}
