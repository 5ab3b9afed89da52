package smtp_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/connector/connectortest"
	"junction/internal/connector/smtp"
)

// startSMTPD runs OpenSMTPD on a free loopback port, delivering mail for
// @localhost into one maildir per user under the returned folder.
func startSMTPD(t *testing.T) (port int, maildirs string) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/smtpd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("OpenSMTPD is not installed (scripts/deps/connectors.sh installs it)")
		}
		t.Skip("SKIPPED LOUDLY: /usr/sbin/smtpd is missing; run scripts/deps/connectors.sh")
	}
	// Delivery runs as the recipient user, who must be able to reach the folder.
	dir, err := os.MkdirTemp("", "junction-smtpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	maildirs = filepath.Join(dir, "mail")
	if err := os.Mkdir(maildirs, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(maildirs, 0o777)
	_ = os.Chmod(dir, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "smtpd.conf")
	cfg := fmt.Sprintf("listen on 127.0.0.1 port %d\naction \"deliver\" maildir \"%s/%%{rcpt.user}\"\nmatch from any for domain \"localhost\" action \"deliver\"\n", port, maildirs)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/smtpd", "-d", "-f", conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return port, maildirs
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtpd did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func delivered(t *testing.T, maildirs, user string) *mail.Message {
	t.Helper()
	var files []string
	deadline := time.Now().Add(20 * time.Second)
	for len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(maildirs, user, "new", "*"))
		if time.Now().After(deadline) {
			t.Fatalf("no mail delivered to %s", user)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, smtp.New(nil))
}

// TestSend is the only test that runs smtpd: OpenSMTPD keeps one queue per machine.
func TestSend(t *testing.T) {
	t.Parallel()
	port, maildirs := startSMTPD(t)
	c := smtp.New(nil)
	conn := map[string]any{"host": "127.0.0.1", "port": float64(port), "security": "none", "from": "Junction <junction@example.test>"}
	report := base64.StdEncoding.EncodeToString([]byte("id,name\n1,Contoso\n"))
	out := connectortest.Invoke(t, c, conn, "sendEmail", map[string]any{
		"to": []any{"nobody@localhost"}, "bcc": []any{"daemon@localhost"}, "subject": "Nightly report – ✓",
		"body": "<p>See the attachment.</p>", "isHtml": true,
		"attachments": []any{map[string]any{"name": "report.csv", "contentBytes": report}},
	}).(map[string]any)
	if !strings.HasPrefix(out["messageId"].(string), "<") {
		t.Fatalf("out: %v", out)
	}
	m := delivered(t, maildirs, "nobody")
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(m.Header.Get("Subject"))
	if subject != "Nightly report – ✓" || m.Header.Get("Message-Id") != out["messageId"] || m.Header.Get("Bcc") != "" {
		t.Fatalf("headers: %v", m.Header)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/mixed" {
		t.Fatalf("content type %s", mt)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	text, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := io.ReadAll(text)
	if !strings.HasPrefix(text.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(tb), "See the attachment") {
		t.Fatalf("text part: %v %s", text.Header, tb)
	}
	att, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := io.ReadAll(att)
	data, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(ab), "\r\n", ""))
	if att.FileName() != "report.csv" || string(data) != "id,name\n1,Contoso\n" {
		t.Fatalf("attachment %q: %q", att.FileName(), data)
	}
	delivered(t, maildirs, "daemon") // the Bcc recipient got it too

	// The server refuses a recipient it does not serve: a permanent failure.
	ce := connectortest.Fails(t, c, conn, "sendEmail", map[string]any{"to": []any{"someone@elsewhere.test"}, "subject": "x"}, false)
	if ce.Status != 550 {
		t.Fatalf("refused: %v", ce)
	}
	// This server offers no STARTTLS: a connection asking for it is misconfigured.
	strict := map[string]any{"host": "127.0.0.1", "port": float64(port), "from": "a@example.test"}
	connectortest.Fails(t, c, strict, "sendEmail", map[string]any{"to": []any{"nobody@localhost"}, "subject": "x"}, false)
}

func TestFailures(t *testing.T) {
	t.Parallel()
	c := smtp.New(nil)
	in := map[string]any{"to": []any{"a@example.test"}, "subject": "x"}
	connectortest.Fails(t, c, map[string]any{"host": "127.0.0.1", "port": 1.0, "security": "none", "from": "a@example.test"}, "sendEmail", in, true)
	connectortest.Fails(t, c, map[string]any{"host": "127.0.0.1", "from": "not an address"}, "sendEmail", in, false)
	connectortest.Fails(t, c, map[string]any{"host": "127.0.0.1", "from": "a@example.test"}, "sendEmail", map[string]any{"to": []any{"bad"}, "subject": "x"}, false)
	connectortest.Fails(t, c, map[string]any{"host": "127.0.0.1", "from": "a@example.test"}, "sendEmail", map[string]any{"to": []any{"a@example.test"}, "subject": "x\r\nBcc: evil@example.test"}, false)
	connectortest.Fails(t, c, map[string]any{"host": "127.0.0.1", "from": "a@example.test"}, "sendEmail", map[string]any{"to": []any{"a@example.test"}, "subject": "x",
		"attachments": []any{map[string]any{"name": "a.txt", "contentBytes": "not base64!"}}}, false)
}
