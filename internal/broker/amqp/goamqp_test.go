package amqp_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"junction/internal/broker/httpapi"
	"junction/internal/store"
)

// dial opens a go-amqp connection to the bundle's listener.
func (b *bundle) dial(t *testing.T, opts *goamqp.ConnOptions) *goamqp.Conn {
	t.Helper()
	conn, err := goamqp.Dial(ctxT(t), "amqp://"+b.app.AMQPAddr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rpcClient is a request/response pair of links on a node ($cbs or
// <entity>/$management), as the SDKs use them.
type rpcClient struct {
	snd   *goamqp.Sender
	rcv   *goamqp.Receiver
	reply string
	n     int
}

func newRPC(t *testing.T, conn *goamqp.Conn, node string) *rpcClient {
	t.Helper()
	ctx := ctxT(t)
	s, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := s.NewSender(ctx, node, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply := fmt.Sprintf("%s-reply-%d", node, time.Now().UnixNano())
	rcv, err := s.NewReceiver(ctx, node, &goamqp.ReceiverOptions{TargetAddress: reply, Credit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return &rpcClient{snd: snd, rcv: rcv, reply: reply}
}

// call sends a request and returns the status code and the answer.
func (c *rpcClient) call(t *testing.T, props map[string]any, value any) (int32, *goamqp.Message) {
	t.Helper()
	ctx := ctxT(t)
	c.n++
	id := fmt.Sprintf("req-%d", c.n)
	msg := &goamqp.Message{Properties: &goamqp.MessageProperties{MessageID: id, ReplyTo: &c.reply}, ApplicationProperties: props, Value: value}
	if err := c.snd.Send(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := c.rcv.Receive(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Properties == nil || resp.Properties.CorrelationID != id {
		t.Fatalf("answer not correlated with %s: %+v", id, resp.Properties)
	}
	code, _ := resp.ApplicationProperties["status-code"].(int32)
	return code, resp
}

func sasToken(entity string, key string) string {
	return httpapi.Sign("amqp://localhost/"+entity, "RootManageSharedAccessKey", key, time.Now().Add(time.Hour))
}

func (b *bundle) putToken(t *testing.T, conn *goamqp.Conn, audience, token string) int32 {
	t.Helper()
	cbs := newRPC(t, conn, "$cbs")
	code, _ := cbs.call(t, map[string]any{"operation": "put-token", "type": "servicebus.windows.net:sastoken", "name": audience}, token)
	return code
}

func TestGoAMQPBodiesAndCBS(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		b.queue(t, "bodies", nil)
		ctx := ctxT(t)
		conn := b.dial(t, nil)
		s, err := conn.NewSession(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Without a token the link is refused as unauthorized.
		_, err = s.NewSender(ctx, "bodies", nil)
		var ae *goamqp.Error
		if !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondUnauthorizedAccess {
			t.Fatalf("attach without a token: %v", err)
		}
		if code := b.putToken(t, conn, "amqp://localhost/bodies", sasToken("bodies", "wrong")); code != 401 {
			t.Fatalf("put-token with a wrong key: %d", code)
		}
		if code := b.putToken(t, conn, "amqp://localhost/bodies", "not-a-key"); code != 401 {
			t.Fatalf("put-token with an unknown API key: %d", code)
		}
		// A Junction API key is a token too.
		if code := b.putToken(t, conn, "amqp://localhost/bodies", "k"); code != 202 {
			t.Fatalf("put-token with an API key: %d", code)
		}
		if code := b.putToken(t, conn, "amqp://localhost/bodies", sasToken("bodies", "k")); code != 202 {
			t.Fatalf("put-token: %d", code)
		}
		snd, err := s.NewSender(ctx, "bodies", nil)
		if err != nil {
			t.Fatal(err)
		}
		bodies := []*goamqp.Message{
			{Value: "a string value"},
			{Value: map[string]any{"k": int64(1)}},
			{Sequence: [][]any{{"x", int64(2)}}},
			{Data: [][]byte{[]byte("part1"), []byte("part2")}},
		}
		for _, m := range bodies {
			if err := snd.Send(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
		rcv, err := s.NewReceiver(ctx, "bodies", &goamqp.ReceiverOptions{Credit: 10, SettlementMode: goamqp.ReceiverSettleModeSecond.Ptr()})
		if err != nil {
			t.Fatal(err)
		}
		var got []*goamqp.Message
		for range bodies {
			m, err := rcv.Receive(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := rcv.AcceptMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		if got[0].Value != "a string value" {
			t.Fatalf("amqp-value string came back as %#v", got[0].Value)
		}
		if mv, ok := got[1].Value.(map[string]any); !ok || mv["k"] != int64(1) {
			t.Fatalf("amqp-value map came back as %#v", got[1].Value)
		}
		if len(got[2].Sequence) != 1 || got[2].Sequence[0][0] != "x" {
			t.Fatalf("amqp-sequence came back as %#v", got[2].Sequence)
		}
		if len(got[3].Data) != 2 || string(got[3].Data[1]) != "part2" {
			t.Fatalf("data sections came back as %q", got[3].Data)
		}
		if seq, ok := got[0].Annotations["x-opt-sequence-number"].(int64); !ok || seq <= 0 {
			t.Fatalf("annotations %v", got[0].Annotations)
		}
		// Over REST the string value reads as its text.
		resp, body := rest(t, "GET", b.base+"/admin/v1/servicebus/queues/bodies", nil, "")
		if resp.StatusCode != 200 || body == "" {
			t.Fatalf("queue: %d", resp.StatusCode)
		}
	})
}

func TestGoAMQPSASLPlain(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	b.queue(t, "plain", nil)
	for _, tc := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"rule and key", "RootManageSharedAccessKey", "k", true},
		{"api key", "$apikey", "k", true},
		{"wrong key", "RootManageSharedAccessKey", "nope", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := goamqp.Dial(ctxT(t), "amqp://"+b.app.AMQPAddr(), &goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain(tc.user, tc.pass)})
			if !tc.ok {
				if err == nil {
					conn.Close()
					t.Fatal("a wrong PLAIN password was accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := ctxT(t)
			s, err := conn.NewSession(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			snd, err := s.NewSender(ctx, "plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := snd.Send(ctx, goamqp.NewMessage([]byte("hi")), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGoAMQPManagementRulesAndSessions(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, d store.Dialect) {
		b := setup(t, d)
		ctx := ctxT(t)
		apptestPut(t, b, "/topics/t", 201)
		apptestPut(t, b, "/topics/t/subscriptions/s", 201)
		b.queue(t, "sq", map[string]any{"requiresSession": true})
		conn := b.dial(t, &goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain("$apikey", "k")})
		m := newRPC(t, conn, "t/Subscriptions/s/$management")
		op := func(name string) map[string]any { return map[string]any{"operation": "com.microsoft:" + name} }
		if code, _ := m.call(t, op("add-rule"), map[string]any{"rule-name": "big",
			"rule-description": map[string]any{"sql-filter": map[string]any{"expression": "amount > 10"}, "sql-rule-action": map[string]any{"expression": "SET flagged = 1"}}}); code != 200 {
			t.Fatalf("add-rule: %d", code)
		}
		if code, _ := m.call(t, op("add-rule"), map[string]any{"rule-name": "big",
			"rule-description": map[string]any{"sql-filter": map[string]any{"expression": "1=1"}}}); code != 409 {
			t.Fatalf("add-rule twice: %d", code)
		}
		if code, _ := m.call(t, op("add-rule"), map[string]any{"rule-name": "eu",
			"rule-description": map[string]any{"correlation-filter": map[string]any{"label": "order", "properties": map[string]any{"region": "eu"}}}}); code != 200 {
			t.Fatalf("add-rule correlation: %d", code)
		}
		if code, _ := m.call(t, op("remove-rule"), map[string]any{"rule-name": "$Default"}); code != 200 {
			t.Fatalf("remove-rule: %d", code)
		}
		code, resp := m.call(t, op("enumerate-rules"), map[string]any{"top": int32(10), "skip": int32(0)})
		if code != 200 {
			t.Fatalf("enumerate-rules: %d", code)
		}
		rules := resp.Value.(map[string]any)["rules"].([]any)
		var names []string
		for _, r := range rules {
			// go-amqp does not export its described type: read its fields.
			desc := reflect.ValueOf(r.(map[string]any)["rule-description"])
			if code := desc.FieldByName("Descriptor").Interface(); code != uint64(0x13700000004) {
				t.Fatalf("rule description descriptor %v", code)
			}
			names = append(names, fmt.Sprint(desc.FieldByName("Value").Interface().([]any)[2]))
		}
		sort.Strings(names)
		if fmt.Sprint(names) != "[big eu]" {
			t.Fatalf("rules %v", names)
		}

		// Sessions with messages, listed by get-message-sessions.
		conn2 := b.dial(t, &goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain("$apikey", "k")})
		s, _ := conn2.NewSession(ctx, nil)
		snd, err := s.NewSender(ctx, "sq", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{"x", "y", "x"} {
			if err := snd.Send(ctx, &goamqp.Message{Data: [][]byte{[]byte(sid)}, Properties: &goamqp.MessageProperties{GroupID: &sid}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		sm := newRPC(t, conn2, "sq/$management")
		code, resp = sm.call(t, op("get-message-sessions"), map[string]any{"last-updated-time": time.Now(), "skip": int32(0), "top": int32(10)})
		if code != 200 {
			t.Fatalf("get-message-sessions: %d", code)
		}
		if ids := resp.Value.(map[string]any)["sessions-ids"]; fmt.Sprint(ids) != "[x y]" {
			t.Fatalf("sessions %v", ids)
		}
		// An unknown operation is answered, not dropped.
		if code, _ := sm.call(t, op("no-such-thing"), nil); code != 501 {
			t.Fatalf("unknown operation: %d", code)
		}
	})
}

func apptestPut(t *testing.T, b *bundle, path string, want int) {
	t.Helper()
	resp, body := rest(t, "PUT", b.base+"/admin/v1/servicebus"+path, map[string]string{"Content-Type": "application/json"}, "{}")
	if resp.StatusCode != want {
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, body)
	}
}

// rawConn opens a TCP connection to the listener for hand-written frames.
func rawConn(t *testing.T, b *bundle) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", b.app.AMQPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

func TestGoAMQPExpiredTokenDetaches(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	b.queue(t, "short", nil)
	ctx := ctxT(t)
	conn := b.dial(t, nil)
	tok := httpapi.Sign("amqp://localhost/short", "RootManageSharedAccessKey", "k", time.Now().Add(2*time.Second))
	if code := b.putToken(t, conn, "amqp://localhost/short", tok); code != 202 {
		t.Fatalf("put-token: %d", code)
	}
	s, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := s.NewReceiver(ctx, "short", &goamqp.ReceiverOptions{Credit: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing arrives: the receive ends when the token expires and the link
	// is detached.
	_, err = rcv.Receive(ctx, nil)
	var le *goamqp.LinkError
	if !errors.As(err, &le) || le.RemoteErr == nil || le.RemoteErr.Condition != goamqp.ErrCondUnauthorizedAccess {
		t.Fatalf("receive after the token expired: %v", err)
	}
}

func TestGoAMQPDrainAndMultiFrame(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	b.queue(t, "drain", nil)
	ctx := ctxT(t)
	conn := b.dial(t, &goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain("$apikey", "k"), MaxFrameSize: 4096})
	s, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A 200 KB message travels in many frames both ways.
	big := make([]byte, 200*1024)
	for i := range big {
		big[i] = byte(i)
	}
	snd, err := s.NewSender(ctx, "drain", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(ctx, goamqp.NewMessage(big), nil); err != nil {
		t.Fatal(err)
	}
	rcv, err := s.NewReceiver(ctx, "drain", &goamqp.ReceiverOptions{Credit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.IssueCredit(5); err != nil {
		t.Fatal(err)
	}
	m, err := rcv.Receive(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.GetData(), big) {
		t.Fatalf("the big message came back with %d bytes", len(m.GetData()))
	}
	if err := rcv.AcceptMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	// Four credits are left and the queue is empty: a drain returns at once.
	if err := rcv.DrainCredit(ctx, nil); err != nil {
		t.Fatalf("drain: %v", err)
	}
}
