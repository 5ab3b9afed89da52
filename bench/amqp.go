package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"junction/internal/app"
)

// junctionAMQP runs Junction in this process and drives it through its AMQP
// listener with the official Go Service Bus SDK (azservicebus), each client
// on its own connection. With prefetch, a receiver asks for up to 256
// messages at a time and completes them one by one.
type junctionAMQP struct {
	a        *app.App
	base, cs string
	queue    string
	tmp      string
	prefetch int
}

func newJunctionAMQP(data, pg string, prefetch int) (*junctionAMQP, error) {
	j := &junctionAMQP{queue: fmt.Sprintf("bench-%d", time.Now().UnixNano()), prefetch: prefetch}
	if data == "" {
		tmp, err := os.MkdirTemp("", "junction-bench-")
		if err != nil {
			return nil, err
		}
		data, j.tmp = tmp, tmp
	}
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", AMQPListen: "127.0.0.1:0", Data: data, AdminKey: benchKey, Store: pg})
	if err != nil {
		return nil, err
	}
	addr, err := a.Start(ctx)
	if err != nil {
		return nil, err
	}
	j.a, j.base = a, "http://"+addr.String()
	return j, nil
}

func (j *junctionAMQP) admin(ctx context.Context, method, path string, want int) (map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, method, j.base+path, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+benchKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return out, nil
}

func (j *junctionAMQP) setup(ctx context.Context) error {
	if _, err := j.admin(ctx, "PUT", "/admin/v1/servicebus/queues/"+j.queue, http.StatusCreated); err != nil {
		return err
	}
	keys, err := j.admin(ctx, "POST", "/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", http.StatusOK)
	if err != nil {
		return err
	}
	j.cs, _ = keys["primaryConnectionString"].(string)
	return nil
}

func (j *junctionAMQP) client() (*azservicebus.Client, error) {
	return azservicebus.NewClientFromConnectionString(j.cs, nil)
}

func (j *junctionAMQP) sender(ctx context.Context) (func([]byte) error, func(), error) {
	c, err := j.client()
	if err != nil {
		return nil, nil, err
	}
	s, err := c.NewSender(j.queue, nil)
	if err != nil {
		return nil, nil, err
	}
	return func(p []byte) error {
		return s.SendMessage(ctx, &azservicebus.Message{Body: p}, nil)
	}, func() { c.Close(context.Background()) }, nil
}

func (j *junctionAMQP) receiver(ctx context.Context) (func() error, func(), error) {
	c, err := j.client()
	if err != nil {
		return nil, nil, err
	}
	r, err := c.NewReceiverForQueue(j.queue, nil)
	if err != nil {
		return nil, nil, err
	}
	var mu sync.Mutex
	var buf []*azservicebus.ReceivedMessage
	max := 1
	if j.prefetch > 0 {
		max = j.prefetch
	}
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(buf) == 0 {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			msgs, err := r.ReceiveMessages(rctx, max, nil)
			cancel()
			if err != nil {
				return err
			}
			if len(msgs) == 0 {
				return fmt.Errorf("receive: no message")
			}
			buf = msgs
		}
		m := buf[0]
		buf = buf[1:]
		return r.CompleteMessage(ctx, m, nil)
	}, func() { c.Close(context.Background()) }, nil
}

func (j *junctionAMQP) close() {
	if j.a != nil {
		j.a.Stop(context.Background())
	}
	if j.tmp != "" {
		os.RemoveAll(j.tmp)
	}
}
