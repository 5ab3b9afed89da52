package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
	"junction/internal/store/storetest"
	"junction/internal/trace/collectortest"
)

// The per-hop trace tests read each carrier on the wire, as the Azure
// service it stands for carries it: the Event Grid delivery's headers and
// the CloudEvents distributed-tracing extension, the Logic Apps trigger's
// client tracking id, the Service Bus messages' Diagnostic-Id and
// traceparent application properties, the function invocation and the job
// run. Each checks the span the hop recorded against what crossed the wire.

// sendHTTP sends a request with a body ("" for none) and headers given as name,
// value pairs, and returns the answer's status, headers and body.
func sendHTTP(t *testing.T, method, url, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// webhookDelivery is one notification a webhook receiver got.
type webhookDelivery struct {
	header http.Header
	body   map[string]any
}

// cloudEventsReceiver is a real webhook endpoint that accepts the
// CloudEvents abuse-protection handshake and hands over each notification.
func cloudEventsReceiver(t *testing.T) (string, <-chan webhookDelivery) {
	got := make(chan webhookDelivery, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
			w.Header().Set("WebHook-Allowed-Rate", "*")
			return
		}
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("a delivery that is not one structured CloudEvent: %s", raw)
		}
		got <- webhookDelivery{r.Header.Clone(), body}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func nextDelivery(t *testing.T, got <-chan webhookDelivery) webhookDelivery {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(60 * time.Second):
		t.Fatal("no delivery reached the webhook")
	}
	return webhookDelivery{}
}

// spanWithID is the span of id in spans, or nil.
func spanWithID(spans []any, id string) map[string]any {
	for _, s := range spans {
		if m := s.(map[string]any); m["spanId"] == id {
			return m
		}
	}
	return nil
}

// TestTraceHopEventDelivery: an event published in the CloudEvents schema
// with the distributed-tracing extension is delivered to a webhook with the
// extension as published (the trace the event started in), and the delivery
// request carries Event Grid's headers and its own span as traceparent, a
// child of the event's. An event without the extension is delivered without
// one (Event Grid adds none), in the trace of the request that published it.
func TestTraceHopEventDelivery(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, base := apptest.Start(t, d, nil)
			hook, got := cloudEventsReceiver(t)
			eg := base + "/admin/v1/eventgrid/topics/hops"
			apptest.Call(t, "PUT", eg, "k", map[string]any{"properties": map[string]any{"inputSchema": "CloudEventSchemaV1_0"}}, 201)
			key := apptest.Call(t, "POST", eg+"/listKeys", "k", nil, 200)["key1"].(string)
			apptest.Call(t, "PUT", eg+"/eventSubscriptions/to-hook", "k", map[string]any{"properties": map[string]any{
				"destination":         map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": hook}},
				"eventDeliverySchema": "CloudEventSchemaV1_0"}}, 201)
			deadline := time.Now().Add(30 * time.Second)
			for apptest.Call(t, "GET", eg+"/eventSubscriptions/to-hook", "k", nil, 200)["properties"].(map[string]any)["provisioningState"] != "Succeeded" {
				if time.Now().After(deadline) {
					t.Fatal("the webhook subscription was not validated")
				}
				time.Sleep(20 * time.Millisecond)
			}
			publish := func(event map[string]any, traceparent string) {
				raw, _ := json.Marshal(event)
				if status, _, out := sendHTTP(t, "POST", base+"/eventgrid/topics/hops/api/events?api-version=2018-01-01", string(raw),
					"Content-Type", "application/cloudevents+json; charset=utf-8", "aeg-sas-key", key, "traceparent", traceparent); status != 200 {
					t.Fatalf("publish: %d %s", status, out)
				}
			}

			const started, startedSpan, state = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
			publish(map[string]any{"specversion": "1.0", "id": "ev-1", "source": "/hops", "type": "Hops.Traced", "data": map[string]any{"n": 1},
				"traceparent": "00-" + started + "-" + startedSpan + "-01", "tracestate": state}, "")
			dl := nextDelivery(t, got)
			h := dl.header
			for name, want := range map[string]string{
				"Content-Type": "application/cloudevents+json; charset=utf-8", "aeg-event-type": "Notification",
				"aeg-subscription-name": "TO-HOOK", "aeg-delivery-count": "0", "aeg-metadata-version": "1.0",
				"aeg-output-event-id": "ev-1", "aeg-data-version": "",
			} {
				if h.Get(name) != want {
					t.Fatalf("delivery header %s: %q, want %q (all: %v)", name, h.Get(name), want, h)
				}
			}
			if dl.body["traceparent"] != "00-"+started+"-"+startedSpan+"-01" || dl.body["tracestate"] != state {
				t.Fatalf("the distributed-tracing extension was not delivered as published: %v", dl.body)
			}
			hop, ok := strings.CutPrefix(h.Get("traceparent"), "00-"+started+"-")
			if !ok || len(hop) != 19 || hop[:16] == startedSpan {
				t.Fatalf("delivery traceparent %q: want a span of its own in trace %s", h.Get("traceparent"), started)
			}
			spans := waitForTrace(t, base, started, func(spans []any) bool { return spanWithID(spans, hop[:16]) != nil })
			deliver := spanWithID(spans, hop[:16])
			if deliver["component"] != "Events" || deliver["name"] != "deliver hops/to-hook" || deliver["kind"] != "client" || deliver["parentSpanId"] != startedSpan {
				t.Fatalf("the delivery's traceparent names %v, want the delivery span, child of %s", deliver, startedSpan)
			}

			const caller, callerSpan = "1bf92f3577b34da6a3ce929d0e0e4736", "10f067aa0ba902b7"
			publish(map[string]any{"specversion": "1.0", "id": "ev-2", "source": "/hops", "type": "Hops.Traced", "data": map[string]any{"n": 2}},
				"00-"+caller+"-"+callerSpan+"-01")
			dl = nextDelivery(t, got)
			if _, ok := dl.body["traceparent"]; ok || dl.header.Get("aeg-output-event-id") != "ev-2" {
				t.Fatalf("an event published without the extension was delivered with one: %v", dl.body)
			}
			hop, ok = strings.CutPrefix(dl.header.Get("traceparent"), "00-"+caller+"-")
			if !ok {
				t.Fatalf("delivery traceparent %q: want trace %s, the publishing request's", dl.header.Get("traceparent"), caller)
			}
			spans = waitForTrace(t, base, caller, func(spans []any) bool { return spanWithID(spans, hop[:16]) != nil })
			deliver = spanWithID(spans, hop[:16])
			publishSpan := spanWithID(spans, deliver["parentSpanId"].(string))
			if publishSpan == nil || publishSpan["component"] != "Events" || publishSpan["name"] != "POST /eventgrid/topics/hops/api/events" || publishSpan["parentSpanId"] != callerSpan {
				t.Fatalf("the delivery's parent %v is not the publishing request's span (child of %s); trace %v", publishSpan, callerSpan, names(spans))
			}
		})
	}
}

// hopsProject starts a Junction on the trace-hops project with a job that
// imports two accounts from accounts.csv in a folder, and returns its base
// URL, a Service Bus client over AMQP (the Azure SDK) and a function that
// puts a new accounts.csv in the folder with rows added.
func hopsProject(t *testing.T, d store.Dialect) (string, *azservicebus.Client, func(rows string)) {
	t.Helper()
	a, base := apptest.Start(t, d, func(c *app.Config) { c.Project = "testdata/trace-hops" })
	dir := t.TempDir()
	file := func(rows string) {
		os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte("number,name\nH-1,Hop One\nH-2,Hop Two\n"+rows), 0o644)
	}
	file("")
	apptest.Call(t, "PUT", base+"/admin/v1/jobs/hops-import", "k", map[string]any{
		"source":  map[string]any{"type": "file", "path": dir, "pattern": "*.csv"},
		"mapping": []any{map[string]any{"to": "accountnumber", "from": "number"}, map[string]any{"to": "name", "from": "name"}},
		"key":     []string{"accountnumber"},
		"sink":    map[string]any{"type": "table", "table": "account"},
	}, 201)
	cs, err := a.ServiceBusConnectionString(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := azservicebus.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return base, c, file
}

// receiveSDK receives one message from queue with the Azure SDK over AMQP.
func receiveSDK(t *testing.T, c *azservicebus.Client, queue string) *azservicebus.ReceivedMessage {
	t.Helper()
	r, err := c.NewReceiverForQueue(queue, &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs, err := r.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive from %s: %v (%d messages)", queue, err, len(msgs))
	}
	return msgs[0]
}

// sdkTraceProperties are a received message's trace application properties.
func sdkTraceProperties(m *azservicebus.ReceivedMessage) (diagnosticID, traceparent any) {
	return m.ApplicationProperties["Diagnostic-Id"], m.ApplicationProperties["traceparent"]
}

// TestTraceHopWorkflowRun: a request trigger called under a traceparent
// answers with the run's id and client tracking id (the run id, or the
// caller's x-ms-client-tracking-id), as Logic Apps does; the run shows it as
// its correlation and joins the caller's trace; the message its Service Bus
// action sends carries the action's span in Diagnostic-Id and traceparent;
// and the job its HTTP action starts records its span and rows in the same
// trace, under that action.
func TestTraceHopWorkflowRun(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			base, sb, file := hopsProject(t, d)
			callback := apptest.Call(t, "POST", base+"/admin/v1/workflows/tracked/triggers/manual/listCallbackUrl", "k", nil, 200)["value"].(string)
			invoke := func(traceparent, tracking string) http.Header {
				status, h, out := sendHTTP(t, "POST", callback, `{"note":"hello","jobs":"`+base+`/admin/v1/jobs/hops-import/runs"}`,
					"Content-Type", "application/json", "traceparent", traceparent, "x-ms-client-tracking-id", tracking)
				if status != 200 || out != "started" {
					run := apptest.Call(t, "GET", base+"/admin/v1/workflows/tracked/runs/"+h.Get("x-ms-workflow-run-id"), "k", nil, 200)
					t.Fatalf("trigger: %d %s; the run failed: %v", status, out, run["error"])
				}
				return h
			}

			const traceID, callerSpan = "2bf92f3577b34da6a3ce929d0e0e4736", "20f067aa0ba902b7"
			h := invoke("00-"+traceID+"-"+callerSpan+"-01", "")
			runID := h.Get("x-ms-workflow-run-id")
			if runID == "" || h.Get("x-ms-client-tracking-id") != runID || h.Get("x-ms-workflow-name") != "tracked" {
				t.Fatalf("trigger answer headers %v: want the run id as x-ms-client-tracking-id", h)
			}
			run := apptest.Call(t, "GET", base+"/admin/v1/workflows/tracked/runs/"+runID, "k", nil, 200)
			if run["clientTrackingId"] != runID || run["correlation"].(map[string]any)["clientTrackingId"] != runID {
				t.Fatalf("run %v: want clientTrackingId and correlation.clientTrackingId %s", run, runID)
			}
			runTrace, _ := run["traceparent"].(string)
			if !strings.HasPrefix(runTrace, "00-"+traceID+"-") {
				t.Fatalf("run traceparent %q: want trace %s", runTrace, traceID)
			}

			spans := waitForTrace(t, base, traceID, func(spans []any) bool {
				n := 0
				for _, s := range spans {
					if s.(map[string]any)["name"] == "Create account" {
						n++
					}
				}
				return n == 2 && findHop(spans, hop{"Jobs", "job hops-import"}) != nil
			})
			path := []hop{
				{"Workflows", "POST /api/tracked/triggers/manual/invoke"},
				{"Workflows", "run tracked"},
				{"Workflows", "action Start_job"},
				{"Jobs", "job hops-import"},
				{"Change log", "Create account"},
			}
			parent := callerSpan
			for _, hp := range path {
				s := findHop(spans, hp)
				if s == nil || s["parentSpanId"] != parent || s["error"] != nil {
					t.Fatalf("%s %q: %v, want a child of %s; trace %v", hp.component, hp.name, s, parent, names(spans))
				}
				parent = s["spanId"].(string)
			}
			runSpan := findHop(spans, hop{"Workflows", "run tracked"})
			if runTrace != "00-"+traceID+"-"+runSpan["spanId"].(string)+"-01" || runSpan["attributes"].(map[string]any)["junction.client_tracking_id"] != runID {
				t.Fatalf("run span %v, run traceparent %s", runSpan, runTrace)
			}
			send := findHop(spans, hop{"Workflows", "action Send_message"})
			if send == nil || send["parentSpanId"] != runSpan["spanId"] {
				t.Fatalf("send action span %v", send)
			}
			want := "00-" + traceID + "-" + send["spanId"].(string) + "-01"
			msg := receiveSDK(t, sb, "hops-out")
			if id, tp := sdkTraceProperties(msg); id != want || tp != want || string(msg.Body) != "hello" {
				t.Fatalf("the action's message carries Diagnostic-Id %v, traceparent %v (body %q), want %s in both", id, tp, msg.Body, want)
			}

			// The caller's tracking id is the run's; the trace stays the caller's.
			const other = "3bf92f3577b34da6a3ce929d0e0e4736"
			file("H-3,Hop Three\n") // a file the job has not seen
			h = invoke("00-"+other+"-30f067aa0ba902b7-01", "order-42")
			if h.Get("x-ms-client-tracking-id") != "order-42" {
				t.Fatalf("x-ms-client-tracking-id %q, want the caller's order-42", h.Get("x-ms-client-tracking-id"))
			}
			found := apptest.Call(t, "GET", base+"/admin/v1/workflows/tracked/runs?clientTrackingId=order-42", "k", nil, 200)["value"].([]any)
			if len(found) != 1 || found[0].(map[string]any)["name"] != h.Get("x-ms-workflow-run-id") ||
				!strings.HasPrefix(found[0].(map[string]any)["traceparent"].(string), "00-"+other+"-") {
				t.Fatalf("runs with client tracking id order-42: %v", found)
			}
			receiveSDK(t, sb, "hops-out")
		})
	}
}

// TestTraceHopBrokerAndFunction: Service Bus messages keep the trace
// context their senders gave them, over REST and AMQP, and a function
// triggered by one joins its trace; the message the function sends carries
// the invocation's span in Diagnostic-Id and traceparent, as the Service Bus
// SDKs set them.
func TestTraceHopBrokerAndFunction(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			base, sb, _ := hopsProject(t, d)

			// REST: a custom property is a header with a quoted string value.
			const restTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-40f067aa0ba902b7-01"
			for range 2 {
				if status, _, out := sendHTTP(t, "POST", base+"/servicebus/plain/messages", "over REST",
					"Authorization", "Bearer k", "Content-Type", "text/plain", "Diagnostic-Id", `"`+restTrace+`"`); status != 201 {
					t.Fatalf("REST send: %d %s", status, out)
				}
			}
			status, h, _ := sendHTTP(t, "DELETE", base+"/servicebus/plain/messages/head?timeout=30", "", "Authorization", "Bearer k")
			if status != 200 || h.Get("Diagnostic-Id") != `"`+restTrace+`"` {
				t.Fatalf("REST receive: %d, Diagnostic-Id %q, want %q", status, h.Get("Diagnostic-Id"), restTrace)
			}
			if id, tp := sdkTraceProperties(receiveSDK(t, sb, "plain")); id != restTrace || tp != nil {
				t.Fatalf("received over AMQP: Diagnostic-Id %v, traceparent %v; want the sender's Diagnostic-Id only", id, tp)
			}

			// AMQP: the SDK sends with its own Diagnostic-Id (as the .NET
			// SDK does), and the function the message triggers joins it.
			const traceID, sendSpan = "8bf92f3577b34da6a3ce929d0e0e4736", "50f067aa0ba902b7"
			sender, err := sb.NewSender("hops-in", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sender.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := sender.SendMessage(ctx, &azservicebus.Message{Body: []byte(`"ping"`),
				ApplicationProperties: map[string]any{"Diagnostic-Id": "00-" + traceID + "-" + sendSpan + "-01"}}, nil); err != nil {
				t.Fatal(err)
			}
			out := receiveSDK(t, sb, "fn-out")
			spans := waitForTrace(t, base, traceID, func(spans []any) bool { return findHop(spans, hop{"Functions", "function on-hop"}) != nil })
			fn := findHop(spans, hop{"Functions", "function on-hop"})
			if fn["parentSpanId"] != sendSpan || fn["kind"] != "consumer" || fn["error"] != nil {
				t.Fatalf("function span %v: want a consumer child of the sender's %s", fn, sendSpan)
			}
			want := "00-" + traceID + "-" + fn["spanId"].(string) + "-01"
			if id, tp := sdkTraceProperties(out); id != want || tp != want || !strings.Contains(string(out.Body), "seen ping") {
				t.Fatalf("the function's message: Diagnostic-Id %v, traceparent %v, body %q; want %s in both", id, tp, out.Body, want)
			}
		})
	}
}

// TestOTLPExportThroughConfig: a Junction started with an OTLP endpoint (the
// setting --otlp-endpoint fills) exports a Web API request's span to a real
// OpenTelemetry Collector, in the caller's trace.
func TestOTLPExportThroughConfig(t *testing.T) {
	t.Parallel()
	endpoint, printed := collectortest.Start(t, os.Getenv("CI") == "true")
	for i, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			_, base := apptest.Start(t, d, func(c *app.Config) { c.OTLPEndpoint, c.TraceRate = endpoint, "all" })
			traceID := []string{"6bf92f3577b34da6a3ce929d0e0e4736", "7bf92f3577b34da6a3ce929d0e0e4736"}[i]
			if status, _, out := sendHTTP(t, "GET", base+"/api/data/v9.2/accounts", "", "Authorization", "Bearer k", "traceparent", "00-"+traceID+"-60f067aa0ba902b7-01"); status != 200 {
				t.Fatalf("GET accounts: %d %s", status, out)
			}
			want := []string{
				"Parent ID      : 60f067aa0ba902b7",
				"Name           : GET /api/data/v9.2/accounts",
				"Kind           : Server",
				"-> junction.component: Str(Web API)",
				"-> http.status_code: Str(200)",
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				span := exportedSpan(printed(), traceID)
				missing := ""
				for _, w := range want {
					if !strings.Contains(span, w) {
						missing = w
						break
					}
				}
				if missing == "" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no exported span of trace %s with %q; the collector printed:\n%s", traceID, missing, printed())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// exportedSpan is the collector's debug print of the first span of trace
// id: from its Trace ID line to the next span or resource, or "".
func exportedSpan(out, id string) string {
	i := strings.Index(out, "Trace ID       : "+id)
	if i < 0 {
		return ""
	}
	span := out[i:]
	for _, next := range []string{"Span #", "ResourceSpans #", "Trace ID       : "} {
		if j := strings.Index(span[1:], next); j >= 0 {
			span = span[:j+1]
		}
	}
	return span
}
