package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"junction/internal/app/apptest"
)

// TestKillDuringDelivery runs the real binary, kills it with SIGKILL while it
// is delivering, starts it again on the same data, and checks that every
// published event still reaches the receiver.
func TestKillDuringDelivery(t *testing.T) {
	t.Parallel()
	bin := apptest.Binary(t)
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr

	// The receiver is slow, so the kill lands mid-delivery.
	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var evs []map[string]any
		json.Unmarshal(body, &evs)
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			json.NewEncoder(w).Encode(map[string]any{"validationResponse": evs[0]["data"].(map[string]any)["validationCode"]})
			return
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		for _, e := range evs {
			seen[e["id"].(string)]++
			total++
		}
		mu.Unlock()
	}))
	t.Cleanup(rc.Close)

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--listen", addr, "--amqp-listen", "127.0.0.1:0", "--data", data)
		cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY="+adminKey, "JUNCTION_EVENTS_LEASE=2s", "JUNCTION_EVENTS_POLL=50ms")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitFor(t, "the server to answer", func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		return cmd
	}
	call := func(method, path string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}

	proc := start()
	if s, out := call("PUT", "/admin/v1/eventgrid/topics/crash", map[string]any{"properties": map[string]any{}}); s != 201 {
		t.Fatalf("topic: %d %s", s, out)
	}
	if s, out := call("PUT", "/admin/v1/eventgrid/topics/crash/eventSubscriptions/slow", map[string]any{"properties": map[string]any{
		"destination": webhook(rc.URL, map[string]any{"maxEventsPerBatch": 2})}}); s != 201 {
		t.Fatalf("subscription: %d %s", s, out)
	}
	const n = 300
	for i := 0; i < n; i += 100 {
		var batch []any
		for j := i; j < i+100; j++ {
			batch = append(batch, egEvent(fmt.Sprint("k", j), "T", "/s", nil))
		}
		if s, out := call("POST", "/eventgrid/topics/crash/api/events", batch); s != 200 {
			t.Fatalf("publish: %d %s", s, out)
		}
	}
	waitFor(t, "deliveries to start", func() bool { mu.Lock(); defer mu.Unlock(); return total >= 20 })
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	mu.Lock()
	atKill := len(seen)
	mu.Unlock()
	if atKill >= n {
		t.Fatalf("everything was delivered before the kill (%d); the test proves nothing", atKill)
	}
	start()
	waitFor(t, "every event after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
	mu.Lock()
	defer mu.Unlock()
	t.Logf("delivered %d distinct events (%d deliveries, %d before the kill)", len(seen), total, atKill)
}
