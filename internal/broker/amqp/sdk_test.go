package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"junction/internal/app"
	"junction/internal/app/apptest"
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

var _ = fmt.Sprint
var _ = http.StatusOK
