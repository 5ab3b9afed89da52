package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"

	"junction/internal/app"
	"junction/internal/devcert"
	"junction/internal/server"
	"junction/internal/store"
)

// devTLS makes a development CA and a certificate for localhost, and
// returns a client that trusts the CA and the configuration that serves it.
func devTLS(t *testing.T) (*http.Client, func(*app.Config)) {
	t.Helper()
	f, err := devcert.Make(filepath.Join(t.TempDir(), "tls"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA file holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return client, func(c *app.Config) { c.TLSCert, c.TLSKey = f.Cert, f.Key }
}

// TestAzureEventGridSDKOverTLS: Azure's Event Grid publisher, which sends a
// key only over TLS, publishes straight to Junction serving the development
// certificate, no proxy in between.
func TestAzureEventGridSDKOverTLS(t *testing.T) {
	t.Parallel()
	client, withTLS := devTLS(t)
	b := start(t, store.SQLite, withTLS)
	b.base = strings.Replace(b.base, "http://", "https://", 1)
	b.client = client
	if resp, _ := b.do(t, "PUT", "/admin/v1/eventgrid/topics/tls-topic", "admin-key", map[string]any{"properties": map[string]any{}}); resp.StatusCode != 201 {
		t.Fatalf("create topic: %d", resp.StatusCode)
	}
	_, keys := b.do(t, "POST", "/admin/v1/eventgrid/topics/tls-topic/listKeys", "admin-key", nil)
	key, _ := keys["key1"].(string)
	opts := &azeventgrid.ClientOptions{ClientOptions: policy.ClientOptions{Transport: client}}
	str := func(s string) *string { return &s }
	now := time.Now().UTC()
	event := []azeventgrid.Event{{ID: str("tls-1"), Subject: str("/a"), EventType: str("A.Changed"), DataVersion: str("1.0"), EventTime: &now, Data: map[string]any{"n": 1}}}
	for _, c := range []struct {
		key string
		ok  bool
	}{{key, true}, {"d3Jvbmc=", false}} {
		eg, err := azeventgrid.NewClientWithSharedKeyCredential(b.base+"/eventgrid/topics/tls-topic/api/events", azcore.NewKeyCredential(c.key), opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = eg.PublishEvents(context.Background(), event, nil)
		if (err == nil) != c.ok {
			t.Fatalf("publish with key %q: %v, want ok=%v", c.key, err, c.ok)
		}
	}
	// The listener speaks TLS only.
	resp, err := http.Get(strings.Replace(b.base, "https://", "http://", 1) + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS listener: %d", resp.StatusCode)
		}
	}
}

func TestListenAddressNeedsTLSOrInsecureListen(t *testing.T) {
	t.Parallel()
	_, withTLS := devTLS(t)
	cases := []struct {
		name   string
		mutate func(*app.Config)
		want   string // "" for accepted
	}{
		{"IPv4 loopback", func(c *app.Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"IPv6 loopback", func(c *app.Config) { c.Listen = "[::1]:0" }, ""},
		{"localhost", func(c *app.Config) { c.Listen = "localhost:0" }, ""},
		{"every address", func(c *app.Config) { c.Listen = "0.0.0.0:0" }, "--listen: 0.0.0.0:0 is not a loopback address"},
		{"empty host", func(c *app.Config) { c.Listen = ":0" }, "--insecure-listen"},
		{"a name", func(c *app.Config) { c.Listen = "example.com:0" }, "--insecure-listen"},
		{"every address, insecure", func(c *app.Config) { c.Listen, c.InsecureListen = "0.0.0.0:0", true }, ""},
		{"every address, TLS", func(c *app.Config) { c.Listen = "0.0.0.0:0"; withTLS(c) }, ""},
		{"cert without key", func(c *app.Config) { withTLS(c); c.TLSKey = "" }, "--tls-key: is required with --tls-cert"},
		{"unreadable cert", func(c *app.Config) { withTLS(c); c.TLSCert = c.TLSKey }, "--tls-cert: cannot load"},
		{"bad deny range", func(c *app.Config) { c.OutboundDeny = "10.0.0.0/99" }, "--outbound-deny: "},
		{"bad allow range", func(c *app.Config) { c.OutboundAllow = "nope" }, "--outbound-allow: "},
		{"negative lockout", func(c *app.Config) { c.SFTPLockoutThreshold = -1 }, "--sftp-lockout-threshold: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := app.Config{Listen: "127.0.0.1:0", Data: t.TempDir()}
			c.mutate(&cfg)
			a, err := app.New(context.Background(), cfg)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				a.Stop(context.Background())
				return
			}
			if err == nil {
				a.Stop(context.Background())
				t.Fatalf("accepted, want %q", c.want)
			}
			if !app.IsConfigError(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a ConfigError with %q", err, c.want)
			}
		})
	}
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	open := start(t, store.SQLite, nil)
	keyed := start(t, store.SQLite, func(c *app.Config) { c.MetricsKey = "scrape-key" })
	wide := start(t, store.SQLite, func(c *app.Config) { c.Listen, c.InsecureListen = "0.0.0.0:0", true })
	wide.base = strings.Replace(wide.base, "0.0.0.0", "127.0.0.1", 1)
	cases := []struct {
		name string
		b    *bundle
		key  func(map[server.Role]string) string
		want int
	}{
		{"loopback, no key", open, func(map[server.Role]string) string { return "" }, 200},
		{"metrics key, none given", keyed, func(map[server.Role]string) string { return "" }, 401},
		{"metrics key", keyed, func(map[server.Role]string) string { return "scrape-key" }, 200},
		{"metrics key, wrong", keyed, func(map[server.Role]string) string { return "scrape-kez" }, 401},
		{"metrics key, operator key", keyed, func(k map[server.Role]string) string { return k[server.RoleOperator] }, 200},
		{"metrics key, sender key", keyed, func(k map[server.Role]string) string { return k[server.RoleSender] }, 403},
		{"wide listen, no key", wide, func(map[server.Role]string) string { return "" }, 401},
		{"wide listen, admin key", wide, func(k map[server.Role]string) string { return k[server.RoleAdmin] }, 200},
		{"wide listen, listener key", wide, func(k map[server.Role]string) string { return k[server.RoleListener] }, 403},
	}
	keys := map[*bundle]map[server.Role]string{open: roleKeys(t, open), keyed: roleKeys(t, keyed), wide: roleKeys(t, wide)}
	for _, c := range cases {
		resp, _ := c.b.do(t, "GET", "/metrics", c.key(keys[c.b]), nil)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

// roleKeys makes a key of every role but admin on b; admin's is "admin-key".
func roleKeys(t *testing.T, b *bundle) map[server.Role]string {
	t.Helper()
	out := map[server.Role]string{server.RoleAdmin: "admin-key"}
	for _, r := range []server.Role{server.RoleOperator, server.RoleSender, server.RoleListener} {
		_, secret, err := b.app.Keys().Create(context.Background(), "key-of-"+string(r), r)
		if err != nil {
			t.Fatal(err)
		}
		out[r] = secret
	}
	return out
}
