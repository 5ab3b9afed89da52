package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"junction/internal/cli"
)

// watchedBuffer is an output the command and the test share; it tells when
// a line containing want was written.
type watchedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func newWatchedBuffer(want string) *watchedBuffer {
	return &watchedBuffer{want: want, seen: make(chan struct{})}
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	n, err := w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return n, err
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeStopsWithinItsStopTimeout: on its signal, serve stops with the
// --stop-timeout deadline, not an endless one, and says which components did
// not stop in time.
func TestServeStopsWithinItsStopTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := newWatchedBuffer("listening on"), newWatchedBuffer("\x00")
	env := map[string]string{"JUNCTION_ADMIN_KEY": "admin-key", "JUNCTION_AMQP_LISTEN": "off"}
	done := make(chan int, 1)
	go func() {
		// A nanosecond passes before the stop begins: the deadline has gone.
		done <- cli.Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--stop-timeout", "1ns"},
			cli.IO{Stdout: out, Stderr: errOut, Env: func(k string) string { return env[k] }})
	}()
	select {
	case <-out.seen:
	case code := <-done:
		t.Fatalf("serve ended with %d before serving:\n%s\n%s", code, out, errOut)
	}
	cancel() // as SIGTERM would
	code := <-done
	stderr := errOut.String()
	if code != 1 || !strings.Contains(stderr, "junction: stop: did not stop in time: ") || !strings.Contains(stderr, "workflow") ||
		!strings.Contains(stderr, "not stopped in time") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestServeBannerSaysWhereToGoNext reads the banner serve prints, on a first
// start (the generated admin key above it) and with JUNCTION_ADMIN_KEY: the
// console's URL answers, the key hint names where the key is, and the next
// command runs as printed.
func TestServeBannerSaysWhereToGoNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, adminKey, keyHint string
	}{
		{"first start", "", "(sign in with the admin key printed above on the first start)"},
		{"key from the environment", "banner-admin-key", "(sign in with the admin key in JUNCTION_ADMIN_KEY)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if tc.adminKey != "" {
				env["JUNCTION_ADMIN_KEY"] = tc.adminKey
			}
			out := serveUntil(t, "  next ", env)
			banner := out.String()
			base := listeningOn.FindStringSubmatch(banner)
			if base == nil {
				t.Fatalf("no listening line:\n%s", banner)
			}
			if !strings.Contains(banner, "  console  "+base[1]+"/console/ "+tc.keyHint+"\n") {
				t.Fatalf("no console line with the key hint %q:\n%s", tc.keyHint, banner)
			}
			key := tc.adminKey
			if key == "" {
				m := regexp.MustCompile(`Generated the admin key \(shown once; it is stored hashed\):\n\n    (\S+)\n`).FindStringSubmatch(banner)
				if m == nil || strings.Index(banner, m[0]) > strings.Index(banner, "  console  ") {
					t.Fatalf("the generated key is not printed above the banner:\n%s", banner)
				}
				key = m[1]
			}
			resp, err := http.Get(base[1] + "/console/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the console answers %s", resp.Status)
			}
			// The next command, as printed, with the key where the reader
			// keeps it.
			next := regexp.MustCompile(`\n  next     (junction .+?) \(docs/getting-started\.md\)\n`).FindStringSubmatch(banner)
			if next == nil {
				t.Fatalf("no next command:\n%s", banner)
			}
			code, stdout, stderr := run(t, map[string]string{"JUNCTION_ADMIN_KEY": key}, strings.Fields(next[1])[1:]...)
			if code != 0 || !strings.Contains(stdout, "my-app") {
				t.Fatalf("%s: exit %d\n%s%s", next[1], code, stdout, stderr)
			}
		})
	}
}

// serveUntil runs serve in this process (AMQP off, a data folder of its own)
// until its output holds want, and stops it when the test ends.
func serveUntil(t *testing.T, want string, env map[string]string, args ...string) *watchedBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := newWatchedBuffer(want), newWatchedBuffer("\x00")
	env["JUNCTION_AMQP_LISTEN"] = "off"
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, args...),
			cli.IO{Stdout: out, Stderr: errOut, Env: func(k string) string { return env[k] }})
	}()
	select {
	case <-out.seen:
	case code := <-done:
		cancel()
		t.Fatalf("serve ended with %d before printing %q:\n%s\n%s", code, want, out, errOut)
	}
	t.Cleanup(func() { cancel(); <-done })
	return out
}

var listeningOn = regexp.MustCompile(`Junction \S+ listening on (http://127\.0\.0\.1:\d+)\n`)

// TestJobRunWaitEndsItsProgressLineWithTheRun: job run --wait redraws one
// progress line while the run goes on; the line's last state is the run's
// end (full, with its status), not a stale 0%.
func TestJobRunWaitEndsItsProgressLineWithTheRun(t *testing.T) {
	t.Parallel()
	proj := t.TempDir()
	os.MkdirAll(filepath.Join(proj, "jobs"), 0o755)
	os.WriteFile(filepath.Join(proj, "jobs", "export.yaml"), []byte(`source: {type: table, table: account}
mapping:
  - {to: name}
sink: {type: file, path: out, format: csv, name: accounts}
`), 0o644)
	env := map[string]string{"JUNCTION_ADMIN_KEY": "job-admin-key"}
	out := serveUntil(t, "  next ", env, "--project", proj)
	base := listeningOn.FindStringSubmatch(out.String())[1]
	code, stdout, stderr := run(t, env, "job", "run", "export", "--wait", "--url", base)
	if code != 0 || !strings.Contains(stdout, "Run 1 of export: succeeded") {
		t.Fatalf("job run --wait: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The terminal shows what follows the last carriage return.
	if !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("the progress line is not ended: %q", stderr)
	}
	shown := stderr[strings.LastIndex(stderr, "\r")+1:]
	if !strings.HasPrefix(shown, "[##############################] 100% succeeded ") {
		t.Fatalf("the progress line ends as %q (all: %q)", shown, stderr)
	}
}
