package bridge_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"junction/internal/store"
)

// TestAzureSDKPublishes: Azure's Go publisher client, unchanged, publishes to
// Junction's topics in both schemas with a topic key; a subscription hands
// the events to a queue, where they arrive intact.
func TestAzureSDKPublishes(t *testing.T) {
	t.Parallel()
	j := start(t, store.SQLite)
	ctx := context.Background()
	j.call("PUT", "/admin/v1/servicebus/queues/sdk-events", map[string]any{"properties": map[string]any{}}, 201)
	// The SDK sends keys only over TLS: put a TLS-terminating proxy in front,
	// as a deployment would.
	target, _ := url.Parse(j.base)
	tlsFront := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(tlsFront.Close)
	opts := &azeventgrid.ClientOptions{ClientOptions: policy.ClientOptions{Transport: tlsFront.Client()}}
	for _, c := range []struct{ topic, schema string }{{"sdk-eg", "EventGridSchema"}, {"sdk-ce", "CloudEventSchemaV1_0"}} {
		j.call("PUT", "/admin/v1/eventgrid/topics/"+c.topic, map[string]any{"properties": map[string]any{"inputSchema": c.schema}}, 201)
		j.call("PUT", "/admin/v1/eventgrid/topics/"+c.topic+"/eventSubscriptions/to-queue", map[string]any{"properties": map[string]any{
			"destination": map[string]any{"endpointType": "ServiceBusQueue", "properties": map[string]any{"resourceId": "sdk-events"}}}}, 201)
	}
	key := func(topic string) *azcore.KeyCredential {
		keys := j.call("POST", "/admin/v1/eventgrid/topics/"+topic+"/listKeys", nil, 200)
		return azcore.NewKeyCredential(keys["key1"].(string))
	}

	eg, err := azeventgrid.NewClientWithSharedKeyCredential(tlsFront.URL+"/eventgrid/topics/sdk-eg/api/events", key("sdk-eg"), opts)
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	now := time.Now().UTC()
	if _, err := eg.PublishEvents(ctx, []azeventgrid.Event{{ID: str("sdk-1"), Subject: str("/accounts/1"), EventType: str("Account.Changed"),
		DataVersion: str("1.0"), EventTime: &now, Data: map[string]any{"name": "Contoso"}}}, nil); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	ce, err := azeventgrid.NewClientWithSharedKeyCredential(tlsFront.URL+"/eventgrid/topics/sdk-ce/api/events", key("sdk-ce"), opts)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := messaging.NewCloudEvent("/crm/accounts", "Account.Changed", map[string]any{"name": "Fabrikam"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = "sdk-2"
	if _, err := ce.PublishCloudEvents(ctx, []messaging.CloudEvent{ev}, nil); err != nil {
		t.Fatalf("PublishCloudEvents: %v", err)
	}
	bad, _ := azeventgrid.NewClientWithSharedKeyCredential(tlsFront.URL+"/eventgrid/topics/sdk-eg/api/events", azcore.NewKeyCredential("d3Jvbmc="), opts)
	if _, err := bad.PublishEvents(ctx, []azeventgrid.Event{{ID: str("x"), Subject: str("/x"), EventType: str("X"), DataVersion: str("1"), EventTime: &now, Data: 1}}, nil); err == nil {
		t.Fatal("a wrong key was accepted")
	}

	got := map[string]string{}
	for range 2 {
		m := j.receive("sdk-events")
		var body map[string]any
		json.Unmarshal(m.Body, &body)
		data, _ := body["data"].(map[string]any)
		name, _ := data["name"].(string)
		got[m.MessageID] = name
	}
	if got["sdk-1"] != "Contoso" || got["sdk-2"] != "Fabrikam" {
		t.Fatalf("delivered: %v", got)
	}
}
