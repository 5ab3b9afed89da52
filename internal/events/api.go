package events

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"junction/internal/server"
	"junction/internal/store"
)

// Routes are the data plane (publish, pull, validation, Dataverse webhook) and
// the management API.
func (r *Router) Routes() []server.Route {
	routes := []server.Route{
		{Method: "POST", Pattern: "/eventgrid/topics/{topic}/api/events", Name: "events publish", Access: server.Open, MaxBody: -1,
			Handler: http.HandlerFunc(r.handlePublish)},
		{Method: "POST", Pattern: "/eventgrid/topics/{topicAction}", Name: "events publish (namespace)", Access: server.Open, MaxBody: -1,
			Handler: http.HandlerFunc(r.handlePublish)},
		{Method: "POST", Pattern: "/eventgrid/topics/{topic}/eventsubscriptions/{subAction}", Name: "events pull", Access: server.Open,
			MaxBody: 1 << 20, Handler: http.HandlerFunc(r.handlePull)},
		{Method: "GET", Pattern: "/eventgrid/validate", Name: "events validate", Access: server.Open, Handler: http.HandlerFunc(r.handleValidate)},
		{Method: "POST", Pattern: "/webhooks/dataverse", Name: "dataverse webhook", Access: server.Open, MaxBody: 4 << 20,
			Handler: http.HandlerFunc(r.handleDataverse)},
	}
	return append(routes, r.manageRoutes()...)
}

// handlePublish accepts events at /eventgrid/topics/{t}/api/events (custom
// topics) and /eventgrid/topics/{t}:publish (namespace topics).
func (r *Router) handlePublish(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("topic")
	if name == "" {
		ta := req.PathValue("topicAction")
		var ok bool
		name, ok = strings.CutSuffix(ta, ":publish")
		if !ok {
			(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "unknown operation " + ta + "; use {topic}:publish"}).write(w)
			return
		}
	}
	var t topicRow
	err := r.st.Read(req.Context(), func(q store.Querier) error {
		var err error
		t, err = getTopic(req.Context(), q, name)
		return err
	})
	if errors.Is(err, ErrTopicNotFound) {
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "The topic '" + name + "' was not found."}).write(w)
		return
	}
	if err != nil {
		r.internal(w, err)
		return
	}
	if _, aerr := r.authorize(req, t, server.RoleSender); aerr != nil {
		aerr.write(w)
		return
	}
	if t.Kind == KindSystem {
		(&apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "'" + name + "' is a system topic; its events come from the change log"}).write(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestSize+1))
	if err != nil {
		badInput("cannot read the request body: %v", err).write(w)
		return
	}
	if len(body) > MaxRequestSize {
		tooLarge("the request is larger than %d bytes", MaxRequestSize).write(w)
		return
	}
	evs, aerr := r.decode(req, t, body)
	if aerr != nil {
		aerr.write(w)
		return
	}
	if err := r.Publish(req.Context(), name, evs); err != nil {
		r.internal(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (r *Router) decode(req *http.Request, t topicRow, body []byte) ([]Event, *apiError) {
	ct := strings.ToLower(req.Header.Get("Content-Type"))
	isCE := strings.HasPrefix(ct, "application/cloudevents") || req.Header.Get("ce-specversion") != ""
	if t.InputSchema == SchemaEventGrid {
		if isCE {
			return nil, badInput("topic %s accepts the Event Grid schema; this request is a CloudEvent", t.Name)
		}
		return decodeEventGrid(body, t.Name)
	}
	return decodeCloudEvents(req.Header, body)
}

func (r *Router) internal(w http.ResponseWriter, err error) {
	r.log.Error("events: internal error", "err", err)
	(&apiError{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: "internal error"}).write(w)
}
