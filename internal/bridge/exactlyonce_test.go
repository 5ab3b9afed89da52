package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestFunctionProcessesEachMessageOnce: a serviceBusTrigger function with
// maxConcurrentCalls 8 (and, in the second project, prefetchCount 40) sends
// each message on to two queues through serviceBus outputs. On a message's
// first delivery one in ten of them makes its second output too large for
// its queue: that commit fails, so neither output is sent and the message is
// abandoned, then processed on its next delivery. N messages in give exactly
// N messages on each output queue, none left behind, and N successful
// invocations recorded with them (the record commits with the complete).
func TestFunctionProcessesEachMessageOnce(t *testing.T) {
	t.Parallel()
	const n = 60
	for _, c := range []struct{ name, host string }{
		{"calls", `{"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentCalls": 8}}}`},
		{"prefetch", `{"version": "2.0", "extensions": {"serviceBus": {"prefetchCount": 40, "messageHandlerOptions": {"maxConcurrentCalls": 8}}}}`},
	} {
		dir := writeProject(t, map[string]string{
			"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
				{"Name": "in", "Properties": {"MaxDeliveryCount": 5}}, {"Name": "out", "Properties": {}},
				{"Name": "audit", "Properties": {}}]}], "Logging": {"Type": "File"}}}`,
			"functions/host.json": c.host,
			"functions/forward/function.json": `{"bindings": [
				{"type": "serviceBusTrigger", "direction": "in", "name": "msg", "queueName": "in", "connection": "ServiceBus"},
				{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "out", "connection": "ServiceBus"},
				{"type": "serviceBus", "direction": "out", "name": "audit", "queueName": "audit", "connection": "ServiceBus"}]}`,
			"functions/forward/index.js": `module.exports = async function (context, msg) {
				context.bindings.out = { id: msg.id };
				const big = msg.id % 10 === 0 && context.bindingData.deliveryCount === 1;
				context.bindings.audit = big ? "x".repeat(300 * 1024) : { id: msg.id };
			};`,
		})
		for _, d := range storetest.Drivers {
			t.Run(c.name+"/"+string(d), func(t *testing.T) {
				t.Parallel()
				j := startWith(t, d, func(c *app.Config) { c.Project = dir })
				b := j.broker()
				ctx := context.Background()
				msgs := make([]broker.Message, n)
				for i := range msgs {
					msgs[i] = broker.Message{ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"id":%d}`, i))}
				}
				if _, err := b.Send(ctx, "in", msgs...); err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{"out", "audit"} {
					seen := map[int]bool{}
					for len(seen) < n {
						got, err := b.Receive(ctx, q, broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 100, Wait: 30 * time.Second})
						if err != nil || len(got) == 0 {
							t.Fatalf("%s: %d of %d messages, then %v", q, len(seen), n, err)
						}
						for _, m := range got {
							var v struct{ ID int }
							if err := json.Unmarshal(m.Body, &v); err != nil {
								t.Fatalf("%s: %q: %v", q, m.Body, err)
							}
							if seen[v.ID] {
								t.Fatalf("%s: message %d sent twice", q, v.ID)
							}
							seen[v.ID] = true
						}
					}
				}
				waitCounts(t, b, "in", func(c broker.Counts) bool { return c.Total == 0 })
				for _, q := range []string{"out", "audit"} {
					if c, err := b.Counts(ctx, q); err != nil || c.Total != 0 {
						t.Fatalf("%s after draining: %+v, %v; want no more messages", q, c, err)
					}
				}
				j.call("GET", "/admin/v1/functions/forward/invocations?$top=1", nil, 200) // writes the failures' records
				ok, failed := invocationCounts(t, j, "forward")
				if ok != n || failed < n/10 {
					t.Fatalf("invocations: %d succeeded, %d failed; want %d and at least %d", ok, failed, n, n/10)
				}
			})
		}
	}
}

func waitCounts(t *testing.T, b *broker.Broker, path string, done func(broker.Counts) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := b.Counts(context.Background(), path)
		if err == nil && done(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counts %+v, %v", path, c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invocationCounts reads a function's recorded invocations from the store.
func invocationCounts(t *testing.T, j *junction, function string) (succeeded, failed int) {
	t.Helper()
	err := j.a.Store().Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), `SELECT
			COALESCE(SUM(CASE WHEN status = 'Succeeded' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'Failed' THEN 1 ELSE 0 END), 0)
			FROM func_invocations WHERE function = ?`, function).Scan(&succeeded, &failed)
	})
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return succeeded, failed
}

// TestSessionFunctionKeepsOrder: a serviceBusTrigger function with
// isSessionsEnabled processes up to maxConcurrentSessions sessions at once
// and each session's messages in order, a failed message before the ones
// after it: every session's outputs arrive in the order its messages were
// sent, each once.
func TestSessionFunctionKeepsOrder(t *testing.T) {
	t.Parallel()
	const sessions, per = 6, 8
	dir := writeProject(t, map[string]string{
		"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
			{"Name": "in", "Properties": {"RequiresSession": true, "MaxDeliveryCount": 5}}, {"Name": "out", "Properties": {}}]}],
			"Logging": {"Type": "File"}}}`,
		"functions/host.json": `{"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentSessions": 4, "sessionIdleTimeout": "00:00:01"}}}`,
		"functions/ordered/function.json": `{"bindings": [
			{"type": "serviceBusTrigger", "direction": "in", "name": "msg", "queueName": "in", "isSessionsEnabled": true, "connection": "ServiceBus"},
			{"type": "serviceBus", "direction": "out", "name": "out", "queueName": "out", "connection": "ServiceBus"}]}`,
		"functions/ordered/index.js": `module.exports = async function (context, msg) {
			if (msg.seq % 5 === 2 && context.bindingData.deliveryCount === 1) throw new Error("retry " + msg.seq);
			context.bindings.out = { session: context.bindingData.sessionId, seq: msg.seq };
		};`,
	})
	j := startWith(t, store.SQLite, func(c *app.Config) { c.Project = dir })
	b := j.broker()
	ctx := context.Background()
	var msgs []broker.Message
	for i := range per {
		for s := range sessions {
			msgs = append(msgs, broker.Message{SessionID: fmt.Sprintf("s%d", s), ContentType: "application/json",
				Body: []byte(fmt.Sprintf(`{"seq":%d}`, i))})
		}
	}
	if _, err := b.Send(ctx, "in", msgs...); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for got := 0; got < sessions*per; {
		ms, err := b.Receive(ctx, "out", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Max: 100, Wait: 30 * time.Second})
		if err != nil || len(ms) == 0 {
			t.Fatalf("%d of %d outputs, then %v", got, sessions*per, err)
		}
		for _, m := range ms {
			var v struct {
				Session string
				Seq     int
			}
			if err := json.Unmarshal(m.Body, &v); err != nil {
				t.Fatal(err)
			}
			if v.Seq != next[v.Session] {
				t.Fatalf("session %s: message %d came after %d", v.Session, v.Seq, next[v.Session]-1)
			}
			next[v.Session]++
			got++
		}
	}
	waitCounts(t, b, "in", func(c broker.Counts) bool { return c.Total == 0 })
}
