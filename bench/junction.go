package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/postgres"
	"junction/internal/store/sqlite"
)

// junction runs Junction in this process: through the broker's Go API, or
// through its REST API over loopback HTTP (junction-http).
type junction struct {
	s     store.Store
	a     *app.App
	b     *broker.Broker
	base  string
	http  bool
	tmp   string
	hc    *http.Client
	queue string
}

const benchKey = "bench-admin-key"

func newJunction(data, pg string, overHTTP bool) (*junction, error) {
	j := &junction{http: overHTTP, queue: fmt.Sprintf("bench-%d", time.Now().UnixNano())}
	if data == "" {
		tmp, err := os.MkdirTemp("", "junction-bench-")
		if err != nil {
			return nil, err
		}
		data, j.tmp = tmp, tmp
	}
	ctx := context.Background()
	if !overHTTP {
		// In process: the broker's Go API over the store, as other components
		// use it.
		var s store.Store
		var err error
		if pg != "" {
			s, err = postgres.Open(ctx, pg, postgres.Options{})
		} else {
			s, err = sqlite.Open(ctx, filepath.Join(data, "junction.db"), sqlite.Options{})
		}
		if err != nil {
			return nil, err
		}
		if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
			return nil, err
		}
		j.s = s
		j.b = broker.New(broker.Config{Driver: sqlstorage.New(s)})
		// Running, as in a server: the notifier batches wake-ups.
		if err := j.b.Start(ctx); err != nil {
			return nil, err
		}
		return j, nil
	}
	cfg := app.Config{Listen: "127.0.0.1:0", Data: data, AdminKey: benchKey, Store: pg}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	addr, err := a.Start(ctx)
	if err != nil {
		return nil, err
	}
	j.a, j.base = a, "http://"+addr.String()
	j.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	return j, nil
}

func (j *junction) setup(ctx context.Context) error {
	if !j.http {
		_, _, err := j.b.PutQueue(ctx, j.queue, broker.Properties{})
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "PUT", j.base+"/admin/v1/servicebus/queues/"+j.queue, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+benchKey)
	res, err := j.hc.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("create queue: %s", res.Status)
	}
	return nil
}

func (j *junction) sender(ctx context.Context) (func([]byte) error, func(), error) {
	if !j.http {
		return func(p []byte) error {
			_, err := j.b.Send(ctx, j.queue, broker.Message{Body: p})
			return err
		}, func() {}, nil
	}
	url := j.base + "/servicebus/" + j.queue + "/messages"
	return func(p []byte) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(p))
		req.Header.Set("Authorization", "Bearer "+benchKey)
		res, err := j.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("send: %s", res.Status)
		}
		return nil
	}, func() {}, nil
}

func (j *junction) receiver(ctx context.Context) (func() error, func(), error) {
	if !j.http {
		return func() error {
			got, err := j.b.Receive(ctx, j.queue, broker.ReceiveOptions{Wait: 10 * time.Second})
			if err != nil {
				return err
			}
			if len(got) != 1 {
				return fmt.Errorf("receive: no message")
			}
			return j.b.Complete(ctx, j.queue, broker.Settlement{LockToken: got[0].LockToken})
		}, func() {}, nil
	}
	head := j.base + "/servicebus/" + j.queue + "/messages/head?timeout=10"
	return func() error {
		req, _ := http.NewRequestWithContext(ctx, "POST", head, nil)
		req.Header.Set("Authorization", "Bearer "+benchKey)
		res, err := j.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("receive: %s", res.Status)
		}
		var bp struct{ LockToken string }
		if err := json.Unmarshal([]byte(res.Header.Get("BrokerProperties")), &bp); err != nil {
			return err
		}
		req, _ = http.NewRequestWithContext(ctx, "DELETE", res.Header.Get("Location"), nil)
		req.Header.Set("Authorization", "Bearer "+benchKey)
		res, err = j.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("complete: %s", res.Status)
		}
		return nil
	}, func() {}, nil
}

func (j *junction) close() {
	if j.a != nil {
		j.a.Stop(context.Background())
	}
	if j.b != nil {
		j.b.Stop(context.Background())
	}
	if j.s != nil {
		j.s.Close()
	}
	if j.tmp != "" {
		os.RemoveAll(j.tmp)
	}
}
