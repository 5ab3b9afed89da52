package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Benchmarks: 1 KiB messages, 1 and 16 concurrent clients, on both stores.
// Each reports msg/s and the p50/p99 latency of one operation.
//
//	go test -run '^$' -bench . -benchtime 5000x ./internal/broker/

var payload = make([]byte, 1024)

// benchStore returns a running broker with a queue "bench"; at the end of
// the benchmark it reports the store's commits per message (commits/op) and
// of them those waited on the disk (flushes/op: relaxed lock commits are not).
func benchStore(b *testing.B, d store.Dialect) (*broker.Broker, context.Context) {
	b.Helper()
	s := storetest.Open(b, d)
	var before store.Stats
	b.Cleanup(func() {
		st := s.Stats()
		commits := float64(st.Commits - before.Commits)
		b.ReportMetric(commits/float64(b.N), "commits/op")
		b.ReportMetric((commits-float64(st.RelaxedCommits-before.RelaxedCommits))/float64(b.N), "flushes/op")
	})
	ctx := context.Background()
	if err := s.Migrate(ctx, sqlstorage.Migrations()); err != nil {
		b.Fatal(err)
	}
	br := broker.New(broker.Config{Driver: sqlstorage.New(s)})
	// Running, as in a server: the notifier batches wake-ups.
	if err := br.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Stop(context.Background()) })
	if _, _, err := br.PutQueue(ctx, "bench", broker.Properties{}); err != nil {
		b.Fatal(err)
	}
	before = s.Stats()
	return br, ctx
}

// runClients runs n operations over clients goroutines and reports
// throughput and latency percentiles.
func runClients(b *testing.B, clients int, op func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	elapsed := inParallel(b, clients, func() (bool, error) {
		i := int(next.Add(1) - 1)
		if i >= b.N {
			return true, nil
		}
		t0 := time.Now()
		err := op(i)
		lat[i] = time.Since(t0)
		return false, err
	})
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
}

// inParallel calls step on clients goroutines, each until step reports done
// or fails, and returns the time they took; the first failure ends the
// benchmark.
func inParallel(b *testing.B, clients int, step func() (done bool, err error)) time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				done, err := step()
				if err != nil {
					failed.Store(err)
					return
				}
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

func BenchmarkSend(b *testing.B) {
	for _, d := range storetest.Drivers {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", d, clients), func(b *testing.B) {
				br, ctx := benchStore(b, d)
				runClients(b, clients, func(int) error {
					_, err := br.Send(ctx, "bench", broker.Message{Body: payload})
					return err
				})
			})
		}
	}
}

// BenchmarkSendPipelined is BenchmarkSend with clients that pipeline:
// each of 16 clients keeps 8 sends in flight (as an AMQP sender keeps
// several deliveries unsettled), each answered once it is durable.
func BenchmarkSendPipelined(b *testing.B) {
	const clients, inFlight = 16, 8
	for _, d := range storetest.Drivers {
		b.Run(fmt.Sprintf("%s/clients=%d/in-flight=%d", d, clients, inFlight), func(b *testing.B) {
			br, ctx := benchStore(b, d)
			runClients(b, clients*inFlight, func(int) error {
				_, err := br.Send(ctx, "bench", broker.Message{Body: payload})
				return err
			})
		})
	}
}

func BenchmarkReceiveComplete(b *testing.B) {
	for _, d := range storetest.Drivers {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", d, clients), func(b *testing.B) {
				br, ctx := benchStore(b, d)
				fill(b, br, ctx)
				runClients(b, clients, func(int) error {
					got, err := br.Receive(ctx, "bench", broker.ReceiveOptions{Wait: 5 * time.Second})
					if err != nil {
						return err
					}
					if len(got) != 1 {
						return fmt.Errorf("received %d messages", len(got))
					}
					return br.Complete(ctx, "bench", broker.Settlement{LockToken: got[0].LockToken})
				})
			})
		}
	}
}

// fill sends b.N messages to the queue "bench", 500 a call.
func fill(b *testing.B, br *broker.Broker, ctx context.Context) {
	b.Helper()
	batch := make([]broker.Message, 0, 500)
	for i := 0; i < b.N; i++ {
		batch = append(batch, broker.Message{Body: payload})
		if len(batch) == cap(batch) || i == b.N-1 {
			if _, err := br.Send(ctx, "bench", batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkReceiveCompletePrefetch is the receive path as the SDKs drive it
// with a prefetch count: each client claims up to 32 messages in one receive
// and completes them in one batch (SettleBatch); one op is one message.
func BenchmarkReceiveCompletePrefetch(b *testing.B) {
	const prefetch = 32
	for _, d := range storetest.Drivers {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", d, clients), func(b *testing.B) {
				br, ctx := benchStore(b, d)
				fill(b, br, ctx)
				var left atomic.Int64
				left.Store(int64(b.N))
				elapsed := inParallel(b, clients, func() (bool, error) {
					if left.Load() <= 0 {
						return true, nil
					}
					got, err := br.Receive(ctx, "bench", broker.ReceiveOptions{Max: prefetch, Wait: 100 * time.Millisecond})
					if err != nil || len(got) == 0 {
						return false, err
					}
					items := make([]broker.SettleItem, len(got))
					for i, m := range got {
						items[i] = broker.SettleItem{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: m.LockToken}}
					}
					results, err := br.SettleBatch(ctx, "bench", items)
					for _, r := range results {
						err = errors.Join(err, r.Err)
					}
					left.Add(-int64(len(got)))
					return false, err
				})
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
			})
		}
	}
}

// BenchmarkEndToEnd is the peers' workload: clients send 1 KiB messages while
// as many receive and complete them; one op is one message through.
func BenchmarkEndToEnd(b *testing.B) {
	for _, d := range storetest.Drivers {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", d, clients), func(b *testing.B) {
				br, ctx := benchStore(b, d)
				runClients(b, clients, func(int) error {
					if _, err := br.Send(ctx, "bench", broker.Message{Body: payload}); err != nil {
						return err
					}
					got, err := br.Receive(ctx, "bench", broker.ReceiveOptions{Wait: 5 * time.Second})
					if err != nil {
						return err
					}
					if len(got) != 1 {
						return fmt.Errorf("received %d messages", len(got))
					}
					return br.Complete(ctx, "bench", broker.Settlement{LockToken: got[0].LockToken})
				})
			})
		}
	}
}
