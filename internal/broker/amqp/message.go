package amqp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"junction/internal/broker"
)

// Message section descriptors (part 3.2 of the specification).
const (
	secHeader       = 0x70
	secDeliveryAnn  = 0x71
	secMessageAnn   = 0x72
	secProperties   = 0x73
	secAppProps     = 0x74
	secData         = 0x75
	secSequence     = 0x76
	secValue        = 0x77
	secFooter       = 0x78
	batchFormat     = 0x80013700
	lockTokenAnnKey = "x-opt-lock-token"
)

// message is a decoded AMQP message.
type message struct {
	ttl           time.Duration
	hasHeader     bool
	deliveryCount uint32
	deliveryAnn   Map
	ann           Map
	props         []any // the properties list
	appProps      Map
	data          [][]byte
	value         any
	hasValue      bool
	sequences     int
	body          []byte // the encoded body sections (data, amqp-value, amqp-sequence)
}

// decodeMessage reads the sections of an AMQP message.
func decodeMessage(b []byte) (*message, error) {
	m := &message{}
	d := decoder{b: b}
	bodyStart, bodyEnd := -1, -1
	for len(d.b) > 0 {
		start := len(b) - len(d.b)
		v, err := d.value()
		if err != nil {
			return nil, fmt.Errorf("message section: %w", err)
		}
		ds, ok := v.(Described)
		code, known := uint64(0), false
		if ok {
			code, known = descriptorCode(ds.Descriptor)
			if !known {
				code, known = sectionCode(ds.Descriptor)
			}
		}
		if !known {
			return nil, errors.New("message section without a known descriptor")
		}
		switch code {
		case secHeader:
			l, ok := ds.Value.([]any)
			if !ok {
				return nil, errors.New("header is not a list")
			}
			r := fieldReader{f: l, name: "header"}
			m.hasHeader = true
			m.ttl = r.millis(2)
			m.deliveryCount = r.uint32(4, 0)
			if r.err != nil {
				return nil, r.err
			}
		case secDeliveryAnn, secMessageAnn, secAppProps, secFooter:
			mp, ok := ds.Value.(Map)
			if !ok && ds.Value != nil {
				return nil, errors.New("annotations or application properties are not a map")
			}
			switch code {
			case secDeliveryAnn:
				m.deliveryAnn = mp
			case secMessageAnn:
				m.ann = mp
			case secAppProps:
				m.appProps = mp
			}
		case secProperties:
			l, ok := ds.Value.([]any)
			if !ok {
				return nil, errors.New("properties are not a list")
			}
			m.props = l
		case secData, secSequence, secValue:
			if bodyStart < 0 {
				bodyStart = start
			}
			bodyEnd = len(b) - len(d.b)
			switch code {
			case secData:
				bin, ok := ds.Value.([]byte)
				if !ok {
					return nil, errors.New("data section is not binary")
				}
				m.data = append(m.data, bin)
			case secSequence:
				if _, ok := ds.Value.([]any); !ok {
					return nil, errors.New("amqp-sequence section is not a list")
				}
				m.sequences++
			case secValue:
				m.value, m.hasValue = ds.Value, true
			}
		default:
			return nil, fmt.Errorf("unknown message section 0x%x", code)
		}
	}
	if bodyStart >= 0 {
		m.body = b[bodyStart:bodyEnd]
	}
	return m, nil
}

var sectionNames = map[Symbol]uint64{
	"amqp:header:list": secHeader, "amqp:delivery-annotations:map": secDeliveryAnn, "amqp:message-annotations:map": secMessageAnn,
	"amqp:properties:list": secProperties, "amqp:application-properties:map": secAppProps, "amqp:data:binary": secData,
	"amqp:amqp-sequence:list": secSequence, "amqp:amqp-value:*": secValue, "amqp:footer:map": secFooter,
}

func sectionCode(d any) (uint64, bool) {
	switch x := d.(type) {
	case uint64:
		return x, x >= secHeader && x <= secFooter
	case Symbol:
		c, ok := sectionNames[x]
		return c, ok
	}
	return 0, false
}

// idString turns a message-id or correlation-id (ulong, uuid, binary or
// string) into the broker's string form.
func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint64:
		return strconv.FormatUint(x, 10)
	case UUID:
		return x.String()
	case []byte:
		return hex.EncodeToString(x)
	case Symbol:
		return string(x)
	}
	return ""
}

// toBroker maps an AMQP message to a broker message.
func (m *message) toBroker() (broker.Message, error) {
	var out broker.Message
	r := fieldReader{f: m.props, name: "properties"}
	out.MessageID = idString(r.get(0))
	out.To = r.string(2)
	out.Subject = r.string(3)
	out.ReplyTo = r.string(4)
	out.CorrelationID = idString(r.get(5))
	out.ContentType = r.string(6)
	out.SessionID = r.string(10)
	out.ReplyToSessionID = r.string(12)
	if r.err != nil {
		return out, r.err
	}
	if m.ttl > 0 {
		out.TimeToLive = m.ttl
	}
	if v, ok := m.ann.Get("x-opt-scheduled-enqueue-time"); ok {
		if t, ok := v.(time.Time); ok {
			out.ScheduledEnqueueTime = t
		}
	}
	if v, ok := m.ann.Get("x-opt-partition-key"); ok {
		if s, ok := v.(string); ok {
			out.PartitionKey = s
		}
	}
	if len(m.appProps) > 0 {
		out.Properties = make(map[string]any, len(m.appProps))
		for _, p := range m.appProps {
			k, ok := p.Key.(string)
			if !ok {
				return out, errors.New("application property keys must be strings")
			}
			v, err := propertyValue(p.Value)
			if err != nil {
				return out, fmt.Errorf("application property %q: %w", k, err)
			}
			out.Properties[k] = v
		}
	}
	switch {
	case m.hasValue || m.sequences > 0:
		out.AMQPBody = append([]byte(nil), m.body...)
		out.Body = plainBody(m.value)
	case len(m.data) == 1:
		out.Body = m.data[0]
	case len(m.data) > 1:
		// Several data sections are kept as sent; Body is their concatenation.
		out.AMQPBody = append([]byte(nil), m.body...)
		for _, d := range m.data {
			out.Body = append(out.Body, d...)
		}
	}
	if out.Body == nil {
		out.Body = []byte{}
	}
	return out, nil
}

// plainBody is how other front ends see an amqp-value body.
func plainBody(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	case Symbol:
		return []byte(x)
	case bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Append(nil, x)
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano))
	case UUID:
		return []byte(x.String())
	}
	return []byte{}
}

// propertyValue maps an application property value to the broker's types.
func propertyValue(v any) (any, error) {
	switch x := v.(type) {
	case string, int64, float64, bool, time.Time:
		return x, nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, errors.New("the value does not fit a long")
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case Symbol:
		return string(x), nil
	case Char:
		return string(rune(x)), nil
	case UUID:
		return x.String(), nil
	}
	return nil, fmt.Errorf("values of type %T are not supported; use a string, number, boolean or timestamp", v)
}

// encodeReceived encodes a received broker message as an AMQP message.
// withLockToken adds the lock token as the x-opt-lock-token delivery
// annotation (messages returned by the management node carry no delivery
// tag).
func encodeReceived(r *broker.Received, withLockToken bool) ([]byte, error) {
	var b []byte
	var err error
	count := r.DeliveryCount - 1
	if count < 0 {
		count = 0
	}
	header := []any{true, nil, nil, nil, uint32(count)}
	if r.TimeToLive > 0 {
		ms := r.TimeToLive.Milliseconds()
		if ms > math.MaxUint32 {
			ms = math.MaxUint32
		}
		header[2] = uint32(ms)
	}
	if b, err = Append(b, Described{uint64(secHeader), header}); err != nil {
		return nil, err
	}
	if withLockToken && r.LockToken != "" {
		if u, ok := ParseUUID(r.LockToken); ok {
			if b, err = Append(b, Described{uint64(secDeliveryAnn), Map{{Symbol(lockTokenAnnKey), u}}}); err != nil {
				return nil, err
			}
		}
	}
	ann := Map{
		{Symbol("x-opt-sequence-number"), r.SequenceNumber},
		{Symbol("x-opt-enqueued-time"), r.EnqueuedTime},
		{Symbol("x-opt-enqueue-sequence-number"), r.EnqueuedSequenceNumber},
	}
	if !r.LockedUntil.IsZero() {
		ann = append(ann, Pair{Symbol("x-opt-locked-until"), r.LockedUntil})
	}
	switch r.State {
	case broker.Deferred:
		ann = append(ann, Pair{Symbol("x-opt-message-state"), int32(1)})
	case broker.Scheduled:
		ann = append(ann, Pair{Symbol("x-opt-message-state"), int32(2)})
	}
	if !r.ScheduledEnqueueTime.IsZero() {
		ann = append(ann, Pair{Symbol("x-opt-scheduled-enqueue-time"), r.ScheduledEnqueueTime})
	}
	if r.PartitionKey != "" {
		ann = append(ann, Pair{Symbol("x-opt-partition-key"), r.PartitionKey})
	}
	if r.DeadLetterSource != "" {
		ann = append(ann, Pair{Symbol("x-opt-deadletter-source"), r.DeadLetterSource})
	}
	if b, err = Append(b, Described{uint64(secMessageAnn), ann}); err != nil {
		return nil, err
	}
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var ct any
	if r.ContentType != "" {
		ct = Symbol(r.ContentType)
	}
	var expiry any
	if !r.ExpiresAt.IsZero() {
		expiry = r.ExpiresAt
	}
	props := []any{str(r.MessageID), nil, str(r.To), str(r.Subject), str(r.ReplyTo), str(r.CorrelationID), ct, nil,
		expiry, r.EnqueuedTime, str(r.SessionID), nil, str(r.ReplyToSessionID)}
	if b, err = Append(b, Described{uint64(secProperties), props}); err != nil {
		return nil, err
	}
	app := make(Map, 0, len(r.Properties)+2)
	for k, v := range r.Properties {
		app = append(app, Pair{k, v})
	}
	if r.DeadLetterReason != "" {
		app = append(app, Pair{"DeadLetterReason", r.DeadLetterReason})
	}
	if r.DeadLetterErrorDescription != "" {
		app = append(app, Pair{"DeadLetterErrorDescription", r.DeadLetterErrorDescription})
	}
	if len(app) > 0 {
		if b, err = Append(b, Described{uint64(secAppProps), app}); err != nil {
			return nil, err
		}
	}
	if len(r.AMQPBody) > 0 {
		return append(b, r.AMQPBody...), nil
	}
	return Append(b, Described{uint64(secData), r.Body})
}

// lockTokenTag is the delivery tag for a lock token: the GUID in the byte
// order .NET uses, which the SDKs turn back into the token.
func lockTokenTag(token string) []byte {
	u, ok := ParseUUID(token)
	if !ok {
		return []byte(token)
	}
	u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
	u[4], u[5] = u[5], u[4]
	u[6], u[7] = u[7], u[6]
	return u[:]
}
