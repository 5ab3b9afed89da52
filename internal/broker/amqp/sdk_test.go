package amqp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/cli"
	"junction/internal/devcert"
	"junction/internal/store"
)

// bundle is one in-process Junction with its AMQP listener.
type bundle struct {
	app  *app.App
	base string
	// cs is the RootManageSharedAccessKey connection string from listKeys.
	cs string
}

func setup(t *testing.T, d store.Dialect) *bundle {
	t.Helper()
	a, base := apptest.Start(t, d, nil)
	keys := apptest.Call(t, "POST", base+"/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", "k", nil, 200)
	cs, _ := keys["primaryConnectionString"].(string)
	if !strings.Contains(cs, "UseDevelopmentEmulator=true") || !strings.Contains(cs, a.AMQPAddr()[strings.LastIndex(a.AMQPAddr(), ":"):]) {
		t.Fatalf("connection string %q does not name the AMQP listener %s", cs, a.AMQPAddr())
	}
	return &bundle{app: a, base: base, cs: cs}
}

func (b *bundle) queue(t *testing.T, name string, props map[string]any) {
	t.Helper()
	apptest.Call(t, "PUT", b.base+"/admin/v1/servicebus/queues/"+name, "k", map[string]any{"properties": props}, 201)
}

func (b *bundle) client(t *testing.T) *azservicebus.Client {
	t.Helper()
	c, err := azservicebus.NewClientFromConnectionString(b.cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialects(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

func receiveOne(t *testing.T, ctx context.Context, r *azservicebus.Receiver) *azservicebus.ReceivedMessage {
	t.Helper()
	msgs, err := r.ReceiveMessages(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestSDKSendReceiveComplete(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "orders", nil)
		ctx := ctxT(t)
		c := b.client(t)
		s, err := c.NewSender("orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = s.SendMessage(ctx, &azservicebus.Message{
			Body: []byte(`{"id":1}`), MessageID: to.Ptr("m-1"), CorrelationID: to.Ptr("c-1"), Subject: to.Ptr("created"),
			To: to.Ptr("shop"), ReplyTo: to.Ptr("replies"), ContentType: to.Ptr("application/json"),
			TimeToLive:            to.Ptr(time.Hour),
			ApplicationProperties: map[string]any{"Priority": "High", "n": int64(7), "ok": true, "f": 1.5},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.NewReceiverForQueue("orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		m := receiveOne(t, ctx, r)
		if string(m.Body) != `{"id":1}` || m.MessageID != "m-1" || *m.CorrelationID != "c-1" || *m.Subject != "created" ||
			*m.To != "shop" || *m.ReplyTo != "replies" || *m.ContentType != "application/json" || *m.TimeToLive != time.Hour {
			t.Fatalf("message %+v", m)
		}
		if m.ApplicationProperties["Priority"] != "High" || m.ApplicationProperties["n"] != int64(7) || m.ApplicationProperties["ok"] != true || m.ApplicationProperties["f"] != 1.5 {
			t.Fatalf("properties %v", m.ApplicationProperties)
		}
		if m.SequenceNumber == nil || *m.SequenceNumber <= 0 || m.EnqueuedTime == nil || m.LockedUntil == nil || m.DeliveryCount != 1 {
			t.Fatalf("broker properties: seq %v enqueued %v locked %v count %d", m.SequenceNumber, m.EnqueuedTime, m.LockedUntil, m.DeliveryCount)
		}
		if m.LockToken == [16]byte{} {
			t.Fatal("no lock token")
		}
		if err := r.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
		// Completed: nothing is left (checked over REST).
		counts := apptest.Call(t, "GET", b.base+"/admin/v1/servicebus/queues/orders", "k", nil, 200)
		if n := counts["properties"].(map[string]any)["messageCount"]; n != float64(0) {
			t.Fatalf("messageCount %v after complete", n)
		}
	})
}

func TestSDKWrongKeyUnauthorized(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	b.queue(t, "orders", nil)
	cs := b.cs[:strings.Index(b.cs, "SharedAccessKey=")] + "SharedAccessKey=wrong;UseDevelopmentEmulator=true"
	c, err := azservicebus.NewClientFromConnectionString(cs, &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	s, err := c.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendMessage(ctxT(t), &azservicebus.Message{Body: []byte("x")}, nil)
	var sbErr *azservicebus.Error
	if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeUnauthorizedAccess {
		t.Fatalf("send with a wrong key: %v", err)
	}
}

func newSender(t *testing.T, c *azservicebus.Client, entity string) *azservicebus.Sender {
	t.Helper()
	s, err := c.NewSender(entity, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newReceiver(t *testing.T, c *azservicebus.Client, queue string, opts *azservicebus.ReceiverOptions) *azservicebus.Receiver {
	t.Helper()
	r, err := c.NewReceiverForQueue(queue, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSDKSettlements(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "work", map[string]any{"maxDeliveryCount": 5})
		ctx := ctxT(t)
		c := b.client(t)
		s := newSender(t, c, "work")
		batch, err := s.NewMessageBatch(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 4; i++ {
			if err := batch.AddMessage(&azservicebus.Message{Body: []byte(fmt.Sprintf("m%d", i)), MessageID: to.Ptr(fmt.Sprintf("id-%d", i))}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SendMessageBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		r := newReceiver(t, c, "work", nil)
		msgs, err := r.ReceiveMessages(ctx, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		for len(msgs) < 4 {
			more, err := r.ReceiveMessages(ctx, 4-len(msgs), nil)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, more...)
		}
		byID := map[string]*azservicebus.ReceivedMessage{}
		for _, m := range msgs {
			byID[m.MessageID] = m
		}
		if len(byID) != 4 {
			t.Fatalf("received %d distinct messages", len(byID))
		}
		// Abandon with a property to modify: redelivered with it and count 2.
		if err := r.AbandonMessage(ctx, byID["id-1"], &azservicebus.AbandonMessageOptions{PropertiesToModify: map[string]any{"tries": int64(1)}}); err != nil {
			t.Fatal(err)
		}
		// Dead-letter with a reason and description.
		if err := r.DeadLetterMessage(ctx, byID["id-2"], &azservicebus.DeadLetterOptions{Reason: to.Ptr("bad"), ErrorDescription: to.Ptr("unparseable")}); err != nil {
			t.Fatal(err)
		}
		// Defer, then receive it by sequence number and complete it there.
		if err := r.DeferMessage(ctx, byID["id-3"], nil); err != nil {
			t.Fatal(err)
		}
		// Renew the lock of the last, then complete it.
		old := *byID["id-4"].LockedUntil
		time.Sleep(20 * time.Millisecond)
		if err := r.RenewMessageLock(ctx, byID["id-4"], nil); err != nil {
			t.Fatal(err)
		}
		if !byID["id-4"].LockedUntil.After(old) {
			t.Fatalf("renewed lock %v is not after %v", byID["id-4"].LockedUntil, old)
		}
		if err := r.CompleteMessage(ctx, byID["id-4"], nil); err != nil {
			t.Fatal(err)
		}
		// Completed: its lock is gone.
		err = r.RenewMessageLock(ctx, byID["id-4"], nil)
		var sbErr *azservicebus.Error
		if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
			t.Fatalf("renew after complete: %v", err)
		}

		again := receiveOne(t, ctx, r)
		if again.MessageID != "id-1" || again.DeliveryCount != 2 || again.ApplicationProperties["tries"] != int64(1) {
			t.Fatalf("abandoned message came back as %s count %d props %v", again.MessageID, again.DeliveryCount, again.ApplicationProperties)
		}
		if err := r.CompleteMessage(ctx, again, nil); err != nil {
			t.Fatal(err)
		}

		deferred, err := r.ReceiveDeferredMessages(ctx, []int64{*byID["id-3"].SequenceNumber}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(deferred) != 1 || string(deferred[0].Body) != "m3" || deferred[0].State != azservicebus.MessageStateDeferred {
			t.Fatalf("deferred %+v", deferred)
		}
		if err := r.CompleteMessage(ctx, deferred[0], nil); err != nil {
			t.Fatal(err)
		}

		dlq, err := c.NewReceiverForQueue("work", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
		if err != nil {
			t.Fatal(err)
		}
		dead := receiveOne(t, ctx, dlq)
		if dead.MessageID != "id-2" || dead.DeadLetterReason == nil || *dead.DeadLetterReason != "bad" ||
			dead.DeadLetterErrorDescription == nil || *dead.DeadLetterErrorDescription != "unparseable" {
			t.Fatalf("dead letter %+v", dead)
		}
		if err := dlq.CompleteMessage(ctx, dead, nil); err != nil {
			t.Fatal(err)
		}
		counts := apptest.Call(t, "GET", b.base+"/admin/v1/servicebus/queues/work", "k", nil, 200)
		if n := counts["properties"].(map[string]any)["messageCount"]; n != float64(0) {
			t.Fatalf("messageCount %v at the end", n)
		}
	})
}

func TestSDKReceiveAndDeletePeekSchedule(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "q", nil)
		ctx := ctxT(t)
		c := b.client(t)
		s := newSender(t, c, "q")
		seqs, err := s.ScheduleMessages(ctx, []*azservicebus.Message{{Body: []byte("later")}, {Body: []byte("cancelled")}}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) != 2 {
			t.Fatalf("sequence numbers %v", seqs)
		}
		if err := s.CancelScheduledMessages(ctx, seqs[1:], nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("now")}, nil); err != nil {
			t.Fatal(err)
		}
		r := newReceiver(t, c, "q", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
		peeked, err := r.PeekMessages(ctx, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(peeked) != 2 || string(peeked[0].Body) != "later" || peeked[0].State != azservicebus.MessageStateScheduled ||
			peeked[0].ScheduledEnqueueTime == nil || string(peeked[1].Body) != "now" {
			t.Fatalf("peeked %d messages: %+v", len(peeked), peeked)
		}
		m := receiveOne(t, ctx, r)
		if string(m.Body) != "now" {
			t.Fatalf("received %q", m.Body)
		}
		if err := r.CompleteMessage(ctx, m, nil); err == nil {
			t.Fatal("a receive-and-delete message could be completed")
		}
		counts := apptest.Call(t, "GET", b.base+"/admin/v1/servicebus/queues/q", "k", nil, 200)
		cd := counts["properties"].(map[string]any)["countDetails"].(map[string]any)
		if cd["activeMessageCount"] != float64(0) || cd["scheduledMessageCount"] != float64(1) {
			t.Fatalf("counts %v", cd)
		}
	})
}

func TestSDKSessions(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "carts", map[string]any{"requiresSession": true})
		ctx := ctxT(t)
		c := b.client(t)
		s := newSender(t, c, "carts")
		for i := 1; i <= 3; i++ {
			for _, sid := range []string{"a", "b"} {
				m := &azservicebus.Message{Body: []byte(fmt.Sprintf("%s%d", sid, i)), SessionID: to.Ptr(sid), ReplyToSessionID: to.Ptr("r-" + sid)}
				if err := s.SendMessage(ctx, m, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A message over the body limit is refused as too large.
		err := s.SendMessage(ctx, &azservicebus.Message{Body: make([]byte, 300*1024), SessionID: to.Ptr("a")}, nil)
		if !errors.Is(err, azservicebus.ErrMessageTooLarge) {
			t.Fatalf("a 300 KB message: %v", err)
		}
		// A message without a session id is refused on a session queue.
		if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil); err == nil {
			t.Fatal("a message without a session id was accepted")
		}

		sa, err := c.AcceptSessionForQueue(ctx, "carts", "a", nil)
		if err != nil {
			t.Fatal(err)
		}
		if sa.SessionID() != "a" || !sa.LockedUntil().After(time.Now()) {
			t.Fatalf("session %q locked until %v", sa.SessionID(), sa.LockedUntil())
		}
		// Session a is held: another receiver cannot take it.
		c2 := b.client(t)
		if _, err := c2.AcceptSessionForQueue(ctx, "carts", "a", nil); err == nil {
			t.Fatal("a locked session was accepted twice")
		}
		var got []string
		for len(got) < 3 {
			msgs, err := sa.ReceiveMessages(ctx, 3-len(got), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if *m.SessionID != "a" || *m.ReplyToSessionID != "r-a" {
					t.Fatalf("message of session %v in session a", *m.SessionID)
				}
				got = append(got, string(m.Body))
				if err := sa.CompleteMessage(ctx, m, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		if strings.Join(got, ",") != "a1,a2,a3" {
			t.Fatalf("session a delivered %v, want FIFO", got)
		}
		if err := sa.SetSessionState(ctx, []byte("step-3"), nil); err != nil {
			t.Fatal(err)
		}
		state, err := sa.GetSessionState(ctx, nil)
		if err != nil || string(state) != "step-3" {
			t.Fatalf("state %q %v", state, err)
		}
		before := sa.LockedUntil()
		time.Sleep(20 * time.Millisecond)
		if err := sa.RenewSessionLock(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if !sa.LockedUntil().After(before) {
			t.Fatalf("renewed session lock %v is not after %v", sa.LockedUntil(), before)
		}
		if err := sa.Close(ctx); err != nil {
			t.Fatal(err)
		}

		// The next available session is b (a has no messages left).
		next, err := c2.AcceptNextSessionForQueue(ctx, "carts", nil)
		if err != nil {
			t.Fatal(err)
		}
		if next.SessionID() != "b" {
			t.Fatalf("next session %q, want b", next.SessionID())
		}
		m := receiveOneSession(t, ctx, next)
		if string(m.Body) != "b1" {
			t.Fatalf("first of b: %q", m.Body)
		}
		if err := next.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
		next.Close(ctx)
		// Session a kept its state after the lock was released.
		again, err := c.AcceptSessionForQueue(ctx, "carts", "a", nil)
		if err != nil {
			t.Fatal(err)
		}
		if state, err := again.GetSessionState(ctx, nil); err != nil || string(state) != "step-3" {
			t.Fatalf("state after re-accept %q %v", state, err)
		}
	})
}

func receiveOneSession(t *testing.T, ctx context.Context, r *azservicebus.SessionReceiver) *azservicebus.ReceivedMessage {
	t.Helper()
	msgs, err := r.ReceiveMessages(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

// rest calls the REST runtime API with the admin key and returns the answer.
func rest(t *testing.T, method, url string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestSDKAndRESTInterop(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "mixed", nil)
		ctx := ctxT(t)
		c := b.client(t)
		// REST → AMQP.
		resp, _ := rest(t, "POST", b.base+"/servicebus/mixed/messages",
			map[string]string{"BrokerProperties": `{"MessageId":"r-1","Label":"from-rest","CorrelationId":"c","SessionId":""}`, "Priority": `"High"`, "Count": "3", "Content-Type": "text/plain"}, "hello")
		if resp.StatusCode != 201 {
			t.Fatalf("REST send: %d", resp.StatusCode)
		}
		r := newReceiver(t, c, "mixed", nil)
		m := receiveOne(t, ctx, r)
		if string(m.Body) != "hello" || m.MessageID != "r-1" || *m.Subject != "from-rest" || *m.CorrelationID != "c" ||
			*m.ContentType != "text/plain" || m.ApplicationProperties["Priority"] != "High" || m.ApplicationProperties["Count"] != int64(3) {
			t.Fatalf("REST message over AMQP: body %q %+v", m.Body, m)
		}
		if err := r.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
		// AMQP → REST.
		s := newSender(t, c, "mixed")
		err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("hi"), MessageID: to.Ptr("a-1"), Subject: to.Ptr("from-amqp"),
			ApplicationProperties: map[string]any{"Region": "eu", "N": int64(2)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := rest(t, "DELETE", b.base+"/servicebus/mixed/messages/head?timeout=5", nil, "")
		if resp.StatusCode != 200 || body != "hi" {
			t.Fatalf("REST receive: %d %q", resp.StatusCode, body)
		}
		bp := resp.Header.Get("BrokerProperties")
		if !strings.Contains(bp, `"MessageId":"a-1"`) || !strings.Contains(bp, `"Label":"from-amqp"`) ||
			resp.Header.Get("Region") != `"eu"` || resp.Header.Get("N") != "2" {
			t.Fatalf("AMQP message over REST: %s %v", bp, resp.Header)
		}
	})
}

func TestSDKTopicSubscription(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		apptest.Call(t, "PUT", b.base+"/admin/v1/servicebus/topics/events", "k", map[string]any{}, 201)
		apptest.Call(t, "PUT", b.base+"/admin/v1/servicebus/topics/events/subscriptions/all", "k", map[string]any{}, 201)
		apptest.Call(t, "PUT", b.base+"/admin/v1/servicebus/topics/events/subscriptions/eu", "k", map[string]any{}, 201)
		ctx := ctxT(t)
		c := b.client(t)
		// Rules through the SDK's rule manager ($management of the subscription).
		rm, err := c.NewReceiverForSubscription("events", "eu", nil)
		if err != nil {
			t.Fatal(err)
		}
		s := newSender(t, c, "events")
		for _, region := range []string{"eu", "us"} {
			if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte(region), ApplicationProperties: map[string]any{"region": region}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		all, err := c.NewReceiverForSubscription("events", "all", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < 2 {
			msgs, err := all.ReceiveMessages(ctx, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				got = append(got, string(m.Body))
				all.CompleteMessage(ctx, m, nil)
			}
		}
		if strings.Join(got, ",") != "eu,us" {
			t.Fatalf("subscription all got %v", got)
		}
		m := receiveOne(t, ctx, rm)
		if string(m.Body) != "eu" {
			t.Fatalf("subscription eu got %q first", m.Body)
		}
	})
}

// TestSDKTwoNodes runs two Junctions on one PostgreSQL database with an SDK
// receiver on each: no message is delivered twice while locked, and a
// session is held by one node only.
func TestSDKTwoNodes(t *testing.T) {
	t.Parallel()
	var schema string
	a, baseA := apptest.Start(t, store.Postgres, func(c *app.Config) { schema = c.PostgresSchema })
	b, baseB := apptest.Start(t, store.Postgres, func(c *app.Config) { c.PostgresSchema = schema })
	nodes := make([]*bundle, 2)
	for i, n := range []struct {
		a    *app.App
		base string
	}{{a, baseA}, {b, baseB}} {
		keys := apptest.Call(t, "POST", n.base+"/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", "k", nil, 200)
		nodes[i] = &bundle{app: n.a, base: n.base, cs: keys["primaryConnectionString"].(string)}
	}
	nodes[0].queue(t, "shared", map[string]any{"lockDuration": "PT5M"})
	nodes[0].queue(t, "shared-sessions", map[string]any{"requiresSession": true, "lockDuration": "PT5M"})
	ctx := ctxT(t)
	ca, cb := nodes[0].client(t), nodes[1].client(t)
	const total = 30
	s := newSender(t, ca, "shared")
	for i := 0; i < total; i++ {
		if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("x"), MessageID: to.Ptr(fmt.Sprintf("m-%d", i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	type got struct {
		node int
		id   string
	}
	results := make(chan got, 2*total)
	done := make(chan error, 2)
	for i, c := range []*azservicebus.Client{ca, cb} {
		r := newReceiver(t, c, "shared", nil)
		go func() {
			// Hold every lock: nothing is settled until the end.
			for {
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				msgs, err := r.ReceiveMessages(rctx, 5, nil)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					done <- err
					return
				}
				if len(msgs) == 0 {
					done <- nil
					return
				}
				for _, m := range msgs {
					results <- got{i, m.MessageID}
				}
			}
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	close(results)
	seen := map[string]int{}
	perNode := [2]int{}
	for g := range results {
		seen[g.id]++
		perNode[g.node]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("message %s delivered %d times while locked", id, n)
		}
	}
	if len(seen) != total {
		t.Fatalf("received %d distinct messages of %d (per node %v)", len(seen), total, perNode)
	}

	ss := newSender(t, cb, "shared-sessions")
	if err := ss.SendMessage(ctx, &azservicebus.Message{Body: []byte("s"), SessionID: to.Ptr("only")}, nil); err != nil {
		t.Fatal(err)
	}
	held, err := ca.AcceptSessionForQueue(ctx, "shared-sessions", "only", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(ctx)
	if _, err := cb.AcceptSessionForQueue(ctx, "shared-sessions", "only", nil); err == nil {
		t.Fatal("a session held on one node was accepted on the other")
	}
}

func TestConnectionStringCLI(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"queue", "connection-string", "--url", b.base, "--key", "k"},
		cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Env: func(string) string { return "" }})
	cs := strings.TrimSpace(out.String())
	_, port, _ := net.SplitHostPort(b.app.AMQPAddr())
	if code != 0 || cs != b.cs || !strings.Contains(cs, ":"+port+";") {
		t.Fatalf("connection-string: %d %q %s (listKeys gave %q)", code, cs, errOut.String(), b.cs)
	}
}

// TestSDKOverTLS: with a certificate the listener speaks AMQPS and listKeys
// hands out a connection string without UseDevelopmentEmulator, as Service
// Bus's; the SDK sends and receives over TLS.
func TestSDKOverTLS(t *testing.T) {
	t.Parallel()
	f, err := devcert.Make(filepath.Join(t.TempDir(), "tls"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	// The Go SDK takes the endpoint's host:port as the TLS server name; on
	// the AMQPS port 5671 the connection string names no port.
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	a, base := apptest.Start(t, store.SQLite, func(c *app.Config) { c.TLSCert, c.TLSKey = f.Cert, f.Key })
	base = strings.Replace(base, "http://", "https://", 1)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	admin := func(method, path string, want int) map[string]any {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	admin("PUT", "/admin/v1/servicebus/queues/secure", 201)
	cs, _ := admin("POST", "/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", 200)["primaryConnectionString"].(string)
	_, port, _ := net.SplitHostPort(a.AMQPAddr())
	if strings.Contains(cs, "UseDevelopmentEmulator") || !strings.Contains(cs, ":"+port) {
		t.Fatalf("connection string %q for the TLS listener on %s", cs, a.AMQPAddr())
	}
	c, err := azservicebus.NewClientFromConnectionString(cs, &azservicebus.ClientOptions{TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := ctxT(t)
	if err := newSender(t, c, "secure").SendMessage(ctx, &azservicebus.Message{Body: []byte("over tls")}, nil); err != nil {
		t.Fatal(err)
	}
	m := receiveOne(t, ctx, newReceiver(t, c, "secure", nil))
	if string(m.Body) != "over tls" {
		t.Fatalf("body %q", m.Body)
	}
	// Plain AMQP to the TLS listener gets nowhere.
	plainCS := cs + ";UseDevelopmentEmulator=true"
	pc, err := azservicebus.NewClientFromConnectionString(plainCS, &azservicebus.ClientOptions{RetryOptions: azservicebus.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := newSender(t, pc, "secure").SendMessage(pctx, &azservicebus.Message{Body: []byte("x")}, nil); err == nil {
		t.Fatal("plain AMQP was served by the TLS listener")
	}
}
