package httpapi

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"junction/internal/broker"
	"junction/internal/server"
)

// maxWait caps the long-poll timeout of a receive.
const maxWait = 300 * time.Second

// defaultWait is Service Bus's default receive timeout.
const defaultWait = 60 * time.Second

// sbError is the Service Bus REST API's error body.
type sbError struct {
	XMLName xml.Name `xml:"Error"`
	Code    int      `xml:"Code"`
	Detail  string   `xml:"Detail"`
}

func writeSBError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	b, _ := xml.Marshal(sbError{Code: status, Detail: detail})
	w.Write(b)
}

// statusOf maps broker errors to the REST API's documented status codes.
func statusOf(err error) int {
	var ae *authError
	if errors.As(err, &ae) {
		return ae.status
	}
	switch broker.KindOf(err) {
	case broker.KindBadRequest:
		return http.StatusBadRequest
	case broker.KindEntityNotFound:
		return http.StatusGone
	case broker.KindLockLost, broker.KindMessageNotFound:
		return http.StatusNotFound
	case broker.KindTooLarge, broker.KindQuotaExceeded:
		return http.StatusForbidden
	case broker.KindConflict, broker.KindSessionCannotBeLocked:
		return http.StatusConflict
	case broker.KindSessionLockLost:
		return http.StatusGone
	}
	return http.StatusInternalServerError
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	var be *broker.Error
	if errors.As(err, &be) {
		msg = be.Message
	}
	if status == http.StatusInternalServerError {
		a.log.Error("broker request failed", "path", r.URL.Path, "err", err)
		msg = "internal error: " + server500(r)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `SharedAccessSignature realm="junction"`)
	}
	writeSBError(w, status, msg)
}

func server500(r *http.Request) string {
	return "the request could not be completed; request id " + r.Header.Get("X-Request-Id")
}

// route is a parsed runtime URL.
type route struct {
	entity string
	kind   string // send, head, message, $receive, $settle, $peek, $deferred, $cancel, $session
	ref    string // {messageId or seq}
	lock   string
}

func parseRoute(p string) (route, bool) {
	p = strings.TrimPrefix(p, "/servicebus/")
	segs := strings.Split(strings.Trim(p, "/"), "/")
	n := len(segs)
	if n >= 2 && strings.HasPrefix(segs[n-1], "$") {
		switch segs[n-1] {
		case "$receive", "$settle", "$peek", "$deferred", "$cancel", "$session":
			return route{entity: strings.Join(segs[:n-1], "/"), kind: segs[n-1]}, true
		}
	}
	// {entity}/messages, {entity}/messages/head, {entity}/messages/{ref}/{lock}
	for i := n - 1; i >= 1; i-- {
		if segs[i] != "messages" {
			continue
		}
		rest := segs[i+1:]
		entity := strings.Join(segs[:i], "/")
		switch {
		case len(rest) == 0:
			return route{entity: entity, kind: "send"}, true
		case len(rest) == 1 && rest[0] == "head":
			return route{entity: entity, kind: "head"}, true
		case len(rest) == 2:
			return route{entity: entity, kind: "message", ref: rest[0], lock: rest[1]}, true
		}
	}
	return route{}, false
}

func (a *API) serveRuntime(w http.ResponseWriter, r *http.Request) {
	rt, ok := parseRoute(r.URL.EscapedPath())
	if !ok || rt.entity == "" {
		writeSBError(w, http.StatusNotFound, "no Service Bus operation at "+r.URL.Path+": use {entity}/messages, {entity}/messages/head or {entity}/messages/{id}/{lockToken}")
		return
	}
	if unescaped, err := url.PathUnescape(rt.entity); err == nil {
		rt.entity = unescaped
	}
	need := Listen
	if rt.kind == "send" || rt.kind == "$cancel" {
		need = Send
	}
	r, err := a.authorize(r, rt.entity, need)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit := int64(a.b.MaxMessageSize())*4 + 64*1024
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	switch {
	case rt.kind == "send" && r.Method == http.MethodPost:
		a.send(w, r, rt)
	case rt.kind == "head" && (r.Method == http.MethodPost || r.Method == http.MethodDelete):
		a.receiveHead(w, r, rt)
	case rt.kind == "message" && (r.Method == http.MethodPut || r.Method == http.MethodDelete || r.Method == http.MethodPost):
		a.settleOne(w, r, rt)
	case rt.kind == "$receive" && r.Method == http.MethodPost:
		a.batchReceive(w, r, rt)
	case rt.kind == "$settle" && r.Method == http.MethodPost:
		a.batchSettle(w, r, rt)
	case rt.kind == "$peek" && r.Method == http.MethodGet:
		a.peek(w, r, rt)
	case rt.kind == "$deferred" && r.Method == http.MethodPost:
		a.receiveDeferred(w, r, rt)
	case rt.kind == "$cancel" && r.Method == http.MethodPost:
		a.cancelScheduled(w, r, rt)
	case rt.kind == "$session" && r.Method == http.MethodPost:
		a.session(w, r, rt)
	default:
		w.Header().Set("Allow", allowed(rt.kind))
		writeSBError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allowed(rt.kind)))
	}
}

func allowed(kind string) string {
	switch kind {
	case "head":
		return "POST, DELETE"
	case "message":
		return "PUT, DELETE, POST"
	case "$peek":
		return "GET"
	}
	return "POST"
}

// brokerProps is the BrokerProperties header. Dates are RFC 1123 strings.
type brokerProps struct {
	MessageID               string   `json:"MessageId,omitempty"`
	CorrelationID           string   `json:"CorrelationId,omitempty"`
	SessionID               string   `json:"SessionId,omitempty"`
	ReplyTo                 string   `json:"ReplyTo,omitempty"`
	ReplyToSessionID        string   `json:"ReplyToSessionId,omitempty"`
	To                      string   `json:"To,omitempty"`
	Label                   string   `json:"Label,omitempty"`
	PartitionKey            string   `json:"PartitionKey,omitempty"`
	ViaPartitionKey         string   `json:"ViaPartitionKey,omitempty"`
	TimeToLive              *float64 `json:"TimeToLive,omitempty"`
	ScheduledEnqueueTimeUtc string   `json:"ScheduledEnqueueTimeUtc,omitempty"`
	ForcePersistence        bool     `json:"ForcePersistence,omitempty"`
	ContentType             string   `json:"ContentType,omitempty"`

	// Set by the broker on received messages.
	DeliveryCount              int    `json:"DeliveryCount,omitempty"`
	EnqueuedSequenceNumber     int64  `json:"EnqueuedSequenceNumber,omitempty"`
	EnqueuedTimeUtc            string `json:"EnqueuedTimeUtc,omitempty"`
	LockToken                  string `json:"LockToken,omitempty"`
	LockedUntilUtc             string `json:"LockedUntilUtc,omitempty"`
	SequenceNumber             int64  `json:"SequenceNumber,omitempty"`
	State                      string `json:"State,omitempty"`
	DeadLetterSource           string `json:"DeadLetterSource,omitempty"`
	DeadLetterReason           string `json:"DeadLetterReason,omitempty"`
	DeadLetterErrorDescription string `json:"DeadLetterErrorDescription,omitempty"`
	ExpiresAtUtc               string `json:"ExpiresAtUtc,omitempty"`
}

func rfc1123(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 1123 date such as %q", s, "Wed, 02 Jul 2014 01:33:27 GMT")
}

func (bp *brokerProps) apply(m *broker.Message) error {
	m.MessageID, m.CorrelationID, m.SessionID, m.ReplyTo = bp.MessageID, bp.CorrelationID, bp.SessionID, bp.ReplyTo
	m.ReplyToSessionID, m.To, m.Subject, m.PartitionKey = bp.ReplyToSessionID, bp.To, bp.Label, bp.PartitionKey
	if bp.ContentType != "" {
		m.ContentType = bp.ContentType
	}
	if bp.TimeToLive != nil {
		ttl := *bp.TimeToLive
		if ttl <= 0 || math.IsNaN(ttl) || math.IsInf(ttl, 0) {
			return fmt.Errorf("TimeToLive must be a positive number of seconds")
		}
		if ttl*1e9 >= float64(broker.MaxTTL) {
			m.TimeToLive = broker.MaxTTL
		} else {
			m.TimeToLive = time.Duration(ttl * 1e9)
		}
	}
	if bp.ScheduledEnqueueTimeUtc != "" {
		t, err := parseDate(bp.ScheduledEnqueueTimeUtc)
		if err != nil {
			return fmt.Errorf("ScheduledEnqueueTimeUtc: %v", err)
		}
		m.ScheduledEnqueueTime = t
	}
	return nil
}

func propsOf(m broker.Received) brokerProps {
	bp := brokerProps{
		MessageID: m.MessageID, CorrelationID: m.CorrelationID, SessionID: m.SessionID, ReplyTo: m.ReplyTo,
		ReplyToSessionID: m.ReplyToSessionID, To: m.To, Label: m.Subject, PartitionKey: m.PartitionKey,
		DeliveryCount: m.DeliveryCount, EnqueuedSequenceNumber: m.EnqueuedSequenceNumber, EnqueuedTimeUtc: rfc1123(m.EnqueuedTime),
		LockToken: m.LockToken, SequenceNumber: m.SequenceNumber, State: string(m.State),
		DeadLetterSource: m.DeadLetterSource, DeadLetterReason: m.DeadLetterReason, DeadLetterErrorDescription: m.DeadLetterErrorDescription,
	}
	if !m.LockedUntil.IsZero() {
		bp.LockedUntilUtc = rfc1123(m.LockedUntil)
	}
	if !m.ScheduledEnqueueTime.IsZero() {
		bp.ScheduledEnqueueTimeUtc = rfc1123(m.ScheduledEnqueueTime)
	}
	if !m.ExpiresAt.IsZero() {
		bp.ExpiresAtUtc = rfc1123(m.ExpiresAt)
		ttl := m.ExpiresAt.Sub(m.EnqueuedTime).Seconds()
		bp.TimeToLive = &ttl
	}
	return bp
}

// reservedHeaders are HTTP headers that never become application properties.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Brokerproperties": true, "Content-Type": true, "Content-Length": true, "Host": true,
	"User-Agent": true, "Accept": true, "Accept-Encoding": true, "Connection": true, "Expect": true, "Transfer-Encoding": true,
	"X-Request-Id": true, "Date": true, "Cookie": true, "Origin": true, "Referer": true, "Cache-Control": true, "Pragma": true,
	"X-Forwarded-For": true, "X-Forwarded-Proto": true, "X-Forwarded-Host": true, "Te": true, "Upgrade": true, "Keep-Alive": true,
	"Accept-Language": true, "If-Match": true, "If-None-Match": true, "X-Ms-Version": true,
}

// headerProps reads custom properties from headers: a quoted value is a
// string, otherwise a number or true/false; a quoted RFC 1123 date stays a
// string (as in Service Bus, which cannot tell it apart either).
func headerProps(h http.Header) (map[string]any, error) {
	out := map[string]any{}
	for k, vs := range h {
		if reservedHeaders[k] || len(vs) == 0 {
			continue
		}
		v := strings.TrimSpace(vs[0])
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			var s string
			if err := json.Unmarshal([]byte(v), &s); err != nil {
				s = v[1 : len(v)-1]
			}
			out[k] = s
		case v == "true" || v == "false":
			out[k] = v == "true"
		default:
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = i
			} else if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				out[k] = f
			}
			// Anything else is an ordinary HTTP header, not a property.
		}
	}
	return out, nil
}

func writeHeaderProps(h http.Header, props map[string]any) {
	for k, v := range props {
		var s string
		switch x := v.(type) {
		case string:
			b, _ := json.Marshal(x)
			s = string(b)
		case time.Time:
			s = `"` + rfc1123(x) + `"`
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			s = fmt.Sprint(x)
		}
		if !validHeaderName(k) {
			continue
		}
		h.Set(k, s)
	}
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &broker.Error{Kind: broker.KindTooLarge, Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", tooLarge.Limit)}
	}
	if err != nil {
		return nil, &broker.Error{Kind: broker.KindBadRequest, Message: "cannot read the request body: " + err.Error()}
	}
	return b, nil
}

func badRequest(format string, args ...any) error {
	return &broker.Error{Kind: broker.KindBadRequest, Message: fmt.Sprintf(format, args...)}
}

// batchItem is one message of a batch send.
type batchItem struct {
	Body             json.RawMessage `json:"Body"`
	BrokerProperties *brokerProps    `json:"BrokerProperties"`
	UserProperties   map[string]any  `json:"UserProperties"`
}

func (a *API) send(w http.ResponseWriter, r *http.Request, rt route) {
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var msgs []broker.Message
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(strings.ToLower(ct), "application/vnd.microsoft.servicebus.json") {
		msgs, err = parseBatch(body)
	} else {
		var m broker.Message
		m, err = parseSingle(r, body)
		msgs = []broker.Message{m}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.b.Send(r.Context(), rt.entity, msgs...); err != nil {
		a.fail(w, r, err)
		return
	}
	a.m.sent.WithLabelValues("rest").Add(float64(len(msgs)))
	w.WriteHeader(http.StatusCreated)
}

func parseSingle(r *http.Request, body []byte) (broker.Message, error) {
	m := broker.Message{Body: body, ContentType: r.Header.Get("Content-Type")}
	if h := r.Header.Get("BrokerProperties"); h != "" {
		var bp brokerProps
		if err := json.Unmarshal([]byte(h), &bp); err != nil {
			return m, badRequest("the BrokerProperties header is not valid JSON: %s", server.DescribeJSONError(err))
		}
		if err := bp.apply(&m); err != nil {
			return m, badRequest("BrokerProperties: %v", err)
		}
	}
	props, err := headerProps(r.Header)
	if err != nil {
		return m, err
	}
	if len(props) > 0 {
		m.Properties = props
	}
	return m, nil
}

func parseBatch(body []byte) ([]broker.Message, error) {
	var items []batchItem
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, badRequest("the batch is not a JSON array of {Body, BrokerProperties, UserProperties}: %s", server.DescribeJSONError(err))
	}
	if len(items) == 0 {
		return nil, badRequest("the batch is empty")
	}
	msgs := make([]broker.Message, len(items))
	for i, it := range items {
		var m broker.Message
		if len(it.Body) > 0 {
			var s string
			if err := json.Unmarshal(it.Body, &s); err == nil {
				m.Body = []byte(s)
			} else {
				m.Body = []byte(it.Body)
			}
		}
		if it.BrokerProperties != nil {
			if err := it.BrokerProperties.apply(&m); err != nil {
				return nil, badRequest("message %d: BrokerProperties: %v", i, err)
			}
		}
		if len(it.UserProperties) > 0 {
			m.Properties = map[string]any{}
			for k, v := range it.UserProperties {
				switch x := v.(type) {
				case string, bool:
					m.Properties[k] = x
				case float64:
					if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
						m.Properties[k] = int64(x)
					} else {
						m.Properties[k] = x
					}
				default:
					return nil, badRequest("message %d: user property %q must be a string, number or boolean", i, k)
				}
			}
		}
		msgs[i] = m
	}
	return msgs, nil
}

func waitOf(r *http.Request) (time.Duration, error) {
	t := r.URL.Query().Get("timeout")
	if t == "" {
		return defaultWait, nil
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || math.IsNaN(n) {
		return 0, badRequest("timeout must be a number of seconds, got %q", t)
	}
	d := time.Duration(n * float64(time.Second))
	if d > maxWait || n > maxWait.Seconds() {
		d = maxWait
	}
	return d, nil
}

func (a *API) receiveHead(w http.ResponseWriter, r *http.Request, rt route) {
	wait, err := waitOf(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mode := broker.PeekLock
	if r.Method == http.MethodDelete {
		mode = broker.ReceiveAndDelete
	}
	got, err := a.b.Receive(r.Context(), rt.entity, broker.ReceiveOptions{Mode: mode, Wait: wait})
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		a.fail(w, r, err)
		return
	}
	if len(got) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	a.m.received.WithLabelValues("rest").Inc()
	m := got[0]
	bp, _ := json.Marshal(propsOf(m))
	h := w.Header()
	h.Set("BrokerProperties", string(bp))
	writeHeaderProps(h, m.Properties)
	if m.ContentType != "" {
		h.Set("Content-Type", m.ContentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	status := http.StatusOK
	if mode == broker.PeekLock {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		h.Set("Location", fmt.Sprintf("%s://%s/servicebus/%s/messages/%d/%s", scheme, r.Host, escapePath(rt.entity), m.SequenceNumber, m.LockToken))
		status = http.StatusCreated
	}
	w.WriteHeader(status)
	w.Write(m.Body)
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (a *API) settleOne(w http.ResponseWriter, r *http.Request, rt route) {
	ref, _ := url.PathUnescape(rt.ref)
	lock, _ := url.PathUnescape(rt.lock)
	s := broker.Settlement{LockToken: lock, Ref: ref}
	var err error
	op := "abandon"
	switch r.Method {
	case http.MethodPut:
		err = a.b.Abandon(r.Context(), rt.entity, s)
	case http.MethodDelete:
		op = "complete"
		err = a.b.Complete(r.Context(), rt.entity, s)
	case http.MethodPost:
		op = "renew"
		var until time.Time
		until, err = a.b.RenewLock(r.Context(), rt.entity, s)
		if err == nil {
			bp, _ := json.Marshal(map[string]string{"LockedUntilUtc": rfc1123(until)})
			w.Header().Set("BrokerProperties", string(bp))
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.m.settled.WithLabelValues(op).Inc()
	w.WriteHeader(http.StatusOK)
}
