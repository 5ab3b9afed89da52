package amqp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	headerAMQP = []byte{'A', 'M', 'Q', 'P', 0, 1, 0, 0}
	headerSASL = []byte{'A', 'M', 'Q', 'P', 3, 1, 0, 0}
)

// minMaxFrameSize is the smallest max-frame-size a peer may announce.
const minMaxFrameSize = 512

// conn is one AMQP connection. A reader goroutine runs the state machine;
// link workers and delivery pumps write frames under wmu.
type conn struct {
	s   *Server
	nc  net.Conn
	br  *bufio.Reader
	ctx context.Context
	// cancel ends every goroutine of the connection.
	cancel context.CancelFunc

	wmu       sync.Mutex
	wbuf      []byte
	lastWrite atomic.Int64 // unix nanos
	closing   atomic.Bool

	// work tracks the goroutines of the connection's links, which serve
	// waits for so that nothing uses the broker after the listener stopped.
	work sync.WaitGroup

	peerMaxFrame uint32
	peerIdle     time.Duration
	plainToken   string // from SASL PLAIN

	mu       sync.Mutex
	sessions map[uint16]*session // by the peer's channel
	tokens   map[string]cbsToken // by audience scope (lower-case entity path, "" for the namespace)
	replies  map[string]*link    // reply links by target address
}

type cbsToken struct {
	token   string
	expires time.Time // zero: never
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, 64*1024), ctx: ctx, cancel: cancel,
		sessions: map[uint16]*session{}, tokens: map[string]cbsToken{}, replies: map[string]*link{}}
}

// serve runs the connection until it closes.
func (c *conn) serve() {
	defer func() {
		c.cancel()
		c.nc.Close()
		for _, s := range c.sessionList() {
			s.teardown()
		}
		c.work.Wait()
	}()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := c.handshake(); err != nil {
		if e := (*amqpError)(nil); errors.As(err, &e) {
			c.s.log.Debug("amqp handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		}
		return
	}
	err := c.run()
	var fe frameError
	var ae *amqpError
	switch {
	case errors.As(err, &fe):
		c.closeWith(fe.amqpError)
	case errors.As(err, &ae):
		c.closeWith(ae)
	case errors.Is(err, errClosedByPeer):
		c.closeWith(nil)
	}
	if err != nil && !errors.Is(err, errClosedByPeer) && !errors.Is(err, io.EOF) && !c.closing.Load() {
		c.s.log.Debug("amqp connection ended", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

// shutdown closes the connection from another goroutine.
func (c *conn) shutdown(e *amqpError) {
	c.closeWith(e)
	c.cancel()
	c.nc.SetReadDeadline(time.Now())
}

// closeWith sends close (once) with an optional error.
func (c *conn) closeWith(e *amqpError) {
	if c.closing.Swap(true) {
		return
	}
	var f []any
	if e != nil {
		f = []any{e.value()}
	}
	c.writeFrame(frameAMQP, 0, descClose, f, nil)
	if e != nil {
		c.s.log.Debug("amqp closing connection", "remote", c.nc.RemoteAddr().String(), "condition", string(e.Condition), "description", e.Description)
	}
}

// handshake reads the protocol header, runs SASL when asked, and reads the
// AMQP header that follows it.
func (c *conn) handshake() error {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c.br, hdr); err != nil {
		return err
	}
	if bytes.Equal(hdr, headerSASL) {
		c.writeRaw(headerSASL)
		if err := c.sasl(); err != nil {
			return err
		}
		if _, err := io.ReadFull(c.br, hdr); err != nil {
			return err
		}
	}
	if !bytes.Equal(hdr, headerAMQP) {
		c.writeRaw(headerAMQP)
		return errorf(condDecode, "unsupported protocol header %q", hdr)
	}
	c.writeRaw(headerAMQP)
	return nil
}

// sasl offers ANONYMOUS, PLAIN and MSSBCBS. PLAIN takes a shared access rule
// name and key (or an empty name and a Junction API key); the connection then
// acts with that identity on every entity unless a $cbs token says otherwise.
func (c *conn) sasl() error {
	c.writeFrame(frameSASL, 0, descSASLMechs, []any{[]Symbol{"MSSBCBS", "PLAIN", "ANONYMOUS"}}, nil)
	hdr := make([]byte, 8)
	f, err := readFrame(c.br, minMaxFrameSize*8, hdr)
	if err != nil {
		return err
	}
	if f.typ != frameSASL || f.perf != descSASLInit {
		return errorf(condDecode, "expected sasl-init")
	}
	r := fieldReader{f: f.fields, name: "sasl-init"}
	mech := r.string(0)
	resp := r.binary(1)
	if r.err != nil {
		return r.err
	}
	code := uint8(0)
	switch mech {
	case "ANONYMOUS", "MSSBCBS", "EXTERNAL":
	case "PLAIN":
		parts := strings.SplitN(string(resp), "\x00", 3)
		if len(parts) != 3 || parts[2] == "" {
			code = 1
			break
		}
		user, pass := parts[1], parts[2]
		if user == "" || strings.EqualFold(user, "$apikey") {
			c.plainToken = pass
		} else {
			c.plainToken = signSAS("", user, pass, time.Now().Add(100*365*24*time.Hour))
		}
		if _, err := c.s.cfg.Auth.AuthorizeToken(c.ctx, c.plainToken, "", ""); err != nil {
			code, c.plainToken = 1, ""
		}
	default:
		code = 1
	}
	c.writeFrame(frameSASL, 0, descSASLOutcome, []any{code}, nil)
	if code != 0 {
		return errorf(condUnauthorized, "SASL authentication failed")
	}
	return nil
}

// run reads open, then frames until close.
func (c *conn) run() error {
	hdr := make([]byte, 8)
	f, err := readFrame(c.br, minMaxFrameSize*8, hdr)
	if err != nil {
		return err
	}
	if f.typ != frameAMQP || f.perf != descOpen {
		return errorf(condNotAllowed, "the first frame must be open")
	}
	o, err := parseOpen(f.fields)
	if err != nil {
		return err
	}
	if o.maxFrameSize < minMaxFrameSize {
		return errorf(condFrameSizeSmall, "max-frame-size %d is below the minimum of %d", o.maxFrameSize, minMaxFrameSize)
	}
	c.peerMaxFrame = min(o.maxFrameSize, 1<<20)
	c.peerIdle = o.idleTimeout
	ourIdle := uint32(c.s.cfg.IdleTimeout / time.Millisecond)
	c.writeFrame(frameAMQP, 0, descOpen, []any{c.s.cfg.ContainerID, nil, c.s.cfg.MaxFrameSize, uint16(4095), ourIdle}, nil)
	if c.peerIdle > 0 {
		c.spawn(c.heartbeats)
	}
	c.spawn(c.watchTokens)
	for {
		// A peer that is silent for twice the idle time-out is gone.
		c.nc.SetReadDeadline(time.Now().Add(2 * c.s.cfg.IdleTimeout))
		f, err := readFrame(c.br, c.s.cfg.MaxFrameSize, hdr)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !c.closing.Load() {
				return errorf(condResourceLimit, "no frame within the idle time-out")
			}
			return err
		}
		if f.perf == 0 {
			continue // heartbeat
		}
		if f.typ != frameAMQP {
			return errorf(condFraming, "SASL frame after the handshake")
		}
		if err := c.dispatch(f); err != nil {
			return err
		}
	}
}

// heartbeats sends an empty frame when nothing was written for half the
// peer's idle time-out.
func (c *conn) heartbeats() {
	every := c.peerIdle / 2
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, c.lastWrite.Load())) >= every {
				c.writeRaw([]byte{0, 0, 0, 8, 2, 0, 0, 0})
			}
		}
	}
}

func (c *conn) dispatch(f frame) error {
	if f.perf == descOpen {
		return errorf(condNotAllowed, "open received twice")
	}
	if f.perf == descClose {
		c.closeWith(nil)
		return errClosedByPeer
	}
	if f.perf == descBegin {
		return c.begin(f)
	}
	c.mu.Lock()
	s := c.sessions[f.channel]
	c.mu.Unlock()
	if s == nil {
		return errorf(condNotAllowed, "frame on channel %d, which has no session", f.channel)
	}
	return s.handle(f)
}

func (c *conn) begin(f frame) error {
	b, err := parseBegin(f.fields)
	if err != nil {
		return err
	}
	if b.remoteChannel != nil {
		return errorf(condNotAllowed, "begin with remote-channel: this server does not begin sessions")
	}
	c.mu.Lock()
	if _, dup := c.sessions[f.channel]; dup {
		c.mu.Unlock()
		return errorf(condNotAllowed, "channel %d already has a session", f.channel)
	}
	if len(c.sessions) >= 4096 {
		c.mu.Unlock()
		return errorf(condResourceLimit, "too many sessions")
	}
	s := newSession(c, f.channel, b)
	c.sessions[f.channel] = s
	c.mu.Unlock()
	ch := f.channel
	return c.writeFrame(frameAMQP, ch, descBegin, []any{ch, s.nextOutgoingID, s.incomingWindow, uint32(1 << 30), uint32(1<<16 - 1)}, nil)
}

// spawn runs f in a goroutine that serve waits for.
func (c *conn) spawn(f func()) {
	c.work.Add(1)
	go func() {
		defer c.work.Done()
		f()
	}()
}

// sessionList is a snapshot of the connection's sessions.
func (c *conn) sessionList() []*session {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		out = append(out, s)
	}
	return out
}

func (c *conn) endSession(s *session) {
	c.mu.Lock()
	delete(c.sessions, s.channel)
	c.mu.Unlock()
	s.teardown()
}

// writeFrame encodes and writes one frame.
func (c *conn) writeFrame(typ byte, channel uint16, perf uint64, fields []any, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := appendFrame(c.wbuf[:0], typ, channel, perf, fields, payload)
	if err != nil {
		return err
	}
	c.wbuf = b
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil
	}
	return c.write(b)
}

func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b)
}

func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.nc.Write(b)
	c.lastWrite.Store(time.Now().UnixNano())
	if err != nil {
		c.cancel()
	}
	return err
}

// watchTokens detaches links whose token expired without being renewed.
func (c *conn) watchTokens() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			c.mu.Lock()
			var expired []*link
			for _, s := range c.sessions {
				s.mu.Lock()
				for _, l := range s.links {
					if l.authScope != nil {
						tok, ok := c.tokens[*l.authScope]
						if !ok || (!tok.expires.IsZero() && now.After(tok.expires)) {
							expired = append(expired, l)
						}
					}
				}
				s.mu.Unlock()
			}
			c.mu.Unlock()
			for _, l := range expired {
				l.s.detachLink(l, errorf(condUnauthorized, "the token for '%s' expired", l.path))
			}
		}
	}
}
