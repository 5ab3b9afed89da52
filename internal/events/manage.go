package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"junction/internal/server"
	"junction/internal/store"
)

const (
	adminTopics = "/admin/v1/eventgrid/topics"
	adminTopic  = adminTopics + "/{topic}"
	adminSubs   = adminTopic + "/eventSubscriptions"
	adminSub    = adminSubs + "/{sub}"
)

// MaxSubscriptionsPerTopic is Event Grid's limit.
const MaxSubscriptionsPerTopic = 500

func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

var (
	topicSchema = obj(map[string]any{"id": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
		"type": map[string]any{"type": "string"}, "properties": obj(map[string]any{
			"inputSchema": map[string]any{"type": "string", "enum": []string{SchemaEventGrid, SchemaCloudEvents}},
			"kind":        map[string]any{"type": "string", "enum": []string{KindCustom, KindNamespace, KindSystem}},
			"endpoint":    map[string]any{"type": "string"}, "provisioningState": map[string]any{"type": "string"}})})
	subSchema = obj(map[string]any{"id": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
		"properties": obj(map[string]any{
			"destination": obj(map[string]any{"endpointType": map[string]any{"type": "string"}, "properties": map[string]any{"type": "object"}}),
			"filter":      map[string]any{"type": "object"}, "eventDeliverySchema": map[string]any{"type": "string"},
			"retryPolicy": map[string]any{"type": "object"}, "deadLetterDestination": map[string]any{"type": "object"},
			"deliveryConfiguration": map[string]any{"type": "object"}, "provisioningState": map[string]any{"type": "string"}})})
	keysSchema = obj(map[string]any{"key1": map[string]any{"type": "string"}, "key2": map[string]any{"type": "string"}})
	listOf     = func(item map[string]any) map[string]any {
		return obj(map[string]any{"value": map[string]any{"type": "array", "items": item}})
	}
)

func (r *Router) manageRoutes() []server.Route {
	op := server.Allow(server.RoleOperator)
	doc := func(summary string, req, resp map[string]any) *server.Operation {
		return &server.Operation{Summary: summary, Tag: "eventgrid", Request: req, Response: resp}
	}
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []server.Route{
		{Method: "GET", Pattern: adminTopics, Access: op, Handler: h(r.listTopicsHTTP), Doc: doc("List event topics", nil, listOf(topicSchema))},
		{Method: "PUT", Pattern: adminTopic, Access: op, Handler: h(r.putTopicHTTP), Doc: doc("Create or update an event topic", topicSchema, topicSchema)},
		{Method: "GET", Pattern: adminTopic, Access: op, Handler: h(r.getTopicHTTP), Doc: doc("Get an event topic", nil, topicSchema)},
		{Method: "DELETE", Pattern: adminTopic, Access: op, Handler: h(r.deleteTopicHTTP), Doc: doc("Delete an event topic, its subscriptions and pending events", nil, nil)},
		{Method: "POST", Pattern: adminTopic + "/listKeys", Access: op, Handler: h(r.listKeysHTTP), Doc: doc("List a topic's access keys", nil, keysSchema)},
		{Method: "POST", Pattern: adminTopic + "/regenerateKey", Access: op, Handler: h(r.regenerateKeyHTTP),
			Doc: doc("Regenerate key1 or key2 of a topic", obj(map[string]any{"keyName": map[string]any{"type": "string", "enum": []string{"key1", "key2"}}}), keysSchema)},
		{Method: "GET", Pattern: adminSubs, Access: op, Handler: h(r.listSubsHTTP), Doc: doc("List a topic's event subscriptions", nil, listOf(subSchema))},
		{Method: "PUT", Pattern: adminSub, Access: op, Handler: h(r.putSubHTTP), Doc: doc("Create or update an event subscription", subSchema, subSchema)},
		{Method: "GET", Pattern: adminSub, Access: op, Handler: h(r.getSubHTTP), Doc: doc("Get an event subscription", nil, subSchema)},
		{Method: "DELETE", Pattern: adminSub, Access: op, Handler: h(r.deleteSubHTTP), Doc: doc("Delete an event subscription and its pending deliveries", nil, nil)},
		{Method: "GET", Pattern: adminSub + "/deliveryStatus", Access: op, Handler: h(r.deliveryStatusHTTP), Doc: doc("Delivery status of an event subscription", nil, map[string]any{"type": "object"})},
		{Method: "GET", Pattern: adminSub + "/deadLetters", Access: op, Handler: h(r.listDeadLettersHTTP), Doc: doc("List dead-lettered events", nil, listOf(map[string]any{"type": "object"}))},
		{Method: "POST", Pattern: adminSub + "/deadLetters/replay", Access: op, Handler: h(r.replayHTTP),
			Doc: doc("Replay dead-lettered events (all, or those named by sequence)", obj(map[string]any{"sequences": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}}), map[string]any{"type": "object"})},
		{Method: "POST", Pattern: adminSub + "/listSigningSecrets", Access: op, Handler: h(r.listSecretsHTTP), Doc: doc("List the Standard Webhooks signing secrets", nil, map[string]any{"type": "object"})},
		{Method: "POST", Pattern: adminSub + "/rotateSigningSecret", Access: op, Handler: h(r.rotateSecretHTTP), Doc: doc("Add a new signing secret, keeping the previous one", nil, map[string]any{"type": "object"})},
	}
}

// baseURL is how clients reached this server.
func (r *Router) baseURL(req *http.Request) string {
	if r.opts.PublicURL != "" {
		return strings.TrimRight(r.opts.PublicURL, "/")
	}
	if req != nil && req.Host != "" {
		scheme := "http"
		if req.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + req.Host
	}
	return "http://" + r.listen
}

func (r *Router) renderTopic(t topicRow, base string) map[string]any {
	endpoint := base + topicPath(t.Name) + "/api/events"
	if t.Kind == KindNamespace {
		endpoint = base + "/eventgrid"
	}
	return map[string]any{
		"id": topicPath(t.Name), "name": t.Name, "type": "Microsoft.EventGrid/topics",
		"properties": map[string]any{"inputSchema": t.InputSchema, "kind": t.Kind, "endpoint": endpoint,
			"provisioningState": "Succeeded", "origin": t.Origin, "createdAt": t.Created, "updatedAt": t.Updated},
	}
}

func renderSub(s subRow) map[string]any {
	props := map[string]any{}
	b, _ := json.Marshal(s.Props)
	_ = json.Unmarshal(b, &props)
	props["provisioningState"] = s.State
	if s.StateDetail != "" {
		props["provisioningStateDetail"] = s.StateDetail
	}
	props["topic"] = topicPath(s.Topic)
	props["origin"] = s.Origin
	return map[string]any{"id": topicPath(s.Topic) + "/eventSubscriptions/" + s.Name, "name": s.Name,
		"type": "Microsoft.EventGrid/eventSubscriptions", "properties": props}
}

func (r *Router) storeErr(w http.ResponseWriter, err error) {
	var fe *FieldError
	switch {
	case errors.Is(err, ErrTopicNotFound):
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the topic does not exist")
	case errors.Is(err, ErrSubscriptionNotFound):
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the event subscription does not exist")
	case errors.As(err, &fe):
		server.WriteFieldError(w, fe.Field, fe.Message)
	default:
		r.log.Error("events: management", "err", err)
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "internal error")
	}
}

func (r *Router) listTopicsHTTP(w http.ResponseWriter, req *http.Request) {
	var ts []topicRow
	if err := r.st.Read(req.Context(), func(q store.Querier) (err error) { ts, err = listTopics(req.Context(), q); return }); err != nil {
		r.storeErr(w, err)
		return
	}
	out := []map[string]any{}
	for _, t := range ts {
		out = append(out, r.renderTopic(t, r.baseURL(req)))
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

type topicBody struct {
	Properties TopicProperties   `json:"properties"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
}

func (r *Router) putTopicHTTP(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("topic")
	if err := ValidateName("topic", name); err != nil {
		server.WriteFieldError(w, "name", err.Error())
		return
	}
	var body topicBody
	if !server.DecodeJSON(w, req, &body) {
		return
	}
	if err := body.Properties.normalize(); err != nil {
		r.storeErr(w, err)
		return
	}
	created, err := r.PutTopic(req.Context(), name, body.Properties, "api")
	if err != nil {
		r.storeErr(w, err)
		return
	}
	r.writeTopic(w, req, name, map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created])
}

// PutTopic creates or updates a topic; it reports whether it was created.
func (r *Router) PutTopic(ctx context.Context, name string, p TopicProperties, origin string) (bool, error) {
	if err := p.normalize(); err != nil {
		return false, err
	}
	var created bool
	err := r.st.Tx(ctx, func(tx store.Tx) (err error) {
		created, err = putTopic(ctx, tx, name, p, p.Kind, origin, r.now())
		return
	})
	return created, err
}

func (r *Router) writeTopic(w http.ResponseWriter, req *http.Request, name string, status int) {
	var t topicRow
	if err := r.st.Read(req.Context(), func(q store.Querier) (err error) { t, err = getTopic(req.Context(), q, name); return }); err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, status, r.renderTopic(t, r.baseURL(req)))
}

func (r *Router) getTopicHTTP(w http.ResponseWriter, req *http.Request) {
	r.writeTopic(w, req, req.PathValue("topic"), http.StatusOK)
}

func (r *Router) deleteTopicHTTP(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("topic")
	err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		t, err := getTopic(req.Context(), tx, name)
		if err != nil {
			return err
		}
		if t.Kind == KindSystem {
			return fieldErr("name", "%q is a system topic and cannot be deleted", name)
		}
		return deleteTopic(req.Context(), tx, name)
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Router) listKeysHTTP(w http.ResponseWriter, req *http.Request) {
	var t topicRow
	if err := r.st.Read(req.Context(), func(q store.Querier) (err error) { t, err = getTopic(req.Context(), q, req.PathValue("topic")); return }); err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]string{"key1": t.Key1, "key2": t.Key2})
}

func (r *Router) regenerateKeyHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		KeyName string `json:"keyName"`
	}
	if !server.DecodeJSON(w, req, &body) {
		return
	}
	col := map[string]string{"key1": "key1", "key2": "key2"}[strings.ToLower(body.KeyName)]
	if col == "" {
		server.WriteFieldError(w, "keyName", "must be key1 or key2")
		return
	}
	name := req.PathValue("topic")
	err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		res, err := tx.Exec(req.Context(), `UPDATE events_topics SET `+col+` = ?, updated_at = ? WHERE name = ?`, newKey(), store.Micros(r.now()), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTopicNotFound
		}
		return nil
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	r.listKeysHTTP(w, req)
}

func (r *Router) listSubsHTTP(w http.ResponseWriter, req *http.Request) {
	var subs []subRow
	err := r.st.Read(req.Context(), func(q store.Querier) error {
		if _, err := getTopic(req.Context(), q, req.PathValue("topic")); err != nil {
			return err
		}
		var err error
		subs, err = listSubs(req.Context(), q, req.PathValue("topic"))
		return err
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	out := []map[string]any{}
	for _, s := range subs {
		out = append(out, renderSub(s))
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

type subBody struct {
	Properties SubscriptionProperties `json:"properties"`
}

func (r *Router) putSubHTTP(w http.ResponseWriter, req *http.Request) {
	topic, name := req.PathValue("topic"), req.PathValue("sub")
	if err := ValidateName("event subscription", name); err != nil {
		server.WriteFieldError(w, "name", err.Error())
		return
	}
	var body subBody
	if !server.DecodeJSON(w, req, &body) {
		return
	}
	created, err := r.PutSubscription(req.Context(), topic, name, body.Properties, "api", r.baseURL(req))
	if err != nil {
		r.storeErr(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	r.writeSub(w, req, topic, name, status)
}

// PutSubscription creates or replaces an event subscription after checking it.
func (r *Router) PutSubscription(ctx context.Context, topic, name string, p SubscriptionProperties, origin, base string) (bool, error) {
	var created bool
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		t, err := getTopic(ctx, tx, topic)
		if err != nil {
			return err
		}
		p := p.clone()
		if err := p.normalize(t.InputSchema); err != nil {
			return err
		}
		if p.pull() && t.Kind != KindNamespace {
			return fieldErr("properties.deliveryConfiguration.deliveryMode", "pull (Queue) delivery needs a Namespace topic")
		}
		if p.Destination != nil && p.Destination.EndpointType != EndpointWebHook {
			if _, ok := r.dispatcher(p.Destination.EndpointType); !ok {
				return fieldErr("properties.destination.endpointType", "no dispatcher is registered for endpoint type %s on this server", p.Destination.EndpointType)
			}
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM events_subscriptions WHERE topic = ? AND name <> ?`, topic, name).Scan(&count); err != nil {
			return err
		}
		if count >= MaxSubscriptionsPerTopic {
			return fieldErr("name", "topic %s already has %d event subscriptions, the most allowed", topic, MaxSubscriptionsPerTopic)
		}
		created, err = putSub(ctx, tx, topic, name, p, origin, base, r.now())
		return err
	})
	return created, err
}

func (r *Router) writeSub(w http.ResponseWriter, req *http.Request, topic, name string, status int) {
	var s subRow
	if err := r.st.Read(req.Context(), func(q store.Querier) (err error) { s, err = getSub(req.Context(), q, topic, name); return }); err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, status, renderSub(s))
}

func (r *Router) getSubHTTP(w http.ResponseWriter, req *http.Request) {
	r.writeSub(w, req, req.PathValue("topic"), req.PathValue("sub"), http.StatusOK)
}

func (r *Router) deleteSubHTTP(w http.ResponseWriter, req *http.Request) {
	if err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		return deleteSub(req.Context(), tx, req.PathValue("topic"), req.PathValue("sub"))
	}); err != nil {
		r.storeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DeliveryStatus is what the deliveryStatus operation answers.
type DeliveryStatus struct {
	ProvisioningState   string     `json:"provisioningState"`
	Detail              string     `json:"detail,omitempty"`
	Pending             int        `json:"pending"`
	Retrying            int        `json:"retrying"`
	DeadLettered        int        `json:"deadLettered"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`
	DelayedUntil        *time.Time `json:"delayedUntil,omitempty"`
	LastOutcome         string     `json:"lastDeliveryOutcome,omitempty"`
	LastHTTPStatus      int        `json:"lastHttpStatusCode,omitempty"`
}

func (r *Router) deliveryStatusHTTP(w http.ResponseWriter, req *http.Request) {
	topic, name := req.PathValue("topic"), req.PathValue("sub")
	var st DeliveryStatus
	err := r.st.Read(req.Context(), func(q store.Querier) error {
		s, err := getSub(req.Context(), q, topic, name)
		if err != nil {
			return err
		}
		st.ProvisioningState, st.Detail, st.ConsecutiveFailures = s.State, s.StateDetail, s.Failures
		if s.PausedUntil.After(r.now()) {
			t := s.PausedUntil
			st.DelayedUntil = &t
		}
		if err := q.QueryRow(req.Context(), `SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0)
			FROM events_deliveries WHERE topic = ? AND subscription = ?`, topic, name).Scan(&st.Pending, &st.Retrying); err != nil {
			return err
		}
		_ = q.QueryRow(req.Context(), `SELECT last_outcome, last_status FROM events_deliveries WHERE topic = ? AND subscription = ?
			AND last_attempt_at > 0 ORDER BY last_attempt_at DESC LIMIT 1`, topic, name).Scan(&st.LastOutcome, &st.LastHTTPStatus)
		return q.QueryRow(req.Context(), `SELECT COUNT(*) FROM events_deadletters WHERE topic = ? AND subscription = ?`, topic, name).Scan(&st.DeadLettered)
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, st)
}

// DeadLetter is one dead-lettered event.
type DeadLetter struct {
	Sequence        int64
	Event           Event
	Reason          string
	Attempts        int
	LastOutcome     string
	LastStatus      int
	PublishTime     time.Time
	LastAttemptTime time.Time
}

// Record renders the dead letter the way Event Grid writes it: the event in
// schema with the dead-letter fields added (lowercase names for CloudEvents).
func (d *DeadLetter) Record(schema string) map[string]any {
	m := d.Event.Render(schema)
	fields := map[string]any{"deadLetterReason": d.Reason, "deliveryAttempts": d.Attempts, "lastDeliveryOutcome": d.LastOutcome,
		"lastHttpStatusCode": d.LastStatus, "publishTime": nowString(d.PublishTime), "lastDeliveryAttemptTime": nowString(d.LastAttemptTime)}
	for k, v := range fields {
		if schema == SchemaCloudEvents {
			k = strings.ToLower(k)
		}
		m[k] = v
	}
	return m
}

func listDeadLetters(ctx context.Context, q store.Querier, topic, sub string, limit int) ([]DeadLetter, error) {
	return store.Collect(ctx, q, func(rows *sql.Rows) (DeadLetter, error) {
		var d DeadLetter
		var body string
		var pt, lt int64
		if err := rows.Scan(&d.Sequence, &body, &d.Reason, &d.Attempts, &d.LastOutcome, &d.LastStatus, &pt, &lt); err != nil {
			return d, err
		}
		d.PublishTime, d.LastAttemptTime = store.FromMicros(pt), store.FromMicros(lt)
		return d, json.Unmarshal([]byte(body), &d.Event)
	}, `SELECT id, body, reason, attempts, last_outcome, last_status, publish_time, last_attempt_time
		FROM events_deadletters WHERE topic = ? AND subscription = ? ORDER BY id LIMIT ?`, topic, sub, limit)
}

func (r *Router) listDeadLettersHTTP(w http.ResponseWriter, req *http.Request) {
	topic, name := req.PathValue("topic"), req.PathValue("sub")
	limit := 1000
	if v := req.URL.Query().Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			server.WriteFieldError(w, "top", "must be 1..10000")
			return
		}
		limit = n
	}
	var s subRow
	var dls []DeadLetter
	err := r.st.Read(req.Context(), func(q store.Querier) (err error) {
		if s, err = getSub(req.Context(), q, topic, name); err != nil {
			return err
		}
		dls, err = listDeadLetters(req.Context(), q, topic, name, limit)
		return err
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	out := []map[string]any{}
	for i := range dls {
		dl := map[string]any{"sequence": dls[i].Sequence, "deadLetterEvent": dls[i].Record(s.Props.EventDeliverySchema)}
		// The trace the event was published under, beside the event (the
		// event itself carries only what its publisher put in it).
		if dls[i].Event.Trace != "" {
			dl["traceparent"] = dls[i].Event.Trace
		}
		out = append(out, dl)
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (r *Router) replayHTTP(w http.ResponseWriter, req *http.Request) {
	topic, name := req.PathValue("topic"), req.PathValue("sub")
	var body struct {
		Sequences []int64 `json:"sequences"`
	}
	if req.ContentLength != 0 && !server.DecodeJSON(w, req, &body) {
		return
	}
	n, err := r.Replay(req.Context(), topic, name, body.Sequences)
	if err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]int{"replayed": n})
}

// Replay queues dead-lettered events for delivery again (all of the
// subscription's when seqs is empty), with a fresh retry budget.
func (r *Router) Replay(ctx context.Context, topic, sub string, seqs []int64) (int, error) {
	n := 0
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		n = 0
		if _, err := getSub(ctx, tx, topic, sub); err != nil {
			return err
		}
		dls, err := listDeadLetters(ctx, tx, topic, sub, 100000)
		if err != nil {
			return err
		}
		want := map[int64]bool{}
		for _, s := range seqs {
			want[s] = true
		}
		now := store.Micros(r.now())
		for _, d := range dls {
			if len(seqs) > 0 && !want[d.Sequence] {
				continue
			}
			body, _ := json.Marshal(&d.Event)
			var seq int64
			if err := tx.QueryRow(ctx, `INSERT INTO events_events (topic, body, size, published_at) VALUES (?, ?, ?, ?) RETURNING seq`,
				topic, string(body), len(body), now).Scan(&seq); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO events_deliveries (topic, subscription, event_seq, attempts, next_at, lease_owner,
				lease_until, lock_token, last_status, last_outcome, last_attempt_at, published_at)
				VALUES (?, ?, ?, 0, ?, '', 0, '', 0, '', 0, ?)`, topic, sub, seq, now, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM events_deadletters WHERE id = ?`, d.Sequence); err != nil {
				return err
			}
			n++
		}
		if n > 0 {
			tx.Notify(channel)
		}
		return nil
	})
	return n, err
}

func (r *Router) listSecretsHTTP(w http.ResponseWriter, req *http.Request) {
	var s subRow
	if err := r.st.Read(req.Context(), func(q store.Querier) (err error) {
		s, err = getSub(req.Context(), q, req.PathValue("topic"), req.PathValue("sub"))
		return
	}); err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"secrets": s.Secrets})
}

func (r *Router) rotateSecretHTTP(w http.ResponseWriter, req *http.Request) {
	topic, name := req.PathValue("topic"), req.PathValue("sub")
	var secrets []string
	err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		s, err := getSub(req.Context(), tx, topic, name)
		if err != nil {
			return err
		}
		secrets = []string{newSecret()}
		if len(s.Secrets) > 0 {
			secrets = append(secrets, s.Secrets[0])
		}
		b, _ := json.Marshal(secrets)
		_, err = tx.Exec(req.Context(), `UPDATE events_subscriptions SET secrets = ? WHERE topic = ? AND name = ?`, string(b), topic, name)
		return err
	})
	if err != nil {
		r.storeErr(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"secrets": secrets})
}
