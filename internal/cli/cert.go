package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"junction/internal/devcert"
)

// cert makes development certificates: `junction cert dev`.
func cert(args []string, io IO) int {
	if len(args) == 0 || args[0] != "dev" {
		fmt.Fprintln(io.Stderr, "usage: junction cert dev [--data DIR | --dir DIR] [--hosts localhost,127.0.0.1,::1]")
		return exitUsage
	}
	fs := newFlags("cert dev", io)
	data := fs.String("data", "./junction-data", "data folder; the files go in its tls folder")
	dir := fs.String("dir", "", "folder for the files (default: <data>/tls)")
	hosts := fs.String("hosts", strings.Join(devcert.Hosts, ","), "comma-separated names and addresses the certificate covers")
	if code, ok := parse(fs, args[1:], io.Env); !ok {
		return code
	}
	out := *dir
	if out == "" {
		out = filepath.Join(*data, "tls")
	}
	var hs []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, h)
		}
	}
	f, err := devcert.Make(out, hs, time.Now())
	if err != nil {
		fmt.Fprintf(io.Stderr, "junction cert dev: %v\n", err)
		return exitFailure
	}
	made := "Reused the development CA"
	if f.NewCA {
		made = "Made a development CA"
	}
	fmt.Fprintf(io.Stdout, `%s:  %s
Made a certificate for %s:  %s (key %s)

Serve with it:
    junction serve --tls-cert %s --tls-key %s

Trust the CA (once; certificates made again later stay trusted):
    Debian/Ubuntu:  sudo cp %s /usr/local/share/ca-certificates/junction-dev.crt && sudo update-ca-certificates
    Fedora/RHEL:    sudo cp %s /etc/pki/ca-trust/source/anchors/junction-dev.pem && sudo update-ca-trust
    macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s
    Windows:        certutil -addstore -f ROOT %s
    One program:    SSL_CERT_FILE=%s (Go, OpenSSL), NODE_EXTRA_CA_CERTS=%s (Node.js),
                    REQUESTS_CA_BUNDLE=%s (Python requests)

The CA's key (%s) can sign certificates for any name: keep it private.
`, made, f.CA, strings.Join(hs, ", "), f.Cert, f.Key, f.Cert, f.Key, f.CA, f.CA, f.CA, f.CA, f.CA, f.CA, f.CA, f.CAKey)
	return exitOK
}
