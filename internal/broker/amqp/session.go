package amqp

import (
	"context"
	"sync"
)

// Session flow control: the incoming window this server announces, and the
// point under which it is opened again.
const (
	incomingWindow   = 10000
	incomingWindowLo = incomingWindow / 2
	// maxHandles bounds the links of one session.
	maxHandles = 1 << 12
)

// session is one AMQP session of a connection.
type session struct {
	c       *conn
	channel uint16 // the peer's channel; this server uses the same number

	mu   sync.Mutex
	cond *sync.Cond // signalled when the peer's incoming window opens
	// Outgoing: transfer ids and the peer's window.
	nextOutgoingID       uint32
	remoteIncomingWindow uint32
	nextDeliveryID       uint32
	// Incoming: transfer ids and this server's window.
	nextIncomingID uint32
	incomingLeft   uint32
	incomingWindow uint32

	links      map[uint32]*link // by the peer's handle
	byName     map[string]*link
	unsettled  map[uint32]*delivery // outgoing unsettled deliveries by delivery id
	detaching  map[uint32]struct{}  // peer handles this server detached, awaiting the peer's detach
	nextHandle uint32
	ended      bool
}

// delivery is an outgoing, unsettled delivery of a locked message.
type delivery struct {
	l         *link
	lockToken string
}

func newSession(c *conn, ch uint16, b beginFrame) *session {
	s := &session{c: c, channel: ch, nextOutgoingID: 1, remoteIncomingWindow: b.incomingWindow,
		nextIncomingID: b.nextOutgoingID, incomingLeft: incomingWindow, incomingWindow: incomingWindow,
		links: map[uint32]*link{}, byName: map[string]*link{}, unsettled: map[uint32]*delivery{}, detaching: map[uint32]struct{}{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// handle processes a frame on the session's channel (reader goroutine).
func (s *session) handle(f frame) error {
	switch f.perf {
	case descEnd:
		s.c.writeFrame(frameAMQP, s.channel, descEnd, nil, nil)
		s.c.endSession(s)
		return nil
	case descAttach:
		a, err := parseAttach(f.fields)
		if err != nil {
			return err
		}
		return s.attach(a)
	case descFlow:
		fl, err := parseFlow(f.fields)
		if err != nil {
			return err
		}
		return s.flow(fl)
	case descTransfer:
		t, err := parseTransfer(f.fields)
		if err != nil {
			return err
		}
		return s.transfer(t, f.payload)
	case descDisposition:
		d, err := parseDisposition(f.fields)
		if err != nil {
			return err
		}
		s.disposition(d)
		return nil
	case descDetach:
		d, err := parseDetach(f.fields)
		if err != nil {
			return err
		}
		s.mu.Lock()
		l := s.links[d.handle]
		_, answering := s.detaching[d.handle]
		delete(s.detaching, d.handle)
		s.mu.Unlock()
		if l == nil {
			if answering {
				return nil // the peer's answer to this server's detach
			}
			return errorf(condUnattached, "detach of handle %d, which is not attached", d.handle)
		}
		s.removeLink(l)
		s.c.writeFrame(frameAMQP, s.channel, descDetach, []any{l.handle, true}, nil)
		return nil
	}
	return errorf(condNotAllowed, "unexpected performative 0x%x", f.perf)
}

// flowFields are the session fields of a flow frame; call with s.mu held.
// Every flow announces the whole incoming window again, so the window
// counted here starts over.
func (s *session) flowFields() []any {
	s.incomingLeft = s.incomingWindow
	return []any{s.nextIncomingID, s.incomingWindow, s.nextOutgoingID, uint32(1 << 30)}
}

func (s *session) flow(fl flowFrame) error {
	s.mu.Lock()
	// The peer's incoming window as seen from here (2.5.6 of the specification).
	next := uint32(1)
	if fl.nextIncomingID != nil {
		next = *fl.nextIncomingID
	}
	s.remoteIncomingWindow = next + fl.incomingWindow - s.nextOutgoingID
	s.cond.Broadcast()
	var l *link
	if fl.handle != nil {
		l = s.links[*fl.handle]
		if l == nil {
			s.mu.Unlock()
			return errorf(condUnattached, "flow for handle %d, which is not attached", *fl.handle)
		}
	}
	echo := fl.echo && l == nil
	var fields []any
	if echo {
		fields = s.flowFields()
	}
	s.mu.Unlock()
	if echo {
		s.c.writeFrame(frameAMQP, s.channel, descFlow, fields, nil)
	}
	if l != nil {
		l.flow(fl)
	}
	return nil
}

// transfer receives a transfer frame from the peer.
func (s *session) transfer(t transferFrame, payload []byte) error {
	s.mu.Lock()
	s.nextIncomingID++
	if s.incomingLeft == 0 {
		s.mu.Unlock()
		return errorf(condWindowViolation, "transfer beyond the session's incoming window")
	}
	s.incomingLeft--
	var reopen []any
	if s.incomingLeft < incomingWindowLo {
		reopen = s.flowFields()
	}
	l := s.links[t.handle]
	s.mu.Unlock()
	if reopen != nil {
		s.c.writeFrame(frameAMQP, s.channel, descFlow, reopen, nil)
	}
	if l == nil {
		return errorf(condUnattached, "transfer on handle %d, which is not attached", t.handle)
	}
	if !l.incoming {
		return errorf(condNotAllowed, "transfer on a link where this server is the sender")
	}
	return l.receive(t, payload)
}

// disposition applies the peer's settlement of outgoing deliveries.
func (s *session) disposition(d dispositionFrame) {
	if !d.role {
		// The peer (a sender) settling its own deliveries: this server
		// settles incoming deliveries at once, so there is nothing to do.
		return
	}
	if (d.state != nil && d.state.code == descReceived) || (d.state == nil && !d.settled) {
		return // not an outcome: the delivery stays unsettled
	}
	s.mu.Lock()
	byLink := map[*link][]settleReq{}
	for id := d.first; ; id++ {
		if dl := s.unsettled[id]; dl != nil {
			delete(s.unsettled, id)
			byLink[dl.l] = append(byLink[dl.l], settleReq{id: id, lockToken: dl.lockToken, state: d.state, reply: !d.settled})
		}
		if id == d.last {
			break
		}
	}
	s.mu.Unlock()
	for l, reqs := range byLink {
		l.settle(reqs)
	}
}

// writeDisposition settles one incoming (role receiver) or outgoing delivery.
func (s *session) writeDisposition(receiver bool, id uint32, state *outcome) {
	s.c.writeFrame(frameAMQP, s.channel, descDisposition, []any{receiver, id, id, true, state.value()}, nil)
}

func (s *session) removeLink(l *link) {
	s.mu.Lock()
	if s.links[l.remoteHandle] == l {
		delete(s.links, l.remoteHandle)
		delete(s.byName, l.name)
	}
	s.mu.Unlock()
	l.stop()
}

// detachLink detaches a link from this side with an error.
func (s *session) detachLink(l *link, e *amqpError) {
	s.mu.Lock()
	attached := s.links[l.remoteHandle] == l
	s.mu.Unlock()
	if !attached {
		return
	}
	s.mu.Lock()
	s.detaching[l.remoteHandle] = struct{}{}
	s.mu.Unlock()
	s.removeLink(l)
	s.c.writeFrame(frameAMQP, s.channel, descDetach, []any{l.handle, true, e.value()}, nil)
}

// teardown stops every link (the session ended or the connection closed).
func (s *session) teardown() {
	s.mu.Lock()
	s.ended = true
	links := make([]*link, 0, len(s.links))
	for _, l := range s.links {
		links = append(links, l)
	}
	s.links = map[uint32]*link{}
	s.cond.Broadcast()
	s.mu.Unlock()
	for _, l := range links {
		l.stop()
	}
}

// send transfers one message on an outgoing link, split into frames no larger
// than the peer's maximum, waiting for the peer's session window. It returns
// false when the session or connection ended.
func (s *session) send(ctx context.Context, l *link, tag, payload []byte, settled bool, track *delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextDeliveryID
	s.nextDeliveryID++
	if track != nil {
		s.unsettled[id] = track
	}
	// Room for the transfer performative: handle, id, tag (≤ 32 bytes), format, flags.
	chunk := int(s.c.peerMaxFrame) - 8 - 64 - len(tag)
	first := true
	for first || len(payload) > 0 {
		for s.remoteIncomingWindow == 0 && !s.ended && ctx.Err() == nil {
			s.cond.Wait()
		}
		if s.ended || ctx.Err() != nil {
			delete(s.unsettled, id)
			return false
		}
		part := payload
		more := false
		if len(part) > chunk {
			part, more = part[:chunk], true
		}
		payload = payload[len(part):]
		var fields []any
		if first {
			fields = []any{l.handle, id, tag, uint32(0), settled, more}
		} else {
			fields = []any{l.handle, nil, nil, nil, nil, more}
		}
		first = false
		s.nextOutgoingID++
		s.remoteIncomingWindow--
		if err := s.c.writeFrame(frameAMQP, s.channel, descTransfer, fields, part); err != nil {
			delete(s.unsettled, id)
			return false
		}
	}
	return true
}
