package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"junction/internal/trace"
)

// Message is what a sender gives the broker: a body, the sender-set system
// properties, and application properties (string, int64, float64, bool or
// time.Time values).
type Message struct {
	Body                 []byte
	MessageID            string
	CorrelationID        string
	SessionID            string
	ReplyTo              string
	ReplyToSessionID     string
	To                   string
	Subject              string // Label in the REST API
	ContentType          string
	PartitionKey         string
	TimeToLive           time.Duration // 0: the entity's default
	ScheduledEnqueueTime time.Time     // zero: now
	Properties           map[string]any
	// AMQPBody keeps the encoded AMQP body sections of a message sent over
	// AMQP with an amqp-value or amqp-sequence body, so that AMQP receivers
	// get the body as it was sent; Body then holds its plain form for other
	// front ends.
	AMQPBody []byte

	// deadLetter travels with a message forwarded by
	// ForwardDeadLetteredMessagesTo, which keeps its dead-letter reason.
	deadLetter *deadLetterInfo
}

type deadLetterInfo struct {
	source, reason, desc string
}

// State is where a message stands in its entity.
type State string

// Message states.
const (
	Active    State = "Active"
	Deferred  State = "Deferred"
	Scheduled State = "Scheduled"
)

// Received is a message as the broker hands it out: the sender's message plus
// what the broker set.
type Received struct {
	Message
	Entity                     string // the path it was received from
	SequenceNumber             int64
	EnqueuedTime               time.Time
	ExpiresAt                  time.Time // zero: never
	DeliveryCount              int
	LockToken                  string    // empty for receive-and-delete and peek
	LockedUntil                time.Time // zero unless locked
	State                      State
	DeadLetterSource           string
	DeadLetterReason           string
	DeadLetterErrorDescription string
	EnqueuedSequenceNumber     int64
}

// stored is the JSON form of a message's properties in broker_messages.props.
type stored struct {
	MessageID        string          `json:"mid,omitempty"`
	CorrelationID    string          `json:"cid,omitempty"`
	SessionID        string          `json:"sid,omitempty"`
	ReplyTo          string          `json:"rt,omitempty"`
	ReplyToSessionID string          `json:"rts,omitempty"`
	To               string          `json:"to,omitempty"`
	Subject          string          `json:"sub,omitempty"`
	ContentType      string          `json:"ct,omitempty"`
	PartitionKey     string          `json:"pk,omitempty"`
	AMQPBody         []byte          `json:"ab,omitempty"`
	TTL              int64           `json:"ttl,omitempty"` // microseconds as sent
	Hops             int             `json:"hops,omitempty"`
	DLSource         string          `json:"dls,omitempty"`
	DLReason         string          `json:"dlr,omitempty"`
	DLDescription    string          `json:"dld,omitempty"`
	Props            json.RawMessage `json:"p,omitempty"`
}

// validate checks a message against the documented limits.
func (b *Broker) validate(m *Message) error {
	if size := max(len(m.Body), len(m.AMQPBody)); size > b.maxMsg {
		return errorf(KindTooLarge, "the message body of %d bytes is larger than the limit of %d bytes", size, b.maxMsg)
	}
	if len(m.MessageID) > MaxIDLength {
		return errorf(KindBadRequest, "MessageId is longer than %d characters", MaxIDLength)
	}
	if len(m.SessionID) > MaxIDLength {
		return errorf(KindBadRequest, "SessionId is longer than %d characters", MaxIDLength)
	}
	if len(m.ReplyToSessionID) > MaxIDLength {
		return errorf(KindBadRequest, "ReplyToSessionId is longer than %d characters", MaxIDLength)
	}
	if len(m.PartitionKey) > MaxIDLength {
		return errorf(KindBadRequest, "PartitionKey is longer than %d characters", MaxIDLength)
	}
	if m.PartitionKey != "" && m.SessionID != "" && m.PartitionKey != m.SessionID {
		return errorf(KindBadRequest, "PartitionKey must equal SessionId when both are set")
	}
	if m.TimeToLive < 0 {
		return errorf(KindBadRequest, "TimeToLive must be positive")
	}
	for _, s := range []string{m.MessageID, m.CorrelationID, m.SessionID, m.ReplyTo, m.ReplyToSessionID, m.To, m.Subject, m.ContentType} {
		if !utf8.ValidString(s) {
			return errorf(KindBadRequest, "message properties must be valid UTF-8")
		}
	}
	total := 0
	for k, v := range m.Properties {
		if k == "" {
			return errorf(KindBadRequest, "an application property has an empty name")
		}
		size := len(k)
		switch x := v.(type) {
		case string:
			size += len(x)
		case int64, float64, bool, time.Time:
			size += 8
		case int:
			m.Properties[k] = int64(x)
			size += 8
		case int32:
			m.Properties[k] = int64(x)
			size += 8
		case float32:
			m.Properties[k] = float64(x)
			size += 8
		default:
			return errorf(KindBadRequest, "application property %q has a value of type %T; use a string, number, boolean or date", k, v)
		}
		if f, ok := m.Properties[k].(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return errorf(KindBadRequest, "application property %q is not a finite number", k)
		}
		if size > MaxPropertySize {
			return errorf(KindTooLarge, "application property %q is larger than %d bytes", k, MaxPropertySize)
		}
		total += size
	}
	if total > MaxPropertiesSize {
		return errorf(KindTooLarge, "the application properties total %d bytes, more than the limit of %d bytes", total, MaxPropertiesSize)
	}
	return nil
}

// encodeProps writes application properties to JSON, keeping types: dates
// become {"$date": RFC 3339}, integers stay integers.
func encodeProps(props map[string]any) (json.RawMessage, error) {
	if len(props) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(props))
	for k, v := range props {
		switch x := v.(type) {
		case time.Time:
			out[k] = map[string]string{"$date": x.UTC().Format(time.RFC3339Nano)}
		case float64:
			// A float with an integral value must still come back as a float.
			if x == math.Trunc(x) && math.Abs(x) < 1e15 {
				out[k] = map[string]float64{"$double": x}
			} else {
				out[k] = x
			}
		default:
			out[k] = v
		}
	}
	return json.Marshal(out)
}

func decodeProps(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				out[k] = i
			} else {
				f, _ := x.Float64()
				out[k] = f
			}
		case map[string]any:
			if d, ok := x["$date"].(string); ok {
				t, err := time.Parse(time.RFC3339Nano, d)
				if err != nil {
					return nil, err
				}
				out[k] = t
			} else if n, ok := x["$double"].(json.Number); ok {
				f, _ := n.Float64()
				out[k] = f
			} else {
				return nil, fmt.Errorf("property %q: unknown encoding", k)
			}
		default:
			out[k] = v
		}
	}
	return out, nil
}

func (m *Message) toStored() (stored, error) {
	p, err := encodeProps(m.Properties)
	if err != nil {
		return stored{}, err
	}
	return stored{
		MessageID: m.MessageID, CorrelationID: m.CorrelationID, SessionID: m.SessionID, ReplyTo: m.ReplyTo,
		ReplyToSessionID: m.ReplyToSessionID, To: m.To, Subject: m.Subject, ContentType: m.ContentType,
		PartitionKey: m.PartitionKey, TTL: m.TimeToLive.Microseconds(), Props: p, AMQPBody: m.AMQPBody,
	}, nil
}

func (s stored) message(body []byte) (Message, error) {
	props, err := decodeProps(s.Props)
	if err != nil {
		return Message{}, err
	}
	return Message{
		Body: body, MessageID: s.MessageID, CorrelationID: s.CorrelationID, SessionID: s.SessionID, ReplyTo: s.ReplyTo,
		ReplyToSessionID: s.ReplyToSessionID, To: s.To, Subject: s.Subject, ContentType: s.ContentType,
		PartitionKey: s.PartitionKey, TimeToLive: time.Duration(s.TTL) * time.Microsecond, Properties: props, AMQPBody: s.AMQPBody,
	}, nil
}

// Clone returns a copy of m whose property map can be changed independently.
func (m Message) Clone() Message {
	if m.Properties != nil {
		p := make(map[string]any, len(m.Properties))
		for k, v := range m.Properties {
			p[k] = v
		}
		m.Properties = p
	}
	return m
}

// Traced gives each message that carries no trace context the traceparent
// of ctx's span, in the Diagnostic-Id and traceparent application
// properties, as the Service Bus SDKs set them when they send inside a
// trace. Junction's own senders (workflow actions, function outputs, event
// deliveries) use it; messages sent by clients keep exactly the properties
// they were sent with, and a message that already carries a trace context
// (a received message sent on, say) keeps its own.
func Traced(ctx context.Context, msgs []Message) []Message {
	tp := trace.Parent(ctx)
	if tp == "" {
		return msgs
	}
	for i := range msgs {
		if trace.HasProperties(msgs[i].Properties) {
			continue
		}
		p := make(map[string]any, len(msgs[i].Properties)+2)
		for k, v := range msgs[i].Properties {
			p[k] = v
		}
		p[trace.DiagnosticID] = tp
		p[trace.TraceParent] = tp
		msgs[i].Properties = p
	}
	return msgs
}
