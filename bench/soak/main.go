// Command soak runs the junction binary at a steady load for a while with a
// short retention, samples its disk use and memory, and fails when the disk
// keeps growing after the retention window: the database must stop growing
// once retention deletes as much as the load writes.
//
// The load: creators create accounts over the Web API (each keeps its last
// -keep accounts and deletes older ones, so the live data stays bounded and
// what could grow is history), senders send 1 KiB messages to a queue over
// the Service Bus REST API and receivers receive and complete them.
//
//	go run ./soak -bin ../bin/junction -duration 10m
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const adminKey = "soak-admin-key"

type options struct {
	bin                          string
	duration, sample             time.Duration
	retain, retainMax, interval  time.Duration
	creators, senders, receivers int
	rate                         float64
	keep                         int
	data                         string
	tolerance                    float64
	slack                        int64
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "../bin/junction", "the junction binary")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the load runs")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "how often disk and memory are sampled")
	flag.DurationVar(&o.retain, "retain", 30*time.Second, "--retain-changes and every other retention of the server")
	flag.DurationVar(&o.retainMax, "retain-max", time.Minute, "--retain-changes-max of the server")
	flag.DurationVar(&o.interval, "retention-interval", 10*time.Second, "--retention-interval of the server")
	flag.IntVar(&o.creators, "creators", 4, "clients creating accounts")
	flag.IntVar(&o.senders, "senders", 4, "clients sending 1 KiB messages")
	flag.IntVar(&o.receivers, "receivers", 2, "clients receiving messages")
	flag.Float64Var(&o.rate, "rate", 10, "operations a second per creating or sending client (0: as fast as it goes)")
	flag.IntVar(&o.keep, "keep", 100, "accounts each creator keeps before deleting its oldest")
	flag.StringVar(&o.data, "data", "", "data folder (default: a new temporary one, removed after)")
	flag.Float64Var(&o.tolerance, "tolerance", 0.10, "share the disk may still grow between the end of the retention window and the end")
	flag.Int64Var(&o.slack, "slack", 4<<20, "bytes the disk may grow beyond the tolerance (a WAL checkpoint, a page of the free list)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// server is the junction process under test.
type server struct {
	cmd  *exec.Cmd
	base string
	data string
	log  *os.File
	hc   *http.Client
}

func start(o options) (*server, error) {
	s := &server{data: o.data, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}}
	if s.data == "" {
		tmp, err := os.MkdirTemp("", "junction-soak-")
		if err != nil {
			return nil, err
		}
		s.data = tmp
	}
	var err error
	if s.log, err = os.Create(filepath.Join(s.data, "server.log")); err != nil {
		return nil, err
	}
	period := o.retain.String()
	s.cmd = exec.Command(o.bin, "serve", "--listen", "127.0.0.1:0", "--amqp-listen", "off", "--data", s.data, "--webapi-limits", "off",
		"--retain-changes", period, "--retain-changes-max", o.retainMax.String(), "--retention-interval", o.interval.String(),
		"--retain-workflow-runs", period, "--retain-function-invocations", period, "--retain-job-runs", period,
		"--retain-event-dead-letters", period, "--retain-broker-dead-letters", period, "--retain-traces", period)
	s.cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY="+adminKey)
	s.cmd.Stderr = s.log
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	listening := regexp.MustCompile(`listening on (\S+)`)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			s.base = m[1]
			break
		}
	}
	go io.Copy(io.Discard, out)
	if s.base == "" {
		s.stop()
		return nil, errors.New("the server did not say where it listens; see " + s.log.Name())
	}
	return s, nil
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	s.log.Close()
}

// do sends one request with the admin key and returns the response, its
// body read.
func (s *server) do(ctx context.Context, method, path string, body []byte, header ...string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res, raw, err
}

// counters are the load's operations.
type counters struct {
	created, deleted, sent, received, failed atomic.Int64
	lastErr                                  atomic.Value
}

func (c *counters) fail(err error) {
	c.failed.Add(1)
	c.lastErr.Store(err.Error())
}

// pace sleeps so that a client runs at rate operations a second.
func pace(ctx context.Context, rate float64, started time.Time, done int) {
	if rate <= 0 {
		return
	}
	due := started.Add(time.Duration(float64(done) / rate * float64(time.Second)))
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(due)):
	}
}

var filler = strings.Repeat("soak ", 40)

func creator(ctx context.Context, s *server, o options, n int, c *counters) {
	var kept []string
	started := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		pace(ctx, o.rate, started, i)
		body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("Soak %d-%d", n, i), "accountnumber": fmt.Sprintf("S-%d-%d", n, i),
			"description": filler, "revenue": i})
		res, raw, err := s.do(ctx, "POST", "/api/data/v9.2/accounts", body, "Content-Type", "application/json")
		if ctx.Err() != nil {
			return
		}
		if err == nil && res.StatusCode != http.StatusNoContent {
			err = fmt.Errorf("create account: %s %s", res.Status, raw)
		}
		if err != nil {
			c.fail(err)
			continue
		}
		c.created.Add(1)
		kept = append(kept, res.Header.Get("OData-EntityId"))
		if len(kept) > o.keep {
			id := kept[0][strings.LastIndex(kept[0], "/")+1:]
			kept = kept[1:]
			res, raw, err := s.do(ctx, "DELETE", "/api/data/v9.2/"+id, nil)
			if err == nil && res.StatusCode != http.StatusNoContent {
				err = fmt.Errorf("delete account: %s %s", res.Status, raw)
			}
			if err != nil {
				if ctx.Err() == nil {
					c.fail(err)
				}
				continue
			}
			c.deleted.Add(1)
		}
	}
}

func sender(ctx context.Context, s *server, o options, c *counters) {
	msg := bytes.Repeat([]byte("m"), 1024)
	started := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		pace(ctx, o.rate, started, i)
		res, raw, err := s.do(ctx, "POST", "/servicebus/soak/messages", msg)
		if ctx.Err() != nil {
			return
		}
		if err == nil && res.StatusCode != http.StatusCreated {
			err = fmt.Errorf("send: %s %s", res.Status, raw)
		}
		if err != nil {
			c.fail(err)
			continue
		}
		c.sent.Add(1)
	}
}

func receiver(ctx context.Context, s *server, c *counters) {
	for ctx.Err() == nil {
		res, raw, err := s.do(ctx, "POST", "/servicebus/soak/messages/head?timeout=5", nil)
		if ctx.Err() != nil {
			return
		}
		if err == nil && res.StatusCode == http.StatusNoContent {
			continue // nothing within the timeout
		}
		if err == nil && res.StatusCode != http.StatusCreated {
			err = fmt.Errorf("receive: %s %s", res.Status, raw)
		}
		if err != nil {
			c.fail(err)
			continue
		}
		loc := res.Header.Get("Location")
		res, raw, err = s.do(ctx, "DELETE", strings.TrimPrefix(loc, s.base), nil)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("complete: %s %s", res.Status, raw)
		}
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
			}
			continue
		}
		c.received.Add(1)
	}
}

// sample is one look at the server.
type sample struct {
	at                               time.Duration
	db, wal, free, log, rss          int64
	changes, accounts, queued        int64
	created, deleted, sent, received int64
	failed                           int64
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s *server) sample(ctx context.Context, at time.Duration, c *counters) sample {
	db := filepath.Join(s.data, "junction.db")
	sm := sample{at: at, db: fileSize(db), wal: fileSize(db + "-wal"), log: fileSize(s.log.Name()), rss: rss(s.cmd.Process.Pid),
		created: c.created.Load(), deleted: c.deleted.Load(), sent: c.sent.Load(), received: c.received.Load(), failed: c.failed.Load()}
	_, raw, err := s.do(ctx, "GET", "/admin/v1/storage?fresh=true", nil)
	if err != nil {
		return sm
	}
	var rep struct {
		File *struct {
			FreeBytes int64 `json:"freeBytes"`
		} `json:"file"`
		Components []struct {
			Name string `json:"name"`
			Rows int64  `json:"rows"`
		} `json:"components"`
		Tables []struct {
			Name string `json:"name"`
			Rows int64  `json:"rows"`
		} `json:"tables"`
		Broker []struct {
			Path   string `json:"path"`
			Active int64  `json:"active"`
		} `json:"broker"`
	}
	if json.Unmarshal(raw, &rep) != nil {
		return sm
	}
	if rep.File != nil {
		sm.free = rep.File.FreeBytes
	}
	for _, comp := range rep.Components {
		if comp.Name == "change log" {
			sm.changes = comp.Rows
		}
	}
	for _, t := range rep.Tables {
		if t.Name == "account" {
			sm.accounts = t.Rows
		}
	}
	for _, e := range rep.Broker {
		if e.Path == "soak" {
			sm.queued = e.Active
		}
	}
	return sm
}

const mib = 1 << 20

func printHeader(w io.Writer) {
	fmt.Fprintf(w, "%8s %9s %8s %8s %8s %8s %9s %9s %7s %9s %9s %9s %9s %6s\n",
		"elapsed", "db MiB", "wal MiB", "free MiB", "log MiB", "rss MiB", "changes", "accounts", "queued", "created", "deleted", "sent", "received", "failed")
}

func printSample(w io.Writer, s sample) {
	fmt.Fprintf(w, "%8s %9.1f %8.1f %8.1f %8.2f %8.1f %9d %9d %7d %9d %9d %9d %9d %6d\n",
		s.at.Round(time.Second), float64(s.db)/mib, float64(s.wal)/mib, float64(s.free)/mib, float64(s.log)/mib, float64(s.rss)/mib,
		s.changes, s.accounts, s.queued, s.created, s.deleted, s.sent, s.received, s.failed)
}

func run(ctx context.Context, o options) error {
	s, err := start(o)
	if err != nil {
		return err
	}
	defer func() {
		s.stop()
		if o.data == "" {
			os.RemoveAll(s.data)
		}
	}()
	if res, raw, err := s.do(ctx, "PUT", "/admin/v1/servicebus/queues/soak", []byte(`{}`), "Content-Type", "application/json"); err != nil || res.StatusCode != http.StatusCreated {
		return fmt.Errorf("create the queue: %v %s", err, raw)
	}
	fmt.Printf("soak: %s on %s (data %s), retention %s (max %s) every %s; %d creators and %d senders at %g/s each, %d receivers\n",
		o.duration, s.base, s.data, o.retain, o.retainMax, o.interval, o.creators, o.senders, o.rate, o.receivers)
	load, stopLoad := context.WithCancel(ctx)
	var c counters
	var wg sync.WaitGroup
	for i := range o.creators {
		wg.Go(func() { creator(load, s, o, i, &c) })
	}
	for range o.senders {
		wg.Go(func() { sender(load, s, o, &c) })
	}
	for range o.receivers {
		wg.Go(func() { receiver(load, s, &c) })
	}
	printHeader(os.Stdout)
	began := time.Now()
	var samples []sample
	tick := time.NewTicker(o.sample)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			sm := s.sample(ctx, time.Since(began), &c)
			samples = append(samples, sm)
			printSample(os.Stdout, sm)
			done = sm.at >= o.duration
		}
	}
	tick.Stop()
	stopLoad()
	wg.Wait()
	if v := c.lastErr.Load(); v != nil {
		fmt.Printf("last failure: %s\n", v)
	}
	return verdict(o, samples)
}

// verdict compares the disk at the end of the retention window with the
// disk at the end: it may grow by the tolerance and the slack, no more.
func verdict(o options, samples []sample) error {
	window := o.retainMax + 2*o.interval + 30*time.Second
	var first *sample
	for i := range samples {
		if samples[i].at >= window {
			first = &samples[i]
			break
		}
	}
	if first == nil || first == &samples[len(samples)-1] {
		return fmt.Errorf("the run ended before the retention window (%s) was over: run it longer", window)
	}
	last := samples[len(samples)-1]
	disk := func(s sample) int64 { return s.db + s.wal }
	limit := int64(float64(disk(*first))*(1+o.tolerance)) + o.slack
	minRSS, maxRSS := samples[0].rss, samples[0].rss
	for _, s := range samples {
		minRSS, maxRSS = min(minRSS, s.rss), max(maxRSS, s.rss)
	}
	secs := last.at.Seconds()
	fmt.Printf("load: %.1f creates/s, %.1f deletes/s, %.1f sends/s, %.1f receives/s, %d failures\n",
		float64(last.created)/secs, float64(last.deleted)/secs, float64(last.sent)/secs, float64(last.received)/secs, last.failed)
	fmt.Printf("disk (db+wal): %.1f MiB at %s (end of the retention window), %.1f MiB at the end (limit %.1f MiB); rss %.1f..%.1f MiB; log %.2f MiB\n",
		float64(disk(*first))/mib, first.at.Round(time.Second), float64(disk(last))/mib, float64(limit)/mib, float64(minRSS)/mib, float64(maxRSS)/mib, float64(last.log)/mib)
	if disk(last) > limit {
		return fmt.Errorf("the disk kept growing after the retention window: %.1f MiB → %.1f MiB", float64(disk(*first))/mib, float64(disk(last))/mib)
	}
	if last.failed > 0 {
		return fmt.Errorf("%d operations failed", last.failed)
	}
	fmt.Println("soak: the disk stayed flat after the retention window")
	return nil
}
