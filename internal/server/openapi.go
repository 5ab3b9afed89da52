package server

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// Operation documents one management route in the OpenAPI document.
type Operation struct {
	Summary     string
	Description string
	Tag         string
	// Request and Response are JSON Schemas (as Go values) of the bodies; nil
	// means no body.
	Request  map[string]any
	Response map[string]any
	// Status is the success status code (default 200).
	Status int
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// OpenAPI builds the OpenAPI 3.1 document of the documented routes.
func OpenAPI(version string, routes []Route) map[string]any {
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, rt := range routes {
		if rt.Doc == nil {
			continue
		}
		path := pathParam.ReplaceAllString(rt.Pattern, "{$1}")
		path = strings.TrimSuffix(path, "{$}")
		item := paths[path]
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		op := map[string]any{
			"summary":     rt.Doc.Summary,
			"operationId": operationID(rt),
		}
		if rt.Doc.Description != "" {
			op["description"] = rt.Doc.Description
		}
		if rt.Doc.Tag != "" {
			op["tags"] = []string{rt.Doc.Tag}
			tags[rt.Doc.Tag] = true
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Doc.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": rt.Doc.Request}}}
		}
		status := rt.Doc.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Doc.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": rt.Doc.Response}}
		}
		errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		responses := map[string]any{itoa(int64(status)): ok, "default": errResp}
		if !rt.Access.Public {
			op["security"] = []map[string]any{{"bearer": []string{}}}
		}
		op["responses"] = responses
		method := strings.ToLower(rt.Method)
		if method == "" {
			method = "get"
		}
		item[method] = op
	}
	var tagList []map[string]any
	var names []string
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		tagList = append(tagList, map[string]any{"name": t})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Junction management API",
			"version":     version,
			"description": "Manage Junction: API keys, and each surface's entities. Authenticate with Authorization: Bearer <key>.",
		},
		"paths": paths,
		"tags":  tagList,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{
				"type":     "object",
				"required": []string{"error"},
				"properties": map[string]any{"error": map[string]any{
					"type":     "object",
					"required": []string{"code", "message"},
					"properties": map[string]any{
						"code":    map[string]any{"type": "string"},
						"message": map[string]any{"type": "string"},
						"target":  map[string]any{"type": "string"},
					},
				}},
			}},
		},
	}
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.Split(rt.Pattern, "/") {
		part = strings.Trim(part, "{}.$")
		if part == "" || part == "admin" || part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
