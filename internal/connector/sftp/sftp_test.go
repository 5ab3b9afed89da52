package sftp_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"junction/internal/connector/connectortest"
	"junction/internal/connector/sftp"
)

// server is an OpenSSH sshd started for one test on a free loopback port.
type server struct {
	port    int
	hostKey string // known_hosts line
	userKey string // PEM private key
	user    string
	dir     string
}

func keyPair(t *testing.T) (priv []byte, pub ssh.PublicKey) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(k)
	return pem.EncodeToMemory(block), signer.PublicKey()
}

func startSSHD(t *testing.T) *server {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("OpenSSH sshd is not installed (scripts/deps/connectors.sh installs it)")
		}
		t.Skip("SKIPPED LOUDLY: /usr/sbin/sshd is missing; run scripts/deps/connectors.sh")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostPriv, hostPub := keyPair(t)
	userPriv, userPub := keyPair(t)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "host_key"), hostPriv, 0o600))
	must(os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(userPub), 0o600))
	must(os.MkdirAll("/run/sshd", 0o755))
	// The port is free when picked but could be taken before sshd binds it
	// (the machine's other tests use loopback ports too): sshd then exits,
	// and another port is tried. Ready means sshd itself sent its banner.
	var port int
	for attempt := 1; ; attempt++ {
		var ready bool
		var why string
		port, ready, why = runSSHD(t, dir)
		if ready {
			break
		}
		if attempt == 5 {
			t.Fatalf("sshd did not start: %s", why)
		}
	}
	files := filepath.Join(dir, "files")
	must(os.Mkdir(files, 0o755))
	return &server{port: port, hostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostPub))), userKey: string(userPriv), user: u.Username, dir: files}
}

// runSSHD starts sshd with the host key and authorized keys in dir on a
// free loopback port, and waits for its banner there.
func runSSHD(t *testing.T, dir string) (port int, ready bool, why string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
AuthorizedKeysFile %[2]s/authorized_keys
PidFile %[2]s/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
LogLevel ERROR
`, port, dir)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return port, false, "sshd exited: " + stderr.String()
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			banner := make([]byte, len("SSH-2.0-OpenSSH"))
			n, _ := io.ReadFull(c, banner)
			c.Close()
			if string(banner[:n]) == "SSH-2.0-OpenSSH" {
				return port, true, ""
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited // stderr is written until then
	return port, false, "no banner from sshd within 10s: " + stderr.String()
}

func (s *server) conn() map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": float64(s.port), "username": s.user, "privateKey": s.userKey, "hostKey": s.hostKey}
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, sftp.New(nil))
}

func TestFiles(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	c := sftp.New(nil)
	conn := s.conn()
	p := func(name string) string { return filepath.Join(s.dir, name) }
	connectortest.Invoke(t, c, conn, "writeFile", map[string]any{"path": p("orders.csv"), "content": "id\n1\n"})
	connectortest.Invoke(t, c, conn, "writeFile", map[string]any{"path": p("orders.csv"), "content": "id\n2\n"}) // replaced in place
	connectortest.Invoke(t, c, conn, "writeFile", map[string]any{"path": p("b.bin"), "content": "AAEC", "encoding": "base64"})
	out := connectortest.Invoke(t, c, conn, "listFiles", map[string]any{"folder": s.dir, "pattern": "*.csv"}).(map[string]any)
	files := out["files"].([]any)
	if len(files) != 1 || files[0].(map[string]any)["name"] != "orders.csv" {
		t.Fatalf("list: %v", files)
	}
	out = connectortest.Invoke(t, c, conn, "readFile", map[string]any{"path": p("orders.csv")}).(map[string]any)
	if out["content"] != "id\n2\n" {
		t.Fatalf("read: %v", out)
	}
	connectortest.Fails(t, c, conn, "writeFile", map[string]any{"path": p("orders.csv"), "content": "x", "overwrite": false}, false)
	connectortest.Invoke(t, c, conn, "moveFile", map[string]any{"from": p("orders.csv"), "to": p("done.csv")})
	connectortest.Fails(t, c, conn, "moveFile", map[string]any{"from": p("b.bin"), "to": p("done.csv")}, false)
	connectortest.Invoke(t, c, conn, "deleteFile", map[string]any{"path": p("done.csv")})
	if ce := connectortest.Fails(t, c, conn, "readFile", map[string]any{"path": p("done.csv")}, false); ce.Status != 404 {
		t.Fatalf("deleted: %v", ce)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 || entries[0].Name() != "b.bin" {
		t.Fatalf("left on the server: %v", entries)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	c := sftp.New(nil)
	in := map[string]any{"folder": "."}
	wrongKey, _ := keyPair(t)
	bad := s.conn()
	bad["privateKey"] = string(wrongKey)
	connectortest.Fails(t, c, bad, "listFiles", in, false)
	otherHost := s.conn()
	_, pub := keyPair(t)
	otherHost["hostKey"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	connectortest.Fails(t, c, otherHost, "listFiles", in, false)
	unreachable := s.conn()
	unreachable["port"] = 1.0
	connectortest.Fails(t, c, unreachable, "listFiles", in, true)
	noHostKey := s.conn()
	delete(noHostKey, "hostKey")
	connectortest.Fails(t, c, noHostKey, "listFiles", in, false)
	// A server that accepts and never speaks SSH: a timeout, retryable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := s.conn()
	silent["port"] = float64(l.Addr().(*net.TCPAddr).Port)
	silent["timeoutSeconds"] = 1.0
	connectortest.Fails(t, c, silent, "listFiles", in, true)
}
