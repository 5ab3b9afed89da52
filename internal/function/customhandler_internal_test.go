package function

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCustomMetadata: Service Bus trigger metadata reaches a custom handler
// as the Azure host sends it, so that handlers written against Azure (which
// decode Metadata values as strings holding JSON, date-times as
// "2023-10-12T20:13:49") read it unchanged.
func TestCustomMetadata(t *testing.T) {
	t.Parallel()
	m := &Message{ID: "m-1", DeliveryCount: 1, ContentType: "application/json", EnqueuedTime: time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC),
		Properties: map[string]any{"tenant": "a"}}
	got := customMetadata(messageData(m))
	raw, _ := json.Marshal(got)
	var typed struct {
		DeliveryCount   string
		MessageId       string
		EnqueuedTimeUtc string
		UserProperties  map[string]any
	}
	if err := json.Unmarshal(raw, &typed); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	tests := []struct{ name, got, want string }{
		{"DeliveryCount", typed.DeliveryCount, "1"},
		{"MessageId", typed.MessageId, `"m-1"`},
		// Date-times as the host formats them, not as JSON text.
		{"EnqueuedTimeUtc", typed.EnqueuedTimeUtc, "2026-01-02T03:04:05"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if typed.UserProperties["tenant"] != "a" {
		t.Errorf("UserProperties = %v", typed.UserProperties)
	}
}

// TestRecycleAfterTimeout: a process that ran an invocation past its timeout
// is stopped once no invocation is in flight on it (and not before), and no
// new invocation is given to it from then on; invocations that end in time
// never stop it.
func TestRecycleAfterTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		releases []bool // timed out, in the order the invocations end
		killedAt int    // index of the release that stops the process, -1 for none
	}{
		{"alone", []bool{true}, 0},
		{"others in flight", []bool{true, false, false}, 2},
		{"the last one times out", []bool{false, false, true}, 2},
		{"in time", []bool{false, false}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("sleep", "60")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			c := newSupervised(slog.New(slog.DiscardHandler))
			c.proc = cmd.Process
			c.setBase(&url.URL{Scheme: "http", Host: "127.0.0.1:1"})
			var releases []func(bool)
			for range tc.releases {
				_, release, err := c.acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				releases = append(releases, release)
			}
			for i, timedOut := range tc.releases {
				releases[i](timedOut)
				c.mu.Lock()
				serving := c.base != nil
				c.mu.Unlock()
				if i < tc.killedAt || tc.killedAt < 0 {
					select {
					case err := <-exited:
						t.Fatalf("stopped at release %d: %v", i, err)
					default:
					}
					if !serving {
						t.Fatalf("no longer serving after release %d", i)
					}
				}
			}
			if tc.killedAt < 0 {
				return
			}
			if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the process ended with %v, want killed", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, _, err := c.acquire(ctx); err == nil {
				t.Fatal("an invocation was given to the stopped process")
			}
		})
	}
}
