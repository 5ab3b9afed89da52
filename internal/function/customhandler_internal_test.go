package function

import (
	"encoding/json"
	"testing"
	"time"
)

// TestCustomMetadata: Service Bus trigger metadata reaches a custom handler
// as the Azure host sends it, so that handlers written against Azure (which
// decode Metadata values as strings holding JSON) read it unchanged.
func TestCustomMetadata(t *testing.T) {
	t.Parallel()
	m := &Message{ID: "m-1", DeliveryCount: 1, ContentType: "application/json", EnqueuedTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Properties: map[string]any{"tenant": "a"}}
	got := customMetadata(messageData(m))
	raw, _ := json.Marshal(got)
	var typed struct {
		DeliveryCount  string
		MessageId      string
		UserProperties map[string]any
	}
	if err := json.Unmarshal(raw, &typed); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	tests := []struct{ name, got, want string }{
		{"DeliveryCount", typed.DeliveryCount, "1"},
		{"MessageId", typed.MessageId, `"m-1"`},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if typed.UserProperties["tenant"] != "a" {
		t.Errorf("UserProperties = %v", typed.UserProperties)
	}
}
