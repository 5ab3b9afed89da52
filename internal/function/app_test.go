package function_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/function"
	"junction/internal/project"
)

// TestServedByJunction runs a function app through the whole binary's wiring.
func TestServedByJunction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, jsApp)
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: adminKey, Project: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	resp, err := http.Get("http://" + addr.String() + "/api/greet/Junction")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello, Junction") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", "http://"+addr.String()+"/admin/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "/admin/v1/functions/{name}/invocations") {
		t.Fatalf("openapi lacks the functions API: %d", resp.StatusCode)
	}
}

func TestValidateProject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no host.json", map[string]string{"functions/a/function.json": `{"bindings": []}`}, []string{"needs a host.json"}},
		{"unknown host field", map[string]string{"functions/host.json": `{"version": "2.0", "bogus": 1}`}, []string{`host.json:1:20: unknown key "bogus"`}},
		{"two triggers and bad types", map[string]string{
			"functions/host.json": `{"version": "2.0"}`,
			"functions/a/function.json": `{"bindings": [
				{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "sometimes", "methods": ["fetch"]},
				{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "* * *"},
				{"type": "blob", "direction": "in", "name": "b"}]}`,
			"functions/a/index.js": `module.exports = async () => {};`,
		}, []string{"authLevel", "method \"fetch\"", "schedule", "binding type \"blob\"", "exactly one trigger"}},
		{"missing code", map[string]string{
			"functions/host.json":       `{"version": "2.0"}`,
			"functions/a/function.json": `{"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "e"}]}`,
		}, []string{"cannot read the function's code"}},
		{"bad route and queue", map[string]string{
			"functions/host.json": `{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}, "functionTimeout": "soon"}`,
			"functions/a/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "route": "x/{*rest}/y"},
				{"type": "serviceBus", "direction": "out", "name": "o"}]}`,
			"functions/a/index.js": `module.exports = async () => {};`,
		}, []string{"routePrefix", "functionTimeout", "catch-all", "serviceBus output names either"}},
		{"duplicate route", map[string]string{
			"functions/host.json":       `{"version": "2.0"}`,
			"functions/a/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "route": "same/{id}"}]}`,
			"functions/a/index.js":      `module.exports = async () => {};`,
			"functions/b/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "route": "SAME/{other}"}]}`,
			"functions/b/index.js":      `module.exports = async () => {};`,
		}, []string{"already served by function \"a\""}},
		// The host.json samples of Microsoft Learn, "Azure Service Bus
		// bindings for Azure Functions" (host.json settings, extension 5.x
		// and 3.x/4.x).
		{"service bus settings 5.x", map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {
			"clientRetryOptions": {"mode": "exponential", "tryTimeout": "00:01:00", "delay": "00:00:00.80", "maxDelay": "00:01:00", "maxRetries": 3},
			"prefetchCount": 0, "transportType": "amqpWebSockets", "webProxy": "https://proxyserver:8080", "autoCompleteMessages": true,
			"maxAutoLockRenewalDuration": "00:05:00", "maxConcurrentCalls": 16, "maxConcurrentSessions": 8, "maxMessageBatchSize": 1000,
			"minMessageBatchSize": 1, "maxBatchWaitTime": "00:00:30", "sessionIdleTimeout": "00:01:00", "enableCrossEntityTransactions": false}}}`}, nil},
		{"service bus settings 3.x", map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {
			"prefetchCount": 100,
			"messageHandlerOptions": {"autoComplete": true, "maxConcurrentCalls": 32, "maxAutoRenewDuration": "00:05:00"},
			"sessionHandlerOptions": {"autoComplete": false, "messageWaitTimeout": "00:00:30", "maxAutoRenewDuration": "00:55:00", "maxConcurrentSessions": 16},
			"batchOptions": {"maxMessageCount": 1000, "operationTimeout": "00:01:00", "autoComplete": true}}}}`}, nil},
		{"service bus settings out of range", map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentCalls": -1}}}`},
			[]string{"extensions.serviceBus.maxConcurrentCalls -1: must be between 1 and 1000"}},
		{"service bus prefetch out of range", map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {"prefetchCount": 1000000}}}`},
			[]string{"prefetchCount 1000000"}},
		{"service bus unknown setting", map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentCall": 4}}}`},
			[]string{"extensions.serviceBus", "maxConcurrentCall"}},
		{"custom handler needs no js", map[string]string{
			"functions/host.json":       `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}, "enableForwardingHttpRequest": true}}`,
			"functions/a/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			p, problems := project.Open(os.DirFS(dir), dir)
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			got := project.Problems(function.Validator{}.ValidateProject(p)).Error()
			if tc.want == nil && got != "" {
				t.Fatalf("unexpected problems: %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems lack %q:\n%s", w, got)
				}
			}
		})
	}
}
