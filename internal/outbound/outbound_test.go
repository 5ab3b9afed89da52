package outbound_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"junction/internal/outbound"
)

func TestCheckAddressClasses(t *testing.T) {
	t.Parallel()
	priv := &outbound.Policy{DenyPrivate: true}
	exempt := &outbound.Policy{Allow: mustPrefixes(t, "169.254.10.0/24"), Deny: mustPrefixes(t, "203.0.113.0/24,169.254.10.7")}
	cases := []struct {
		addr    string
		policy  *outbound.Policy
		refused bool
	}{
		{"169.254.169.254", nil, true},        // AWS, Azure, GCP metadata
		{"169.254.170.2", nil, true},          // ECS task metadata
		{"169.254.1.1", nil, true},            // any IPv4 link-local
		{"fe80::1", nil, true},                // IPv6 link-local
		{"fe80::1%eth0", nil, true},           // with a zone
		{"fd00:ec2::254", nil, true},          // AWS IPv6 metadata
		{"100.100.100.200", nil, true},        // Alibaba Cloud metadata
		{"168.63.129.16", nil, true},          // Azure WireServer
		{"::ffff:169.254.169.254", nil, true}, // IPv4-mapped IPv6
		{"::ffff:a9fe:a9fe", nil, true},       // the same, in hex
		{"64:ff9b::a9fe:a9fe", nil, true},     // NAT64 of the metadata address
		{"2002:a9fe:a9fe::1", nil, true},      // 6to4 of the metadata address
		{"224.0.0.1", nil, true},              // multicast
		{"ff02::1", nil, true},                // IPv6 multicast
		{"255.255.255.255", nil, true},        // broadcast
		{"127.0.0.1", nil, false},             // loopback allowed by default
		{"::1", nil, false},                   // IPv6 loopback
		{"10.1.2.3", nil, false},              // private allowed by default
		{"fd12:3456::1", nil, false},          // ULA allowed by default
		{"93.184.216.34", nil, false},         // public
		{"2606:4700::1111", nil, false},       // public IPv6
		{"127.0.0.1", priv, true},             // loopback under DenyPrivate
		{"::1", priv, true},                   //
		{"0.0.0.0", priv, true},               // reaches the local host
		{"::", priv, true},                    //
		{"10.1.2.3", priv, true},              //
		{"172.20.0.1", priv, true},            //
		{"192.168.1.1", priv, true},           //
		{"100.64.0.1", priv, true},            // CGNAT
		{"fd12:3456::1", priv, true},          // ULA
		{"::ffff:10.0.0.1", priv, true},       // mapped private
		{"93.184.216.34", priv, false},        // public stays allowed
		{"169.254.10.5", exempt, false},       // allowed range wins over the built-in refusal
		{"169.254.10.7", exempt, true},        // deny wins over allow
		{"203.0.113.9", exempt, true},         // denied range
		{"169.254.169.254", exempt, true},     // outside the allowed range
	}
	for _, c := range cases {
		err := c.policy.Check(netip.MustParseAddr(c.addr))
		if refused := err != nil; refused != c.refused {
			t.Errorf("%s (policy %+v): refused=%v (%v), want %v", c.addr, c.policy, refused, err, c.refused)
		}
		if err != nil && !errors.Is(err, outbound.ErrRefused) {
			t.Errorf("%s: %v does not wrap ErrRefused", c.addr, err)
		}
	}
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := outbound.ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"", nil, false},
		{"10.0.0.0/8, 192.168.1.7", []string{"10.0.0.0/8", "192.168.1.7/32"}, false},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}, false},
		{"fd00::/8,::ffff:1.2.3.4", []string{"fd00::/8", "1.2.3.4/32"}, false},
		{"nonsense", nil, true},
		{"10.0.0.0/33", nil, true},
	} {
		got, err := outbound.ParsePrefixes(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v, want bad=%v", c.in, err, c.bad)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i].String() != c.want[i] {
				t.Errorf("%q: %v, want %v", c.in, got, c.want)
			}
		}
	}
}

// TestClientRefusesAtDialTime dials real addresses: the refusal comes from
// the dialer's check on the resolved address, before any packet is sent, so
// the metadata addresses need not exist on this machine.
func TestClientRefusesAtDialTime(t *testing.T) {
	t.Parallel()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer ok.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer redirect.Close()
	c := (&outbound.Policy{}).Client(5 * time.Second)
	cases := []struct {
		url     string
		refused bool
	}{
		{ok.URL, false},
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://100.100.100.200/latest/meta-data/", true},
		{"http://[::ffff:169.254.169.254]/", true},
		{"http://[fd00:ec2::254]/latest/meta-data/", true},
		{"http://[fe80::1%25lo]/", true},
		{redirect.URL + "?to=" + ok.URL, false},
		{redirect.URL + "?to=http://169.254.169.254/latest/meta-data/", true},
		{redirect.URL + "?to=http://[::ffff:a9fe:a9fe]/", true},
	}
	for _, cs := range cases {
		resp, err := c.Get(cs.url)
		if err == nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, outbound.ErrRefused); got != cs.refused {
			t.Errorf("GET %s: err %v, want refused=%v", cs.url, err, cs.refused)
		}
	}
}

// TestNamesResolveBeforeTheCheck points a name at a refused address: the
// check is on what the name resolved to, not on the name.
func TestNamesResolveBeforeTheCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	d := (&outbound.Policy{DenyPrivate: true}).Dialer(time.Second)
	_, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	if !errors.Is(err, outbound.ErrRefused) {
		t.Fatalf("dial localhost under DenyPrivate: %v, want a refusal", err)
	}
	conn, err := (&outbound.Policy{}).Dialer(time.Second).DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("dial localhost by default: %v", err)
	}
	conn.Close()
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"169.254.169.254", "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "fe80::1%eth0", "10.0.0.1"} {
		f.Add(s)
	}
	p := &outbound.Policy{DenyPrivate: true}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		// Every spelling of an address gets the same answer as its IPv4 form.
		if a.Is4In6() {
			if (p.Check(a) == nil) != (p.Check(a.Unmap()) == nil) {
				t.Fatalf("%s and %s differ", a, a.Unmap())
			}
		}
		if a.Unmap() == netip.MustParseAddr("169.254.169.254") && p.Check(a) == nil {
			t.Fatalf("%s allowed", a)
		}
	})
}

func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8, 192.168.1.7", "fd00::/8,::ffff:1.2.3.4", "", ",,", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := outbound.ParsePrefixes(s)
		if err != nil {
			return
		}
		// What was accepted reads back the same.
		var parts []string
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q gave %v", s, p)
			}
			parts = append(parts, p.String())
		}
		again, err := outbound.ParsePrefixes(strings.Join(parts, ","))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("%q: %v does not read back: %v %v", s, ps, again, err)
		}
	})
}
