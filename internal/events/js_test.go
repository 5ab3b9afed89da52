package events_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/events"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// requireJS skips (or fails under CI) when node or the npm packages are missing.
func requireJS(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "js"))
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "@azure", "eventgrid"))
	if errNode != nil || errMod != nil {
		msg := "SKIPPING: node or the npm packages are missing; run scripts/deps/events.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func runNode(t *testing.T, dir string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestAzureSDKAndCloudEventsSDK publishes with @azure/eventgrid (Event Grid
// schema with a key and a SAS token, CloudEvents schema) and parses the
// CloudEvents deliveries with the cloudevents SDK.
func TestAzureSDKAndCloudEventsSDK(t *testing.T) {
	t.Parallel()
	dir := requireJS(t)
	storetest.Each(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, fastOptions())
		egKey, _ := b.topic("sdk-eg", events.SchemaEventGrid)
		ceKey, _ := b.topic("sdk-ce", events.SchemaCloudEvents)
		egRecv := newReceiver(t, "accept", nil)
		ceRecv := newReceiver(t, "accept", nil)
		ceBatch := newReceiver(t, "accept", nil)
		// Event Grid events, filtered, delivered as CloudEvents.
		b.subscribe("sdk-eg", "big", map[string]any{"destination": webhook(egRecv.URL, nil), "eventDeliverySchema": events.SchemaCloudEvents,
			"filter": map[string]any{"advancedFilters": []any{map[string]any{"operatorType": "NumberGreaterThan", "key": "data.amount", "value": 1000}}}})
		b.subscribe("sdk-ce", "all", map[string]any{"destination": webhook(ceRecv.URL, nil)})
		b.subscribe("sdk-ce", "batch", map[string]any{"destination": webhook(ceBatch.URL, map[string]any{"maxEventsPerBatch": 10})})
		for _, s := range [][2]string{{"sdk-eg", "big"}, {"sdk-ce", "all"}, {"sdk-ce", "batch"}} {
			b.waitState(s[0], s[1], events.StateSucceeded)
		}
		cfg, _ := json.Marshal(map[string]string{
			"egEndpoint": b.url + "/eventgrid/topics/sdk-eg/api/events", "egKey": egKey,
			"ceEndpoint": b.url + "/eventgrid/topics/sdk-ce/api/events", "ceKey": ceKey,
		})
		out := runNode(t, dir, nil, "publish.cjs", string(cfg))
		if !strings.Contains(string(out), `"badKey":401`) {
			t.Fatalf("a wrong key was not refused with 401: %s", out)
		}
		waitFor(t, "Event Grid deliveries", func() bool { return len(egRecv.notifications()) == 2 })
		waitFor(t, "CloudEvents deliveries", func() bool { return len(ceRecv.notifications()) == 2 })
		waitFor(t, "CloudEvents batch deliveries", func() bool { return countEvents(ceBatch) == 2 })
		var msgs []map[string]any
		for _, rc := range []*receiver{egRecv, ceRecv, ceBatch} {
			for _, d := range rc.notifications() {
				h := map[string]string{}
				for k := range d.Header {
					h[strings.ToLower(k)] = d.Header.Get(k)
				}
				msgs = append(msgs, map[string]any{"headers": h, "body": string(d.Body)})
			}
		}
		in, _ := json.Marshal(msgs)
		var parsed []struct {
			ID, Type, Source, Subject string
			Data                      any
		}
		if err := json.Unmarshal(runNode(t, dir, in, "parse.cjs"), &parsed); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int{}
		for _, p := range parsed {
			ids[p.ID]++
			if p.ID == "eg-1" && (p.Source != "/eventgrid/topics/sdk-eg" || p.Subject != "/grants/1" || p.Type != "Grant.Approved" ||
				p.Data.(map[string]any)["amount"] != float64(1200)) {
				t.Errorf("eg-1 parsed as %+v", p)
			}
			if p.ID == "ce-1" && (p.Source != "/finance" || p.Data.(map[string]any)["amount"] != float64(7)) {
				t.Errorf("ce-1 parsed as %+v", p)
			}
		}
		// eg-2 is filtered out (amount 10); each CloudEvent reaches both subscriptions.
		want := map[string]int{"eg-1": 1, "eg-3": 1, "ce-1": 2, "ce-2": 2}
		for id, n := range want {
			if ids[id] != n {
				t.Errorf("%s parsed %d times, want %d (all: %v)", id, ids[id], n, ids)
			}
		}
		if len(ids) != len(want) {
			t.Errorf("parsed %v, want %v", ids, want)
		}
	})
}
