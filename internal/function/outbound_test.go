package function_test

import (
	"strings"
	"testing"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestEventGridOutputRefusesMetadataAddresses: an eventGrid output binding
// whose topic endpoint is a cloud metadata address fails on the dial, with
// the refusal in the invocation's error.
func TestEventGridOutputRefusesMetadataAddresses(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{"http://169.254.169.254/api/events", "http://[::ffff:a9fe:a9fe]/api/events"} {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			settings := map[string]string{"TOPIC_URL": endpoint, "TOPIC_KEY": "topic-key"}
			files := map[string]string{
				"functions/host.json": `{"version": "2.0"}`,
				"functions/relay/function.json": `{"bindings": [
					{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
					{"type": "eventGrid", "direction": "out", "name": "out", "topicEndpointUri": "TOPIC_URL", "topicKeySetting": "TOPIC_KEY"},
					{"type": "http", "direction": "out", "name": "res"}]}`,
				"functions/relay/index.js": `module.exports = async function (context) { context.bindings.out = [{subject: "s", eventType: "T", data: {}}]; };`,
			}
			b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{Getenv: func(k string) string { return settings[k] }})
			if r := b.do("POST", "/api/relay", map[string]any{}); r.status != 500 {
				t.Fatalf("invoke: %d %s", r.status, r.body)
			}
			invs := b.invocations("relay")
			if len(invs) != 1 || invs[0].Status != function.StatusFailed || !strings.Contains(invs[0].Error, "outbound connection to 169.254.169.254 refused") {
				t.Fatalf("history: %+v", invs)
			}
		})
	}
}
