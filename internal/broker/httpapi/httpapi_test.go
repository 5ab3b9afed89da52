package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker/httpapi"
	"junction/internal/project"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

const adminKey = "test-admin-key"

type env struct {
	t        *testing.T
	base     string
	hc       *http.Client
	adminKey string
}

func start(t *testing.T, d store.Dialect, adminKeyValue, projectDir string) *env {
	t.Helper()
	var out bytes.Buffer
	cfg := app.Config{Listen: "127.0.0.1:0", Data: t.TempDir(), AdminKey: adminKeyValue, Project: projectDir, Out: &out}
	if d == store.Postgres {
		cfg.Store = storetest.RequirePostgres(t)
		cfg.PostgresSchema = storetest.NewSchema(t)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	e := &env{t: t, base: "http://" + addr.String(), hc: &http.Client{Timeout: 30 * time.Second}, adminKey: adminKeyValue}
	if e.adminKey == "" {
		// The generated admin key is printed once, indented.
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "    ") {
				e.adminKey = strings.TrimSpace(line)
			}
		}
	}
	return e
}

func each(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(method, path, auth string, body []byte, headers ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (e *env) want(r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func bearer(k string) string { return "Bearer " + k }

func (e *env) sas(resource, keyName, key string) string {
	return httpapi.Sign(resource, keyName, key, time.Now().Add(time.Hour))
}

func TestRESTRuntime(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := start(t, d, adminKey, "")
		admin := bearer(adminKey)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/orders", admin, []byte(`{"properties":{"lockDuration":"PT30S"}}`)), 201)
		tok := e.sas(e.base+"/servicebus/orders", "RootManageSharedAccessKey", adminKey)
		// Exactly as an SDK would sign for the real service: any host works.
		tokCloud := e.sas("https://myns.servicebus.windows.net/orders", "RootManageSharedAccessKey", adminKey)

		e.want(e.do("POST", "/servicebus/orders/messages", tok, []byte("hello"),
			"BrokerProperties", `{"MessageId":"m1","Label":"greeting","TimeToLive":3600}`,
			"Content-Type", "text/plain", "Priority", `"High"`, "Count", "7", "Ratio", "1.5", "Flag", "true"), 201)
		e.want(e.do("POST", "/servicebus/orders/messages", tokCloud, []byte("second")), 201)

		r := e.want(e.do("POST", "/servicebus/orders/messages/head?timeout=5", tok, nil), 201)
		var bp map[string]any
		if err := json.Unmarshal([]byte(r.header.Get("BrokerProperties")), &bp); err != nil {
			t.Fatal(err)
		}
		if string(r.body) != "hello" || bp["MessageId"] != "m1" || bp["Label"] != "greeting" || bp["DeliveryCount"] != 1.0 {
			t.Fatalf("received %q with %v", r.body, bp)
		}
		if _, err := time.Parse(http.TimeFormat, bp["LockedUntilUtc"].(string)); err != nil {
			t.Fatalf("LockedUntilUtc is not RFC 1123: %v", bp["LockedUntilUtc"])
		}
		if _, err := time.Parse(http.TimeFormat, bp["EnqueuedTimeUtc"].(string)); err != nil {
			t.Fatalf("EnqueuedTimeUtc is not RFC 1123: %v", bp["EnqueuedTimeUtc"])
		}
		if r.header.Get("Priority") != `"High"` || r.header.Get("Count") != "7" || r.header.Get("Ratio") != "1.5" || r.header.Get("Flag") != "true" {
			t.Fatalf("custom properties: %v", r.header)
		}
		if r.header.Get("Content-Type") != "text/plain" {
			t.Fatalf("Content-Type = %q", r.header.Get("Content-Type"))
		}
		loc := r.header.Get("Location")
		seq := int64(bp["SequenceNumber"].(float64))
		lock := bp["LockToken"].(string)
		if !strings.HasSuffix(loc, "/servicebus/orders/messages/"+itoa(seq)+"/"+lock) {
			t.Fatalf("Location = %q", loc)
		}
		msgURL := "/servicebus/orders/messages/" + itoa(seq) + "/" + lock
		e.want(e.do("POST", msgURL, tok, nil), 200) // renew
		e.want(e.do("DELETE", "/servicebus/orders/messages/m1/"+lock, tok, nil), 200)
		e.want(e.do("DELETE", msgURL, tok, nil), 404) // already completed

		// Abandon puts it back with DeliveryCount + 1.
		r = e.want(e.do("POST", "/servicebus/orders/messages/head?timeout=1", tok, nil), 201)
		bp = nil
		json.Unmarshal([]byte(r.header.Get("BrokerProperties")), &bp)
		e.want(e.do("PUT", "/servicebus/orders/messages/"+itoa(int64(bp["SequenceNumber"].(float64)))+"/"+bp["LockToken"].(string), tok, nil), 200)
		r = e.want(e.do("DELETE", "/servicebus/orders/messages/head?timeout=1", tok, nil), 200)
		bp = nil
		json.Unmarshal([]byte(r.header.Get("BrokerProperties")), &bp)
		if string(r.body) != "second" || bp["DeliveryCount"] != 2.0 || bp["LockToken"] != nil {
			t.Fatalf("receive and delete: %q %v", r.body, bp)
		}
		e.want(e.do("DELETE", "/servicebus/orders/messages/head?timeout=0", tok, nil), 204)

		// A long poll is answered by a later send.
		done := make(chan resp, 1)
		go func() { done <- e.do("DELETE", "/servicebus/orders/messages/head?timeout=30", tok, nil) }()
		time.Sleep(50 * time.Millisecond)
		e.want(e.do("POST", "/servicebus/orders/messages", bearer(adminKey), []byte("late")), 201)
		if r := <-done; r.status != 200 || string(r.body) != "late" {
			t.Fatalf("long poll: %d %q", r.status, r.body)
		}

		// Batch send.
		batch := `[{"Body":"b1","BrokerProperties":{"Label":"x"},"UserProperties":{"n":1,"s":"y"}},{"Body":"b2"}]`
		e.want(e.do("POST", "/servicebus/orders/messages", tok, []byte(batch), "Content-Type", "application/vnd.microsoft.servicebus.json"), 201)
		r = e.want(e.do("POST", "/servicebus/orders/$receive", tok, []byte(`{"maxMessages":10}`)), 200)
		var got struct{ Value []httpapi.MessageJSON }
		r.json(t, &got)
		if len(got.Value) != 2 || *got.Value[0].Body != "b1" || got.Value[0].Subject != "x" || got.Value[0].Properties["n"] != 1.0 {
			t.Fatalf("batch receive: %s", r.body)
		}
		settle := `{"settlements":[{"lockToken":"` + got.Value[0].LockToken + `","action":"complete"},
			{"lockToken":"` + got.Value[1].LockToken + `","action":"deadLetter","deadLetterReason":"Invalid","deadLetterErrorDescription":"no"},
			{"lockToken":"00000000-0000-4000-8000-000000000000","action":"complete"}]}`
		r = e.want(e.do("POST", "/servicebus/orders/$settle", tok, []byte(settle)), 200)
		var results struct{ Results []struct{ Status int } }
		r.json(t, &results)
		if results.Results[0].Status != 200 || results.Results[1].Status != 200 || results.Results[2].Status != 404 {
			t.Fatalf("settle results: %s", r.body)
		}
		r = e.want(e.do("GET", "/servicebus/orders/$deadletterqueue/$peek", tok, nil), 200)
		r.json(t, &got)
		if len(got.Value) != 1 || got.Value[0].DeadLetterReason != "Invalid" {
			t.Fatalf("dead letters: %s", r.body)
		}
	})
}

func itoa(n int64) string {
	return strings.TrimSpace(strings.Replace(string(must(json.Marshal(n))), "\"", "", -1))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRESTErrorsChangeNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := start(t, d, adminKey, "")
		admin := bearer(adminKey)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/orders", admin, []byte(`{}`)), 201)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/other", admin, []byte(`{}`)), 201)
		good := e.sas(e.base+"/servicebus/orders", "RootManageSharedAccessKey", adminKey)
		cases := []struct {
			name    string
			method  string
			path    string
			auth    string
			body    []byte
			headers []string
			status  int
		}{
			{"no auth", "POST", "/servicebus/orders/messages", "", []byte("x"), nil, 401},
			{"wrong key", "POST", "/servicebus/orders/messages", e.sas(e.base+"/servicebus/orders", "RootManageSharedAccessKey", "nope"), []byte("x"), nil, 401},
			{"expired", "POST", "/servicebus/orders/messages", httpapi.Sign(e.base+"/servicebus/orders", "RootManageSharedAccessKey", adminKey, time.Now().Add(-time.Minute)), []byte("x"), nil, 401},
			{"other entity", "POST", "/servicebus/orders/messages", e.sas(e.base+"/servicebus/other", "RootManageSharedAccessKey", adminKey), []byte("x"), nil, 401},
			{"unknown rule", "POST", "/servicebus/orders/messages", e.sas(e.base+"/servicebus/orders", "Nobody", adminKey), []byte("x"), nil, 401},
			{"garbage token", "POST", "/servicebus/orders/messages", "SharedAccessSignature sr=x", []byte("x"), nil, 401},
			{"bad bearer", "POST", "/servicebus/orders/messages", "Bearer nope", []byte("x"), nil, 401},
			{"missing entity", "POST", "/servicebus/nope/messages", e.sas(e.base+"/servicebus", "RootManageSharedAccessKey", adminKey), []byte("x"), nil, 410},
			{"bad BrokerProperties", "POST", "/servicebus/orders/messages", good, []byte("x"), []string{"BrokerProperties", "{not json"}, 400},
			{"bad TTL", "POST", "/servicebus/orders/messages", good, []byte("x"), []string{"BrokerProperties", `{"TimeToLive":-1}`}, 400},
			{"bad date", "POST", "/servicebus/orders/messages", good, []byte("x"), []string{"BrokerProperties", `{"ScheduledEnqueueTimeUtc":"tomorrow"}`}, 400},
			{"long MessageId", "POST", "/servicebus/orders/messages", good, []byte("x"), []string{"BrokerProperties", `{"MessageId":"` + strings.Repeat("m", 129) + `"}`}, 400},
			{"too large", "POST", "/servicebus/orders/messages", good, make([]byte, 256*1024+1), nil, 403},
			{"property too large", "POST", "/servicebus/orders/messages", good, []byte("x"), []string{"Big", `"` + strings.Repeat("p", 33*1024) + `"`}, 403},
			{"bad batch", "POST", "/servicebus/orders/messages", good, []byte(`[{"Body":"ok"},{"UserProperties":{"x":[1]}}]`), []string{"Content-Type", "application/vnd.microsoft.servicebus.json"}, 400},
			{"stale lock", "DELETE", "/servicebus/orders/messages/1/00000000-0000-4000-8000-000000000000", good, nil, nil, 404},
			{"bad timeout", "POST", "/servicebus/orders/messages/head?timeout=soon", good, nil, nil, 400},
			{"no operation", "GET", "/servicebus/orders", good, nil, nil, 404},
		}
		for _, c := range cases {
			r := e.do(c.method, c.path, c.auth, c.body, c.headers...)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
				continue
			}
			if !bytes.Contains(r.body, []byte("<Error><Code>")) {
				t.Errorf("%s: body is not a Service Bus error: %s", c.name, r.body)
			}
		}
		r := e.want(e.do("GET", "/admin/v1/servicebus/queues/orders", admin, nil), 200)
		var q struct {
			Properties struct{ MessageCount int64 } `json:"properties"`
		}
		r.json(t, &q)
		if q.Properties.MessageCount != 0 {
			t.Fatalf("rejected requests left %d messages", q.Properties.MessageCount)
		}

		// An entity-scoped Send rule: sends to its queue only, cannot receive.
		r = e.want(e.do("PUT", "/admin/v1/servicebus/queues/orders/authorizationRules/sender", admin, []byte(`{"properties":{"rights":["Send"]}}`)), 201)
		r = e.want(e.do("POST", "/admin/v1/servicebus/queues/orders/authorizationRules/sender/listKeys", admin, nil), 200)
		var keys struct{ PrimaryKey, PrimaryConnectionString string }
		r.json(t, &keys)
		if !strings.Contains(keys.PrimaryConnectionString, "EntityPath=orders") {
			t.Fatalf("connection string %q", keys.PrimaryConnectionString)
		}
		st := e.sas("sb://myns.servicebus.windows.net/orders", "sender", keys.PrimaryKey)
		e.want(e.do("POST", "/servicebus/orders/messages", st, []byte("ok")), 201)
		e.want(e.do("POST", "/servicebus/orders/messages/head?timeout=0", st, nil), 401)
		e.want(e.do("POST", "/servicebus/other/messages", e.sas("sb://myns.servicebus.windows.net/other", "sender", keys.PrimaryKey), []byte("x")), 401)

		// Bearer keys by role.
		r = e.want(e.do("POST", "/admin/v1/keys", admin, []byte(`{"name":"l","role":"listener"}`)), 201)
		var lk struct{ Key string }
		r.json(t, &lk)
		e.want(e.do("POST", "/servicebus/orders/messages", bearer(lk.Key), []byte("x")), 401)
		e.want(e.do("POST", "/servicebus/orders/messages/head?timeout=0", bearer(lk.Key), nil), 201)
	})
}

func TestManagementAndDeadLetterTools(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := start(t, d, "", "")
		if e.adminKey == "" {
			t.Fatal("no generated admin key was printed")
		}
		admin := bearer(e.adminKey)
		// Without JUNCTION_ADMIN_KEY, RootManageSharedAccessKey has a generated
		// key that admins read with listKeys.
		r := e.want(e.do("POST", "/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", admin, nil), 200)
		var keys struct{ PrimaryKey string }
		r.json(t, &keys)
		if len(keys.PrimaryKey) < 40 {
			t.Fatalf("root key %q", keys.PrimaryKey)
		}
		root := e.sas(e.base+"/servicebus", "RootManageSharedAccessKey", keys.PrimaryKey)

		r = e.want(e.do("PUT", "/admin/v1/servicebus/queues/jobs", admin, []byte(`{"properties":{"maxDeliveryCount":2,"lockDuration":"PT10S","defaultMessageTimeToLive":"P1D","requiresDuplicateDetection":true,"duplicateDetectionHistoryTimeWindow":"PT5M"}}`)), 201)
		var q struct {
			ID, Name, Type string
			Properties     map[string]any
		}
		r.json(t, &q)
		if q.Name != "jobs" || q.Type != "Microsoft.ServiceBus/namespaces/queues" || q.Properties["lockDuration"] != "PT10S" ||
			q.Properties["defaultMessageTimeToLive"] != "P1D" || q.Properties["maxDeliveryCount"] != 2.0 || q.Properties["requiresSession"] != false {
			t.Fatalf("queue resource: %s", r.body)
		}
		// A GET's output can be PUT back (update: 200).
		got := e.want(e.do("GET", "/admin/v1/servicebus/queues/jobs", admin, nil), 200)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/jobs", admin, got.body), 200)
		for _, bad := range []string{`{"properties":{"lockDuration":"PT10M"}}`, `{"properties":{"lockDuration":"soon"}}`, `{"properties":{"maxDeliveryCount":-1}}`,
			`{"properties":{"forwardTo":"missing"}}`, `{"properties":{"requiresSession":true}}`, `{"properties":{"nope":1}}`, `{"properties":`} {
			e.want(e.do("PUT", "/admin/v1/servicebus/queues/jobs", admin, []byte(bad)), 400)
		}
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/bad$name", admin, []byte(`{}`)), 400)
		e.want(e.do("GET", "/admin/v1/servicebus/queues/missing", admin, nil), 404)

		e.want(e.do("PUT", "/admin/v1/servicebus/topics/events", admin, []byte(`{}`)), 201)
		e.want(e.do("PUT", "/admin/v1/servicebus/topics/events/subscriptions/audit", admin, []byte(`{"properties":{"forwardTo":"jobs"}}`)), 201)
		e.want(e.do("PUT", "/admin/v1/servicebus/topics/events/subscriptions/red", admin, []byte(`{}`)), 201)
		e.want(e.do("PUT", "/admin/v1/servicebus/topics/nope/subscriptions/red", admin, []byte(`{}`)), 404)
		r = e.want(e.do("GET", "/admin/v1/servicebus/topics/events/subscriptions/red/rules", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"$Default"`)) {
			t.Fatalf("rules: %s", r.body)
		}
		e.want(e.do("PUT", "/admin/v1/servicebus/topics/events/subscriptions/red/rules/red", admin, []byte(`{"properties":{"filterType":"SqlFilter","sqlFilter":{"sqlExpression":"color = "}}}`)), 400)
		e.want(e.do("PUT", "/admin/v1/servicebus/topics/events/subscriptions/red/rules/red", admin, []byte(`{"properties":{"filterType":"SqlFilter","sqlFilter":{"sqlExpression":"color = 'red'"},"action":{"sqlExpression":"SET seen = TRUE"}}}`)), 201)
		e.want(e.do("DELETE", "/admin/v1/servicebus/topics/events/subscriptions/red/rules/$Default", admin, nil), 200)
		e.want(e.do("DELETE", "/admin/v1/servicebus/topics/events/subscriptions/red/rules/$Default", admin, nil), 404)
		e.want(e.do("POST", "/servicebus/events/messages", root, []byte("r"), "color", `"red"`), 201)
		e.want(e.do("POST", "/servicebus/events/messages", root, []byte("b"), "color", `"blue"`), 201)
		r = e.want(e.do("GET", "/admin/v1/servicebus/topics/events/subscriptions/red", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"activeMessageCount":1`)) {
			t.Fatalf("red counts: %s", r.body)
		}
		r = e.want(e.do("GET", "/admin/v1/servicebus/queues", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"activeMessageCount":2`)) { // forwarded from audit
			t.Fatalf("queue list: %s", r.body)
		}

		// Dead-letter tooling: two failed deliveries dead-letter a message.
		for i := 0; i < 2; i++ {
			r = e.want(e.do("POST", "/servicebus/jobs/$receive", root, []byte(`{"maxMessages":10}`)), 200)
			var got struct{ Value []httpapi.MessageJSON }
			r.json(t, &got)
			var settles []string
			for _, m := range got.Value {
				settles = append(settles, `{"lockToken":"`+m.LockToken+`","action":"abandon"}`)
			}
			e.want(e.do("POST", "/servicebus/jobs/$settle", root, []byte(`{"settlements":[`+strings.Join(settles, ",")+`]}`)), 200)
		}
		r = e.want(e.do("GET", "/admin/v1/servicebus/queues/jobs/deadletters", admin, nil), 200)
		var dl struct{ Value []httpapi.MessageJSON }
		r.json(t, &dl)
		if len(dl.Value) != 2 || dl.Value[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
			t.Fatalf("dead letters: %s", r.body)
		}
		e.want(e.do("POST", "/admin/v1/servicebus/queues/jobs/deadletters/resubmit", admin, []byte(`{"sequenceNumbers":[999999]}`)), 404)
		r = e.want(e.do("POST", "/admin/v1/servicebus/queues/jobs/deadletters/resubmit", admin, []byte(`{"sequenceNumbers":[`+itoa(dl.Value[0].SequenceNumber)+`]}`)), 200)
		if !bytes.Contains(r.body, []byte(`"resubmitted":1`)) {
			t.Fatalf("resubmit: %s", r.body)
		}
		r = e.want(e.do("DELETE", "/admin/v1/servicebus/queues/jobs/deadletters", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"purged":1`)) {
			t.Fatalf("purge: %s", r.body)
		}
		r = e.want(e.do("GET", "/admin/v1/servicebus/queues/jobs/messages", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"deliveryCount":0`)) {
			t.Fatalf("resubmitted message: %s", r.body)
		}
		e.want(e.do("DELETE", "/admin/v1/servicebus/topics/events", admin, nil), 200)
		e.want(e.do("GET", "/admin/v1/servicebus/topics/events/subscriptions/red", admin, nil), 404)
		// The OpenAPI document lists the routes.
		r = e.want(e.do("GET", "/admin/v1/openapi.json", admin, nil), 200)
		if !bytes.Contains(r.body, []byte("/admin/v1/servicebus/queues/{queue}/deadletters/resubmit")) {
			t.Fatal("openapi lacks the broker routes")
		}
	})
}

func TestEmulatorConfigProject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "servicebus"), 0o755)
	cfg := `{"UserConfig":{"Namespaces":[{"Name":"sbemulatorns",
		"Queues":[{"Name":"queue.1","Properties":{"DeadLetteringOnMessageExpiration":false,"DefaultMessageTimeToLive":"PT1H","DuplicateDetectionHistoryTimeWindow":"PT20S","ForwardDeadLetteredMessagesTo":"","ForwardTo":"","LockDuration":"PT1M","MaxDeliveryCount":3,"RequiresDuplicateDetection":false,"RequiresSession":false}}],
		"Topics":[{"Name":"topic.1","Properties":{"DefaultMessageTimeToLive":"PT1H","DuplicateDetectionHistoryTimeWindow":"PT20S","RequiresDuplicateDetection":false},
			"Subscriptions":[{"Name":"subscription.1","Properties":{"DeadLetteringOnMessageExpiration":false,"DefaultMessageTimeToLive":"PT1H","LockDuration":"PT1M","MaxDeliveryCount":3,"ForwardDeadLetteredMessagesTo":"","ForwardTo":"","RequiresSession":false},
				"Rules":[{"Name":"app-prop-filter-1","Properties":{"FilterType":"Correlation","CorrelationFilter":{"ContentType":"application/text","CorrelationId":"id1","Label":"subject1","MessageId":"msgid1","ReplyTo":"someQueue","ReplyToSessionId":"sessionId","SessionId":"session1","To":"xyz","Properties":{"prop1":"value1"}}}}]},
			{"Name":"subscription.2","Properties":{"MaxDeliveryCount":3},"Rules":[{"Name":"sql-filter-1","Properties":{"FilterType":"Sql","SqlFilter":{"SqlExpression":"sys.MessageId = '123456' AND userProp1 = 'value1'"},"Action":{"SqlExpression":"SET sys.To = 'Entity'"}}}]}]}]}],
		"Logging":{"Type":"File"}}}`
	os.WriteFile(filepath.Join(dir, "servicebus", "config.json"), []byte(cfg), 0o644)
	each(t, func(t *testing.T, d store.Dialect) {
		e := start(t, d, adminKey, dir)
		admin := bearer(adminKey)
		r := e.want(e.do("GET", "/admin/v1/servicebus/queues/queue.1", admin, nil), 200)
		if !bytes.Contains(r.body, []byte(`"maxDeliveryCount":3`)) {
			t.Fatalf("queue.1: %s", r.body)
		}
		r = e.want(e.do("GET", "/admin/v1/servicebus/topics/topic.1/subscriptions/subscription.2/rules", admin, nil), 200)
		if !bytes.Contains(r.body, []byte("sql-filter-1")) || bytes.Contains(r.body, []byte("$Default")) {
			t.Fatalf("rules: %s", r.body)
		}
		tok := e.sas(e.base+"/servicebus/topic.1", "RootManageSharedAccessKey", adminKey)
		e.want(e.do("POST", "/servicebus/topic.1/messages", tok, []byte("x"), "BrokerProperties", `{"MessageId":"123456"}`, "userProp1", `"value1"`), 201)
		r = e.want(e.do("DELETE", "/servicebus/topic.1/subscriptions/subscription.2/messages/head?timeout=1", tok, nil), 200)
		if !strings.Contains(r.header.Get("BrokerProperties"), `"To":"Entity"`) {
			t.Fatalf("action not applied: %s", r.header.Get("BrokerProperties"))
		}
	})
	// The validator reports problems without a store.
	bad := strings.Replace(cfg, "sys.MessageId = '123456'", "sys.MessageId = ", 1)
	bad = strings.Replace(bad, `"MaxDeliveryCount":3,"RequiresDuplicateDetection"`, `"MaxDeliveryCount":0,"LockDuration":"PT10M","RequiresDuplicateDetection"`, 1)
	badDir := t.TempDir()
	os.MkdirAll(filepath.Join(badDir, "servicebus"), 0o755)
	os.WriteFile(filepath.Join(badDir, "servicebus", "config.json"), []byte(bad), 0o644)
	p, problems := project.Open(os.DirFS(badDir), badDir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	problems = p.Validate(httpapi.Validator{})
	text := problems.Error()
	if len(problems) != 2 || !strings.Contains(text, "invalid SQL filter") || !strings.Contains(text, "lockDuration") {
		t.Fatalf("problems: %v", text)
	}
}

func TestJSONSessionsDeferredAndScheduled(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := start(t, d, adminKey, "")
		admin := bearer(adminKey)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/sq", admin, []byte(`{"properties":{"requiresSession":true}}`)), 201)
		e.want(e.do("PUT", "/admin/v1/servicebus/queues/q", admin, []byte(`{}`)), 201)
		e.want(e.do("POST", "/servicebus/sq/messages", admin, []byte("no session")), 400)
		e.want(e.do("POST", "/servicebus/sq/messages", admin, []byte("s1"), "BrokerProperties", `{"SessionId":"A"}`), 201)
		e.want(e.do("POST", "/servicebus/sq/messages/head?timeout=0", admin, nil), 400) // needs a session
		r := e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"accept","timeout":1}`)), 200)
		var s struct{ SessionID, LockToken string }
		r.json(t, &s)
		if s.SessionID != "A" {
			t.Fatalf("accepted %s", r.body)
		}
		e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"accept","sessionId":"A"}`)), 409)
		ref := `"sessionId":"A","lockToken":"` + s.LockToken + `"`
		e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"setState",`+ref+`,"state":"c3RlcA=="}`)), 200)
		r = e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"getState",`+ref+`}`)), 200)
		if !bytes.Contains(r.body, []byte(`"state":"c3RlcA=="`)) {
			t.Fatalf("state: %s", r.body)
		}
		e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"renew",`+ref+`}`)), 200)
		r = e.want(e.do("POST", "/servicebus/sq/$receive", admin, []byte(`{"session":{`+ref+`},"mode":"receiveAndDelete"}`)), 200)
		if !bytes.Contains(r.body, []byte(`"body":"s1"`)) {
			t.Fatalf("session receive: %s", r.body)
		}
		e.want(e.do("POST", "/servicebus/sq/$session", admin, []byte(`{"op":"renew","sessionId":"A","lockToken":"wrong"}`)), 410)

		// Defer, then receive by sequence number.
		e.want(e.do("POST", "/servicebus/q/messages", admin, []byte("later")), 201)
		r = e.want(e.do("POST", "/servicebus/q/$receive", admin, []byte(`{}`)), 200)
		var got struct{ Value []httpapi.MessageJSON }
		r.json(t, &got)
		m := got.Value[0]
		e.want(e.do("POST", "/servicebus/q/$settle", admin, []byte(`{"settlements":[{"lockToken":"`+m.LockToken+`","action":"defer"}]}`)), 200)
		e.want(e.do("POST", "/servicebus/q/$deferred", admin, []byte(`{"sequenceNumbers":[99999999]}`)), 404)
		r = e.want(e.do("POST", "/servicebus/q/$deferred", admin, []byte(`{"sequenceNumbers":[`+itoa(m.SequenceNumber)+`],"mode":"receiveAndDelete"}`)), 200)
		if !bytes.Contains(r.body, []byte(`"body":"later"`)) {
			t.Fatalf("deferred: %s", r.body)
		}
		// Schedule far ahead, see it counted, cancel it.
		at := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		e.want(e.do("POST", "/servicebus/q/messages", admin, []byte("sched"), "BrokerProperties", `{"ScheduledEnqueueTimeUtc":"`+at+`"}`), 201)
		r = e.want(e.do("GET", "/servicebus/q/$peek", admin, nil), 200)
		r.json(t, &got)
		if len(got.Value) != 1 || got.Value[0].State != "Scheduled" {
			t.Fatalf("peek: %s", r.body)
		}
		e.want(e.do("POST", "/servicebus/q/$cancel", admin, []byte(`{"sequenceNumbers":[`+itoa(got.Value[0].SequenceNumber)+`]}`)), 200)
		e.want(e.do("POST", "/servicebus/q/$cancel", admin, []byte(`{"sequenceNumbers":[`+itoa(got.Value[0].SequenceNumber)+`]}`)), 404)
		e.want(e.do("POST", "/servicebus/q/$receive", admin, []byte(`{"mode":"sideways"}`)), 400)
		e.want(e.do("POST", "/servicebus/q/$receive", admin, []byte(`{"unknown":1}`)), 400)
	})
}
