package dataverse_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"junction/internal/connector"
	"junction/internal/connector/connectortest"
	"junction/internal/connector/dataverse"
)

// Power Automate's Dataverse "List rows" (ListRecords) answers one page with
// @odata.nextLink when there are more rows (Microsoft Learn, "List rows from
// a table in Dataverse", pagination); the next page is read with the same
// token, from the same org only.
func TestListRecordsPages(t *testing.T) {
	t.Parallel()
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.URL.Path != "/api/data/v9.2/accounts" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("$skiptoken") == "" {
			_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"name": "A"}},
				"@odata.nextLink": "http://" + r.Host + "/api/data/v9.2/accounts?$select=name&$skiptoken=2"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"name": "B"}}})
	}))
	t.Cleanup(srv.Close)
	c := dataverse.New(func() (string, string) { return srv.URL, "tok" }, srv.Client(), nil)
	connectortest.Describe(t, c)
	out := connectortest.Invoke(t, c, nil, "ListRecords", map[string]any{"entityName": "accounts", "$select": "name"}).(map[string]any)
	link, _ := out["@odata.nextLink"].(string)
	if rows(out["value"]) != 1 || !strings.HasSuffix(link, "$skiptoken=2") {
		t.Fatalf("first page %v", out)
	}
	op, _ := c.Op("ListRecords")
	conn := connector.Connection{Name: "dv", Connector: dataverse.Name}
	page, err := op.Paging.Next(context.Background(), conn, link)
	if err != nil {
		t.Fatal(err)
	}
	if p := page.(map[string]any); rows(p["value"]) != 1 || p["@odata.nextLink"] != nil {
		t.Fatalf("last page %v", p)
	}
	for _, a := range auth {
		if a != "Bearer tok" {
			t.Errorf("a page was read with %q", a)
		}
	}
	_, err = op.Paging.Next(context.Background(), conn, "http://192.0.2.1/api/data/v9.2/accounts?$skiptoken=2")
	var ce *connector.Error
	if err == nil || !strings.Contains(err.Error(), "does not lead to the org") || !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("a link to another org: %v", err)
	}
}

// rows counts the rows of a page's value.
func rows(v any) int {
	data, _ := json.Marshal(v)
	var list []any
	_ = json.Unmarshal(data, &list)
	return len(list)
}
