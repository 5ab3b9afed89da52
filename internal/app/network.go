package app

import (
	"crypto/subtle"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"

	"junction/internal/outbound"
	"junction/internal/server"
)

// validateNetwork checks the outbound policy, the TLS files and whether plain
// HTTP may be served on the listen address.
func (c *Config) validateNetwork() error {
	if c.SFTPLockoutThreshold < 0 {
		return configErr("--sftp-lockout-threshold", "%d is negative", c.SFTPLockoutThreshold)
	}
	if c.SFTPLockoutDuration < 0 {
		return configErr("--sftp-lockout-duration", "%s is negative", c.SFTPLockoutDuration)
	}
	deny, err := outbound.ParsePrefixes(c.OutboundDeny)
	if err != nil {
		return configErr("--outbound-deny", "%v", err)
	}
	allow, err := outbound.ParsePrefixes(c.OutboundAllow)
	if err != nil {
		return configErr("--outbound-allow", "%v", err)
	}
	c.outbound = &outbound.Policy{DenyPrivate: c.OutboundDenyPrivate, Deny: deny, Allow: allow}

	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return configErr("--tls-key", "is required with --tls-cert")
	case c.TLSKey != "" && c.TLSCert == "":
		return configErr("--tls-cert", "is required with --tls-key")
	case c.TLSCert != "":
		pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return configErr("--tls-cert", "cannot load the certificate and key: %v", err)
		}
		c.tls = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if c.tls == nil && !c.InsecureListen && !loopbackListen(c.Listen) {
		return configErr("--listen", "%s is not a loopback address and API keys would cross the network in clear text; "+
			"give --tls-cert and --tls-key (`junction cert dev` makes a local pair), or --insecure-listen behind a TLS proxy", c.Listen)
	}
	return nil
}

// loopbackListen reports whether a listen address only accepts connections
// from this machine. An empty host or a name other than localhost listens on
// more.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// OutboundPolicy is the policy every outbound request dials through.
func (c *Config) OutboundPolicy() *outbound.Policy { return c.outbound }

// TLSConfig is the listeners' TLS configuration, nil when they speak plain
// TCP. The AMQP listener serves it as the HTTP listener does.
func (c *Config) TLSConfig() *tls.Config { return c.tls }

// metricsAccess guards /metrics. With --metrics-key it takes that bearer key
// (or an admin or operator key); without it, /metrics is open when Junction
// listens on loopback only and needs an admin or operator key otherwise.
func (a *App) metricsAccess(next http.Handler) http.Handler {
	open := a.cfg.MetricsKey == "" && loopbackListen(a.cfg.Listen)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if open {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := server.BearerKey(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
			server.WriteError(w, http.StatusUnauthorized, server.CodeUnauthorized, "an Authorization: Bearer <key> header is required (the metrics key, or an admin or operator key)")
			return
		}
		if a.cfg.MetricsKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(a.cfg.MetricsKey)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		p, ok := a.keys.Authenticate(r.Context(), key)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="junction", error="invalid_token"`)
			server.WriteError(w, http.StatusUnauthorized, server.CodeUnauthorized, "the key is not valid")
			return
		}
		if p.Role != server.RoleAdmin && p.Role != server.RoleOperator {
			server.WriteError(w, http.StatusForbidden, server.CodeForbidden, "the key's role "+string(p.Role)+" may not read metrics")
			return
		}
		next.ServeHTTP(w, r)
	})
}
