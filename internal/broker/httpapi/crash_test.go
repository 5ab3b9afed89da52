package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/cli"
)

// TestMain lets the test binary act as `junction serve` when re-executed by
// the crash test.
func TestMain(m *testing.M) {
	if args := os.Getenv("JUNCTION_BROKER_TEST_SERVE"); args != "" {
		os.Exit(cli.Main(context.Background(), strings.Split(args, "\x1f"), cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	os.Exit(m.Run())
}

// serveProcess runs the real server in a child process and returns its base
// URL.
func serveProcess(t *testing.T, data string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY="+adminKey,
		"JUNCTION_BROKER_TEST_SERVE="+strings.Join([]string{"serve", "--listen", "127.0.0.1:0", "--amqp-listen", "127.0.0.1:0", "--data", data, "--log-level", "error"}, "\x1f"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "listening on "); i >= 0 {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, strings.TrimSpace(line[i+len("listening on "):])
		}
	}
	t.Fatalf("the server exited before listening: %v", sc.Err())
	return nil, ""
}

// TestKillNineLosesNoAcknowledgedMessage sends from many clients, kills the
// server with SIGKILL mid-stream, restarts it on the same data folder, and
// checks that every message whose send was acknowledged is there.
func TestKillNineLosesNoAcknowledgedMessage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	data := t.TempDir()
	cmd, base := serveProcess(t, data)
	e := &env{t: t, base: base, hc: &http.Client{Timeout: 10 * time.Second}, adminKey: adminKey}
	e.want(e.do("PUT", "/admin/v1/servicebus/queues/durable", bearer(adminKey), []byte(`{}`)), 201)

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				req, _ := http.NewRequest("POST", base+"/servicebus/durable/messages", strings.NewReader(id))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				req.Header.Set("BrokerProperties", `{"MessageId":"`+id+`"}`)
				res, err := hc.Do(req)
				if err != nil {
					return // the server is gone
				}
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a good number of sends were acknowledged, with sends in flight.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	close(stop)
	wg.Wait()

	_, base = serveProcess(t, data)
	e.base = base
	found := map[string]bool{}
	for {
		r := e.want(e.do("POST", "/servicebus/durable/$receive", bearer(adminKey), []byte(`{"mode":"receiveAndDelete","maxMessages":1000}`)), 200)
		var got struct {
			Value []struct {
				MessageID string `json:"messageId"`
				Body      string `json:"body"`
			}
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Value) == 0 {
			break
		}
		for _, m := range got.Value {
			if m.Body != m.MessageID {
				t.Fatalf("message %s has body %q", m.MessageID, m.Body)
			}
			found[m.MessageID] = true
		}
	}
	lost := 0
	for id := range acked {
		if !found[id] {
			lost++
			t.Errorf("acknowledged message %s is missing after kill -9", id)
		}
	}
	t.Logf("%d acknowledged before the kill, %d found after the restart (sends in flight may add a few), %d lost", len(acked), len(found), lost)
}
