package app

import (
	"crypto/tls"
	"junction/internal/trace"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/devcert"
)

// TestLocalClientTrustsOnlyTheListenersCertificate: Junction's calls to
// itself reach the TLS listener at whatever address it is bound to, and
// nothing presenting another certificate.
func TestLocalClientTrustsOnlyTheListenersCertificate(t *testing.T) {
	t.Parallel()
	f, err := devcert.Make(filepath.Join(t.TempDir(), "tls"), []string{"junction.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	own := &tls.Config{Certificates: []tls.Certificate{pair}}
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }
	self := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	self.TLS = own
	self.StartTLS()
	defer self.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(ok))
	defer other.Close()

	c := localClient(own)
	// The certificate names junction.example, not 127.0.0.1: the pin, not
	// the name, is what is checked.
	resp, err := c.Get(self.URL)
	if err != nil {
		t.Fatalf("own listener: %v", err)
	}
	resp.Body.Close()
	if _, err := c.Get(other.URL); err == nil || !strings.Contains(err.Error(), "other than its own") {
		t.Fatalf("another certificate: %v", err)
	}
	if localClient(nil).Transport.(trace.Transport).Base.(*http.Transport).TLSClientConfig != nil {
		t.Fatal("a plain listener's client has a TLS configuration")
	}
}
