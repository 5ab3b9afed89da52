package job

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// OwnStore is Junction's own database, which no job's SQL source or sink may
// reach: its tables hold the API keys, the SAS rules and every surface's
// state.
type OwnStore struct {
	// SQLitePath is the store's file when the store is SQLite.
	SQLitePath string
	// Postgres is the store's URL when the store is PostgreSQL.
	Postgres string
}

// refuse reports a DSN that reaches the store's own database: the same
// SQLite file (after resolving links), or the same PostgreSQL database on a
// host that is the same machine or address.
func (o OwnStore) refuse(driver, dsn string) error {
	const msg = "points at Junction's own store, which jobs cannot read or write"
	switch driver {
	case "sqlite":
		if o.SQLitePath != "" && sameFile(sqlitePath(dsn), o.SQLitePath) {
			return fmt.Errorf("the SQLite file %s", msg)
		}
	case "postgres":
		if o.Postgres == "" {
			return nil
		}
		theirs, err := pgx.ParseConfig(dsn)
		if err != nil {
			return fmt.Errorf("not a PostgreSQL DSN: %v", redactErr(err))
		}
		own, err := pgx.ParseConfig(o.Postgres)
		if err != nil {
			return nil
		}
		// Every host a DSN may fall back to counts, and a database left out
		// is the user's name, as the server takes it.
		if database(theirs) != database(own) {
			return nil
		}
		for _, t := range pgTargets(theirs) {
			for _, o := range pgTargets(own) {
				if t.port == o.port && sameHost(t.host, o.host) {
					return fmt.Errorf("the database %s", msg)
				}
			}
		}
	}
	return nil
}

type pgTarget struct {
	host string
	port uint16
}

func pgTargets(c *pgx.ConnConfig) []pgTarget {
	out := []pgTarget{{c.Host, c.Port}}
	for _, f := range c.Fallbacks {
		out = append(out, pgTarget{f.Host, f.Port})
	}
	return out
}

func database(c *pgx.ConnConfig) string {
	if c.Database == "" {
		return c.User
	}
	return c.Database
}

// sqlitePath is the file a SQLite DSN opens: a path, or a URI filename
// ("file:x.db?mode=ro", "file:///data/x%2Edb") whose escapes SQLite decodes.
func sqlitePath(dsn string) string {
	p, uri := strings.CutPrefix(dsn, "file:")
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if !uri {
		return p
	}
	if rest, ok := strings.CutPrefix(p, "//"); ok {
		// An authority, empty or localhost, before the absolute path.
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = ""
		}
	}
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	return p
}

// sameFile reports whether a and b name one file, following links; a file
// that does not exist yet is compared by its resolved path.
func sameFile(a, b string) bool {
	if a == "" || a == ":memory:" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	return resolved(a) == resolved(b)
}

func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return abs
	}
	return filepath.Join(dir, filepath.Base(abs))
}

// sameHost reports whether two PostgreSQL hosts are one server: equal
// names, both this machine (a socket folder, a loopback address, an address
// of one of its interfaces), or names sharing an address.
func sameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ia, ib := hostAddrs(a), hostAddrs(b)
	if local(a, ia) && local(b, ib) {
		return true
	}
	for _, x := range ia {
		if slices.ContainsFunc(ib, x.Equal) {
			return true
		}
	}
	return false
}

func hostAddrs(h string) []net.IP {
	if strings.HasPrefix(h, "/") || h == "" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil {
		return []net.IP{ip}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, _ := net.DefaultResolver.LookupIPAddr(ctx, h)
	out := make([]net.IP, len(addrs))
	for i, a := range addrs {
		out[i] = a.IP
	}
	return out
}

// local reports whether a host is this machine.
func local(h string, ips []net.IP) bool {
	if h == "" || strings.HasPrefix(h, "/") {
		return true
	}
	own, _ := net.InterfaceAddrs()
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return true
		}
		for _, a := range own {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}

// redactErr keeps a password in a DSN out of a message.
func redactErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "password="); i >= 0 {
		return s[:i] + "password=****"
	}
	return s
}
