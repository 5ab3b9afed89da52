package amqp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/sqlstorage"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// allowAll accepts every token: the test is about deliveries, not rights.
type allowAll struct{}

func (allowAll) AuthorizeToken(context.Context, string, string, string) (time.Time, error) {
	return time.Time{}, nil
}

// TestPrefetchReleasedWhenTheLinkCloses: a receiving link with credit 5 gets
// 5 messages claimed in one transaction, but the peer's session window lets
// only one through; when the peer detaches, the 4 never sent are released at
// once, their delivery not counted, while the one sent stays locked to it.
func TestPrefetchReleasedWhenTheLinkCloses(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		if err := st.Migrate(ctx, sqlstorage.Migrations()); err != nil {
			t.Fatal(err)
		}
		b := broker.New(broker.Config{Driver: sqlstorage.New(st)})
		if _, _, err := b.PutQueue(ctx, "q", broker.Properties{}); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 5; i++ {
			if _, err := b.Send(ctx, "q", broker.Message{Body: []byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		s := New(Config{Listen: "127.0.0.1:0", Auth: allowAll{}, Broker: b})
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()) })
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(c)
		hdr := make([]byte, 8)
		write := func(typ byte, perf uint64, fields []any) {
			t.Helper()
			raw, err := appendFrame(nil, typ, 0, perf, fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(raw); err != nil {
				t.Fatal(err)
			}
		}
		// next reads frames until one of perf, skipping empty ones.
		next := func(perf uint64) frame {
			t.Helper()
			for {
				f, err := readFrame(r, 1<<20, hdr)
				if err != nil {
					t.Fatalf("waiting for frame %#x: %v", perf, err)
				}
				if f.perf == perf {
					return f
				}
			}
		}
		c.Write(headerSASL)
		io.ReadFull(r, hdr)
		next(descSASLMechs)
		write(frameSASL, descSASLInit, []any{Symbol("PLAIN"), []byte("\x00$apikey\x00k")})
		next(descSASLOutcome)
		c.Write(headerAMQP)
		io.ReadFull(r, hdr)
		write(frameAMQP, descOpen, []any{"test", nil, uint32(65536)})
		next(descOpen)
		// A session whose incoming window takes one transfer.
		write(frameAMQP, descBegin, []any{nil, uint32(0), uint32(1), uint32(100)})
		next(descBegin)
		write(frameAMQP, descAttach, []any{"r", uint32(0), true, uint8(0), uint8(0),
			Described{uint64(descSource), []any{"q"}}, Described{uint64(descTarget), []any{"r"}}})
		next(descAttach)
		write(frameAMQP, descFlow, []any{uint32(1), uint32(1), uint32(0), uint32(100), uint32(0), uint32(0), uint32(5)})
		next(descTransfer)
		// The other four are claimed and wait for the window; detach.
		write(frameAMQP, descDetach, []any{uint32(0), true})
		next(descDetach)
		var back []broker.Received
		deadline := time.Now().Add(30 * time.Second) // a safety bound, not a timing assertion
		for len(back) == 0 && time.Now().Before(deadline) {
			if back, err = b.Receive(ctx, "q", broker.ReceiveOptions{Max: 10}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(back) != 4 {
			t.Fatalf("after the detach, %d messages could be received, want the 4 never sent", len(back))
		}
		for i, m := range back {
			if string(m.Body) != fmt.Sprint(i+2) || m.DeliveryCount != 1 {
				t.Fatalf("released message %q has delivery count %d, want %q with 1 (the undelivered claim not counted)", m.Body, m.DeliveryCount, fmt.Sprint(i+2))
			}
		}
	})
}
