package amqp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Frame types.
const (
	frameAMQP = 0
	frameSASL = 1
)

// Performative and SASL descriptors (part 2.7 and 5.3 of the specification).
const (
	descOpen        = 0x10
	descBegin       = 0x11
	descAttach      = 0x12
	descFlow        = 0x13
	descTransfer    = 0x14
	descDisposition = 0x15
	descDetach      = 0x16
	descEnd         = 0x17
	descClose       = 0x18
	descError       = 0x1d
	descReceived    = 0x23
	descAccepted    = 0x24
	descRejected    = 0x25
	descReleased    = 0x26
	descModified    = 0x27
	descSource      = 0x28
	descTarget      = 0x29
	descSASLMechs   = 0x40
	descSASLInit    = 0x41
	descSASLOutcome = 0x44
)

// Error conditions.
const (
	condInternal        Symbol = "amqp:internal-error"
	condNotFound        Symbol = "amqp:not-found"
	condUnauthorized    Symbol = "amqp:unauthorized-access"
	condDecode          Symbol = "amqp:decode-error"
	condResourceLimit   Symbol = "amqp:resource-limit-exceeded"
	condNotAllowed      Symbol = "amqp:not-allowed"
	condInvalidField    Symbol = "amqp:invalid-field"
	condNotImplemented  Symbol = "amqp:not-implemented"
	condFrameSizeSmall  Symbol = "amqp:frame-size-too-small"
	condFraming         Symbol = "amqp:connection:framing-error"
	condConnForced      Symbol = "amqp:connection:forced"
	condWindowViolation Symbol = "amqp:session:window-violation"
	condErrantLink      Symbol = "amqp:session:errant-link"
	condHandleInUse     Symbol = "amqp:session:handle-in-use"
	condUnattached      Symbol = "amqp:session:unattached-handle"
	condDetachForced    Symbol = "amqp:link:detach-forced"
	condMessageSize     Symbol = "amqp:link:message-size-exceeded"
	condLinkStolen      Symbol = "amqp:link:stolen"
	condTransferLimit   Symbol = "amqp:link:transfer-limit-exceeded"
	condLockLost        Symbol = "com.microsoft:message-lock-lost"
	condSessionLockLost Symbol = "com.microsoft:session-lock-lost"
	condSessionLocked   Symbol = "com.microsoft:session-cannot-be-locked"
	condTimeout         Symbol = "com.microsoft:timeout"
	condServerBusy      Symbol = "com.microsoft:server-busy"
	condDeadLetter      Symbol = "com.microsoft:dead-letter"
)

// amqpError is an AMQP error: a condition, a description and info.
type amqpError struct {
	Condition   Symbol
	Description string
	Info        Map
}

func (e *amqpError) Error() string { return string(e.Condition) + ": " + e.Description }

func errorf(cond Symbol, format string, args ...any) *amqpError {
	return &amqpError{Condition: cond, Description: fmt.Sprintf(format, args...)}
}

func (e *amqpError) value() any {
	if e == nil {
		return nil
	}
	f := []any{e.Condition, e.Description}
	if len(e.Info) > 0 {
		f = append(f, e.Info)
	}
	return Described{uint64(descError), f}
}

func parseError(v any) *amqpError {
	f, ok := describedList(v, descError)
	if !ok {
		return nil
	}
	e := &amqpError{}
	if len(f) > 0 {
		e.Condition, _ = f[0].(Symbol)
	}
	if len(f) > 1 {
		e.Description, _ = f[1].(string)
	}
	if len(f) > 2 {
		e.Info, _ = f[2].(Map)
	}
	return e
}

// describedList returns the fields of a described list with descriptor code.
func describedList(v any, code uint64) ([]any, bool) {
	d, ok := v.(Described)
	if !ok || !descriptorIs(d.Descriptor, code) {
		return nil, false
	}
	l, ok := d.Value.([]any)
	return l, ok
}

// symbolicDescriptors are the symbolic names of the numeric descriptors this
// server reads, which peers may use instead.
var symbolicDescriptors = map[Symbol]uint64{
	"amqp:open:list": descOpen, "amqp:begin:list": descBegin, "amqp:attach:list": descAttach, "amqp:flow:list": descFlow,
	"amqp:transfer:list": descTransfer, "amqp:disposition:list": descDisposition, "amqp:detach:list": descDetach,
	"amqp:end:list": descEnd, "amqp:close:list": descClose, "amqp:error:list": descError, "amqp:accepted:list": descAccepted,
	"amqp:rejected:list": descRejected, "amqp:released:list": descReleased, "amqp:modified:list": descModified,
	"amqp:source:list": descSource, "amqp:target:list": descTarget, "amqp:sasl-init:list": descSASLInit,
	"amqp:received:list": descReceived,
}

func descriptorCode(d any) (uint64, bool) {
	switch x := d.(type) {
	case uint64:
		return x, true
	case Symbol:
		c, ok := symbolicDescriptors[x]
		return c, ok
	}
	return 0, false
}

func descriptorIs(d any, code uint64) bool {
	c, ok := descriptorCode(d)
	return ok && c == code
}

// frame is one frame read from the wire.
type frame struct {
	typ     byte
	channel uint16
	perf    uint64 // descriptor of the performative; 0 for an empty frame
	fields  []any
	payload []byte // transfer payload after the performative
}

// frameError is a framing problem that closes the connection.
type frameError struct{ *amqpError }

// readFrame reads one frame no larger than max bytes.
func readFrame(r io.Reader, max uint32, hdr []byte) (frame, error) {
	var f frame
	if _, err := io.ReadFull(r, hdr[:8]); err != nil {
		return f, err
	}
	size := binary.BigEndian.Uint32(hdr[0:4])
	doff := hdr[4]
	f.typ = hdr[5]
	f.channel = binary.BigEndian.Uint16(hdr[6:8])
	if size < 8 || doff < 2 || uint32(doff)*4 > size {
		return f, frameError{errorf(condFraming, "malformed frame header (size %d, data offset %d)", size, doff)}
	}
	if size > max {
		return f, frameError{errorf(condFraming, "frame of %d bytes is larger than the negotiated maximum of %d", size, max)}
	}
	if f.typ != frameAMQP && f.typ != frameSASL {
		return f, frameError{errorf(condFraming, "unknown frame type %d", f.typ)}
	}
	body := make([]byte, size-8)
	if _, err := io.ReadFull(r, body); err != nil {
		return f, err
	}
	body = body[int(doff)*4-8:]
	if len(body) == 0 {
		return f, nil // heartbeat
	}
	v, rest, err := Decode(body)
	if err != nil {
		return f, frameError{errorf(condDecode, "performative: %v", err)}
	}
	d, ok := v.(Described)
	code, known := uint64(0), false
	if ok {
		code, known = descriptorCode(d.Descriptor)
	}
	fields, isList := d.Value.([]any)
	if !ok || !known || !isList {
		return f, frameError{errorf(condDecode, "the frame body is not a performative")}
	}
	f.perf, f.fields = code, fields
	if len(rest) > 0 {
		if code != descTransfer {
			return f, frameError{errorf(condDecode, "bytes after a performative that carries no payload")}
		}
		f.payload = rest
	}
	return f, nil
}

// appendFrame encodes a frame with a performative and optional payload.
func appendFrame(b []byte, typ byte, channel uint16, perf uint64, fields []any, payload []byte) ([]byte, error) {
	for len(fields) > 0 && fields[len(fields)-1] == nil {
		fields = fields[:len(fields)-1]
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0, 2, typ, byte(channel>>8), byte(channel))
	b, err := Append(b, Described{perf, fields})
	if err != nil {
		return nil, err
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// fieldReader reads typed performative fields, remembering the first error.
type fieldReader struct {
	f    []any
	name string
	err  error
}

func (r *fieldReader) get(i int) any {
	if i < len(r.f) {
		return r.f[i]
	}
	return nil
}

func (r *fieldReader) bad(i int, want string) {
	if r.err == nil {
		r.err = errorf(condDecode, "%s field %d: want %s, got %T", r.name, i, want, r.get(i))
	}
}

func (r *fieldReader) required(i int) {
	if r.get(i) == nil && r.err == nil {
		r.err = errorf(condInvalidField, "%s field %d is mandatory", r.name, i)
	}
}

func (r *fieldReader) uint32(i int, def uint32) uint32 {
	switch x := r.get(i).(type) {
	case nil:
		return def
	case uint32:
		return x
	case uint16:
		return uint32(x)
	case uint8:
		return uint32(x)
	}
	r.bad(i, "uint")
	return def
}

func (r *fieldReader) uint64(i int, def uint64) uint64 {
	switch x := r.get(i).(type) {
	case nil:
		return def
	case uint64:
		return x
	case uint32:
		return uint64(x)
	}
	r.bad(i, "ulong")
	return def
}

func (r *fieldReader) uint16(i int, def uint16) uint16 {
	switch x := r.get(i).(type) {
	case nil:
		return def
	case uint16:
		return x
	case uint8:
		return uint16(x)
	}
	r.bad(i, "ushort")
	return def
}

func (r *fieldReader) uint8(i int, def uint8) uint8 {
	switch x := r.get(i).(type) {
	case nil:
		return def
	case uint8:
		return x
	}
	r.bad(i, "ubyte")
	return def
}

func (r *fieldReader) bool(i int, def bool) bool {
	switch x := r.get(i).(type) {
	case nil:
		return def
	case bool:
		return x
	}
	r.bad(i, "boolean")
	return def
}

func (r *fieldReader) string(i int) string {
	switch x := r.get(i).(type) {
	case nil:
		return ""
	case string:
		return x
	case Symbol:
		return string(x)
	}
	r.bad(i, "string")
	return ""
}

func (r *fieldReader) binary(i int) []byte {
	switch x := r.get(i).(type) {
	case nil:
		return nil
	case []byte:
		return x
	}
	r.bad(i, "binary")
	return nil
}

func (r *fieldReader) mapField(i int) Map {
	switch x := r.get(i).(type) {
	case nil:
		return nil
	case Map:
		return x
	}
	r.bad(i, "map")
	return nil
}

func (r *fieldReader) millis(i int) time.Duration {
	return time.Duration(r.uint32(i, 0)) * time.Millisecond
}

// Performatives as the server reads them.

type openFrame struct {
	containerID  string
	maxFrameSize uint32
	channelMax   uint16
	idleTimeout  time.Duration
}

func parseOpen(f []any) (openFrame, error) {
	r := fieldReader{f: f, name: "open"}
	r.required(0)
	o := openFrame{containerID: r.string(0), maxFrameSize: r.uint32(2, 0xffffffff), channelMax: r.uint16(3, 0xffff), idleTimeout: r.millis(4)}
	return o, r.err
}

type beginFrame struct {
	remoteChannel  *uint16
	nextOutgoingID uint32
	incomingWindow uint32
	outgoingWindow uint32
	handleMax      uint32
}

func parseBegin(f []any) (beginFrame, error) {
	r := fieldReader{f: f, name: "begin"}
	var b beginFrame
	if r.get(0) != nil {
		c := r.uint16(0, 0)
		b.remoteChannel = &c
	}
	r.required(1)
	r.required(2)
	r.required(3)
	b.nextOutgoingID, b.incomingWindow, b.outgoingWindow = r.uint32(1, 0), r.uint32(2, 0), r.uint32(3, 0)
	b.handleMax = r.uint32(4, 0xffffffff)
	return b, r.err
}

// terminus is a source or target.
type terminus struct {
	address string
	filter  Map // source only
	raw     []any
}

func parseTerminus(v any, code uint64) (*terminus, error) {
	if v == nil {
		return nil, nil
	}
	f, ok := describedList(v, code)
	if !ok {
		return nil, errorf(condDecode, "attach: malformed source or target")
	}
	r := fieldReader{f: f, name: "terminus"}
	t := &terminus{address: r.string(0), raw: f}
	if code == descSource {
		t.filter = r.mapField(7)
	}
	return t, r.err
}

type attachFrame struct {
	name              string
	handle            uint32
	role              bool // true: receiver
	sndSettleMode     uint8
	rcvSettleMode     uint8
	source, target    *terminus
	initialDeliveryID uint32
	maxMessageSize    uint64
	properties        Map
}

func parseAttach(f []any) (attachFrame, error) {
	r := fieldReader{f: f, name: "attach"}
	r.required(0)
	r.required(1)
	r.required(2)
	a := attachFrame{name: r.string(0), handle: r.uint32(1, 0), role: r.bool(2, false), sndSettleMode: r.uint8(3, 2),
		rcvSettleMode: r.uint8(4, 0), initialDeliveryID: r.uint32(9, 0), maxMessageSize: r.uint64(10, 0), properties: r.mapField(13)}
	if r.err != nil {
		return a, r.err
	}
	var err error
	if a.source, err = parseTerminus(r.get(5), descSource); err != nil {
		return a, err
	}
	if a.target, err = parseTerminus(r.get(6), descTarget); err != nil {
		return a, err
	}
	if a.sndSettleMode > 2 || a.rcvSettleMode > 1 {
		return a, errorf(condInvalidField, "attach: unknown settle mode")
	}
	return a, nil
}

type flowFrame struct {
	nextIncomingID *uint32
	incomingWindow uint32
	nextOutgoingID uint32
	outgoingWindow uint32
	handle         *uint32
	deliveryCount  *uint32
	linkCredit     *uint32
	drain          bool
	echo           bool
}

func parseFlow(f []any) (flowFrame, error) {
	r := fieldReader{f: f, name: "flow"}
	var fl flowFrame
	opt := func(i int) *uint32 {
		if r.get(i) == nil {
			return nil
		}
		v := r.uint32(i, 0)
		return &v
	}
	fl.nextIncomingID = opt(0)
	r.required(1)
	r.required(2)
	r.required(3)
	fl.incomingWindow, fl.nextOutgoingID, fl.outgoingWindow = r.uint32(1, 0), r.uint32(2, 0), r.uint32(3, 0)
	fl.handle, fl.deliveryCount, fl.linkCredit = opt(4), opt(5), opt(6)
	fl.drain, fl.echo = r.bool(8, false), r.bool(9, false)
	return fl, r.err
}

type transferFrame struct {
	handle        uint32
	deliveryID    *uint32
	deliveryTag   []byte
	messageFormat *uint32
	settled       *bool
	more          bool
	rcvSettleMode *uint8
	aborted       bool
}

func parseTransfer(f []any) (transferFrame, error) {
	r := fieldReader{f: f, name: "transfer"}
	r.required(0)
	t := transferFrame{handle: r.uint32(0, 0), deliveryTag: r.binary(2), more: r.bool(5, false), aborted: r.bool(8, false)}
	if r.get(1) != nil {
		v := r.uint32(1, 0)
		t.deliveryID = &v
	}
	if r.get(3) != nil {
		v := r.uint32(3, 0)
		t.messageFormat = &v
	}
	if r.get(4) != nil {
		v := r.bool(4, false)
		t.settled = &v
	}
	if r.get(6) != nil {
		v := r.uint8(6, 0)
		t.rcvSettleMode = &v
	}
	return t, r.err
}

// outcome is a delivery state: accepted, rejected, released or modified.
type outcome struct {
	code              uint64
	err               *amqpError // rejected
	deliveryFailed    bool       // modified
	undeliverableHere bool       // modified
	annotations       Map        // modified
}

func parseOutcome(v any) (*outcome, error) {
	if v == nil {
		return nil, nil
	}
	d, ok := v.(Described)
	code, known := uint64(0), false
	if ok {
		code, known = descriptorCode(d.Descriptor)
	}
	f, isList := d.Value.([]any)
	if !ok || !known || !isList {
		return nil, errorf(condDecode, "malformed delivery state")
	}
	o := &outcome{code: code}
	r := fieldReader{f: f, name: "delivery state"}
	switch code {
	case descAccepted, descReleased, descReceived:
	case descRejected:
		o.err = parseError(r.get(0))
	case descModified:
		o.deliveryFailed, o.undeliverableHere, o.annotations = r.bool(0, false), r.bool(1, false), r.mapField(2)
	default:
		return nil, errorf(condDecode, "unknown delivery state 0x%x", code)
	}
	return o, r.err
}

func (o *outcome) value() any {
	if o == nil {
		return nil
	}
	switch o.code {
	case descRejected:
		return Described{uint64(descRejected), []any{o.err.value()}}
	case descModified:
		f := []any{o.deliveryFailed, o.undeliverableHere}
		if len(o.annotations) > 0 {
			f = append(f, o.annotations)
		}
		return Described{uint64(descModified), f}
	}
	return Described{o.code, []any{}}
}

type dispositionFrame struct {
	role    bool
	first   uint32
	last    uint32
	settled bool
	state   *outcome
}

func parseDisposition(f []any) (dispositionFrame, error) {
	r := fieldReader{f: f, name: "disposition"}
	r.required(0)
	r.required(1)
	d := dispositionFrame{role: r.bool(0, false), first: r.uint32(1, 0), settled: r.bool(3, false)}
	d.last = r.uint32(2, d.first)
	if r.err != nil {
		return d, r.err
	}
	if d.last < d.first || d.last-d.first > 1<<20 {
		return d, errorf(condInvalidField, "disposition: range %d..%d", d.first, d.last)
	}
	var err error
	d.state, err = parseOutcome(r.get(4))
	return d, err
}

type detachFrame struct {
	handle uint32
	closed bool
	err    *amqpError
}

func parseDetach(f []any) (detachFrame, error) {
	r := fieldReader{f: f, name: "detach"}
	r.required(0)
	d := detachFrame{handle: r.uint32(0, 0), closed: r.bool(1, false), err: parseError(r.get(2))}
	return d, r.err
}

var errClosedByPeer = errors.New("closed by peer")
