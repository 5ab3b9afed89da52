package amqp

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"junction/internal/broker"
)

// linkKind is what a link is attached to.
type linkKind int

const (
	kindEntity     linkKind = iota // a queue, topic, subscription or dead-letter queue
	kindCBS                        // requests to $cbs
	kindManagement                 // requests to <entity>/$management
	kindReply                      // responses of $cbs or $management
)

// incomingCredit is the link credit this server keeps open on links where
// the peer sends.
const (
	incomingCredit   = 1000
	incomingCreditLo = incomingCredit / 2
	// maxMessageSize is announced on attach: room for a batch of messages at
	// the broker's body limit plus their properties.
	maxMessageSize = 1 << 20
)

// link is one attached link.
type link struct {
	s            *session
	name         string
	remoteHandle uint32
	handle       uint32
	incoming     bool // the peer sends, this server receives
	kind         linkKind
	path         string // entity path (for management: the entity it manages)
	target       string // the peer's target address (reply links)
	settled      bool   // outgoing deliveries are pre-settled
	rcvSecond    bool   // the peer settles second: answer its dispositions
	authScope    *string
	ctx          context.Context
	cancel       context.CancelFunc

	// Incoming transfers.
	partial      []byte
	partialID    uint32
	partialFmt   uint32
	partialSettl bool
	inProgress   bool
	credit       uint32 // credit still open for the peer (under mu)
	received     uint32 // deliveries received: the link's delivery-count (under mu)
	work         chan inDelivery

	// Outgoing: credit from the peer.
	mu            sync.Mutex
	peerCredit    uint32
	deliveryCount uint32
	drain         bool
	wake          chan struct{}
	pollCancel    context.CancelFunc
	bsession      *broker.Session
	settleQ       chan []settleReq
	stopOnce      sync.Once
}

// inDelivery is a complete message the peer sent, or an aborted one.
type inDelivery struct {
	id      uint32
	settled bool
	aborted bool
	format  uint32
	payload []byte
}

// settleReq is the peer's outcome for an outgoing delivery.
type settleReq struct {
	id        uint32
	lockToken string
	state     *outcome
	reply     bool
}

// entityPath turns an address ("orders", "/orders", "amqp://host/orders",
// "sb://ns/topic/Subscriptions/sub") into a broker path.
func entityPath(addr string) string {
	if i := strings.Index(addr, "://"); i >= 0 {
		if u, err := url.Parse(addr); err == nil {
			addr = u.Path
		}
	}
	return strings.Trim(addr, "/")
}

func (s *session) attach(a attachFrame) error {
	s.mu.Lock()
	if _, dup := s.links[a.handle]; dup {
		s.mu.Unlock()
		return errorf(condHandleInUse, "handle %d is already attached", a.handle)
	}
	if len(s.links) >= maxHandles {
		s.mu.Unlock()
		return errorf(condResourceLimit, "too many links on one session")
	}
	handle := s.nextHandle
	s.nextHandle++
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(s.c.ctx)
	l := &link{s: s, name: a.name, remoteHandle: a.handle, handle: handle, incoming: !a.role, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1)}
	var addr string
	if l.incoming {
		if a.target != nil {
			addr = a.target.address
		}
	} else {
		if a.source != nil {
			addr = a.source.address
		}
		if a.target != nil {
			l.target = a.target.address
		}
	}
	path := entityPath(addr)
	lower := strings.ToLower(path)
	switch {
	case lower == "$cbs":
		l.kind = kindCBS
	case strings.HasSuffix(lower, "/$management"):
		l.kind, path = kindManagement, path[:len(path)-len("/$management")]
	default:
		l.kind = kindEntity
	}
	l.path = path
	if !l.incoming && (l.kind == kindCBS || l.kind == kindManagement) {
		l.kind = kindReply
	}

	reply := func(props Map, source any, e *amqpError) {
		role := l.incoming // true: this server is the receiver
		var src, tgt any
		if a.source != nil {
			src = Described{uint64(descSource), a.source.raw}
		}
		if a.target != nil {
			tgt = Described{uint64(descTarget), a.target.raw}
		}
		if source != nil {
			src = source
		}
		if e != nil {
			// Refused: the terminus this server would have created is null.
			if l.incoming {
				tgt = nil
			} else {
				src = nil
			}
		}
		snd := a.sndSettleMode
		fields := []any{a.name, handle, role, snd, a.rcvSettleMode, src, tgt, nil, nil, nil, uint64(maxMessageSize), nil, nil, nil}
		if !l.incoming {
			fields[9] = uint32(0) // initial-delivery-count
		}
		if props != nil {
			fields[13] = props
		}
		if e != nil {
			s.mu.Lock()
			s.detaching[a.handle] = struct{}{}
			s.mu.Unlock()
		}
		s.c.writeFrame(frameAMQP, s.channel, descAttach, fields, nil)
		if e != nil {
			s.c.writeFrame(frameAMQP, s.channel, descDetach, []any{handle, true, e.value()}, nil)
		}
	}
	if l.kind == kindEntity || l.kind == kindManagement {
		if path == "" {
			reply(nil, nil, errorf(condNotFound, "an entity address is required"))
			return nil
		}
		need := RightListen
		if l.incoming && l.kind == kindEntity {
			need = RightSend
		}
		if l.kind == kindManagement {
			need = ""
		}
		scope, err := s.c.authorize(path, need)
		if err != nil {
			reply(nil, nil, err)
			return nil
		}
		l.authScope = scope
		if l.kind == kindEntity {
			if _, err := s.c.s.cfg.Broker.Entity(s.c.ctx, withoutDLQ(path)); err != nil {
				reply(nil, nil, brokerError(err))
				return nil
			}
		}
	}
	l.settled = a.sndSettleMode == 1
	l.rcvSecond = a.rcvSettleMode == 1

	register := func() {
		s.mu.Lock()
		s.links[a.handle] = l
		if old := s.byName[a.name]; old != nil && old != l {
			delete(s.links, old.remoteHandle)
		}
		s.byName[a.name] = l
		s.mu.Unlock()
		if l.kind == kindReply {
			// Clients name the reply address as the link's target (go-amqp,
			// the .NET SDK) or as the link's name (rhea).
			s.c.mu.Lock()
			for _, k := range []string{l.target, l.name} {
				if k != "" {
					s.c.replies[k] = l
				}
			}
			s.c.mu.Unlock()
		}
	}

	if l.incoming {
		register()
		l.work = make(chan inDelivery, 2*incomingCredit)
		l.received = a.initialDeliveryID
		reply(nil, nil, nil)
		l.grant()
		s.c.spawn(l.incomingWorker)
		return nil
	}
	if l.kind != kindEntity {
		register()
		reply(nil, nil, nil)
		return nil
	}
	// A receiver: sessions need a lock first, which may wait.
	filter, descriptor, wantSession := sessionFilter(a.source)
	if wantSession {
		wait := 60 * time.Second
		if v, ok := a.properties.Get("com.microsoft:timeout"); ok {
			if ms, ok := toInt64(v); ok && ms >= 0 {
				wait = time.Duration(ms) * time.Millisecond
			}
		}
		s.c.spawn(func() {
			bs, err := s.c.s.cfg.Broker.AcceptSession(l.ctx, path, filter, wait)
			if err == nil && bs == nil {
				err = errorTimeout("no session became available within the time-out")
			}
			if err != nil {
				reply(nil, nil, brokerError(err))
				cancel()
				return
			}
			s.mu.Lock()
			ended := s.ended
			s.mu.Unlock()
			if ended {
				// The session ended while the lock was being taken.
				ctx, cancelRelease := context.WithTimeout(context.Background(), opTimeout)
				s.c.s.cfg.Broker.ReleaseSession(ctx, bs)
				cancelRelease()
				return
			}
			l.mu.Lock()
			l.bsession = bs
			l.mu.Unlock()
			register()
			src := append([]any(nil), a.source.raw...)
			for len(src) < 8 {
				src = append(src, nil)
			}
			// The filter is answered in the form it was asked in: described
			// (go-amqp) or a plain string (rhea).
			var v any = bs.ID
			if descriptor != nil {
				v = Described{descriptor, bs.ID}
			}
			src[7] = Map{{Symbol("com.microsoft:session-filter"), v}}
			reply(Map{{Symbol("com.microsoft:locked-until-utc"), dotnetTicks(bs.LockedUntil)}}, Described{uint64(descSource), src}, nil)
			l.startPump()
		})
		return nil
	}
	register()
	reply(nil, nil, nil)
	l.startPump()
	return nil
}

// errorTimeout is the Service Bus time-out condition.
func errorTimeout(msg string) error { return errorf(condTimeout, "%s", msg) }

// dotnetTicks is t in 100 ns ticks since 0001-01-01, as Service Bus writes
// lock expiries.
func dotnetTicks(t time.Time) int64 {
	const unixEpochTicks = 621355968000000000
	return unixEpochTicks + t.UnixNano()/100
}

// sessionFilter reads the session filter of a source: the session id ("" for
// the next available session), its descriptor when it was described, and
// whether one was asked for.
func sessionFilter(src *terminus) (string, any, bool) {
	if src == nil {
		return "", nil, false
	}
	for _, p := range src.filter {
		k, _ := p.Key.(Symbol)
		d, isDesc := p.Value.(Described)
		if k == "com.microsoft:session-filter" || (isDesc && descriptorIs(d.Descriptor, 0x00000137000000C)) {
			v := p.Value
			var descriptor any
			if isDesc {
				v, descriptor = d.Value, d.Descriptor
			}
			s, _ := v.(string)
			return s, descriptor, true
		}
	}
	return "", nil, false
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x < 1<<62 {
			return int64(x), true
		}
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	}
	return 0, false
}

// withoutDLQ is the entity a dead-letter queue belongs to.
func withoutDLQ(p string) string {
	const suffix = "/$deadletterqueue"
	if len(p) > len(suffix) && strings.EqualFold(p[len(p)-len(suffix):], suffix) {
		return p[:len(p)-len(suffix)]
	}
	return p
}

func (l *link) stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		l.s.mu.Lock()
		l.s.cond.Broadcast()
		l.s.mu.Unlock()
		if l.kind == kindReply {
			l.s.c.mu.Lock()
			for _, k := range []string{l.target, l.name} {
				if l.s.c.replies[k] == l {
					delete(l.s.c.replies, k)
				}
			}
			l.s.c.mu.Unlock()
		}
		l.mu.Lock()
		bs := l.bsession
		l.mu.Unlock()
		if bs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			l.s.c.s.cfg.Broker.ReleaseSession(ctx, bs)
		}
	})
}

// receive handles a transfer frame on an incoming link (reader goroutine).
func (l *link) receive(t transferFrame, payload []byte) error {
	if !l.inProgress {
		if t.deliveryID == nil {
			return errorf(condInvalidField, "the first transfer of a delivery needs a delivery-id")
		}
		l.mu.Lock()
		credit := l.credit
		if credit > 0 {
			l.credit--
			l.received++
		}
		l.mu.Unlock()
		if credit == 0 {
			return errorf(condTransferLimit, "transfer without link credit")
		}
		l.partialID = *t.deliveryID
		l.partialFmt = 0
		if t.messageFormat != nil {
			l.partialFmt = *t.messageFormat
		}
		l.partialSettl = t.settled != nil && *t.settled
		l.partial = l.partial[:0]
		l.inProgress = true
	}
	if t.aborted {
		// The delivery used a credit: the worker hears of it, so that credit
		// used up by aborted deliveries is reopened too.
		l.inProgress, l.partial = false, nil
		select {
		case l.work <- inDelivery{id: l.partialID, settled: true, aborted: true}:
		default:
			return errorf(condTransferLimit, "more deliveries than the link credit allows")
		}
		return nil
	}
	if len(l.partial)+len(payload) > maxMessageSize {
		l.inProgress, l.partial = false, nil
		l.s.detachLink(l, errorf(condMessageSize, "the message is larger than %d bytes", maxMessageSize))
		return nil
	}
	l.partial = append(l.partial, payload...)
	if t.more {
		return nil
	}
	d := inDelivery{id: l.partialID, settled: l.partialSettl, format: l.partialFmt, payload: l.partial}
	l.partial, l.inProgress = nil, false
	select {
	case l.work <- d:
	default:
		return errorf(condTransferLimit, "more deliveries than the link credit allows")
	}
	return nil
}

// grant tops the peer's credit on an incoming link up again: deliveries
// still queued count against it, so the queue never holds more than
// incomingCredit.
func (l *link) grant() {
	l.mu.Lock()
	credit := uint32(max(incomingCredit-len(l.work), 0))
	l.credit = credit
	count := l.received
	l.mu.Unlock()
	l.s.mu.Lock()
	fields := append(l.s.flowFields(), l.handle, count, credit)
	l.s.mu.Unlock()
	l.s.c.writeFrame(frameAMQP, l.s.channel, descFlow, fields, nil)
}

// incomingWorker processes the peer's deliveries in order: sends to the
// entity (consecutive ones in one transaction), or requests to $cbs and
// $management.
func (l *link) incomingWorker() {
	for {
		var batch []inDelivery
		select {
		case <-l.ctx.Done():
			return
		case d := <-l.work:
			batch = append(batch, d)
		}
	more:
		for len(batch) < 256 {
			select {
			case d := <-l.work:
				batch = append(batch, d)
			default:
				break more
			}
		}
		kept := batch[:0]
		for _, d := range batch {
			if !d.aborted {
				kept = append(kept, d)
			}
		}
		switch {
		case len(kept) == 0:
		case l.kind == kindEntity:
			l.sendToEntity(kept)
		default:
			for _, d := range kept {
				l.request(d)
			}
		}
		// Credit is reopened once half of it is used, so a link is not
		// answered with a flow frame per message.
		l.mu.Lock()
		low := l.credit < incomingCreditLo
		l.mu.Unlock()
		if low {
			l.grant()
		}
	}
}

func (l *link) accept(d inDelivery, e *amqpError) {
	if d.settled {
		return
	}
	if e != nil {
		l.s.writeDisposition(true, d.id, &outcome{code: descRejected, err: e})
		return
	}
	l.s.writeDisposition(true, d.id, &outcome{code: descAccepted})
}

func (l *link) flow(fl flowFrame) {
	if l.incoming {
		return
	}
	l.mu.Lock()
	if fl.linkCredit != nil {
		dc := l.deliveryCount
		if fl.deliveryCount != nil {
			dc = *fl.deliveryCount
		}
		// credit = peer's delivery-count + credit - our delivery-count
		l.peerCredit = dc + *fl.linkCredit - l.deliveryCount
	}
	l.drain = fl.drain
	cancelPoll := l.pollCancel
	echo := fl.echo
	l.mu.Unlock()
	if fl.drain && cancelPoll != nil {
		cancelPoll()
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	if echo {
		l.sendLinkFlow(false)
	}
}

// sendLinkFlow reports this sender's link state.
func (l *link) sendLinkFlow(drain bool) {
	l.mu.Lock()
	dc, credit := l.deliveryCount, l.peerCredit
	l.mu.Unlock()
	l.s.mu.Lock()
	fields := append(l.s.flowFields(), l.handle, dc, credit, uint32(0), drain)
	l.s.mu.Unlock()
	l.s.c.writeFrame(frameAMQP, l.s.channel, descFlow, fields, nil)
}

// sendReply delivers a response message on a reply link (pre-settled).
func (l *link) sendReply(payload []byte) {
	l.mu.Lock()
	if l.peerCredit > 0 {
		l.peerCredit--
	}
	l.deliveryCount++
	l.mu.Unlock()
	l.s.send(l.ctx, l, nil, payload, true, nil)
}
