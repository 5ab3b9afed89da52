package events_test

import (
	"strings"
	"testing"

	"junction/internal/events"
	"junction/internal/outbound"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestWebhookTargetsDialThroughThePolicy: the validation handshake (and so
// every delivery) of a webhook to a metadata address fails on the dial, in
// every address form, and private targets fail when the policy denies them.
func TestWebhookTargetsDialThroughThePolicy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		opts := fastOptions()
		opts.Outbound = &outbound.Policy{DenyPrivate: true}
		b := setup(t, st, opts)
		b.topic("outbound", events.SchemaEventGrid)
		loopback := newReceiver(t, "accept", nil)
		cases := []struct{ name, url, schema, refused string }{
			{"aws-metadata", "http://169.254.169.254/latest/meta-data/", events.SchemaEventGrid, "169.254.169.254 refused"},
			{"aws-ipv6-metadata", "http://[fd00:ec2::254]/latest/meta-data/", events.SchemaEventGrid, "refused"},
			{"mapped-metadata", "http://[::ffff:169.254.169.254]/", events.SchemaCloudEvents, "169.254.169.254 refused"},
			{"alibaba-metadata", "http://100.100.100.200/latest/meta-data/", events.SchemaCloudEvents, "100.100.100.200 refused"},
			{"loopback-denied", loopback.URL, events.SchemaEventGrid, "127.0.0.1 refused"},
		}
		for _, c := range cases {
			b.subscribe("outbound", c.name, map[string]any{"destination": webhook(c.url, nil), "eventDeliverySchema": c.schema})
		}
		for _, c := range cases {
			m := b.waitState("outbound", c.name, events.StateFailed)
			detail, _ := m["properties"].(map[string]any)["provisioningStateDetail"].(string)
			if !strings.Contains(detail, "outbound connection to") || !strings.Contains(detail, c.refused) {
				t.Errorf("%s: %q, want a refusal of %q", c.name, detail, c.refused)
			}
		}
		loopback.mu.Lock()
		n := len(loopback.got)
		loopback.mu.Unlock()
		if n != 0 {
			t.Errorf("the denied loopback receiver got %d requests", n)
		}
	})
}
