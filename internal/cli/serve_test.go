package cli_test

import (
	"bytes"
	"context"
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
