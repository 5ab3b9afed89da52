package amqp_test

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"junction/internal/app/apptest"
	"junction/internal/store/storetest"
)

// TestKill9TwoNodes runs two junction processes on one PostgreSQL schema. The
// Go SDK sends to node A without pause; a receiver on A completes some
// messages and holds the locks of others; A is killed with SIGKILL mid-stream.
// A receiver on node B then finds every acknowledged send that was not
// completed, none that was completed, and the messages locked on A only after
// their lock expired.
func TestKill9TwoNodes(t *testing.T) {
	t.Parallel()
	bin := apptest.Binary(t)
	pg := storetest.RequirePostgres(t)
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	storeURL := pg + sep + "search_path=" + storetest.NewSchema(t)

	// waitFor polls ok until it holds; the deadline is a safety bound, not a
	// timing assertion.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	type node struct {
		cmd  *exec.Cmd
		base string
		cs   string
	}
	start := func(name string) *node {
		httpAddr, amqpAddr := freeAddr(t), freeAddr(t)
		logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", "--listen", httpAddr, "--amqp-listen", amqpAddr, "--data", t.TempDir(), "--store", storeURL)
		cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY=k")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				out, _ := os.ReadFile(logs.Name())
				t.Logf("node %s:\n%s", name, out)
			}
		})
		n := &node{cmd: cmd, base: "http://" + httpAddr}
		waitFor("node "+name+" to be ready", func() bool {
			resp, err := http.Get(n.base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		keys := apptest.Call(t, "POST", n.base+"/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", "k", nil, 200)
		n.cs, _ = keys["primaryConnectionString"].(string)
		if !strings.Contains(n.cs, amqpAddr[strings.LastIndex(amqpAddr, ":"):]+";") {
			t.Fatalf("node %s hands out %q, not its AMQP address %s", name, n.cs, amqpAddr)
		}
		return n
	}
	a, b := start("A"), start("B")
	apptest.Call(t, "PUT", a.base+"/admin/v1/servicebus/queues/crash", "k",
		map[string]any{"properties": map[string]any{"lockDuration": "PT5S", "maxDeliveryCount": 10}}, 201)

	ctx := ctxT(t)
	client := func(n *node) *azservicebus.Client {
		// No retries: a send to the killed node fails instead of waiting.
		c, err := azservicebus.NewClientFromConnectionString(n.cs, &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{MaxRetries: -1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	ca := client(a)

	// The sender runs until A dies; a send that returned nil is acknowledged.
	var mu sync.Mutex
	var acked []string
	sendDone := make(chan error, 1)
	s := newSender(t, ca, "crash")
	go func() {
		for i := 0; i < 100000; i++ {
			id := fmt.Sprintf("m-%04d", i)
			if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte(id), MessageID: to.Ptr(id)}, nil); err != nil {
				sendDone <- err
				return
			}
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
		}
		sendDone <- nil
	}()
	waitFor("20 acknowledged sends", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 20 })

	// On A: complete some, hold the locks of the others.
	r := newReceiver(t, ca, "crash", nil)
	completed := map[string]bool{}
	lockedUntil := map[string]time.Time{}
	for len(completed)+len(lockedUntil) < 10 {
		msgs, err := r.ReceiveMessages(ctx, 10-len(completed)-len(lockedUntil), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.LockedUntil == nil {
				t.Fatalf("message %s has no lock", m.MessageID)
			}
			if len(completed) < 5 {
				if err := r.CompleteMessage(ctx, m, nil); err != nil {
					t.Fatal(err)
				}
				completed[m.MessageID] = true
				continue
			}
			lockedUntil[m.MessageID] = *m.LockedUntil
		}
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.cmd.Wait()
	if err := <-sendDone; err == nil {
		t.Fatal("every send succeeded: node A died after the stream, not during it")
	}
	mu.Lock()
	want := map[string]bool{}
	for _, id := range acked {
		if !completed[id] {
			want[id] = true
		}
	}
	mu.Unlock()

	// On B: every acknowledged, uncompleted message arrives once; the ones
	// locked on A not before their lock expired.
	rb := newReceiver(t, client(b), "crash", nil)
	got := map[string]int{}
	missing := func() int {
		n := 0
		for id := range want {
			if got[id] == 0 {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Minute) // a safety bound
	for missing() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after kill -9: %d of %d acknowledged, uncompleted messages never reached node B", missing(), len(want))
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		msgs, err := rb.ReceiveMessages(rctx, 50, nil)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		at := time.Now()
		for _, m := range msgs {
			id := m.MessageID
			got[id]++
			if completed[id] {
				t.Fatalf("message %s was completed on A and delivered again on B", id)
			}
			if got[id] > 1 {
				t.Fatalf("message %s delivered twice on B", id)
			}
			if until, ok := lockedUntil[id]; ok {
				if at.Before(until) {
					t.Fatalf("message %s locked on A until %s reached B at %s, while still locked", id, until, at)
				}
				if m.DeliveryCount < 2 {
					t.Fatalf("message %s redelivered with delivery count %d", id, m.DeliveryCount)
				}
			}
			if err := rb.CompleteMessage(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d sends acknowledged before kill -9; %d completed and %d locked on A; %d received on B",
		len(acked), len(completed), len(lockedUntil), len(got))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
