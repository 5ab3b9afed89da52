package sftp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/secrets"
)

type bundle struct {
	srv     *Server
	data    string
	port    string
	keyFile string
	mu      sync.Mutex
	uploads []string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{data: t.TempDir()}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	b.keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(b.keyFile, pem.EncodeToMemory(block), 0o600)
	pw, _ := secrets.New(secrets.Options{Env: func(k string) (string, bool) { return "s3cret", k == "JUNCTION_SECRET_PW" }})
	b.srv = New(Options{DataDir: b.data, Secrets: pw,
		OnUpload: func(user, path string) { b.mu.Lock(); b.uploads = append(b.uploads, user+":"+path); b.mu.Unlock() }})
	err := b.srv.Configure(Config{Listen: "127.0.0.1:0", Users: []User{
		{Name: "partner", Password: "${JUNCTION_SECRET_PW}", PublicKeys: []string{string(ssh.MarshalAuthorizedKey(sshPub))}},
		{Name: "other", Password: "${JUNCTION_SECRET_PW}"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.srv.Stop(context.Background()) })
	_, b.port, _ = net.SplitHostPort(b.srv.Addr().String())
	return b
}

// openssh runs the OpenSSH sftp client in batch mode as partner.
func (b *bundle) openssh(t *testing.T, commands ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("sftp"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the OpenSSH sftp client is required (scripts/deps/batch.sh installs it)")
		}
		t.Skip("SKIPPING: the OpenSSH sftp client is not installed (apt-get install openssh-client)")
	}
	batch := filepath.Join(t.TempDir(), "batch")
	os.WriteFile(batch, []byte(strings.Join(commands, "\n")+"\n"), 0o644)
	cmd := exec.Command("sftp", "-b", batch, "-i", b.keyFile, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-P", b.port, "partner@127.0.0.1")
	cmd.Dir = t.TempDir()
	os.WriteFile(filepath.Join(cmd.Dir, "local.csv"), []byte("id\n1\n"), 0o644)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestOpenSSHClientConfined(t *testing.T) {
	t.Parallel()
	b := setup(t)
	folder := filepath.Join(b.data, "sftp", "partner")
	out, err := b.openssh(t, "put local.csv upload.csv", "mkdir in", "put local.csv in/x.csv", "rename in/x.csv in/y.csv", "ls -1 in", "pwd")
	if err != nil {
		t.Fatalf("upload: %v\n%s", err, out)
	}
	if !strings.Contains(out, "in/y.csv") || !strings.Contains(out, "Remote working directory: /") {
		t.Fatalf("listing:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(folder, "upload.csv")); err != nil || string(b) != "id\n1\n" {
		t.Fatalf("uploaded file: %q %v", b, err)
	}
	b.mu.Lock()
	uploads := strings.Join(b.uploads, ",")
	b.mu.Unlock()
	if !strings.Contains(uploads, "partner:upload.csv") || !strings.Contains(uploads, "partner:in/x.csv") {
		t.Fatalf("upload notifications: %s", uploads)
	}

	// Escape attempts: ".." is cleaned to the user's root, absolute paths are
	// inside it, and symbolic links cannot be made or followed out.
	out, err = b.openssh(t, "put local.csv ../../escape.csv")
	if err != nil {
		t.Fatalf("put ../../escape.csv: %v\n%s", err, out)
	}
	for _, outside := range []string{filepath.Join(b.data, "escape.csv"), filepath.Join(b.data, "sftp", "escape.csv")} {
		if _, err := os.Stat(outside); err == nil {
			t.Fatalf("a file escaped to %s", outside)
		}
	}
	if _, err := os.Stat(filepath.Join(folder, "escape.csv")); err != nil {
		t.Fatal("the cleaned path should land inside the folder")
	}
	if out, err := b.openssh(t, "get /etc/passwd"); err == nil {
		t.Fatalf("read /etc/passwd:\n%s", out)
	}
	if out, err := b.openssh(t, "get ../other/secret.txt"); err == nil {
		t.Fatalf("read another user's folder:\n%s", out)
	}
	os.WriteFile(filepath.Join(b.data, "sftp", "other", "secret.txt"), []byte("secret"), 0o644)
	if out, err := b.openssh(t, "get ../other/secret.txt"); err == nil {
		t.Fatalf("read another user's file:\n%s", out)
	}
	if out, err := b.openssh(t, "symlink /etc/passwd link"); err == nil {
		t.Fatalf("made a symlink:\n%s", out)
	}
	os.Symlink("/etc/passwd", filepath.Join(folder, "planted"))
	if out, err := b.openssh(t, "get planted"); err == nil {
		t.Fatalf("followed a link out of the folder:\n%s", out)
	}
	if out, err := b.openssh(t, "rm /"); err == nil {
		t.Fatalf("removed the root:\n%s", out)
	}
}

func TestPasswordLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dial := func(pw string) (*ssh.Client, error) {
		return ssh.Dial("tcp", b.srv.Addr().String(), &ssh.ClientConfig{User: "other", Auth: []ssh.AuthMethod{ssh.Password(pw)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	}
	if _, err := dial("wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	conn, err := dial("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.Create("/drop.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("a,b\n"))
	f.Close()
	entries, err := c.ReadDir("/")
	if err != nil || len(entries) != 1 || entries[0].Name() != "drop.csv" {
		t.Fatalf("entries %v %v", entries, err)
	}
	if got, _ := os.ReadFile(filepath.Join(b.data, "sftp", "other", "drop.csv")); string(got) != "a,b\n" {
		t.Fatalf("content %q", got)
	}
	if err := c.Rename("/drop.csv", "/../../drop.csv"); err != nil {
		t.Fatalf("rename within the root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.data, "drop.csv")); err == nil {
		t.Fatal("rename escaped the folder")
	}
}

func TestConfigProblems(t *testing.T) {
	t.Parallel()
	c := Config{Users: []User{{Name: "Bad Name"}, {Name: "x", Password: "plain"}, {Name: "y", PublicKeys: []string{"nonsense"}}}}
	ps := strings.Join(c.check(nil), "\n")
	for _, want := range []string{"users[0].name", "users[0]: give a password", "users[1].password: write it as ${JUNCTION_SECRET_NAME}", "users[2].publicKeys[0]"} {
		if !strings.Contains(ps, want) {
			t.Errorf("missing problem %q in:\n%s", want, ps)
		}
	}
}
