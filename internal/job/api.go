package job

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"junction/internal/server"
	"junction/internal/store"
)

func (s *Service) savedSpec(ctx context.Context, name string) (*Spec, error) {
	var raw, by string
	err := s.cfg.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT spec, defined_by FROM batch_jobs WHERE name = ?", name).Scan(&raw, &by)
	})
	if err != nil {
		return nil, err
	}
	var spec Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return nil, err
	}
	spec.Check()
	spec.byAdmin = by == string(server.RoleAdmin)
	return &spec, nil
}

// AllSpecs lists the project's jobs and the API's, by name.
func (s *Service) AllSpecs(ctx context.Context) ([]*Spec, error) {
	s.mu.Lock()
	out := make([]*Spec, 0, len(s.project))
	for _, spec := range s.project {
		out = append(out, spec)
	}
	s.mu.Unlock()
	var saved []string
	err := s.cfg.Store.Read(ctx, func(q store.Querier) error {
		var err error
		saved, err = store.Collect(ctx, q, scanString, "SELECT spec FROM batch_jobs ORDER BY name")
		return err
	})
	for _, raw := range saved {
		var spec Spec
		if json.Unmarshal([]byte(raw), &spec) == nil {
			spec.Check()
			out = append(out, &spec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func scanString(rows *sql.Rows) (string, error) {
	var v string
	err := rows.Scan(&v)
	return v, err
}

func (s *Service) isProjectJob(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.project[name]
	return ok
}

var (
	specSchema = map[string]any{"type": "object", "description": "a job definition (see docs/batch-and-files.md)"}
	runSchema  = map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "integer"}, "job": map[string]any{"type": "string"}, "status": map[string]any{"type": "string"},
		"read": map[string]any{"type": "integer"}, "rejected": map[string]any{"type": "integer"}, "inserted": map[string]any{"type": "integer"},
		"updated": map[string]any{"type": "integer"}, "unchanged": map[string]any{"type": "integer"}, "progress": map[string]any{"type": "number"},
	}}
	listOf = func(item map[string]any) map[string]any {
		return map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": item}}}
	}
)

// Routes are the management API of jobs.
func (s *Service) Routes() []server.Route {
	op := server.Allow(server.RoleOperator)
	tag := "Jobs"
	return append(s.connectionRoutes(tag), []server.Route{
		{Method: "GET", Pattern: "/admin/v1/jobs", Access: op, Handler: http.HandlerFunc(s.listJobs),
			Doc: &server.Operation{Summary: "List jobs", Tag: tag, Response: listOf(specSchema)}},
		{Method: "GET", Pattern: "/admin/v1/jobs/{name}", Access: op, Handler: http.HandlerFunc(s.getJob),
			Doc: &server.Operation{Summary: "Get a job definition", Tag: tag, Response: specSchema}},
		{Method: "PUT", Pattern: "/admin/v1/jobs/{name}", Access: op, Handler: http.HandlerFunc(s.putJob),
			Doc: &server.Operation{Summary: "Create or replace a job defined through the API", Tag: tag, Request: specSchema, Response: specSchema}},
		{Method: "DELETE", Pattern: "/admin/v1/jobs/{name}", Access: op, Handler: http.HandlerFunc(s.deleteJob),
			Doc: &server.Operation{Summary: "Delete a job defined through the API", Tag: tag, Status: http.StatusNoContent}},
		{Method: "DELETE", Pattern: "/admin/v1/jobs/{name}/watermark", Access: op, Handler: http.HandlerFunc(s.resetWatermark),
			Doc: &server.Operation{Summary: "Forget a job's watermark", Description: "The next run of a delta source reads it in full (for an org's delta link it no longer takes, say).", Tag: tag, Status: http.StatusNoContent}},
		{Method: "POST", Pattern: "/admin/v1/jobs/{name}/runs", Access: op, Handler: http.HandlerFunc(s.startRun),
			Doc: &server.Operation{Summary: "Start a run by hand", Description: "For file jobs, give {\"file\": PATH} or nothing to pick up the complete files waiting in the folder now.", Tag: tag, Status: http.StatusAccepted, Response: listOf(runSchema)}},
		{Method: "GET", Pattern: "/admin/v1/jobs/{name}/runs", Access: op, Handler: http.HandlerFunc(s.listRunsHTTP),
			Doc: &server.Operation{Summary: "List a job's runs, newest first", Tag: tag, Response: listOf(runSchema)}},
		{Method: "GET", Pattern: "/admin/v1/jobs/{name}/runs/{id}", Access: op, Handler: http.HandlerFunc(s.getRunHTTP),
			Doc: &server.Operation{Summary: "Get a run: status, counts, progress, reconciliation", Tag: tag, Response: runSchema}},
		{Method: "GET", Pattern: "/admin/v1/jobs/{name}/runs/{id}/rejects", Access: op, Handler: http.HandlerFunc(s.getRejects),
			Doc: &server.Operation{Summary: "Download a run's rejects file (CSV: line, column, reason, value)", Tag: tag}},
		{Method: "GET", Pattern: "/admin/v1/jobs/{name}/runs/{id}/reconciliation", Access: op, Handler: http.HandlerFunc(s.getReconciliation),
			Doc: &server.Operation{Summary: "Download a run's reconciliation report", Tag: tag, Response: map[string]any{"type": "object"}}},
	}...)
}

type jobJSON struct {
	*Spec
	Origin string `json:"origin"` // project or api
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Service) origin(name string) string {
	if s.isProjectJob(name) {
		return "project"
	}
	return "api"
}

func (s *Service) listJobs(w http.ResponseWriter, r *http.Request) {
	specs, err := s.AllSpecs(r.Context())
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	out := make([]jobJSON, len(specs))
	for i, spec := range specs {
		out[i] = jobJSON{spec, s.origin(spec.Name)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Service) getJob(w http.ResponseWriter, r *http.Request) {
	spec, ok := s.Spec(r.PathValue("name"))
	if !ok {
		server.WriteError(w, http.StatusNotFound, "JobNotFound", "no job named "+strconv.Quote(r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, jobJSON{spec, s.origin(spec.Name)})
}

func (s *Service) putJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.isProjectJob(name) {
		server.WriteError(w, http.StatusConflict, "JobInProject", "job "+strconv.Quote(name)+" is defined in the project; change its file instead")
		return
	}
	var spec Spec
	if !server.DecodeJSON(w, r, &spec) {
		return
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Name != name {
		server.WriteError(w, http.StatusBadRequest, "InvalidJob", "the body's name differs from the URL's")
		return
	}
	ps := spec.Check()
	by, _ := server.PrincipalFrom(r.Context())
	if by.Role != server.RoleAdmin {
		ps = append(ps, spec.adminOnly()...)
	}
	if ps = append(ps, s.refProblems(&spec)...); len(ps) > 0 {
		msg := ""
		for i, p := range ps {
			if i > 0 {
				msg += "; "
			}
			msg += p.String()
		}
		server.WriteError(w, http.StatusBadRequest, "InvalidJob", msg)
		return
	}
	if spec.Schema != "" && spec.Schema[0] != '{' {
		server.WriteError(w, http.StatusBadRequest, "InvalidJob", "schema: jobs defined through the API give their JSON Schema inline")
		return
	}
	if spec.Schema != "" {
		if _, err := compileSchema([]byte(spec.Schema)); err != nil {
			server.WriteError(w, http.StatusBadRequest, "InvalidJob", "schema: "+err.Error())
			return
		}
	}
	s.saveNamed(w, r, "batch_jobs", name, &spec, by.Role, jobJSON{&spec, "api"})
}

func (s *Service) resetWatermark(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	spec, ok := s.Spec(name)
	if !ok {
		server.WriteError(w, http.StatusNotFound, "JobNotFound", "no job named "+strconv.Quote(name))
		return
	}
	err := s.cfg.Store.Tx(r.Context(), func(tx store.Tx) error {
		if _, err := tx.Exec(r.Context(), "DELETE FROM batch_watermarks WHERE job = ?", name); err != nil || !readsChanges(spec) {
			return err
		}
		return releaseChanges(r.Context(), tx, name)
	})
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) deleteJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.isProjectJob(name) {
		server.WriteError(w, http.StatusConflict, "JobInProject", "job "+strconv.Quote(name)+" is defined in the project; remove its file instead")
		return
	}
	spec, _ := s.Spec(name)
	n, err := s.deleteNamed(r.Context(), "batch_jobs", name)
	if err == nil && n > 0 && readsChanges(spec) {
		err = s.cfg.Store.Tx(r.Context(), func(tx store.Tx) error { return releaseChanges(r.Context(), tx, name) })
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if n == 0 {
		server.WriteError(w, http.StatusNotFound, "JobNotFound", "no job named "+strconv.Quote(name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) startRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	spec, ok := s.Spec(name)
	if !ok {
		server.WriteError(w, http.StatusNotFound, "JobNotFound", "no job named "+strconv.Quote(name))
		return
	}
	var body struct {
		File    string `json:"file"`
		Trigger string `json:"trigger"`
	}
	if r.ContentLength != 0 {
		if !server.DecodeJSON(w, r, &body) {
			return
		}
	}
	trigger := "manual"
	switch body.Trigger {
	case "", "manual", "api", "cli", "workflow":
		if body.Trigger != "" {
			trigger = body.Trigger
		}
	default:
		server.WriteError(w, http.StatusBadRequest, "InvalidRequest", "trigger must be manual, api, cli or workflow")
		return
	}
	var ids []int64
	isFile := spec.Source.Type == "file" || spec.Source.Type == "sftp"
	switch {
	case isFile && body.File != "":
		dir, err := s.folder(spec.Source)
		if err != nil {
			server.WriteError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		full, err := inside(dir, body.File)
		if err != nil {
			server.WriteError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		sum, err := fileHash(full)
		if err != nil {
			server.WriteError(w, http.StatusBadRequest, "FileNotFound", "cannot read "+body.File+" in the job's folder")
			return
		}
		id, err := s.Enqueue(r.Context(), name, trigger, "file:"+sum, full)
		if errors.Is(err, ErrDuplicate) {
			server.WriteError(w, http.StatusConflict, "AlreadyProcessed", "a file with the same content was processed by run "+strconv.FormatInt(id, 10))
			return
		}
		if err != nil {
			server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		ids = append(ids, id)
	case isFile:
		before, _ := listRuns(r.Context(), s.cfg.Store, name, 1)
		if err := s.scanFiles(r.Context(), spec); err != nil {
			server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		after, _ := listRuns(r.Context(), s.cfg.Store, name, 1000)
		for _, run := range after {
			if len(before) == 0 || run.ID > before[0].ID {
				ids = append(ids, run.ID)
			}
		}
	default:
		id, err := s.Enqueue(r.Context(), name, trigger, "", "")
		if err != nil {
			server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		ids = append(ids, id)
	}
	runs := []Run{}
	for _, id := range ids {
		if run, err := getRun(r.Context(), s.cfg.Store, name, id); err == nil {
			runs = append(runs, run)
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"value": runs})
}

func (s *Service) listRunsHTTP(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			server.WriteError(w, http.StatusBadRequest, "InvalidRequest", "top must be 1..1000")
			return
		}
		limit = n
	}
	runs, err := listRuns(r.Context(), s.cfg.Store, r.PathValue("name"), limit)
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if runs == nil {
		runs = []Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": runs})
}

func (s *Service) runFromPath(w http.ResponseWriter, r *http.Request) (Run, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		server.WriteError(w, http.StatusBadRequest, "InvalidRequest", "the run id must be a number")
		return Run{}, false
	}
	run, err := getRun(r.Context(), s.cfg.Store, r.PathValue("name"), id)
	if errors.Is(err, store.ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, "RunNotFound", "job "+strconv.Quote(r.PathValue("name"))+" has no run "+r.PathValue("id"))
		return Run{}, false
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return Run{}, false
	}
	return run, true
}

func (s *Service) getRunHTTP(w http.ResponseWriter, r *http.Request) {
	if run, ok := s.runFromPath(w, r); ok {
		writeJSON(w, http.StatusOK, run)
	}
}

func (s *Service) getRejects(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	b, err := runFile(r.Context(), s.cfg.Store, run.ID, "rejects.csv")
	if errors.Is(err, store.ErrNotFound) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write([]byte("line,column,reason,value\n"))
		return
	}
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", "attachment; filename=\"run-"+strconv.FormatInt(run.ID, 10)+"-rejects.csv\"")
	w.Write(b)
}

func (s *Service) getReconciliation(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	if run.Reconciliation == nil {
		server.WriteError(w, http.StatusNotFound, "NoReconciliation", "the run has no reconciliation (it has not succeeded)")
		return
	}
	w.Header().Set("Content-Disposition", "attachment; filename=\"run-"+strconv.FormatInt(run.ID, 10)+"-reconciliation.json\"")
	writeJSON(w, http.StatusOK, run.Reconciliation)
}

// saveNamed inserts or replaces the row name of table (batch_jobs or
// batch_connections) with v as JSON and the role that saved it, and answers
// 201 (new) or 200 with out.
func (s *Service) saveNamed(w http.ResponseWriter, r *http.Request, table, name string, v any, by server.Role, out any) {
	ctx := r.Context()
	b, _ := json.Marshal(v)
	created := false
	err := s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE "+table+" SET spec = ?, updated_at = ?, defined_by = ? WHERE name = ?", string(b), store.Micros(s.now()), string(by), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			created = true
			_, err = tx.Exec(ctx, "INSERT INTO "+table+" (name, spec, updated_at, defined_by) VALUES (?, ?, ?, ?)", name, string(b), store.Micros(s.now()), string(by))
		}
		return err
	})
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
}

// deleteNamed deletes the row name of table and says how many went.
func (s *Service) deleteNamed(ctx context.Context, table, name string) (int64, error) {
	var n int64
	err := s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE name = ?", name)
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	return n, err
}
