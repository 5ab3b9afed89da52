package httpapi

import (
	"net/http"

	"junction/internal/broker"
	"junction/internal/server"
)

var (
	entitySchema = map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"}, "type": map[string]any{"type": "string"},
		"properties": map[string]any{"type": "object", "properties": map[string]any{
			"lockDuration":                        map[string]any{"type": "string", "description": "ISO 8601, PT5S..PT5M, default PT1M"},
			"maxDeliveryCount":                    map[string]any{"type": "integer", "default": 10},
			"defaultMessageTimeToLive":            map[string]any{"type": "string", "description": "ISO 8601; a ceiling on message TTLs"},
			"deadLetteringOnMessageExpiration":    map[string]any{"type": "boolean"},
			"requiresDuplicateDetection":          map[string]any{"type": "boolean"},
			"duplicateDetectionHistoryTimeWindow": map[string]any{"type": "string", "description": "ISO 8601, PT20S..P7D, default PT10M"},
			"requiresSession":                     map[string]any{"type": "boolean"},
			"forwardTo":                           map[string]any{"type": "string"},
			"forwardDeadLetteredMessagesTo":       map[string]any{"type": "string"},
			"maxSizeInMegabytes":                  map[string]any{"type": "integer"},
			"maxMessageSizeInKilobytes":           map[string]any{"type": "integer"},
			"autoDeleteOnIdle":                    map[string]any{"type": "string"},
			"status":                              map[string]any{"type": "string"},
			"countDetails": map[string]any{"type": "object", "readOnly": true, "properties": map[string]any{
				"activeMessageCount": map[string]any{"type": "integer"}, "deadLetterMessageCount": map[string]any{"type": "integer"},
				"scheduledMessageCount": map[string]any{"type": "integer"}, "transferMessageCount": map[string]any{"type": "integer"},
				"transferDeadLetterMessageCount": map[string]any{"type": "integer"}, "deferredMessageCount": map[string]any{"type": "integer"}}},
			"messageCount": map[string]any{"type": "integer", "readOnly": true},
		}},
	}}
	ruleSchema = map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
		"properties": map[string]any{"type": "object", "properties": map[string]any{
			"filterType":        map[string]any{"type": "string", "enum": []string{"SqlFilter", "CorrelationFilter", "TrueFilter", "FalseFilter"}},
			"sqlFilter":         map[string]any{"type": "object", "properties": map[string]any{"sqlExpression": map[string]any{"type": "string"}}},
			"correlationFilter": map[string]any{"type": "object"},
			"action":            map[string]any{"type": "object", "properties": map[string]any{"sqlExpression": map[string]any{"type": "string"}}},
		}},
	}}
	authSchema = map[string]any{"type": "object", "properties": map[string]any{
		"name": map[string]any{"type": "string"},
		"properties": map[string]any{"type": "object", "properties": map[string]any{
			"rights": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"Listen", "Send", "Manage"}}}}},
	}}
	keysSchema = map[string]any{"type": "object", "properties": map[string]any{
		"keyName": map[string]any{"type": "string"}, "primaryKey": map[string]any{"type": "string"}, "secondaryKey": map[string]any{"type": "string"},
		"primaryConnectionString": map[string]any{"type": "string"}, "secondaryConnectionString": map[string]any{"type": "string"}}}
	messagesSchema = map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}}}
)

func list(item map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": item}}}
}

func (a *API) manageRoutes() []server.Route {
	read := server.Allow(server.RoleOperator)
	write := server.Allow(server.RoleOperator)
	var routes []server.Route
	add := func(method, pattern string, access server.Access, h http.HandlerFunc, doc server.Operation) {
		doc.Tag = "servicebus"
		d := doc
		routes = append(routes, server.Route{Method: method, Pattern: adminBase + pattern, Access: access, Handler: h, Doc: &d})
	}
	type ent struct{ prefix, what string }
	for _, e := range []ent{{"/queues/{queue}", "queue"}, {"/topics/{topic}", "topic"}, {"/topics/{topic}/subscriptions/{sub}", "subscription"}} {
		add("PUT", e.prefix, write, a.handlePutEntity, server.Operation{Summary: "Create or update a " + e.what, Request: entitySchema, Response: entitySchema,
			Description: "Missing settings take Service Bus's defaults. 201 when created, 200 when updated."})
		add("GET", e.prefix, read, a.handleGetEntity, server.Operation{Summary: "Get a " + e.what + " with its message counts", Response: entitySchema})
		add("DELETE", e.prefix, write, a.handleDeleteEntity, server.Operation{Summary: "Delete a " + e.what + " and its messages"})
	}
	add("GET", "/queues", read, a.handleListEntities(broker.Queue), server.Operation{Summary: "List queues", Response: list(entitySchema)})
	add("GET", "/topics", read, a.handleListEntities(broker.Topic), server.Operation{Summary: "List topics", Response: list(entitySchema)})
	add("GET", "/topics/{topic}/subscriptions", read, a.handleListEntities(broker.Subscription), server.Operation{Summary: "List a topic's subscriptions", Response: list(entitySchema)})
	rp := "/topics/{topic}/subscriptions/{sub}/rules"
	add("GET", rp, read, a.handleListRules, server.Operation{Summary: "List a subscription's rules", Response: list(ruleSchema)})
	add("PUT", rp+"/{rule}", write, a.handlePutRule, server.Operation{Summary: "Create or replace a rule", Request: ruleSchema, Response: ruleSchema})
	add("GET", rp+"/{rule}", read, a.handleGetRule, server.Operation{Summary: "Get a rule", Response: ruleSchema})
	add("DELETE", rp+"/{rule}", write, a.handleDeleteRule, server.Operation{Summary: "Delete a rule"})
	for _, e := range []ent{{"/queues/{queue}", "queue"}, {"/topics/{topic}/subscriptions/{sub}", "subscription"}} {
		add("GET", e.prefix+"/messages", read, a.handleListMessages, server.Operation{Summary: "Peek a " + e.what + "'s messages without locking them",
			Description: "Query: from (sequence number), top (1..1000, default 100).", Response: messagesSchema})
		add("GET", e.prefix+"/deadletters", read, a.handleListDeadLetters, server.Operation{Summary: "Peek a " + e.what + "'s dead-letter queue",
			Description: "Query: from (sequence number), top (1..1000, default 100).", Response: messagesSchema})
		add("POST", e.prefix+"/deadletters/resubmit", write, a.handleResubmit, server.Operation{Summary: "Resubmit dead-lettered messages to the " + e.what,
			Description: `Body {"sequenceNumbers":[...]}; empty or absent resubmits all.`,
			Request:     map[string]any{"type": "object", "properties": map[string]any{"sequenceNumbers": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}}},
			Response:    map[string]any{"type": "object", "properties": map[string]any{"resubmitted": map[string]any{"type": "integer"}}}})
		add("DELETE", e.prefix+"/deadletters", write, a.handlePurge, server.Operation{Summary: "Purge a " + e.what + "'s dead-letter queue",
			Response: map[string]any{"type": "object", "properties": map[string]any{"purged": map[string]any{"type": "integer"}}}})
	}
	for _, e := range []ent{{"", "the namespace"}, {"/queues/{queue}", "a queue"}, {"/topics/{topic}", "a topic"}} {
		p := e.prefix + "/authorizationRules"
		add("GET", p, server.AdminOnly, a.handleListAuthRules, server.Operation{Summary: "List the shared access rules of " + e.what, Response: list(authSchema)})
		add("PUT", p+"/{rule}", server.AdminOnly, a.handlePutAuthRule, server.Operation{Summary: "Create or update a shared access rule of " + e.what, Request: authSchema, Response: authSchema})
		add("GET", p+"/{rule}", server.AdminOnly, a.handleGetAuthRule, server.Operation{Summary: "Get a shared access rule of " + e.what, Response: authSchema})
		add("DELETE", p+"/{rule}", server.AdminOnly, a.handleDeleteAuthRule, server.Operation{Summary: "Delete a shared access rule of " + e.what})
		add("POST", p+"/{rule}/listKeys", server.AdminOnly, a.handleListKeys, server.Operation{Summary: "Read the keys and connection strings of a shared access rule of " + e.what, Response: keysSchema})
		add("POST", p+"/{rule}/regenerateKeys", server.AdminOnly, a.handleRegenerate, server.Operation{Summary: "Regenerate a key of a shared access rule of " + e.what,
			Request: map[string]any{"type": "object", "properties": map[string]any{"keyType": map[string]any{"type": "string", "enum": []string{"PrimaryKey", "SecondaryKey"}}}}, Response: keysSchema})
	}
	return routes
}
