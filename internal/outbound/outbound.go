// Package outbound is the one way Junction calls out: every webhook, Http
// action, connector and Dataverse client dials through a Policy, which refuses
// link-local and cloud metadata addresses (and, when configured, private ones)
// at dial time, on the address the name resolved to. Checking the resolved
// address of each connection leaves no gap for DNS rebinding, and covers every
// redirect hop, since each hop dials again.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"junction/internal/trace"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal of the policy.
var ErrRefused = errors.New("outbound address refused")

// RefusedError names the address a connection was refused to and why.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("outbound connection to %s refused: %s", e.Addr, e.Reason)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// Policy says which addresses outbound connections may reach. The zero value
// is the default: link-local and metadata addresses refused, everything else
// (public, private, loopback) allowed.
type Policy struct {
	// DenyPrivate also refuses private and local ranges: loopback, 10/8,
	// 172.16/12, 192.168/16, 100.64/10, fc00::/7, and the unspecified
	// addresses (0.0.0.0 and :: reach the local host).
	DenyPrivate bool
	// Deny are further ranges refused; they win over Allow.
	Deny []netip.Prefix
	// Allow are ranges exempted from the built-in refusals (a link-local
	// appliance the admin trusts, one private subnet under DenyPrivate).
	Allow []netip.Prefix
}

// Metadata are the cloud instance metadata and host service addresses refused
// by default. Most are link-local; fd00:ec2::254 (AWS IPv6), 100.100.100.200
// (Alibaba Cloud) and 168.63.129.16 (Azure WireServer) are not, so they are
// named. metadata.google.internal resolves to 169.254.169.254.
var Metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("168.63.129.16"),
}

var (
	linkLocal = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}
	private   = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("::/128"),
	}
	// Prefixes that carry an IPv4 address inside an IPv6 one: NAT64 and 6to4.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// embedded returns the IPv4 address an IPv6 address stands for (IPv4-mapped,
// NAT64, 6to4), or a itself.
func embedded(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if !a.Is6() {
		return a
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	return a
}

// Check returns a *RefusedError when the policy refuses a, else nil.
func (p *Policy) Check(a netip.Addr) error {
	if !a.IsValid() {
		return &RefusedError{Addr: a, Reason: "not an IP address"}
	}
	a = embedded(a.WithZone(""))
	var pol Policy
	if p != nil {
		pol = *p
	}
	for _, d := range pol.Deny {
		if d.Contains(a) {
			return &RefusedError{Addr: a, Reason: "in the denied range " + d.String() + " (--outbound-deny)"}
		}
	}
	for _, al := range pol.Allow {
		if al.Contains(a) {
			return nil
		}
	}
	for _, m := range Metadata {
		if a == m {
			return &RefusedError{Addr: a, Reason: "a cloud metadata address"}
		}
	}
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return &RefusedError{Addr: a, Reason: "a link-local address"}
	}
	for _, l := range linkLocal {
		if l.Contains(a) {
			return &RefusedError{Addr: a, Reason: "a link-local address"}
		}
	}
	if a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return &RefusedError{Addr: a, Reason: "not a unicast address"}
	}
	if pol.DenyPrivate {
		for _, pr := range private {
			if pr.Contains(a) {
				return &RefusedError{Addr: a, Reason: "a private or loopback address (--outbound-deny-private)"}
			}
		}
	}
	return nil
}

// control is the net.Dialer hook: it sees the resolved address of every
// connection attempt, after DNS and before connect.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, _, serr := net.SplitHostPort(address)
		if serr != nil {
			return &RefusedError{Reason: "unparseable address " + address}
		}
		a, perr := netip.ParseAddr(host)
		if perr != nil {
			return &RefusedError{Reason: "unparseable address " + address}
		}
		return p.Check(a)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that applies the policy to every connection.
func (p *Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// dialContext refuses a literal address before any socket is made (so the
// answer does not depend on the machine supporting its address family), then
// dials with the check on every resolved address.
func (p *Policy) dialContext(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(address); err == nil {
			if a, err := netip.ParseAddr(host); err == nil {
				if err := p.Check(a); err != nil {
					return nil, &net.OpError{Op: "dial", Net: network, Err: err}
				}
			}
		}
		return d.DialContext(ctx, network, address)
	}
}

// Transport returns an HTTP transport that dials through the policy. It uses
// no proxy: a proxy would hide the real destination from the check.
func (p *Policy) Transport() *http.Transport {
	return &http.Transport{
		DialContext:         p.dialContext(p.Dialer(10 * time.Second)),
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// Client returns an HTTP client that dials through the policy and follows at
// most 10 redirects, each of which dials (and is checked) again. A timeout of
// 0 means none.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: trace.Transport{Base: p.Transport()}, Timeout: timeout, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %s URL refused", req.URL.Scheme)
	}
	return nil
}

// ParsePrefixes reads a comma-separated list of CIDR ranges or single
// addresses, as the --outbound-deny and --outbound-allow flags take them.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR range", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR range", f)
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}
