package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"junction/internal/app"
	"junction/internal/cli"
	"junction/internal/events"
)

// TestAppWiring runs the whole app: a project's eventgrid.yaml is loaded, and
// an event subscription delivers to a broker queue through the dispatcher the
// app registers.
func TestAppWiring(t *testing.T) {
	t.Parallel()
	proj := t.TempDir()
	rc := newReceiver(t, "accept", nil)
	yaml := `topics:
  - name: grants
    properties: {inputSchema: EventGridSchema}
    eventSubscriptions:
      - name: finance
        properties:
          destination: {endpointType: WebHook, properties: {endpointUrl: "` + rc.URL + `"}}
      - name: approvals
        properties:
          destination: {endpointType: ServiceBusQueue, properties: {resourceId: approvals}}
          eventDeliverySchema: CloudEventSchemaV1_0
`
	if err := os.WriteFile(filepath.Join(proj, events.ProjectFile), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: adminKey, Project: proj})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	base := "http://" + addr.String()
	call := func(method, path string, body any, hdr map[string]string) (int, []byte) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminKey)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	if s, out := call("PUT", "/admin/v1/servicebus/queues/approvals", map[string]any{}, nil); s != 201 && s != 200 {
		t.Fatalf("queue: %d %s", s, out)
	}
	if s, out := call("POST", "/eventgrid/topics/grants/api/events", []any{egEvent("g1", "Grant.Approved", "/grants/1", map[string]any{"amount": 5})}, nil); s != 200 {
		t.Fatalf("publish: %d %s", s, out)
	}
	waitFor(t, "webhook delivery", func() bool { return len(rc.notifications()) == 1 })
	var peek struct {
		Value []struct {
			MessageID  string         `json:"messageId"`
			Body       *string        `json:"body"`
			Properties map[string]any `json:"properties"`
		} `json:"value"`
	}
	waitFor(t, "queue delivery", func() bool {
		s, out := call("GET", "/admin/v1/servicebus/queues/approvals/messages", nil, nil)
		if s != 200 {
			t.Fatalf("peek: %d %s", s, out)
		}
		json.Unmarshal(out, &peek)
		return len(peek.Value) == 1
	})
	m := peek.Value[0]
	var ce map[string]any
	if m.Body == nil || json.Unmarshal([]byte(*m.Body), &ce) != nil || ce["id"] != "g1" || m.MessageID != "g1" {
		t.Fatalf("queue message %+v", m)
	}
	// The CLI publishes and lists through the same APIs.
	var stdout, stderr bytes.Buffer
	cio := cli.IO{Stdout: &stdout, Stderr: &stderr, Env: func(string) string { return "" }}
	if code := cli.Main(ctx, []string{"events", "publish", "--url", base, "--key", adminKey, "--topic", "grants",
		"--type", "Grant.Approved", "--subject", "/grants/2", "--data", `{"amount":9}`}, cio); code != 0 {
		t.Fatalf("junction events publish: %d %s", code, stderr.String())
	}
	waitFor(t, "CLI-published delivery", func() bool { return len(rc.notifications()) == 2 })
	if !bytes.Contains(rc.notifications()[1].Body, []byte(`"amount":9`)) {
		t.Fatalf("CLI event delivered as %s", rc.notifications()[1].Body)
	}
	stdout.Reset()
	if code := cli.Main(ctx, []string{"events", "topics", "--url", base, "--key", adminKey}, cio); code != 0 ||
		!bytes.Contains(stdout.Bytes(), []byte("grants")) || !bytes.Contains(stdout.Bytes(), []byte("records")) {
		t.Fatalf("junction events topics: %d %s %s", code, stdout.String(), stderr.String())
	}
	if code := cli.Main(ctx, []string{"events", "publish", "--url", base, "--key", "wrong", "--topic", "grants", "--type", "T"}, cio); code == 0 {
		t.Fatal("a wrong key published")
	}
	// The OpenAPI document lists the event grid operations.
	s, out := call("GET", "/admin/v1/openapi.json", nil, nil)
	if s != 200 || !bytes.Contains(out, []byte("/admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}")) {
		t.Fatalf("openapi: %d", s)
	}
}
