package webapi_test

import (
	"context"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestRestartKeepsTablesAndCounters reopens the same store: table
// definitions, added columns, rows and auto-number counters survive.
func TestRestartKeepsTablesAndCounters(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			cfg := app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: adminKey}
			if d == store.Postgres {
				cfg.Store = storetest.RequirePostgres(t)
				cfg.PostgresSchema = storetest.NewSchema(t)
			}
			run := func(fn func(b *bundle)) {
				a, err := app.New(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				addr, err := a.Start(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer a.Stop(context.Background())
				u := "http://" + addr.String()
				fn(&bundle{t: t, app: a, url: u, base: u + "/api/data/v9.2/"})
			}
			run(func(b *bundle) {
				b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='incident')/Attributes",
					map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Channel", "MaxLength": 30}), 204)
				m := b.mustStatus(b.do("POST", "new_CreateCase", map[string]any{"Title": "One", "CustomerEmail": "a@example.com"}), 200).json(t)
				if !strings.HasPrefix(m["TicketNumber"].(string), "CAS-01001-") {
					t.Fatalf("first ticket %v", m)
				}
			})
			run(func(b *bundle) {
				m := b.mustStatus(b.do("POST", "new_CreateCase", map[string]any{"Title": "Two", "CustomerEmail": "a@example.com"}), 200).json(t)
				if !strings.HasPrefix(m["TicketNumber"].(string), "CAS-01002-") {
					t.Fatalf("ticket after restart %v", m)
				}
				b.mustStatus(b.do("PATCH", "incidents("+m["IncidentId"].(string)+")", map[string]any{"new_channel": "phone"}, "If-Match", "*"), 204)
				if c := b.mustStatus(b.do("GET", "contacts/$count", nil), 200); string(c.body) != "1" {
					t.Fatalf("contacts after restart: %s", c.body)
				}
			})
		})
	}
}
