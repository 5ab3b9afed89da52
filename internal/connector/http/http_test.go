package http_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/connector/connectortest"
	jhttp "junction/internal/connector/http"
)

// api is a test API that answers with what authenticated the request.
func api(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != "app-secret" {
			http.Error(w, `{"error":"invalid_client"}`, 401)
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-` + r.Form.Get("scope") + `","token_type":"Bearer","expires_in":3600}`))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		body := map[string]any{"method": r.Method, "auth": r.Header.Get("Authorization"), "user": user, "pw": pw,
			"key": r.Header.Get("x-api-key"), "qkey": r.URL.Query().Get("code"), "q": r.URL.Query().Get("q"), "ct": r.Header.Get("Content-Type")}
		var in any
		_ = json.NewDecoder(r.Body).Decode(&in)
		body["in"] = in
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code := 0
		for _, c := range r.PathValue("code") {
			code = code*10 + int(c-'0')
		}
		http.Error(w, "status body", code)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, &tokens
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, jhttp.New(nil))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s, tokens := api(t)
	c := jhttp.New(nil)
	tests := []struct {
		name  string
		conn  map[string]any
		check func(body map[string]any) bool
	}{
		{"none", map[string]any{"baseUrl": s.URL}, func(b map[string]any) bool { return b["auth"] == "" }},
		{"basic", map[string]any{"baseUrl": s.URL, "authentication": "basic", "username": "ada", "password": "pw1"}, func(b map[string]any) bool { return b["user"] == "ada" && b["pw"] == "pw1" }},
		{"bearer", map[string]any{"baseUrl": s.URL, "authentication": "bearer", "token": "t0k"}, func(b map[string]any) bool { return b["auth"] == "Bearer t0k" }},
		{"api key header", map[string]any{"baseUrl": s.URL, "authentication": "apiKey", "apiKeyName": "x-api-key", "apiKeyValue": "k1"}, func(b map[string]any) bool { return b["key"] == "k1" }},
		{"api key query", map[string]any{"baseUrl": s.URL, "authentication": "apiKey", "apiKeyName": "code", "apiKeyIn": "query", "apiKeyValue": "k2"}, func(b map[string]any) bool { return b["qkey"] == "k2" && b["q"] == "x" }},
		{"client credentials", map[string]any{"baseUrl": s.URL, "authentication": "oauth2ClientCredentials", "tokenUrl": s.URL + "/token", "clientId": "app", "clientSecret": "app-secret", "scope": "read"},
			func(b map[string]any) bool { return b["auth"] == "Bearer tok-read" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := connectortest.Invoke(t, c, tc.conn, "request", map[string]any{"method": "post", "uri": "/echo", "queries": map[string]any{"q": "x"}, "body": map[string]any{"n": 1.0}}).(map[string]any)
			body := out["body"].(map[string]any)
			if out["statusCode"] != 200 || !tc.check(body) || body["method"] != "POST" || body["ct"] != "application/json" || body["in"].(map[string]any)["n"] != 1.0 {
				t.Fatalf("out = %v", out)
			}
		})
	}
	// The token is fetched once and cached.
	conn := tests[5].conn
	connectortest.Invoke(t, c, conn, "request", map[string]any{"uri": "/echo"})
	if n := tokens.Load(); n != 1 {
		t.Fatalf("token fetched %d times", n)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	s, _ := api(t)
	c := jhttp.New(nil)
	base := map[string]any{"baseUrl": s.URL}
	for code, retry := range map[string]bool{"400": false, "404": false, "408": true, "429": true, "500": true, "503": true} {
		ce := connectortest.Fails(t, c, base, "request", map[string]any{"uri": "/status/" + code}, retry)
		if !strings.Contains(ce.Error(), "status body") || ce.Status == 0 {
			t.Fatalf("%s: %v", code, ce)
		}
	}
	connectortest.Fails(t, c, map[string]any{"baseUrl": "http://127.0.0.1:1"}, "request", map[string]any{"uri": "/x"}, true)
	connectortest.Fails(t, c, map[string]any{"baseUrl": s.URL, "timeoutSeconds": 1.0}, "request", map[string]any{"uri": "/slow"}, true)
	connectortest.Fails(t, c, map[string]any{"baseUrl": s.URL, "authentication": "oauth2ClientCredentials", "tokenUrl": s.URL + "/token", "clientId": "app", "clientSecret": "wrong-secret"}, "request", map[string]any{"uri": "/echo"}, false)
	connectortest.Fails(t, c, map[string]any{"authentication": "magic"}, "request", map[string]any{"uri": s.URL}, false)
	connectortest.Fails(t, c, map[string]any{}, "request", map[string]any{"uri": "/relative"}, false)
	connectortest.Fails(t, c, map[string]any{}, "request", map[string]any{"uri": "file:///etc/passwd"}, false)
	ce := connectortest.Fails(t, c, map[string]any{}, "request", map[string]any{"uri": "http://169.254.169.254/latest/meta-data/"}, false)
	if !strings.Contains(ce.Error(), "outbound connection to 169.254.169.254 refused") {
		t.Fatalf("metadata: %v", ce)
	}
	ce = connectortest.Fails(t, c, map[string]any{"baseUrl": "http://127.0.0.1:1", "authentication": "apiKey", "apiKeyName": "code", "apiKeyIn": "query", "apiKeyValue": "very-secret-key"}, "request", map[string]any{"uri": "/x"}, true)
	if strings.Contains(ce.Error(), "very-secret-key") {
		t.Fatalf("the key leaked: %v", ce)
	}
}

func TestClientCertificate(t *testing.T) {
	t.Parallel()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(cn string, usage x509.ExtKeyUsage, ip bool) (certPEM, keyPEM []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		kb, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	srvCert, srvKey := issue("server", x509.ExtKeyUsageServerAuth, true)
	cliCert, cliKey := issue("client-app", x509.ExtKeyUsageClientAuth, false)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello " + r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	s.StartTLS()
	defer s.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	c := jhttp.New(nil)
	conn := map[string]any{"authentication": "clientCertificate", "certificate": string(cliCert), "privateKey": string(cliKey), "caCertificate": string(caPEM)}
	out := connectortest.Invoke(t, c, conn, "request", map[string]any{"uri": s.URL}).(map[string]any)
	if out["body"] != "hello client-app" {
		t.Fatalf("out = %v", out)
	}
	// Without the certificate the server refuses the handshake.
	_, err = jhttp.NewClient(nil).Do(t.Context(), connOf(map[string]any{"caCertificate": string(caPEM)}), "http", "request", jhttp.Request{URI: s.URL})
	if err == nil {
		t.Fatal("no client certificate, yet the request passed")
	}
	connectortest.Fails(t, c, map[string]any{"authentication": "clientCertificate", "certificate": string(cliCert), "privateKey": string(srvKey)}, "request", map[string]any{"uri": s.URL}, false)
}
