package bridge_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// writeProject lays out a project folder from path → content.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFunctionTriggeredByAQueue: a serviceBusTrigger function in inline
// JavaScript enriches each message of a queue and sends it on through its
// serviceBus output binding; a message it throws on is abandoned until the
// broker dead-letters it.
func TestFunctionTriggeredByAQueue(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [
			{"Name": "orders-in", "Properties": {"MaxDeliveryCount": 2, "LockDuration": "PT5S"}},
			{"Name": "orders-out", "Properties": {}}]}], "Logging": {"Type": "File"}}}`,
		"functions/host.json": `{"version": "2.0"}`,
		"functions/enrich/function.json": `{"bindings": [
			{"type": "serviceBusTrigger", "direction": "in", "name": "order", "queueName": "orders-in", "connection": "ServiceBus"},
			{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "orders-out", "connection": "ServiceBus"}]}`,
		"functions/enrich/index.js": `module.exports = async function (context, order) {
			if (!order.sku) throw new Error("order " + order.id + " has no sku");
			context.log("enriching", order.id);
			context.bindings.out = { id: order.id, sku: order.sku.toUpperCase(), enriched: true };
		};`,
	})
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			cfg := app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: "k", Project: dir}
			if d == store.Postgres {
				cfg.Store, cfg.PostgresSchema = storetest.RequirePostgres(t), storetest.NewSchema(t)
			}
			a, err := app.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			addr, err := a.Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Stop(context.Background()) })
			j := &junction{t: t, a: a, base: "http://" + addr.String()}
			b := j.broker()
			ctx := context.Background()
			if _, err := b.Send(ctx, "orders-in", broker.Message{MessageID: "o-1", ContentType: "application/json", Body: []byte(`{"id":1,"sku":"ab-12"}`)},
				broker.Message{MessageID: "o-2", ContentType: "application/json", Body: []byte(`{"id":2}`)}); err != nil {
				t.Fatal(err)
			}
			m := j.receive("orders-out")
			var out map[string]any
			json.Unmarshal(m.Body, &out)
			if out["sku"] != "AB-12" || out["enriched"] != true {
				t.Fatalf("enriched message: %s", m.Body)
			}
			// The poison message is retried, then dead-lettered by the broker.
			deadline := time.Now().Add(60 * time.Second)
			for {
				c, _ := b.Counts(ctx, "orders-in")
				if c.DeadLetter == 1 && c.Active == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("poison message not dead-lettered: %+v", c)
				}
				time.Sleep(200 * time.Millisecond)
			}
			inv := j.call("GET", "/admin/v1/functions/enrich/invocations", nil, 200)
			if n := len(inv["value"].([]any)); n < 3 {
				t.Fatalf("invocations: %d, want the success and two failures", n)
			}
		})
	}
}
