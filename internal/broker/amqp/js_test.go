package amqp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/store"
)

// requireJS skips (or fails under CI) when node or @azure/service-bus is
// missing.
func requireJS(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "js"))
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "@azure", "service-bus"))
	if errNode != nil || errMod != nil {
		msg := "SKIPPING: node or @azure/service-bus is missing; run scripts/deps/amqp.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// TestJavaScriptSDK drives the listener with @azure/service-bus through a
// connection string from listKeys (testdata/js/sb.cjs).
func TestJavaScriptSDK(t *testing.T) {
	t.Parallel()
	dir := requireJS(t)
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "js-q", map[string]any{"maxDeliveryCount": 5})
		b.queue(t, "js-sessions", map[string]any{"requiresSession": true})
		apptestPut(t, b, "/topics/js-t", 201)
		apptestPut(t, b, "/topics/js-t/subscriptions/js-s", 201)
		bad := b.cs[:strings.Index(b.cs, "SharedAccessKey=")] + "SharedAccessKey=wrong;UseDevelopmentEmulator=true"
		cfg, _ := json.Marshal(map[string]string{"cs": b.cs, "badCs": bad})
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "sb.cjs", string(cfg))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SB_TRACE=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		// The JavaScript SDK reports the header's delivery count (earlier
		// deliveries), the Go SDK that count + 1.
		var res struct {
			Peeked    int
			Renewed   bool
			Abandoned struct {
				ID            string
				DeliveryCount int
				Tries         int
			}
			Deferred                  string
			Dead                      struct{ ID, Reason, Description string }
			Scheduled                 string
			Streamed                  []string
			SessionA                  []string
			SessionState, NextSession string
			Rules                     []string
			Topic                     struct {
				Body string
				Big  int
			}
			BadKey string
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		checks := []struct {
			what string
			ok   bool
		}{
			{"peek", res.Peeked == 5},
			{"renew", res.Renewed},
			{"abandon", res.Abandoned.ID == "id-2" && res.Abandoned.DeliveryCount == 1 && res.Abandoned.Tries == 1},
			{"defer", res.Deferred == "m4"},
			{"dead-letter", res.Dead.ID == "id-3" && res.Dead.Reason == "bad" && res.Dead.Description == "unparseable"},
			{"schedule", res.Scheduled == "soon"},
			{"subscribe", strings.Join(res.Streamed, ",") == "s1,s2"},
			{"session FIFO", strings.Join(res.SessionA, ",") == "a1,a2"},
			{"session state", res.SessionState == "checkpoint"},
			{"next session", res.NextSession == "b"},
			{"rules", strings.Join(res.Rules, ",") == "big:amount > 10"},
			{"topic filter and action", res.Topic.Body == "large" && res.Topic.Big == 1},
			{"wrong key", res.BadKey == "UnauthorizedAccess"},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("%s: %s", c.what, out)
			}
		}
	})
}
