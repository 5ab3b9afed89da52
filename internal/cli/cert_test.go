package cli_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCertDev: `junction cert dev` makes a CA and a certificate for the
// local names that verifies against it, tells how to serve and trust them,
// and keeps the CA when run again.
func TestCertDev(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	code, out, stderr := run(t, nil, "cert", "dev", "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dir := filepath.Join(data, "tls")
	for _, want := range []string{"Made a development CA", "--tls-cert " + filepath.Join(dir, "cert.pem"), "update-ca-certificates", "SSL_CERT_FILE="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	ca := readCert(t, filepath.Join(dir, "ca.pem"))
	verify := func() {
		t.Helper()
		leaf := readCert(t, filepath.Join(dir, "cert.pem"))
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
			t.Error("the certificate is valid for example.com")
		}
	}
	verify()
	if info, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem: %v %v", info.Mode(), err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	code, out, _ = run(t, nil, "cert", "dev", "--dir", dir)
	after, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if code != 0 || !strings.Contains(out, "Reused the development CA") || !bytes.Equal(before, after) {
		t.Fatalf("second run: exit %d, CA kept %v:\n%s", code, bytes.Equal(before, after), out)
	}
	verify()
	if code, _, stderr := run(t, nil, "cert"); code != 2 || !strings.Contains(stderr, "usage: junction cert dev") {
		t.Fatalf("no subcommand: %d %s", code, stderr)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s is not PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
