package retention

import (
	"net/http"

	"junction/internal/server"
)

func (w *Worker) routes() []server.Route {
	return []server.Route{{
		Method: "GET", Pattern: "/admin/v1/storage", Access: server.Allow(server.RoleOperator),
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			fresh := r.URL.Query().Get("fresh")
			if fresh != "" && fresh != "true" && fresh != "false" {
				server.WriteFieldError(rw, "fresh", "fresh must be true or false")
				return
			}
			rep, err := w.Report(r.Context(), fresh == "true")
			if err != nil {
				w.o.Logger.Error("storage report", "err", err)
				server.WriteError(rw, http.StatusInternalServerError, server.CodeInternal, "measuring the storage failed")
				return
			}
			server.WriteJSON(rw, http.StatusOK, rep)
		}),
		Doc: &server.Operation{Tag: "storage", Summary: "What takes the space, with the retention in force",
			Description: "Rows and bytes per component (Dataverse tables, change log, broker, events, workflow runs, function invocations, jobs, keys), " +
				"each Dataverse table, each broker queue and subscription, the change log's readers (a lost one resyncs), the SQLite file and the disk, " +
				"the retention settings in force and the last retention pass. Measured at most every 30 s unless fresh=true.",
			Response: map[string]any{"type": "object"}},
	}}
}
