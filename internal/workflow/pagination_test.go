package workflow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/dataverse"
	"junction/internal/connector/openapi"
)

// pagedAPI is a real HTTP server that answers a list in pages of two, as an
// API with x-ms-pageable and the Dataverse Web API do, and keeps the
// credentials each page was asked with.
type pagedAPI struct {
	srv   *httptest.Server
	items int
	mu    sync.Mutex
	keys  []string
}

func newPagedAPI(t *testing.T, items int) *pagedAPI {
	p := &pagedAPI{items: items}
	page := func(w http.ResponseWriter, r *http.Request, linkName string, items func(from, to int) []any) {
		p.mu.Lock()
		p.keys = append(p.keys, r.Header.Get("X-Api-Key")+r.Header.Get("Authorization"))
		p.mu.Unlock()
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		from, to := n*2, min(n*2+2, p.items)
		body := map[string]any{"value": items(from, to), "kind": r.URL.Query().Get("kind")}
		if to < p.items {
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(n+1))
			body[linkName] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, "nextLink", func(from, to int) []any {
			var out []any
			for i := from; i < to; i++ {
				out = append(out, map[string]any{"id": i + 1})
			}
			return out
		})
	})
	mux.HandleFunc("GET /api/data/v9.2/accounts", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, "@odata.nextLink", func(from, to int) []any {
			var out []any
			for i := from; i < to; i++ {
				out = append(out, map[string]any{"accountid": fmt.Sprintf("a-%d", i+1), "name": fmt.Sprintf("Account %d", i+1)})
			}
			return out
		})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// ordersAPI is a custom connector's OpenAPI document whose list operation
// pages (x-ms-pageable with nextLinkName), as Power Platform custom connectors
// declare it.
const ordersAPI = `{
  "swagger": "2.0", "info": {"title": "Orders", "version": "1"}, "host": "unused", "basePath": "/v1", "schemes": ["http"],
  "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
  "security": [{"key": []}],
  "paths": {"/orders": {"get": {"operationId": "ListOrders", "x-ms-pageable": {"nextLinkName": "nextLink"},
    "parameters": [{"name": "kind", "in": "query", "type": "string"}]}}}
}`

// Microsoft Learn, "Get more data, items, or records by using pagination in
// Azure Logic Apps" (logic-apps-exceed-default-page-size-with-pagination):
// a connector action returns one page; with
// runtimeConfiguration.paginationPolicy.minimumItemCount it reads whole pages
// until it has at least that many items (so it may return more), or all of
// them when there are fewer. Custom connectors say how they page with
// x-ms-pageable (AutoRest docs/extensions "x-ms-pageable": nextLinkName,
// itemName defaulting to "value"); Dataverse's "List rows" pages with
// @odata.nextLink.
func TestConnectorPagination(t *testing.T) {
	t.Parallel()
	api := newPagedAPI(t, 7)
	orders, err := openapi.Load("orders", []byte(ordersAPI), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry()
	for _, c := range []*connector.Connector{orders, dataverse.New(func() (string, string) { return api.srv.URL, "local-token" }, api.srv.Client(), nil)} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t, nil, func(o *Config) { o.Connectors = reg })
	proj := Project{Connections: map[string]connector.Connection{
		"orders":                          {Name: "orders", Connector: "orders", Values: map[string]any{"baseUrl": api.srv.URL + "/v1", "apiKeyValue": "k1"}},
		"shared_commondataserviceforapps": {Name: "shared_commondataserviceforapps", Connector: "dataverse"},
	}}
	deploy := func(name, actions string) *Loaded {
		f, err := ParseFile([]byte(def(actions)))
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.e.Compile(name, f, proj)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	policy := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf(`,"runtimeConfiguration":{"paginationPolicy":{"minimumItemCount":%d}}`, n)
	}
	t.Run("custom connector", func(t *testing.T) {
		cases := []struct {
			min       int
			ids       string
			nextPage  string // the page the kept next link leads to
			pagesRead int
		}{
			{0, `[1,2]`, "1", 1},
			{5, `[1,2,3,4,5,6]`, "3", 3},
			{100, `[1,2,3,4,5,6,7]`, "", 4},
		}
		for _, c := range cases {
			l := deploy("orders", `{"List":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"orders","operationId":"ListOrders","apiId":"/providers/Microsoft.PowerApps/apis/shared_orders"},
				"parameters":{"kind":"open"}}`+policy(c.min)+`},
				"Ids":{"type":"Select","inputs":{"from":"@body('List')?['value']","select":"@item()?['id']"},"runAfter":{"List":["Succeeded"]}},
				"Next":{"type":"Compose","inputs":"@body('List')?['nextLink']","runAfter":{"List":["Succeeded"]}}}`)
			api.mu.Lock()
			api.keys = nil
			api.mu.Unlock()
			r := b.run(t, l, nil)
			list := rec(r, "List")
			if r.Status != StatusSucceeded || list == nil {
				t.Fatalf("min %d: %s %v", c.min, r.Status, paths(r))
			}
			out := list.Outputs.(map[string]any)
			ids := jsonOf(rec(r, "Ids").Outputs.(map[string]any)["body"])
			if out["statusCode"] != int64(200) || ids != c.ids {
				t.Errorf("min %d: ids %s, outputs %s", c.min, ids, jsonOf(out))
			}
			if body := out["body"].(map[string]any); body["kind"] != "open" {
				t.Errorf("min %d: the first page's other properties are lost: %s", c.min, jsonOf(body))
			}
			next, _ := rec(r, "Next").Outputs.(string)
			if (c.nextPage == "") != (next == "") || (next != "" && !strings.HasSuffix(next, "page="+c.nextPage)) {
				t.Errorf("min %d: next link %q, want page %q", c.min, next, c.nextPage)
			}
			api.mu.Lock()
			keys := api.keys
			api.mu.Unlock()
			if len(keys) != c.pagesRead {
				t.Errorf("min %d: %d pages read, want %d", c.min, len(keys), c.pagesRead)
			}
			for _, k := range keys {
				if k != "k1" {
					t.Errorf("min %d: a page was asked with key %q", c.min, k)
				}
			}
		}
	})
	t.Run("dataverse list rows", func(t *testing.T) {
		l := deploy("rows", `{"List_rows":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"shared_commondataserviceforapps","operationId":"ListRecords","apiId":"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
			"parameters":{"entityName":"accounts","$select":"name"}}`+policy(3)+`},
			"Names":{"type":"Select","inputs":{"from":"@outputs('List_rows')?['body/value']","select":"@item()?['name']"},"runAfter":{"List_rows":["Succeeded"]}},
			"One_page":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"shared_commondataserviceforapps","operationId":"ListRecords","apiId":"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
			"parameters":{"entityName":"accounts"}}}}`)
		r := b.run(t, l, nil)
		if r.Status != StatusSucceeded {
			t.Fatalf("%s %v %s", r.Status, paths(r), jsonOf(r.Error))
		}
		if got := jsonOf(rec(r, "Names").Outputs.(map[string]any)["body"]); got != `["Account 1","Account 2","Account 3","Account 4"]` {
			t.Errorf("names %s", got)
		}
		body := rec(r, "List_rows").Outputs.(map[string]any)["body"].(map[string]any)
		if link, _ := body["@odata.nextLink"].(string); !strings.HasSuffix(link, "page=2") {
			t.Errorf("the next unread page's link: %s", jsonOf(body))
		}
		one := rec(r, "One_page").Outputs.(map[string]any)["body"].(map[string]any)
		if n := len(one["value"].([]any)); n != 2 || one["@odata.nextLink"] == nil {
			t.Errorf("without a policy, one page: %s", jsonOf(one))
		}
	})
	t.Run("a next link to another host", func(t *testing.T) {
		// The credentials go to the API they were given for only.
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"value":[1],"nextLink":"%s/v1/orders?page=1"}`, api.srv.URL)
		}))
		t.Cleanup(other.Close)
		p := proj
		p.Connections = map[string]connector.Connection{"orders": {Name: "orders", Connector: "orders", Values: map[string]any{"baseUrl": other.URL + "/v1", "apiKeyValue": "k2"}}}
		f, _ := ParseFile([]byte(def(`{"List":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"orders","operationId":"ListOrders","apiId":"shared_orders"}}` + policy(10) + `}}`)))
		l, err := b.e.Compile("foreign", f, p)
		if err != nil {
			t.Fatal(err)
		}
		r := b.run(t, l, nil)
		list := rec(r, "List")
		if r.Status != StatusFailed || list.Code != "BadRequest" || !strings.Contains(jsonOf(list.Error), "not to the API at") {
			t.Fatalf("%s %s", r.Status, jsonOf(list))
		}
	})
}
