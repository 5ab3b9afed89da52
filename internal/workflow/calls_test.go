package workflow

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/connector"
)

func TestHttpAction(t *testing.T) {
	t.Parallel()
	var flaky, throttled, polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "q": r.URL.Query().Get("q"), "auth": r.Header.Get("Authorization"),
			"x": r.Header.Get("X-Custom"), "ct": r.Header.Get("Content-Type"), "body": string(body)})
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/throttled", func(w http.ResponseWriter, r *http.Request) {
		if throttled.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/always500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/status")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			w.Header().Set("Location", "/status")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"done":true}`)
	})
	mux.HandleFunc("/tenant-1/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("client_secret") != "s3cret" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("resource") != "api://target" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"tok-123","expires_in":"3600","token_type":"Bearer"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := setup(t, nil)
	u := srv.URL
	cases := []struct {
		name, action string
		status       string
		check        func(t *testing.T, a *ActionRecord)
	}{
		{"methods headers queries body basic", `{"type":"Http","inputs":{"method":"PUT","uri":"` + u + `/echo","queries":{"q":"a b"},"headers":{"X-Custom":"@{concat('v','1')}"},"body":{"n":1},"authentication":{"type":"Basic","username":"u","password":"p"}}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				body := a.Outputs.(map[string]any)["body"].(map[string]any)
				want := map[string]any{"method": "PUT", "q": "a b", "auth": "Basic dTpw", "x": "v1", "ct": "application/json", "body": `{"n":1}`}
				for k, v := range want {
					if body[k] != v {
						t.Errorf("%s = %v, want %v", k, body[k], v)
					}
				}
				if !strings.Contains(jsonOf(a.Inputs), "*sanitized*") || strings.Contains(jsonOf(a.Inputs), `"p"`) {
					t.Errorf("the password is in the recorded inputs: %s", jsonOf(a.Inputs))
				}
			}},
		// A string body goes out as .NET's StringContent sends it (Logic Apps
		// runs on .NET): "text/plain; charset=utf-8", unless the action sets
		// its own Content-Type (Microsoft Learn, "Handle content types in
		// Azure Logic Apps", logic-apps-content-type).
		{"string body", `{"type":"Http","inputs":{"method":"POST","uri":"` + u + `/echo","body":"Grüße @{add(1,1)}"}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				body := a.Outputs.(map[string]any)["body"].(map[string]any)
				if body["ct"] != "text/plain; charset=utf-8" || body["body"] != "Grüße 2" {
					t.Errorf("content type %v, body %v", body["ct"], body["body"])
				}
			}},
		{"string body with its content type", `{"type":"Http","inputs":{"method":"POST","uri":"` + u + `/echo","headers":{"content-type":"application/xml"},"body":"<a/>"}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				if ct := a.Outputs.(map[string]any)["body"].(map[string]any)["ct"]; ct != "application/xml" {
					t.Errorf("content type %v", ct)
				}
			}},
		{"raw", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/echo","authentication":{"type":"Raw","value":"SharedAccessSignature sr=x"}}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				if got := a.Outputs.(map[string]any)["body"].(map[string]any)["auth"]; got != "SharedAccessSignature sr=x" {
					t.Errorf("auth = %v", got)
				}
			}},
		{"client credentials", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/echo","authentication":{"type":"ActiveDirectoryOAuth","authority":"` + u + `","tenant":"tenant-1","audience":"api://target","clientId":"c","secret":"s3cret"}}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				if got := a.Outputs.(map[string]any)["body"].(map[string]any)["auth"]; got != "Bearer tok-123" {
					t.Errorf("auth = %v", got)
				}
			}},
		{"client credentials refused", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/echo","authentication":{"type":"ActiveDirectoryOAuth","authority":"` + u + `","tenant":"tenant-1","audience":"api://target","clientId":"c","secret":"wrong"}}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if !strings.Contains(jsonOf(a.Error), "invalid_client") {
					t.Errorf("error = %s", jsonOf(a.Error))
				}
			}},
		{"default retry on 503", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/flaky"}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				if len(a.RetryHistory) != 2 || a.Outputs.(map[string]any)["body"] != "ok" {
					t.Errorf("retries %s, outputs %s", jsonOf(a.RetryHistory), jsonOf(a.Outputs))
				}
			}},
		{"retry after 429", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/throttled","retryPolicy":{"type":"fixed","count":1,"interval":"PT1H"}}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				// A fixed PT1H interval would exceed the test deadline; Retry-After (2 s) wins.
				if len(a.RetryHistory) != 1 || a.RetryHistory[0].(map[string]any)["code"] != "TooManyRequests" {
					t.Errorf("retries %s", jsonOf(a.RetryHistory))
				}
			}},
		{"no retry on 404", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/missing"}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if len(a.RetryHistory) != 0 || a.Code != "NotFound" || a.Outputs.(map[string]any)["statusCode"] != int64(404) {
					t.Errorf("code %s retries %s outputs %s", a.Code, jsonOf(a.RetryHistory), jsonOf(a.Outputs))
				}
			}},
		{"policy none", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/always500","retryPolicy":{"type":"none"}}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if len(a.RetryHistory) != 0 {
					t.Errorf("retries %s", jsonOf(a.RetryHistory))
				}
			}},
		{"exponential count", `{"type":"Http","inputs":{"method":"GET","uri":"` + u + `/always500","retryPolicy":{"type":"exponential","count":3,"interval":"PT10S"}}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if len(a.RetryHistory) != 3 {
					t.Errorf("retries %s", jsonOf(a.RetryHistory))
				}
			}},
		{"async polling", `{"type":"Http","inputs":{"method":"POST","uri":"` + u + `/start","body":"go"}}`,
			"Succeeded", func(t *testing.T, a *ActionRecord) {
				if got := jsonOf(a.Outputs.(map[string]any)["body"]); got != `{"done":true}` || polls.Load() != 3 {
					t.Errorf("body %s after %d polls", got, polls.Load())
				}
			}},
		{"link-local refused", `{"type":"Http","inputs":{"method":"GET","uri":"http://169.254.169.254/metadata","retryPolicy":{"type":"none"}}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if !strings.Contains(jsonOf(a.Error), "refused") {
					t.Errorf("error %s", jsonOf(a.Error))
				}
			}},
		// A refusal of the outbound policy is not retried, whatever the policy.
		{"mapped metadata address refused, not retried", `{"type":"Http","inputs":{"method":"GET","uri":"http://[::ffff:169.254.169.254]/metadata","retryPolicy":{"type":"fixed","count":3,"interval":"PT1S"}}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if !strings.Contains(jsonOf(a.Error), "outbound connection to 169.254.169.254 refused") || len(a.RetryHistory) != 0 {
					t.Errorf("error %s, retries %s", jsonOf(a.Error), jsonOf(a.RetryHistory))
				}
			}},
		{"Alibaba metadata address refused", `{"type":"Http","inputs":{"method":"GET","uri":"http://100.100.100.200/latest/meta-data/"}}`,
			"Failed", func(t *testing.T, a *ActionRecord) {
				if !strings.Contains(jsonOf(a.Error), "outbound connection to 100.100.100.200 refused") {
					t.Errorf("error %s", jsonOf(a.Error))
				}
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := b.deploy(t, fmt.Sprintf("http-%d", i), def(`{"H":`+tc.action+`}`))
			r := b.run(t, l, nil)
			a := rec(r, "H")
			if a == nil || a.Status != tc.status {
				t.Fatalf("status %v, want %s: %s", paths(r), tc.status, jsonOf(a))
			}
			tc.check(t, a)
		})
	}
}

func TestHttpClientCertificate(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM := selfSigned(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	b := setup(t, nil, func(o *Config) { o.HTTPClient = srv.Client() })
	pfx := base64.StdEncoding.EncodeToString(append(certPEM, keyPEM...))
	l := b.deploy(t, "cert", def(`{"H":{"type":"Http","inputs":{"method":"GET","uri":"`+srv.URL+`","authentication":{"type":"ClientCertificate","pfx":"`+pfx+`","password":""}}}}`))
	r := b.run(t, l, nil)
	if a := rec(r, "H"); a.Status != StatusSucceeded || a.Outputs.(map[string]any)["body"] != "junction-test-client" {
		t.Fatalf("%s", jsonOf(a))
	}
}

func selfSigned(t *testing.T) ([]byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "junction-test-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// notes is a small but real connector: a key-value store with a connection
// parameter, used to test ServiceProvider and OpenApiConnection dispatch.
type notes struct {
	mu       sync.Mutex
	data     map[string]any
	failures atomic.Int32 // transient failures still to return
	calls    atomic.Int32
}

func (n *notes) connector(name string) *connector.Connector {
	return &connector.Connector{Name: name, Title: "Notes", Params: []connector.Param{{Name: "prefix", Type: "string"}},
		Operations: []connector.Operation{
			{ID: "upsertRecord", Kind: connector.Action, Invoke: func(ctx context.Context, conn connector.Connection, in map[string]any) (any, error) {
				n.calls.Add(1)
				if n.failures.Add(-1) >= 0 {
					return nil, &connector.Error{Status: 503, Retryable: true, Err: errors.New("temporarily unavailable")}
				}
				item, _ := in["item"].(map[string]any)
				name, _ := item["name"].(string)
				if name == "" {
					return nil, &connector.Error{Status: 400, Err: errors.New("item.name is required")}
				}
				prefix, _ := conn.Values["prefix"].(string)
				n.mu.Lock()
				defer n.mu.Unlock()
				id := prefix + name
				n.data[id] = item
				return map[string]any{"id": id, "entity": in["entityName"]}, nil
			}},
		}}
}

func newRegistry(t *testing.T, n *notes) *connector.Registry {
	reg := connector.NewRegistry()
	if err := reg.Register(n.connector("dataverse")); err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestConnectorDispatch(t *testing.T) {
	t.Parallel()
	n := &notes{data: map[string]any{}}
	reg := connector.NewRegistry()
	if err := reg.Register(n.connector("dataverse")); err != nil {
		t.Fatal(err)
	}
	b := setup(t, nil, func(o *Config) { o.Connectors = reg })
	f := loadSample(t, "logicapps/request-upsert-response.json")
	l, err := b.e.Compile("upsert", f, Project{Connections: map[string]connector.Connection{
		"dataverse": {Name: "dataverse", Connector: "dataverse", Values: map[string]any{"prefix": "acc-"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.e.Deploy(context.Background(), l, "test"); err != nil {
		t.Fatal(err)
	}
	n.failures.Store(1)
	r := b.run(t, l, map[string]any{"name": "Contoso", "number": 7})
	up := rec(r, "Upsert_account")
	if r.Status != StatusSucceeded || up.Status != StatusSucceeded || len(up.RetryHistory) != 1 {
		t.Fatalf("run %s %v %s", r.Status, paths(r), jsonOf(up))
	}
	resp := r.response
	if resp == nil || resp.StatusCode != 200 || jsonOf(resp.Body) != `{"id":"acc-Contoso","name":"Contoso"}` {
		t.Fatalf("response %s", jsonOf(resp))
	}
	if got := jsonOf(n.data["acc-Contoso"]); got != `{"accountnumber":"7","name":"Contoso"}` {
		t.Fatalf("stored %s", got)
	}
	// A permanent failure is not retried and takes the failure branch.
	calls := n.calls.Load()
	r = b.run(t, l, map[string]any{"name": ""})
	if n.calls.Load() != calls+1 || rec(r, "Response_failed").Status != StatusSucceeded || r.response.StatusCode != 502 {
		t.Fatalf("failure path: calls %d, %v, %s", n.calls.Load()-calls, paths(r), jsonOf(r.response))
	}
	if !strings.Contains(jsonOf(r.response.Body), "item.name is required") {
		t.Fatalf("the error did not reach the response: %s", jsonOf(r.response.Body))
	}
}

func TestOpenApiConnectionDispatch(t *testing.T) {
	t.Parallel()
	n := &notes{data: map[string]any{}}
	reg := connector.NewRegistry()
	if err := reg.Register(n.connector("dataverse")); err != nil {
		t.Fatal(err)
	}
	b := setup(t, nil, func(o *Config) { o.Connectors = reg })
	l := b.deploy(t, "pa", def(`{"Add":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"shared_commondataserviceforapps","operationId":"upsertRecord","apiId":"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps"},
		"parameters":{"entityName":"contacts","item/name":"Ann","item/city":"Oslo"},"authentication":"@parameters('$authentication')"}},
		"Id":{"type":"Compose","inputs":"@outputs('Add')?['body/id']","runAfter":{"Add":["Succeeded"]}}}`))
	r := b.run(t, l, nil)
	if r.Status != StatusSucceeded || rec(r, "Id").Outputs != "Ann" || jsonOf(n.data["Ann"]) != `{"city":"Oslo","name":"Ann"}` {
		t.Fatalf("%s %v %s", r.Status, paths(r), jsonOf(n.data))
	}
}

func TestChildWorkflow(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.deploy(t, "child", def(`{"R":{"type":"Response","inputs":{"statusCode":201,"headers":{"X-Child":"yes"},"body":{"doubled":"@mul(triggerBody()?['n'], 2)"}}}}`))
	b.deploy(t, "fire-and-forget", def(`{"C":{"type":"Compose","inputs":1}}`))
	l := b.deploy(t, "parent", def(`{
		"Call":{"type":"Workflow","inputs":{"host":{"workflow":{"id":"child"},"triggerName":"manual"},"body":{"n":21}}},
		"Forget":{"type":"Workflow","inputs":{"host":{"workflow":{"id":"fire-and-forget"},"triggerName":"manual"}}},
		"Out":{"type":"Compose","inputs":["@body('Call')?['doubled']","@outputs('Call')?['statusCode']","@outputs('Forget')?['statusCode']"],"runAfter":{"Call":["Succeeded"],"Forget":["Succeeded"]}}}`))
	r := b.run(t, l, nil)
	if got := jsonOf(rec(r, "Out").Outputs); got != `[42,201,202]` {
		t.Fatalf("got %s %v", got, paths(r))
	}
}
