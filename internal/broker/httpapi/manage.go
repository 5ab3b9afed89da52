package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/storage"
	"junction/internal/server"
)

const adminBase = "/admin/v1/servicebus"

// resource is an ARM-shaped resource.
type resource struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties any    `json:"properties"`
}

type entityProps struct {
	broker.Properties
	CountDetails broker.Counts `json:"countDetails"`
	MessageCount int64         `json:"messageCount"`
	SizeInBytes  int64         `json:"sizeInBytes"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
}

// putBody is the body of a PUT: {"properties": {...}}. Read-only fields that
// a GET returned are accepted and ignored, so a GET's output can be PUT back.
type putBody struct {
	Properties *putProps `json:"properties"`
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
}

type putProps struct {
	broker.Properties
	CountDetails                 json.RawMessage `json:"countDetails"`
	MessageCount                 json.RawMessage `json:"messageCount"`
	SizeInBytes                  json.RawMessage `json:"sizeInBytes"`
	CreatedAt                    json.RawMessage `json:"createdAt"`
	UpdatedAt                    json.RawMessage `json:"updatedAt"`
	AccessedAt                   json.RawMessage `json:"accessedAt"`
	EnablePartitioning           *bool           `json:"enablePartitioning"`
	EnableBatchedOperations      *bool           `json:"enableBatchedOperations"`
	EnableExpress                *bool           `json:"enableExpress"`
	SupportOrdering              *bool           `json:"supportOrdering"`
	DeadLetteringOnFilterEvalExc *bool           `json:"deadLetteringOnFilterEvaluationExceptions"`
}

func armType(k broker.EntityKind) string {
	switch k {
	case broker.Topic:
		return "Microsoft.ServiceBus/namespaces/topics"
	case broker.Subscription:
		return "Microsoft.ServiceBus/namespaces/topics/subscriptions"
	}
	return "Microsoft.ServiceBus/namespaces/queues"
}

func resourceID(e broker.Entity) string {
	if e.Kind == broker.Subscription {
		i := strings.Index(e.Path, "/subscriptions/")
		return adminBase + "/topics/" + e.Path[:i] + "/subscriptions/" + e.Name()
	}
	return adminBase + "/" + string(e.Kind) + "s/" + e.Path
}

func writeAdminError(w http.ResponseWriter, err error) {
	var be *broker.Error
	if !errors.As(err, &be) {
		server.WriteError(w, http.StatusInternalServerError, server.CodeInternal, "the operation failed")
		return
	}
	switch be.Kind {
	case broker.KindBadRequest:
		var field string
		if i := strings.Index(be.Message, ": "); i > 0 && !strings.Contains(be.Message[:i], " ") {
			field = be.Message[:i]
		}
		if field != "" {
			server.WriteFieldError(w, "properties."+field, be.Message)
			return
		}
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, be.Message)
	case broker.KindEntityNotFound, broker.KindMessageNotFound:
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, be.Message)
	case broker.KindConflict:
		server.WriteError(w, http.StatusConflict, server.CodeConflict, be.Message)
	case broker.KindTooLarge:
		server.WriteError(w, http.StatusRequestEntityTooLarge, server.CodeTooLarge, be.Message)
	default:
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, be.Message)
	}
}

func (a *API) entityResource(r *http.Request, e broker.Entity) (resource, error) {
	c, err := a.b.Counts(r.Context(), e.Path)
	if err != nil {
		return resource{}, err
	}
	return resource{ID: resourceID(e), Name: e.Name(), Type: armType(e.Kind), Properties: entityProps{
		Properties: e.Properties, CountDetails: c, MessageCount: c.Total, SizeInBytes: c.SizeBytes, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}}, nil
}

// entityPath reads the path values of a management URL.
func entityPath(r *http.Request) (path string, kind broker.EntityKind, topic, sub string) {
	if q := r.PathValue("queue"); q != "" {
		return q, broker.Queue, "", ""
	}
	topic = r.PathValue("topic")
	if sub = r.PathValue("sub"); sub != "" {
		return broker.SubscriptionPath(topic, sub), broker.Subscription, topic, sub
	}
	return topic, broker.Topic, topic, ""
}

func (a *API) handlePutEntity(w http.ResponseWriter, r *http.Request) {
	path, kind, topic, sub := entityPath(r)
	var body putBody
	if !server.DecodeJSON(w, r, &body) {
		return
	}
	var p broker.Properties
	if body.Properties != nil {
		p = body.Properties.Properties
	}
	var e broker.Entity
	var created bool
	var err error
	switch kind {
	case broker.Queue:
		e, created, err = a.b.PutQueue(r.Context(), path, p)
	case broker.Topic:
		e, created, err = a.b.PutTopic(r.Context(), path, p)
	case broker.Subscription:
		e, created, err = a.b.PutSubscription(r.Context(), topic, sub, p)
	}
	if err != nil {
		writeAdminError(w, err)
		return
	}
	res, err := a.entityResource(r, e)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	server.WriteJSON(w, status, res)
}

func (a *API) handleGetEntity(w http.ResponseWriter, r *http.Request) {
	path, kind, _, _ := entityPath(r)
	e, err := a.b.Entity(r.Context(), path)
	if err == nil && e.Kind != kind {
		err = &broker.Error{Kind: broker.KindEntityNotFound, Message: "the " + string(kind) + " '" + path + "' could not be found"}
	}
	if err != nil {
		writeAdminError(w, err)
		return
	}
	res, err := a.entityResource(r, e)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, res)
}

func (a *API) handleDeleteEntity(w http.ResponseWriter, r *http.Request) {
	path, kind, _, _ := entityPath(r)
	if err := a.b.DeleteEntity(r.Context(), path, kind); err != nil {
		writeAdminError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) handleListEntities(kind broker.EntityKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list, err := a.b.Entities(r.Context(), kind, r.PathValue("topic"))
		if err != nil {
			writeAdminError(w, err)
			return
		}
		out := []resource{}
		for _, e := range list {
			res, err := a.entityResource(r, e)
			if err != nil {
				writeAdminError(w, err)
				return
			}
			out = append(out, res)
		}
		server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	}
}

type ruleProps struct {
	FilterType        broker.FilterType         `json:"filterType"`
	SQLFilter         *sqlExpr                  `json:"sqlFilter,omitempty"`
	CorrelationFilter *broker.CorrelationFilter `json:"correlationFilter,omitempty"`
	Action            *sqlExpr                  `json:"action,omitempty"`
	CreatedAt         *time.Time                `json:"createdAt,omitempty"`
}

type sqlExpr struct {
	SQLExpression string `json:"sqlExpression"`
}

func ruleResource(topic, sub string, r broker.Rule) resource {
	p := ruleProps{FilterType: r.Filter.Type, CorrelationFilter: r.Filter.Correlation}
	if r.Filter.Type == broker.FilterSQL {
		p.SQLFilter = &sqlExpr{r.Filter.SQL}
	}
	if r.Action != "" {
		p.Action = &sqlExpr{r.Action}
	}
	if !r.CreatedAt.IsZero() {
		p.CreatedAt = &r.CreatedAt
	}
	return resource{ID: adminBase + "/topics/" + topic + "/subscriptions/" + sub + "/rules/" + r.Name, Name: r.Name,
		Type: "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules", Properties: p}
}

func (a *API) handlePutRule(w http.ResponseWriter, r *http.Request) {
	topic, sub, name := r.PathValue("topic"), r.PathValue("sub"), r.PathValue("rule")
	var body struct {
		Properties *ruleProps `json:"properties"`
		ID         string     `json:"id"`
		Name       string     `json:"name"`
		Type       string     `json:"type"`
	}
	if !server.DecodeJSON(w, r, &body) {
		return
	}
	if body.Properties == nil {
		server.WriteFieldError(w, "properties", "properties with a filterType are required")
		return
	}
	p := body.Properties
	rule := broker.Rule{Name: name, Filter: broker.Filter{Type: p.FilterType, Correlation: p.CorrelationFilter}}
	if p.FilterType == "" {
		switch {
		case p.SQLFilter != nil:
			rule.Filter.Type = broker.FilterSQL
		case p.CorrelationFilter != nil:
			rule.Filter.Type = broker.FilterCorrelation
		}
	}
	if p.SQLFilter != nil {
		rule.Filter.SQL = p.SQLFilter.SQLExpression
	}
	if p.Action != nil {
		rule.Action = p.Action.SQLExpression
	}
	out, created, err := a.b.PutRule(r.Context(), topic, sub, rule)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	server.WriteJSON(w, status, ruleResource(topic, sub, out))
}

func (a *API) handleGetRule(w http.ResponseWriter, r *http.Request) {
	topic, sub := r.PathValue("topic"), r.PathValue("sub")
	rule, err := a.b.Rule(r.Context(), topic, sub, r.PathValue("rule"))
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, ruleResource(topic, sub, rule))
}

func (a *API) handleListRules(w http.ResponseWriter, r *http.Request) {
	topic, sub := r.PathValue("topic"), r.PathValue("sub")
	rules, err := a.b.Rules(r.Context(), topic, sub)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	out := []resource{}
	for _, rule := range rules {
		out = append(out, ruleResource(topic, sub, rule))
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (a *API) handleDeleteRule(w http.ResponseWriter, r *http.Request) {
	if err := a.b.DeleteRule(r.Context(), r.PathValue("topic"), r.PathValue("sub"), r.PathValue("rule")); err != nil {
		writeAdminError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Dead-letter tooling.

func (a *API) handleListDeadLetters(w http.ResponseWriter, r *http.Request) {
	path, _, _, _ := entityPath(r)
	a.peekAdmin(w, r, broker.DeadLetterPath(path))
}

func (a *API) handleListMessages(w http.ResponseWriter, r *http.Request) {
	path, _, _, _ := entityPath(r)
	a.peekAdmin(w, r, path)
}

func (a *API) peekAdmin(w http.ResponseWriter, r *http.Request, path string) {
	q := r.URL.Query()
	from, top := int64(0), 100
	if s := q.Get("from"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			server.WriteFieldError(w, "from", "from must be a sequence number")
			return
		}
		from = n
	}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			server.WriteFieldError(w, "top", "top must be between 1 and 1000")
			return
		}
		top = n
	}
	got, err := a.b.Peek(r.Context(), path, from, top)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": toJSONList(got)})
}

func (a *API) handleResubmit(w http.ResponseWriter, r *http.Request) {
	path, _, _, _ := entityPath(r)
	var body struct {
		SequenceNumbers []int64 `json:"sequenceNumbers"`
	}
	if r.ContentLength != 0 {
		raw, err := readBody(r)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, "invalid JSON body: "+server.DescribeJSONError(err))
				return
			}
		}
	}
	n, err := a.b.Resubmit(r.Context(), path, body.SequenceNumbers...)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]int{"resubmitted": n})
}

func (a *API) handlePurge(w http.ResponseWriter, r *http.Request) {
	path, _, _, _ := entityPath(r)
	n, err := a.b.PurgeDeadLetters(r.Context(), path)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]int64{"purged": n})
}

// Authorization rules.

type authRuleJSON struct {
	Rights []Right `json:"rights"`
}

func authScope(r *http.Request) string {
	if q := r.PathValue("queue"); q != "" {
		return q
	}
	return r.PathValue("topic")
}

func authResource(scope string, rule AuthRule) resource {
	id := adminBase + "/authorizationRules/" + rule.Name
	if scope != "" {
		id = adminBase + "/entities/" + scope + "/authorizationRules/" + rule.Name
	}
	return resource{ID: id, Name: rule.Name, Type: "Microsoft.ServiceBus/namespaces/authorizationRules", Properties: authRuleJSON{Rights: rule.Rights}}
}

func (a *API) scopeExists(w http.ResponseWriter, r *http.Request, scope string) bool {
	if scope == "" {
		return true
	}
	if _, err := a.b.Entity(r.Context(), scope); err != nil {
		writeAdminError(w, err)
		return false
	}
	return true
}

func (a *API) handleListAuthRules(w http.ResponseWriter, r *http.Request) {
	scope := authScope(r)
	if !a.scopeExists(w, r, scope) {
		return
	}
	rules, err := a.sas.list(r.Context(), scope)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	out := []resource{}
	for _, rule := range rules {
		out = append(out, authResource(scope, rule))
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (a *API) handleGetAuthRule(w http.ResponseWriter, r *http.Request) {
	scope := authScope(r)
	rule, err := a.sas.get(r.Context(), scope, r.PathValue("rule"))
	if errors.Is(err, storage.ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the authorization rule '"+r.PathValue("rule")+"' could not be found")
		return
	}
	if err != nil {
		writeAdminError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, authResource(scope, rule))
}

func (a *API) handlePutAuthRule(w http.ResponseWriter, r *http.Request) {
	scope, name := authScope(r), r.PathValue("rule")
	var body struct {
		Properties *authRuleJSON `json:"properties"`
		ID         string        `json:"id"`
		Name       string        `json:"name"`
		Type       string        `json:"type"`
	}
	if !server.DecodeJSON(w, r, &body) {
		return
	}
	if !ruleNamePattern.MatchString(name) {
		server.WriteFieldError(w, "name", "an authorization rule name is 1 to 256 letters, digits, periods, hyphens and underscores")
		return
	}
	if body.Properties == nil {
		server.WriteFieldError(w, "properties.rights", "rights are required")
		return
	}
	if err := validRights(body.Properties.Rights); err != nil {
		server.WriteFieldError(w, "properties.rights", err.Error())
		return
	}
	if scope == "" && name == RootRule {
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, RootRule+" cannot be changed")
		return
	}
	if !a.scopeExists(w, r, scope) {
		return
	}
	created, err := a.sas.put(r.Context(), scope, name, body.Properties.Rights)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	rule, _ := a.sas.get(r.Context(), scope, name)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	server.WriteJSON(w, status, authResource(scope, rule))
}

func (a *API) handleDeleteAuthRule(w http.ResponseWriter, r *http.Request) {
	scope, name := authScope(r), r.PathValue("rule")
	if scope == "" && name == RootRule {
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, RootRule+" cannot be deleted")
		return
	}
	found, err := a.sas.delete(r.Context(), scope, name)
	if err != nil {
		writeAdminError(w, err)
		return
	}
	if !found {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the authorization rule '"+name+"' could not be found")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) handleListKeys(w http.ResponseWriter, r *http.Request) {
	scope, name := authScope(r), r.PathValue("rule")
	rule, err := a.sas.get(r.Context(), scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the authorization rule '"+name+"' could not be found")
		return
	}
	if err != nil {
		writeAdminError(w, err)
		return
	}
	cs := func(key string) string { return a.connectionString(r.Host, name, key, scope) }
	server.WriteJSON(w, http.StatusOK, map[string]string{
		"keyName": name, "primaryKey": rule.PrimaryKey, "secondaryKey": rule.SecondaryKey,
		"primaryConnectionString": cs(rule.PrimaryKey), "secondaryConnectionString": cs(rule.SecondaryKey),
	})
}

func (a *API) handleRegenerate(w http.ResponseWriter, r *http.Request) {
	scope, name := authScope(r), r.PathValue("rule")
	var body struct {
		KeyType string `json:"keyType"`
	}
	if !server.DecodeJSON(w, r, &body) {
		return
	}
	if body.KeyType != "PrimaryKey" && body.KeyType != "SecondaryKey" {
		server.WriteFieldError(w, "keyType", "keyType must be PrimaryKey or SecondaryKey")
		return
	}
	if scope == "" && name == RootRule && body.KeyType == "PrimaryKey" && a.sas.adminKey != "" {
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, "the primary key of "+RootRule+" is the admin key (JUNCTION_ADMIN_KEY) and is changed there")
		return
	}
	if err := a.sas.regenerate(r.Context(), scope, name, body.KeyType); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			server.WriteError(w, http.StatusNotFound, server.CodeNotFound, "the authorization rule '"+name+"' could not be found")
			return
		}
		writeAdminError(w, err)
		return
	}
	a.handleListKeys(w, r)
}

// SetAMQPAddr tells the front end where the AMQP listener is, so the
// connection strings it hands out name it; addr returns "" while there is
// none. secure says the listener speaks TLS.
func (a *API) SetAMQPAddr(addr func() string, secure bool) { a.amqpAddr, a.amqpTLS = addr, secure }

// connectionString is a Service Bus connection string for a rule. With an
// AMQP listener it names the listener's port on the host the caller used;
// a plain listener adds UseDevelopmentEmulator=true (plain AMQP, as the SDKs
// expect from the Service Bus emulator), one with TLS is named as Service Bus
// is. Without a listener it names the HTTP endpoint.
func (a *API) connectionString(host, rule, key, entity string) string {
	endpoint := "sb://" + host + "/"
	emulator := false
	if a.amqpAddr != nil {
		if addr := a.amqpAddr(); addr != "" {
			if _, port, err := net.SplitHostPort(addr); err == nil {
				h := host
				if hh, _, err := net.SplitHostPort(host); err == nil {
					h = hh
				}
				endpoint, emulator = "sb://"+net.JoinHostPort(h, port), !a.amqpTLS
				if a.amqpTLS && port == "5671" {
					// The SDKs' own port for AMQPS: named as Service Bus is.
					endpoint = "sb://" + h + "/"
				}
			}
		}
	}
	s := "Endpoint=" + endpoint + ";SharedAccessKeyName=" + rule + ";SharedAccessKey=" + key
	if entity != "" {
		s += ";EntityPath=" + entity
	}
	if emulator {
		s += ";UseDevelopmentEmulator=true"
	}
	return s
}

// RootConnectionString is the connection string of RootManageSharedAccessKey
// for clients that reach this server as host (host:port of the HTTP API).
func (a *API) RootConnectionString(ctx context.Context, host string) (string, error) {
	if err := a.sas.ensureRoot(ctx); err != nil {
		return "", err
	}
	rule, err := a.sas.get(ctx, "", RootRule)
	if err != nil {
		return "", err
	}
	return a.connectionString(host, RootRule, rule.PrimaryKey, ""), nil
}
