package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Broker-triggered throughput of workflows and functions on the embedded
// store and on PostgreSQL: b.N messages are sent at once, and the clock runs
// until each has been processed. Run:
//   go test -run '^$' -bench 'FromQueue' -benchtime 300x ./internal/bridge/

const queueWorkflow = `{"definition": {
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "triggers": {"When_messages_are_available": {"type": "ServiceProvider", "inputs": {
      "parameters": {"queueName": "bench-in", "maxMessageCount": 20},
      "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "receiveQueueMessages", "serviceProviderId": "/serviceProviders/serviceBus"}},
    "splitOn": "@triggerOutputs()?['body']"}},
  "actions": {
    "Read": {"type": "Compose", "inputs": "@triggerBody()?['contentData']", "runAfter": {}},
    "Forward": {"type": "ServiceProvider", "inputs": {
        "parameters": {"entityName": "bench-out", "message": {"contentData": "@outputs('Read')"}},
        "serviceProviderConfiguration": {"connectionName": "serviceBus", "operationId": "sendMessage", "serviceProviderId": "/serviceProviders/serviceBus"}},
      "runAfter": {"Read": ["Succeeded"]}}},
  "outputs": {}}, "kind": "Stateful"}`

func benchApp(b *testing.B, d store.Dialect, project string) *junction {
	cfg := app.Config{Listen: "127.0.0.1:0", Data: b.TempDir(), AdminKey: "k", Project: project}
	if d == store.Postgres {
		cfg.Store, cfg.PostgresSchema = storetest.RequirePostgres(b), storetest.NewSchema(b)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	addr, err := a.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Stop(context.Background()) })
	return &junction{t: b, a: a, base: "http://" + addr.String()}
}

// drain waits until n messages have reached path, completing them.
func drain(b *testing.B, br *broker.Broker, path string, n int) {
	ctx := context.Background()
	for got := 0; got < n; {
		ms, err := br.Receive(ctx, path, broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 100, Wait: 30 * time.Second})
		if err != nil || len(ms) == 0 {
			b.Fatalf("after %d of %d: %v", got, n, err)
		}
		got += len(ms)
	}
}

func sendN(b *testing.B, br *broker.Broker, path string, n int) {
	msgs := make([]broker.Message, n)
	for i := range msgs {
		msgs[i] = broker.Message{ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"id":%d,"sku":"x"}`, i))}
	}
	for i := 0; i < n; i += 500 {
		if _, err := br.Send(context.Background(), path, msgs[i:min(i+500, n)]...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWorkflowFromQueue(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(string(d), func(b *testing.B) { benchWorkflowFromQueue(b, d) })
	}
}

func benchWorkflowFromQueue(b *testing.B, d store.Dialect) {
	j := benchApp(b, d, "")
	br := j.broker()
	ctx := context.Background()
	for _, q := range []string{"bench-in", "bench-out"} {
		if _, _, err := br.PutQueue(ctx, q, broker.Properties{}); err != nil {
			b.Fatal(err)
		}
	}
	req, _ := http.NewRequest("PUT", j.base+"/admin/v1/workflows/bench", strings.NewReader(queueWorkflow))
	req.Header.Set("Authorization", "Bearer k")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		b.Fatalf("deploy: %v %v", resp, err)
	}
	s0 := j.a.Store().Stats()
	b.ResetTimer()
	sendN(b, br, "bench-in", b.N)
	drain(b, br, "bench-out", b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	reportCommits(b, s0, j.a.Store().Stats())
}

// reportCommits reports the store's write transactions and durable commits
// per operation between s0 and s1 (the inputs' sends and the drain
// included; other work of the node, such as lease renewals, too).
func reportCommits(b *testing.B, s0, s1 store.Stats) {
	n := float64(b.N)
	b.ReportMetric(float64(s1.Transactions-s0.Transactions)/n, "tx/op")
	b.ReportMetric(float64((s1.Commits-s1.RelaxedCommits)-(s0.Commits-s0.RelaxedCommits))/n, "durable-commits/op")
}

// BenchmarkFunctionFromQueue runs the same v3-model function in the embedded
// sandbox and in the Node.js worker (a package.json makes the app a Node.js
// app).
func BenchmarkFunctionFromQueue(b *testing.B) {
	files := map[string]string{
		"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
			{"Name": "fin", "Properties": {}}, {"Name": "fout", "Properties": {}}]}], "Logging": {"Type": "File"}}}`,
		"functions/host.json": `{"version": "2.0"}`,
		"functions/enrich/function.json": `{"bindings": [
			{"type": "serviceBusTrigger", "direction": "in", "name": "order", "queueName": "fin", "connection": "ServiceBus"},
			{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "fout", "connection": "ServiceBus"}]}`,
		"functions/enrich/index.js": `module.exports = async function (context, order) { context.bindings.out = { id: order.id }; };`,
	}
	node := map[string]string{"functions/package.json": `{"name": "enrich"}`}
	for k, v := range files {
		node[k] = v
	}
	// The same sandbox function taking its messages from one receiver that
	// keeps 64 ready (host.json prefetchCount).
	prefetch := map[string]string{"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {"prefetchCount": 64}}}`}
	for k, v := range files {
		if _, ok := prefetch[k]; !ok {
			prefetch[k] = v
		}
	}
	for _, d := range storetest.Drivers {
		b.Run("sandbox/"+string(d), func(b *testing.B) { benchFunctionFromQueue(b, d, files) })
		b.Run("node/"+string(d), func(b *testing.B) { benchFunctionFromQueue(b, d, node) })
		b.Run("sandbox-prefetch/"+string(d), func(b *testing.B) { benchFunctionFromQueue(b, d, prefetch) })
	}
}

func benchFunctionFromQueue(b *testing.B, d store.Dialect, files map[string]string) {
	j := benchApp(b, d, writeProject(b, files))
	br := j.broker()
	b.ResetTimer()
	sendN(b, br, "fin", b.N)
	drain(b, br, "fout", b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invocations/s")
}
