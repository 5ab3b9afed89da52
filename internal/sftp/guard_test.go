package sftp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/secrets"
)

// lockedBuffer is a log sink shared by the server's connection goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type guardBundle struct {
	srv    *Server
	log    *lockedBuffer
	clock  *clock
	mu     sync.Mutex
	delays []time.Duration
}

func setupGuard(t *testing.T, l Lockout) *guardBundle {
	t.Helper()
	g := &guardBundle{log: &lockedBuffer{}, clock: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	pw, _ := secrets.New(secrets.Options{Env: func(k string) (string, bool) { return "s3cret", k == "JUNCTION_SECRET_PW" }})
	g.srv = New(Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(g.log, nil)),
		Secrets: pw, Lockout: l, Now: g.clock.now,
		Sleep: func(d time.Duration) { g.mu.Lock(); g.delays = append(g.delays, d); g.mu.Unlock() }})
	if err := g.srv.Configure(Config{Listen: "127.0.0.1:0", Users: []User{{Name: "alice", Password: "${JUNCTION_SECRET_PW}"}, {Name: "bob", Password: "${JUNCTION_SECRET_PW}"}}}); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.srv.Stop(context.Background()) })
	return g
}

// login connects from local (an address on the loopback network) as user with
// pw through a real SSH client, and lists the folder over SFTP.
func (g *guardBundle) login(t *testing.T, local, user, pw string) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", g.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, g.srv.Addr().String(), &ssh.ClientConfig{User: user,
		Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		nc.Close()
		return err
	}
	conn := ssh.NewClient(cc, chans, reqs)
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ReadDir("/")
	return err
}

func TestFailedLoginsSlowedLoggedAndLockedOut(t *testing.T) {
	t.Parallel()
	g := setupGuard(t, Lockout{Threshold: 3, Duration: time.Hour, BaseDelay: time.Second, MaxDelay: 3 * time.Second})
	for i := 0; i < 3; i++ {
		if err := g.login(t, "127.0.0.1", "alice", "wrong"); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	g.mu.Lock()
	delays := append([]time.Duration(nil), g.delays...)
	g.mu.Unlock()
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; !equalDurations(delays, want) {
		t.Errorf("delays %v, want %v (growing, capped)", delays, want)
	}
	logs := g.log.String()
	if n := strings.Count(logs, `msg="sftp login failed" remote=127.0.0.1 user=alice`); n != 3 {
		t.Errorf("%d failure lines with the address and user, want 3:\n%s", n, logs)
	}
	if !strings.Contains(logs, `msg="sftp login locked out" remote=127.0.0.1 user=alice until=2026-01-01T01:00:00Z threshold=3`) {
		t.Errorf("no lockout line:\n%s", logs)
	}

	// Locked: the right password is refused, for the user from another
	// address and for the address with another user.
	for _, c := range []struct{ local, user string }{{"127.0.0.1", "alice"}, {"127.0.0.2", "alice"}, {"127.0.0.1", "bob"}} {
		if err := g.login(t, c.local, c.user, "s3cret"); err == nil {
			t.Errorf("%s from %s logged in while locked out", c.user, c.local)
		}
	}
	if !strings.Contains(g.log.String(), `msg="sftp login refused: locked out" remote=127.0.0.2 user=alice`) {
		t.Errorf("no refusal line:\n%s", g.log.String())
	}
	// Neither locked: another user from another address logs in.
	if err := g.login(t, "127.0.0.2", "bob", "s3cret"); err != nil {
		t.Errorf("bob from 127.0.0.2: %v", err)
	}
	// The lockout ends.
	g.clock.add(time.Hour + time.Second)
	if err := g.login(t, "127.0.0.1", "alice", "s3cret"); err != nil {
		t.Errorf("after the lockout: %v", err)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGuardForgetsOldFailuresAndSuccessResets(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(0, 0)}
	g := newGuard(Lockout{Threshold: 3, Duration: time.Minute}, c.now)
	g.fail("a", "u")
	g.fail("a", "u")
	c.add(2 * time.Minute) // older than Duration: forgotten
	if _, until := g.fail("a", "u"); !until.IsZero() {
		t.Fatal("failures older than the window counted")
	}
	g.succeed("a", "u")
	g.fail("a", "u")
	if _, until := g.fail("a", "u"); !until.IsZero() {
		t.Fatal("a success did not reset the count")
	}
	if _, until := g.fail("a", "u"); until.IsZero() {
		t.Fatal("the third failure in the window did not lock out")
	}
	if locked, _ := g.locked("b", "u"); !locked {
		t.Fatal("the user is not locked from another address")
	}
	g.succeed("a", "u") // a success cannot lift a lockout (it is refused before)
	if locked, _ := g.locked("a", "x"); !locked {
		t.Fatal("the address lockout was lifted")
	}
}
