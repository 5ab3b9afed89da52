package amqp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

// denyAll refuses every token: the framing tests never reach an entity.
type denyAll struct{}

func (denyAll) AuthorizeToken(context.Context, string, string, string) (time.Time, error) {
	return time.Time{}, errors.New("denied")
}

func startServer(t testing.TB, idle time.Duration) *Server {
	t.Helper()
	s := New(Config{Listen: "127.0.0.1:0", Auth: denyAll{}, IdleTimeout: idle})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func frameBytes(t testing.TB, perf uint64, fields []any) []byte {
	t.Helper()
	b, err := appendFrame(nil, frameAMQP, 0, perf, fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var openFrameBytes = func() []byte {
	b, _ := appendFrame(nil, frameAMQP, 0, descOpen, []any{"test", nil, uint32(65536)}, nil)
	return b
}()

// closeCondition sends raw bytes and returns the condition of the close
// frame the server answers with ("" for a close without error).
func closeCondition(t *testing.T, s *Server, raw []byte) Symbol {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		t.Fatalf("no protocol header: %v", err)
	}
	for {
		f, err := readFrame(r, 1<<20, make([]byte, 8))
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if f.perf == descClose {
			if e := parseError((&fieldReader{f: f.fields}).get(0)); e != nil {
				return e.Condition
			}
			return ""
		}
	}
}

func TestMalformedFramesCloseWithError(t *testing.T) {
	t.Parallel()
	s := startServer(t, 5*time.Second)
	open := append(append([]byte(nil), headerAMQP...), openFrameBytes...)
	for _, tc := range []struct {
		name string
		raw  []byte
		want Symbol
	}{
		{"garbage performative", append(append([]byte(nil), open...), 0, 0, 0, 12, 2, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc), condDecode},
		{"frame size below 8", append(append([]byte(nil), open...), 0, 0, 0, 4, 2, 0, 0, 0), condFraming},
		{"frame larger than the maximum", append(append([]byte(nil), open...), 0x7f, 0, 0, 0, 2, 0, 0, 0), condFraming},
		{"tiny max-frame-size", append(append([]byte(nil), headerAMQP...), frameBytes(t, descOpen, []any{"x", nil, uint32(100)})...), condFrameSizeSmall},
		{"first frame is not open", append(append([]byte(nil), headerAMQP...), frameBytes(t, descBegin, []any{nil, uint32(0), uint32(10), uint32(10)})...), condNotAllowed},
		{"attach without a session", append(append([]byte(nil), open...), frameBytes(t, descAttach, []any{"l", uint32(0), false})...), condNotAllowed},
		{"begin missing fields", append(append([]byte(nil), open...), frameBytes(t, descBegin, []any{nil})...), condInvalidField},
		{"open with a wrong field type", append(append([]byte(nil), headerAMQP...), frameBytes(t, descOpen, []any{"x", nil, "big"})...), condDecode},
		{"transfer on an unattached handle", append(append(append([]byte(nil), open...), frameBytes(t, descBegin, []any{nil, uint32(0), uint32(10), uint32(10)})...),
			frameBytes(t, descTransfer, []any{uint32(7), uint32(0), []byte("t")})...), condUnattached},
		{"close", append(append([]byte(nil), open...), frameBytes(t, descClose, nil)...), ""},
		{"aborted transfer, then close", bytes.Join([][]byte{open, frameBytes(t, descBegin, []any{nil, uint32(0), uint32(10), uint32(10)}),
			frameBytes(t, descAttach, []any{"c", uint32(0), false, nil, nil, nil, Described{uint64(descTarget), []any{"$cbs"}}}),
			frameBytes(t, descTransfer, []any{uint32(0), uint32(0), []byte("t"), uint32(0), false, true}),
			frameBytes(t, descTransfer, []any{uint32(0), nil, nil, nil, nil, false, nil, nil, nil, true}),
			frameBytes(t, descClose, nil)}, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := closeCondition(t, s, tc.raw); got != tc.want {
				t.Fatalf("closed with %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnknownProtocolHeader(t *testing.T) {
	t.Parallel()
	s := startServer(t, 5*time.Second)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	got, _ := io.ReadAll(c)
	if !bytes.Equal(got, headerAMQP) {
		t.Fatalf("answer %q, want the AMQP header and a close", got)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	u, _ := ParseUUID("0f8fad5b-d9cb-469f-a165-70867728950e")
	values := []any{
		nil, true, false, uint8(7), uint16(300), uint32(0), uint32(200), uint32(70000), uint64(0), uint64(9), uint64(1 << 40),
		int8(-3), int16(-300), int32(-5), int32(1 << 20), int64(-7), int64(1 << 40), float32(1.5), float64(-2.25), Char('é'),
		time.UnixMilli(1700000000123).UTC(), u, []byte("bin"), "str", Symbol("sym"), []any{}, []any{"a", int64(1), nil},
		Map{{Symbol("k"), "v"}, {"n", int64(2)}}, []int64{1, -2}, []string{"x", "y"}, []Symbol{"a"}, []UUID{u},
		[]time.Time{time.UnixMilli(5).UTC()}, [][]byte{[]byte("a")}, []uint32{1, 2}, []int32{-1},
		Described{uint64(0x70), []any{true}}, Described{Symbol("x:y"), "v"},
		string(bytes.Repeat([]byte("l"), 300)), bytes.Repeat([]byte("b"), 70000),
	}
	for _, v := range values {
		enc, err := Append(nil, v)
		if err != nil {
			t.Fatalf("encode %#v: %v", v, err)
		}
		got, rest, err := Decode(enc)
		if err != nil || len(rest) != 0 {
			t.Fatalf("decode %#v: %v (%d bytes left)", v, err, len(rest))
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("round trip of %#v gave %#v", v, got)
		}
	}
}

func TestLockTokenTag(t *testing.T) {
	t.Parallel()
	// The SDKs read the tag as a .NET GUID: the first three groups reversed.
	tag := lockTokenTag("00112233-4455-6677-8899-aabbccddeeff")
	want := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if !bytes.Equal(tag, want) {
		t.Fatalf("tag % x", tag)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range []any{Map{{"a", []any{int64(1), "x"}}}, []int64{1, 2}, Described{uint64(0x13), []any{uint32(1)}}} {
		b, _ := Append(nil, v)
		f.Add(b)
	}
	f.Add([]byte{0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes again, and decodes to the same value.
		enc, err := Append(nil, v)
		if err != nil {
			if _, isArray := v.(Array); isArray {
				return // arrays of compact encodings re-encode in another form
			}
			t.Fatalf("re-encode %#v: %v", v, err)
		}
		if _, _, err := Decode(enc); err != nil {
			t.Fatalf("decode of the re-encoding failed: %v", err)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add(openFrameBytes)
	tr, _ := appendFrame(nil, frameAMQP, 1, descTransfer, []any{uint32(0), uint32(0), []byte("tag"), uint32(0), false}, []byte("payload"))
	f.Add(tr)
	f.Add(frameBytes(f, descAttach, []any{"l", uint32(0), true, uint8(1), uint8(1), Described{uint64(descSource), []any{"q"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := readFrame(bytes.NewReader(b), 1<<16, make([]byte, 8))
		if err != nil {
			return
		}
		switch fr.perf {
		case descOpen:
			parseOpen(fr.fields)
		case descBegin:
			parseBegin(fr.fields)
		case descAttach:
			if a, err := parseAttach(fr.fields); err == nil {
				_, _, _ = sessionFilter(a.source)
			}
		case descFlow:
			parseFlow(fr.fields)
		case descTransfer:
			parseTransfer(fr.fields)
			if m, err := decodeMessage(fr.payload); err == nil {
				m.toBroker()
			}
		case descDisposition:
			parseDisposition(fr.fields)
		case descDetach:
			parseDetach(fr.fields)
		}
	})
}

// FuzzConn feeds arbitrary bytes after the protocol header and open to a
// connection: it must end (never hang) and the server must stay up. A frame
// cut short waits for the idle time-out (here 300 ms; the server gives a
// silent peer twice that).
func FuzzConn(f *testing.F) {
	s := startServer(f, 300*time.Millisecond)
	f.Add(frameBytes(f, descBegin, []any{nil, uint32(0), uint32(10), uint32(10)}))
	f.Add(append(frameBytes(f, descBegin, []any{nil, uint32(0), uint32(10), uint32(10)}), frameBytes(f, descAttach, []any{"l", uint32(0), false, nil, nil, nil, Described{uint64(descTarget), []any{"$cbs"}}})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(append(append(append([]byte(nil), headerAMQP...), openFrameBytes...), b...))
		c.Write(frameBytes(t, descClose, nil))
		c.(*net.TCPConn).CloseWrite()
		// A reset is an ending too (the server closed with bytes unread).
		var ne net.Error
		if _, err := io.Copy(io.Discard, c); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the connection did not end: %v", err)
		}
	})
}

func TestListenFallsBackWhenTheDefaultIsTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name     string
		fallback bool
	}{{"default address", true}, {"explicit address", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Listen: taken.Addr().String(), Fallback: tc.fallback, Auth: denyAll{}})
			err := s.Start(context.Background())
			defer s.Stop(context.Background())
			if !tc.fallback {
				var le *ListenError
				if !errors.As(err, &le) {
					t.Fatalf("binding a taken explicit address: %v", err)
				}
				return
			}
			if err != nil || s.Addr() == "" || s.Addr() == taken.Addr().String() {
				t.Fatalf("fallback: %v, listening on %q", err, s.Addr())
			}
		})
	}
}

// TestHeartbeats: a peer that announces an idle time-out gets empty frames
// while nothing else is sent, and a silent peer is disconnected after twice
// the server's own time-out with amqp:resource-limit-exceeded.
func TestHeartbeats(t *testing.T) {
	t.Parallel()
	s := startServer(t, 300*time.Millisecond)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	open, _ := appendFrame(nil, frameAMQP, 0, descOpen, []any{"hb", nil, uint32(65536), nil, uint32(200)}, nil)
	c.Write(append(append([]byte(nil), headerAMQP...), open...))
	r := bufio.NewReader(c)
	io.ReadFull(r, make([]byte, 8))
	heartbeats := 0
	for {
		f, err := readFrame(r, 1<<20, make([]byte, 8))
		if err != nil {
			t.Fatalf("after %d heartbeats: %v", heartbeats, err)
		}
		switch f.perf {
		case 0:
			heartbeats++
		case descClose:
			e := parseError((&fieldReader{f: f.fields}).get(0))
			if heartbeats == 0 || e == nil || e.Condition != condResourceLimit {
				t.Fatalf("closed after %d heartbeats with %+v", heartbeats, e)
			}
			return
		}
	}
}
