// Command bench runs the broker workload side by side against Junction,
// RabbitMQ and NATS JetStream on this machine: producers send 1 KiB messages
// and wait for each to be durably accepted (a committed send, a publisher
// confirm, a JetStream publish ack), then consumers receive and settle them
// (complete, manual ack, explicit ack). It prints throughput and p50/p99
// latency per phase.
//
//	go run . -n 5000 -clients 1,16 -systems junction,junction-http,junction-amqp,junction-amqp-prefetch,rabbitmq,nats
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// system is one broker under test.
type system interface {
	// setup makes a fresh durable queue.
	setup(ctx context.Context) error
	// sender returns a function that sends one message and returns once it is
	// durably accepted; each client gets its own.
	sender(ctx context.Context) (func([]byte) error, func(), error)
	// receiver returns a function that receives one message and settles it.
	receiver(ctx context.Context) (func() error, func(), error)
	close()
}

type result struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration
}

func (r result) String() string {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	p := func(q float64) float64 { return float64(r.lat[int(float64(len(r.lat)-1)*q)].Microseconds()) / 1000 }
	return fmt.Sprintf("%9.0f msg/s  p50 %7.2f ms  p99 %7.2f ms", float64(r.n)/r.elapsed.Seconds(), p(0.5), p(0.99))
}

// run spreads n operations over clients, each with its own op from mk. A
// client is released (its done called) as soon as it stops taking work, so
// that a message prefetched into its buffer goes back to the queue for the
// clients still waiting.
func run(n, clients int, mk func() (func() error, func(), error)) (result, error) {
	ops := make([]func() error, clients)
	dones := make([]func(), clients)
	for i := range ops {
		op, done, err := mk()
		if err != nil {
			for _, d := range dones[:i] {
				d()
			}
			return result{}, err
		}
		ops[i], dones[i] = op, done
	}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(op func() error, done func()) {
			defer wg.Done()
			defer done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(); err != nil {
					failed.Store(err)
					next.Store(int64(n))
					return
				}
				lat[i] = time.Since(t0)
			}
		}(ops[c], dones[c])
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return result{}, err
	}
	return result{n: n, elapsed: time.Since(start), lat: lat}, nil
}

func main() {
	n := flag.Int("n", 5000, "messages per run")
	clientsFlag := flag.String("clients", "1,16", "concurrent clients, comma-separated")
	systems := flag.String("systems", "junction,junction-http,junction-amqp,junction-amqp-prefetch,rabbitmq,nats", "systems to run")
	size := flag.Int("size", 1024, "message size in bytes")
	data := flag.String("data", "", "Junction's data folder (default: a temporary one)")
	pg := flag.String("postgres", "", "run Junction on this PostgreSQL URL instead of SQLite")
	flag.Parse()
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	ctx := context.Background()
	fmt.Printf("%-14s %-8s %-22s %s\n", "system", "clients", "phase", "result")
	for _, name := range strings.Split(*systems, ",") {
		for _, cs := range strings.Split(*clientsFlag, ",") {
			clients, err := strconv.Atoi(cs)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bad -clients:", err)
				os.Exit(2)
			}
			// Prefetching receivers share the messages out: no client holds
			// more than its share, so none waits for messages another holds.
			prefetch = min(256, *n/clients)
			sys, err := open(name, *data, *pg)
			if err != nil {
				fmt.Printf("%-14s %-8d skipped: %v\n", name, clients, err)
				continue
			}
			if err := sys.setup(ctx); err != nil {
				fmt.Printf("%-14s %-8d skipped: %v\n", name, clients, err)
				sys.close()
				continue
			}
			send, err := run(*n, clients, func() (func() error, func(), error) {
				s, done, err := sys.sender(ctx)
				return func() error { return s(payload) }, done, err
			})
			if err != nil {
				fmt.Printf("%-14s %-8d send failed: %v\n", name, clients, err)
				sys.close()
				continue
			}
			fmt.Printf("%-14s %-8d %-22s %s\n", name, clients, "send (durable ack)", send)
			recv, err := run(*n, clients, func() (func() error, func(), error) { return sys.receiver(ctx) })
			if err != nil {
				fmt.Printf("%-14s %-8d receive failed: %v\n", name, clients, err)
				sys.close()
				continue
			}
			fmt.Printf("%-14s %-8d %-22s %s\n", name, clients, "receive + settle", recv)
			sys.close()
		}
	}
}

// prefetch is the prefetch of the -prefetch systems in the current run: 256,
// or less when that would leave clients without messages.
var prefetch = 256

func open(name, data, pg string) (system, error) {
	switch name {
	case "junction":
		return newJunction(data, pg, false)
	case "junction-http":
		return newJunction(data, pg, true)
	case "junction-amqp":
		return newJunctionAMQP(data, pg, 0)
	case "junction-amqp-prefetch":
		return newJunctionAMQP(data, pg, prefetch)
	case "rabbitmq":
		return newRabbit("amqp://guest:guest@127.0.0.1:5672/")
	case "rabbitmq-prefetch":
		r, err := newRabbit("amqp://guest:guest@127.0.0.1:5672/")
		if r != nil {
			r.prefetch = prefetch
		}
		return r, err
	case "nats":
		return newNATS("nats://127.0.0.1:4222")
	}
	return nil, fmt.Errorf("unknown system %q", name)
}
