package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/connectortest"
	"junction/internal/connector/openapi"
)

const petsV3 = `
openapi: 3.0.3
info: {title: Pet Store, description: A test API}
servers: [{url: "{base}/v1", variables: {base: {default: "http://unused"}}}]
security: [{key: []}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  parameters:
    PetId: {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: kind, in: query, schema: {type: string, enum: [cat, dog]}}
    post:
      operationId: createPet
      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}
  /pets/{petId}:
    get:
      operationId: getPet
      parameters: [{$ref: "#/components/parameters/PetId"}, {name: X-Trace, in: header, schema: {type: string}}]
  /health:
    get: {operationId: health, security: []}
`

const petsV2 = `{
  "swagger": "2.0", "info": {"title": "Pets v2"}, "host": "unused", "basePath": "/v1", "schemes": ["http"],
  "securityDefinitions": {"basic": {"type": "basic"}, "cc": {"type": "oauth2", "flow": "application", "tokenUrl": "TOKEN"}},
  "paths": {
    "/pets/{petId}": {"get": {"operationId": "getPet", "security": [{"basic": []}],
      "parameters": [{"name": "petId", "in": "path", "required": true, "type": "integer"}]}},
    "/pets": {"post": {"operationId": "createPet", "security": [{"cc": []}],
      "parameters": [{"name": "pet", "in": "body", "required": true, "schema": {"type": "object"}}]}}
  }
}`

func testAPI(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	echo := func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		var body any
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "key": r.Header.Get("X-Api-Key"),
			"trace": r.Header.Get("X-Trace"), "user": user + ":" + pw, "auth": r.Header.Get("Authorization"), "body": body})
	}
	mux.HandleFunc("/v1/", echo)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("client_secret") != "cs" {
			http.Error(w, "bad client", 401)
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"cc-token","expires_in":60}`))
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestOpenAPI3(t *testing.T) {
	t.Parallel()
	s := testAPI(t)
	c, err := openapi.Load("pets", []byte(petsV3), nil)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.Describe(t, c)
	if c.Title != "Pet Store" || len(c.Operations) != 4 {
		t.Fatalf("connector: %+v", c)
	}
	conn := map[string]any{"baseUrl": s.URL + "/v1", "apiKeyValue": "k-123"}
	out := connectortest.Invoke(t, c, conn, "getPet", map[string]any{"petId": 7.0, "X-Trace": "t1"}).(map[string]any)
	body := out["body"].(map[string]any)
	if body["path"] != "/v1/pets/7" || body["key"] != "k-123" || body["trace"] != "t1" || body["method"] != "GET" {
		t.Fatalf("getPet: %v", body)
	}
	out = connectortest.Invoke(t, c, conn, "listPets", map[string]any{"limit": 5.0, "kind": "cat"}).(map[string]any)
	if q := out["body"].(map[string]any)["query"]; q != "kind=cat&limit=5" {
		t.Fatalf("listPets query: %v", q)
	}
	out = connectortest.Invoke(t, c, conn, "createPet", map[string]any{"body": map[string]any{"name": "Rex"}}).(map[string]any)
	if b := out["body"].(map[string]any); b["method"] != "POST" || b["body"].(map[string]any)["name"] != "Rex" {
		t.Fatalf("createPet: %v", b)
	}
	// security: [] means no credentials are sent.
	out = connectortest.Invoke(t, c, conn, "health", nil).(map[string]any)
	if out["body"].(map[string]any)["key"] != "" {
		t.Fatalf("health sent a key: %v", out)
	}
	for _, tc := range []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"getPet", map[string]any{}, "petId (path) is required"},
		{"getPet", map[string]any{"petId": "seven"}, "petId must be an integer"},
		{"getPet", map[string]any{"petId": 0.0}, "at least 1"},
		{"listPets", map[string]any{"limit": 500.0}, "at most 100"},
		{"listPets", map[string]any{"kind": "bird"}, "one of"},
		{"listPets", map[string]any{"color": "red"}, "not a parameter"},
		{"createPet", map[string]any{}, "body is required"},
	} {
		ce := connectortest.Fails(t, c, conn, tc.op, tc.in, false)
		if ce.Status != 400 || !strings.Contains(ce.Error(), tc.want) {
			t.Errorf("%s %v: %v, want %q", tc.op, tc.in, ce, tc.want)
		}
	}
	ce := connectortest.Fails(t, c, map[string]any{"baseUrl": s.URL + "/v1"}, "getPet", map[string]any{"petId": 1.0}, false)
	if !strings.Contains(ce.Error(), "security schemes") {
		t.Fatalf("no credentials: %v", ce)
	}
	connectortest.Fails(t, c, map[string]any{"baseUrl": "http://127.0.0.1:1/v1", "apiKeyValue": "k"}, "getPet", map[string]any{"petId": 1.0}, true)
}

func TestSwagger2(t *testing.T) {
	t.Parallel()
	s := testAPI(t)
	c, err := openapi.Load("pets2", []byte(strings.ReplaceAll(petsV2, "TOKEN", s.URL+"/token")), nil)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.Describe(t, c)
	conn := map[string]any{"baseUrl": s.URL + "/v1", "username": "u", "password": "p", "clientId": "ci", "clientSecret": "cs"}
	out := connectortest.Invoke(t, c, conn, "getPet", map[string]any{"petId": 3.0}).(map[string]any)
	if b := out["body"].(map[string]any); b["user"] != "u:p" || b["path"] != "/v1/pets/3" {
		t.Fatalf("basic: %v", b)
	}
	out = connectortest.Invoke(t, c, conn, "createPet", map[string]any{"body": []any{1.0}}).(map[string]any)
	if b := out["body"].(map[string]any); b["auth"] != "Bearer cc-token" {
		t.Fatalf("client credentials: %v", b)
	}
	bad := map[string]any{"baseUrl": s.URL + "/v1", "clientId": "ci", "clientSecret": "wrong"}
	connectortest.Fails(t, c, bad, "createPet", map[string]any{"body": 1.0}, false)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "[]", `{"openapi": "2.5"}`, `{"swagger": "2.0", "paths": {}}`,
		`{"openapi": "3.0.0", "paths": {"/a": {"get": {"operationId": "x y"}}}}`,
		`{"openapi": "3.0.0", "paths": {"/a": {"get": {"operationId": "x", "parameters": [{"name": "id", "in": "path"}]}}}}`} {
		if _, err := openapi.Load("bad", []byte(doc), nil); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}

const ordersPaged = `{"swagger": "2.0", "info": {"title": "Paged"}, "host": "h", "paths": {
  "/a": {"get": {"operationId": "a", "x-ms-pageable": {"nextLinkName": "nextLink", "itemName": "items"}}},
  "/b": {"get": {"operationId": "b", "x-ms-pageable": {"nextLinkName": null}}}}}`

func FuzzLoad(f *testing.F) {
	f.Add([]byte(petsV3))
	f.Add([]byte(petsV2))
	f.Add([]byte(ordersPaged))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := openapi.Load("fuzz", doc, nil)
		if err != nil {
			return
		}
		for _, op := range c.Operations {
			_ = op.Inputs
			if op.Paging != nil && (op.Paging.NextLinkName == "" || op.Paging.Next == nil || op.Paging.Items() == "") {
				t.Fatalf("operation %s pages without a next link name: %+v", op.ID, op.Paging)
			}
		}
	})
}

// x-ms-pageable (AutoRest docs/extensions "x-ms-pageable", which Power
// Platform custom connectors use): nextLinkName names the next page's link,
// itemName the items ("value" by default); a null nextLinkName means one
// page. The next page is read with the connection's credentials, and only
// from the API's own host.
func TestPageable(t *testing.T) {
	t.Parallel()
	s := testAPI(t)
	doc := `{"swagger": "2.0", "info": {"title": "Paged"}, "host": "unused", "basePath": "/v1", "schemes": ["http"],
	  "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}, "security": [{"key": []}],
	  "paths": {
	    "/a": {"get": {"operationId": "plain"}},
	    "/b": {"get": {"operationId": "paged", "x-ms-pageable": {"nextLinkName": "@odata.nextLink", "itemName": "items"}}},
	    "/c": {"get": {"operationId": "onePage", "x-ms-pageable": {"nextLinkName": null, "itemName": "values"}}},
	    "/d": {"get": {"operationId": "defaults", "x-ms-pageable": {"nextLinkName": "nextLink"}}}}}`
	c, err := openapi.Load("paged", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.Describe(t, c)
	want := map[string]string{"plain": "", "paged": "@odata.nextLink items", "onePage": "", "defaults": "nextLink value"}
	for _, op := range c.Operations {
		got := ""
		if op.Paging != nil {
			got = op.Paging.NextLinkName + " " + op.Paging.Items()
		}
		if got != want[op.ID] || !op.Response {
			t.Errorf("%s: paging %q, want %q (response %v)", op.ID, got, want[op.ID], op.Response)
		}
	}
	paged, _ := c.Op("paged")
	conn := connector.Connection{Name: "p", Connector: "paged", Values: map[string]any{"baseUrl": s.URL + "/v1", "apiKeyValue": "k-9"}}
	for _, link := range []string{s.URL + "/v1/b?page=2", "/v1/b?page=2"} {
		out, err := paged.Paging.Next(context.Background(), conn, link)
		if err != nil {
			t.Fatal(err)
		}
		b := out.(map[string]any)["body"].(map[string]any)
		if b["method"] != "GET" || b["path"] != "/v1/b" || b["query"] != "page=2" || b["key"] != "k-9" {
			t.Errorf("next page %s: %v", link, b)
		}
	}
	if _, err := paged.Paging.Next(context.Background(), conn, "http://192.0.2.1/v1/b?page=2"); err == nil || !strings.Contains(err.Error(), "not to the API at") {
		t.Errorf("a link to another host: %v", err)
	}
}
