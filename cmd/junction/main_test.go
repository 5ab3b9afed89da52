package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"junction/internal/store/storetest"
)

// These tests drive the real binary: built once, started as a process, talked
// to over HTTP, stopped with signals.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "junction-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "junction")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a buffer the process's output goroutine and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type proc struct {
	cmd    *exec.Cmd
	base   string
	out    *syncBuffer
	exited chan struct{}
	err    error
}

// wait waits for the process to exit and returns its exit error.
func (p *proc) wait() error {
	<-p.exited
	return p.err
}

func serve(t *testing.T, data string, extra ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(build(t), append([]string{"serve", "--listen", addr, "--amqp-listen", "127.0.0.1:0", "--data", data}, extra...)...)
	cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY=k")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, out: out, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); p.wait() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("junction exited before becoming ready (%v):\n%s", p.err, out)
		default:
		}
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("junction did not become ready:\n%s", out)
	return nil
}

func TestServeAnswersAndStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			var extra []string
			if store == "postgres" {
				url := storetest.RequirePostgres(t)
				schema := storetest.NewSchema(t)
				// Select the schema through the URL, as an operator would.
				sep := "?"
				if strings.Contains(url, "?") {
					sep = "&"
				}
				extra = []string{"--store", url + sep + "search_path=" + schema}
			}
			p := serve(t, t.TempDir(), extra...)
			for key, want := range map[string]int{"": 401, "k": 200} {
				req, _ := http.NewRequest("GET", p.base+"/admin/v1/openapi.json", nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("openapi with key %q: %d, want %d", key, resp.StatusCode, want)
				}
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.wait(); err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, p.out)
			}
			if !strings.Contains(p.out.String(), "junction stopped") {
				t.Fatalf("no clean stop in the output:\n%s", p.out)
			}
		})
	}
}

func TestBadFlagExitsWith2(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(build(t), "serve", "--store", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "--data", t.TempDir())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--store") {
		t.Fatalf("unreachable store: %v\n%s", err, out)
	}
}

// TestKillDuringWritesLosesNothing kills the server with SIGKILL while clients
// create API keys, restarts it on the same data folder, and checks that every
// key the server acknowledged is there.
func TestKillDuringWritesLosesNothing(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := serve(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"name":"w%d-%d","role":"listener"}`, w, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", p.base+"/admin/v1/keys", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer k")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				var k struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&k)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked[k.ID] = true
					mu.Unlock()
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait()
	cancel()
	wg.Wait()

	p2 := serve(t, data)
	req, _ := http.NewRequest("GET", p2.base+"/admin/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Value []struct{ ID string } }
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("list after restart: %v %s", err, raw)
	}
	stored := map[string]bool{}
	for _, k := range list.Value {
		stored[k.ID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged key %s lost: %d acknowledged, %d stored", id, len(acked), len(stored))
		}
	}
	t.Logf("%d acknowledged before kill -9, %d stored after restart", len(acked), len(stored))
}
