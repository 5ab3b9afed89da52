package sftp

import (
	"net"
	"sync"
	"time"
)

// Lockout tunes how failed password logins are slowed down and locked out.
type Lockout struct {
	// Threshold is the number of failed logins, from one address or for one
	// user, after which that address or user is refused for Duration
	// (default 10).
	Threshold int
	// Duration is how long a lockout lasts, and how long a failure is
	// remembered (default 15 minutes).
	Duration time.Duration
	// BaseDelay is the delay of the first failure; each further one doubles
	// it, up to MaxDelay (defaults 250 ms and 8 s).
	BaseDelay, MaxDelay time.Duration
}

func (l Lockout) withDefaults() Lockout {
	if l.Threshold <= 0 {
		l.Threshold = 10
	}
	if l.Duration <= 0 {
		l.Duration = 15 * time.Minute
	}
	if l.BaseDelay <= 0 {
		l.BaseDelay = 250 * time.Millisecond
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = 8 * time.Second
	}
	return l
}

// guard counts failed logins per remote address and per user name. Both are
// counted because an attacker spreads guesses over many users from one
// address, or over many addresses for one user.
type guard struct {
	l   Lockout
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures // "addr:<ip>", "user:<name>"
}

type failures struct {
	n           int
	last        time.Time
	lockedUntil time.Time
}

// maxTracked bounds the guard's memory: beyond it, forgotten entries go.
const maxTracked = 100_000

func newGuard(l Lockout, now func() time.Time) *guard {
	return &guard{l: l.withDefaults(), now: now, m: map[string]*failures{}}
}

// host is the address part of a remote address, the unit counted: the port
// changes with every connection.
func host(remote net.Addr) string {
	if remote == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(remote.String())
	if err != nil {
		return remote.String()
	}
	return h
}

// locked reports whether the address or the user is locked out, and until when.
func (g *guard) locked(addr, user string) (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for _, k := range []string{"addr:" + addr, "user:" + user} {
		if f := g.m[k]; f != nil && now.Before(f.lockedUntil) {
			return true, f.lockedUntil
		}
	}
	return false, time.Time{}
}

// fail records a failed login. It returns how long to hold the client back
// and, when this failure reached the threshold, the time the lockout ends.
func (g *guard) fail(addr, user string) (delay time.Duration, lockedUntil time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.m) >= maxTracked {
		g.prune(now)
	}
	worst := 0
	for _, k := range []string{"addr:" + addr, "user:" + user} {
		f := g.m[k]
		if f == nil || now.Sub(f.last) > g.l.Duration {
			f = &failures{}
			g.m[k] = f
		}
		f.n++
		f.last = now
		if f.n >= g.l.Threshold && !now.Before(f.lockedUntil) {
			f.lockedUntil = now.Add(g.l.Duration)
			f.n = 0
			lockedUntil = f.lockedUntil
		}
		worst = max(worst, f.n)
	}
	delay = g.l.MaxDelay
	if worst > 0 && worst < 32 {
		delay = min(g.l.BaseDelay<<(worst-1), g.l.MaxDelay)
	}
	return delay, lockedUntil
}

// succeed forgets the failures of an address and a user that logged in.
func (g *guard) succeed(addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range []string{"addr:" + addr, "user:" + user} {
		if f := g.m[k]; f != nil && !g.now().Before(f.lockedUntil) {
			delete(g.m, k)
		}
	}
}

func (g *guard) prune(now time.Time) {
	for k, f := range g.m {
		if now.Sub(f.last) > g.l.Duration && !now.Before(f.lockedUntil) {
			delete(g.m, k)
		}
	}
}
