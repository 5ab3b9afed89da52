package job_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/app"
)

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSFTPUploadTriggersJob uploads to the built-in SFTP server of a running
// Junction and waits for the job the upload starts.
func TestSFTPUploadTriggersJob(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	signer, _ := ssh.NewSignerFromKey(priv)
	proj, data := t.TempDir(), t.TempDir()
	addr := freePort(t)
	os.WriteFile(filepath.Join(proj, "sftp.yaml"), []byte("listen: "+addr+"\nusers:\n  - name: partner\n    publicKeys: [\""+string(ssh.MarshalAuthorizedKey(sshPub)[:len(ssh.MarshalAuthorizedKey(sshPub))-1])+"\"]\n"), 0o644)
	os.MkdirAll(filepath.Join(proj, "jobs"), 0o755)
	os.WriteFile(filepath.Join(proj, "jobs", "partner-orders.yaml"), []byte(`
trigger: {files: true}
source: {type: file, sftpUser: partner, path: orders, pattern: "*.jsonl", read: {format: jsonl}}
mapping: [{to: id, type: int, required: true}, {to: item}]
key: [id]
sink: {type: file, path: out, format: csv}
`), 0o644)
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", Data: data, AdminKey: "k", Project: proj})
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "partner", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	c.Mkdir("/orders")
	// Upload under a temporary name, then rename: the convention partners use.
	f, err := c.Create("/orders/o.jsonl.part")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("{\"id\":1,\"item\":\"bolt\"}\n{\"id\":2,\"item\":\"nut\"}\n"))
	f.Close()
	if err := c.Rename("/orders/o.jsonl.part", "/orders/o.jsonl"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(300 * time.Second) // a safety bound, not a timing assertion
	for {
		req, _ := http.NewRequest("GET", "http://"+httpAddr.String()+"/admin/v1/jobs/partner-orders/runs", nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Value []struct {
				Status   string
				Inserted int64
				Trigger  string
			}
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if len(out.Value) == 1 && out.Value[0].Status == "succeeded" {
			if out.Value[0].Inserted != 2 || out.Value[0].Trigger != "file" {
				t.Fatalf("run %+v", out.Value[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished run: %+v", out.Value)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The run's outcome is recorded before its file moves to archive/.
	for {
		if _, err := os.Stat(filepath.Join(data, "sftp", "partner", "orders", "archive", "o.jsonl")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the uploaded file was not archived")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
