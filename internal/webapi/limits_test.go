package webapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/auth"
	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
	"junction/internal/webapi"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestServiceProtectionLimits(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, append(append(append([]store.Migration{}, auth.Migrations...), changelog.Migrations()...), records.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	if err := rec.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := webapi.NewHandler(webapi.Config{Records: rec, Auth: auth.New(s, "k"), Now: clk.now, Limits: webapi.LimitConfig{MaxRequests: 3, Window: 60 * time.Second}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/api/data/v9.2/WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer k")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for i := 0; i < 3; i++ {
		if r := get(); r.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	clk.add(20 * time.Second)
	r := get()
	if r.StatusCode != 429 || r.Header.Get("Retry-After") != "40" {
		t.Fatalf("over the limit: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clk.add(41 * time.Second)
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("after the window: %d", r.StatusCode)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	l := webapi.NewLimiter(webapi.LimitConfig{MaxConcurrent: 1}, time.Now)
	release, err := l.Enter("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Enter("a"); err == nil || err.Err.Code != "0x80072326" || err.RetryAfter < 1 {
		t.Fatalf("second concurrent request: %+v", err)
	}
	if _, err := l.Enter("b"); err != nil {
		t.Fatalf("another caller: %v", err.Err)
	}
	release()
	release()
	if _, err := l.Enter("a"); err != nil {
		t.Fatalf("after release: %v", err.Err)
	}
	if _, err := webapi.ParseLimits("requests=10,window=1m,concurrent=2,execution=10s"); err != nil {
		t.Fatal(err)
	}
	if _, err := webapi.ParseLimits("bogus=1"); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Fatal("bad limits accepted")
	}
	if _, err := webapi.ParseLimits("requests=-5"); err == nil || !strings.Contains(err.Error(), "requests: -5 is negative") {
		t.Fatalf("a negative limit: %v", err)
	}
}

// TestExecutionTimeLimit: the execution time of a caller's requests that
// ended inside the window adds up to the limit, and a request's time leaves
// the sum once it ends outside the window.
func TestExecutionTimeLimit(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := webapi.NewLimiter(webapi.LimitConfig{MaxExecution: 10 * time.Second, Window: 60 * time.Second}, clk.now)
	run := func(d time.Duration) {
		t.Helper()
		release, err := l.Enter("a")
		if err != nil {
			t.Fatalf("at %v: %v", clk.now(), err.Err)
		}
		clk.add(d)
		release()
	}
	tooMuch := func(retry int) {
		t.Helper()
		_, err := l.Enter("a")
		if err == nil || !strings.Contains(err.Err.Message, "Combined execution time") || err.RetryAfter != retry {
			t.Fatalf("at %v: over the execution limit: %+v", clk.now(), err)
		}
	}
	run(6 * time.Second) // ends at 6 s
	run(3 * time.Second) // ends at 9 s: 9 s in all
	if _, err := l.Enter("b"); err != nil {
		t.Fatalf("another caller: %v", err.Err)
	}
	run(2 * time.Second) // ends at 11 s: 11 s in all
	tooMuch(55)          // the first leaves the window at 66 s
	clk.add(54 * time.Second)
	tooMuch(1)
	clk.add(time.Second)
	run(0)               // 66 s: 3 s + 2 s left
	run(5 * time.Second) // ends at 71 s: 10 s in all
	run(5 * time.Second) // 71 s: the 3 s and 2 s have left; ends at 76 s, 10 s in all
	tooMuch(50)          // the oldest run left, ended at 66 s, leaves at 126 s
}
