package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"junction/internal/broker"
	"junction/internal/server"
)

// MessageJSON is a message in the JSON API. The body is text when it is valid
// UTF-8 (Body), otherwise base64 (BodyBase64).
type MessageJSON struct {
	SequenceNumber             int64          `json:"sequenceNumber"`
	MessageID                  string         `json:"messageId,omitempty"`
	CorrelationID              string         `json:"correlationId,omitempty"`
	SessionID                  string         `json:"sessionId,omitempty"`
	ReplyTo                    string         `json:"replyTo,omitempty"`
	ReplyToSessionID           string         `json:"replyToSessionId,omitempty"`
	To                         string         `json:"to,omitempty"`
	Subject                    string         `json:"subject,omitempty"`
	ContentType                string         `json:"contentType,omitempty"`
	PartitionKey               string         `json:"partitionKey,omitempty"`
	LockToken                  string         `json:"lockToken,omitempty"`
	LockedUntil                *time.Time     `json:"lockedUntil,omitempty"`
	DeliveryCount              int            `json:"deliveryCount"`
	EnqueuedTime               time.Time      `json:"enqueuedTime"`
	ExpiresAt                  *time.Time     `json:"expiresAt,omitempty"`
	ScheduledEnqueueTime       *time.Time     `json:"scheduledEnqueueTime,omitempty"`
	State                      string         `json:"state"`
	DeadLetterSource           string         `json:"deadLetterSource,omitempty"`
	DeadLetterReason           string         `json:"deadLetterReason,omitempty"`
	DeadLetterErrorDescription string         `json:"deadLetterErrorDescription,omitempty"`
	Properties                 map[string]any `json:"properties,omitempty"`
	Body                       *string        `json:"body,omitempty"`
	BodyBase64                 string         `json:"bodyBase64,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ToJSON converts a received message to the JSON API's form.
func ToJSON(m broker.Received) MessageJSON {
	out := MessageJSON{
		SequenceNumber: m.SequenceNumber, MessageID: m.MessageID, CorrelationID: m.CorrelationID, SessionID: m.SessionID,
		ReplyTo: m.ReplyTo, ReplyToSessionID: m.ReplyToSessionID, To: m.To, Subject: m.Subject, ContentType: m.ContentType,
		PartitionKey: m.PartitionKey, LockToken: m.LockToken, LockedUntil: timePtr(m.LockedUntil), DeliveryCount: m.DeliveryCount,
		EnqueuedTime: m.EnqueuedTime, ExpiresAt: timePtr(m.ExpiresAt), ScheduledEnqueueTime: timePtr(m.ScheduledEnqueueTime),
		State: string(m.State), DeadLetterSource: m.DeadLetterSource, DeadLetterReason: m.DeadLetterReason,
		DeadLetterErrorDescription: m.DeadLetterErrorDescription, Properties: m.Properties,
	}
	if utf8.Valid(m.Body) {
		s := string(m.Body)
		out.Body = &s
	} else {
		out.BodyBase64 = base64.StdEncoding.EncodeToString(m.Body)
	}
	return out
}

func toJSONList(ms []broker.Received) []MessageJSON {
	out := make([]MessageJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, ToJSON(m))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func decodeStrict(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %s", server.DescribeJSONError(err))
	}
	if dec.More() {
		return badRequest("invalid JSON body: unexpected data after the object")
	}
	return nil
}

type sessionRef struct {
	SessionID string `json:"sessionId"`
	LockToken string `json:"lockToken"`
}

func (s *sessionRef) session(entity string) *broker.Session {
	if s == nil {
		return nil
	}
	return &broker.Session{Entity: entity, ID: s.SessionID, LockToken: s.LockToken}
}

type receiveRequest struct {
	Mode        string      `json:"mode"` // peekLock (default) or receiveAndDelete
	MaxMessages int         `json:"maxMessages"`
	Timeout     float64     `json:"timeout"` // seconds to wait for the first message
	Session     *sessionRef `json:"session"`
}

func parseMode(s string) (broker.ReceiveMode, error) {
	switch s {
	case "", "peekLock", "PeekLock":
		return broker.PeekLock, nil
	case "receiveAndDelete", "ReceiveAndDelete":
		return broker.ReceiveAndDelete, nil
	}
	return 0, badRequest("mode must be peekLock or receiveAndDelete, got %q", s)
}

func (a *API) batchReceive(w http.ResponseWriter, r *http.Request, rt route) {
	var req receiveRequest
	if err := decodeStrict(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	mode, err := parseMode(req.Mode)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.MaxMessages < 0 || req.MaxMessages > 1000 {
		a.fail(w, r, badRequest("maxMessages must be between 1 and 1000"))
		return
	}
	if req.Timeout < 0 || req.Timeout > maxWait.Seconds() {
		a.fail(w, r, badRequest("timeout must be between 0 and %d seconds", int(maxWait.Seconds())))
		return
	}
	got, err := a.b.Receive(r.Context(), rt.entity, broker.ReceiveOptions{Mode: mode, Max: req.MaxMessages,
		Wait: time.Duration(req.Timeout * float64(time.Second)), Session: req.Session.session(rt.entity)})
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		a.fail(w, r, err)
		return
	}
	a.m.received.WithLabelValues("json").Add(float64(len(got)))
	writeJSON(w, http.StatusOK, map[string]any{"value": toJSONList(got)})
}

type settleItem struct {
	LockToken      string         `json:"lockToken"`
	SequenceNumber int64          `json:"sequenceNumber"`
	Action         string         `json:"action"` // complete, abandon, deadLetter, defer, renew
	Reason         string         `json:"deadLetterReason"`
	Description    string         `json:"deadLetterErrorDescription"`
	Properties     map[string]any `json:"properties"`
}

type settleResult struct {
	LockToken   string     `json:"lockToken"`
	Status      int        `json:"status"`
	Error       string     `json:"error,omitempty"`
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
}

func (a *API) batchSettle(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Settlements []settleItem `json:"settlements"`
	}
	if err := decodeStrict(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.Settlements) == 0 || len(req.Settlements) > 1000 {
		a.fail(w, r, badRequest("settlements must hold 1 to 1000 items"))
		return
	}
	for i, s := range req.Settlements {
		switch broker.SettleOp(s.Action) {
		case broker.SettleComplete, broker.SettleAbandon, broker.SettleDeadLetter, broker.SettleDefer, broker.SettleRenew:
		default:
			a.fail(w, r, badRequest("settlement %d: action must be complete, abandon, deadLetter, defer or renew, got %q", i, s.Action))
			return
		}
	}
	items := make([]broker.SettleItem, len(req.Settlements))
	for i, s := range req.Settlements {
		props := s.Properties
		if props != nil {
			props = jsonProps(props)
		}
		items[i] = broker.SettleItem{Op: broker.SettleOp(s.Action), Settlement: broker.Settlement{
			LockToken: s.LockToken, SequenceNumber: s.SequenceNumber, Reason: s.Reason, Description: s.Description, Properties: props}}
	}
	out, err := a.b.SettleBatch(r.Context(), rt.entity, items)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]settleResult, len(out))
	for i, o := range out {
		res := settleResult{LockToken: req.Settlements[i].LockToken, Status: http.StatusOK, LockedUntil: timePtr(o.LockedUntil)}
		if o.Err != nil {
			res.Status = statusOf(o.Err)
			res.Error = errMessage(o.Err)
		} else {
			a.m.settled.WithLabelValues(req.Settlements[i].Action).Inc()
		}
		results[i] = res
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func errMessage(err error) string {
	var be *broker.Error
	if asBrokerErr(err, &be) {
		return be.Message
	}
	return err.Error()
}

// jsonProps turns JSON numbers that are integers into int64.
func jsonProps(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			out[k] = int64(f)
			continue
		}
		out[k] = v
	}
	return out
}

func (a *API) peek(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	from, top := int64(0), 10
	if s := q.Get("from"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			a.fail(w, r, badRequest("from must be a sequence number"))
			return
		}
		from = n
	}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			a.fail(w, r, badRequest("top must be between 1 and 1000"))
			return
		}
		top = n
	}
	got, err := a.b.Peek(r.Context(), rt.entity, from, top)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": toJSONList(got)})
}

func (a *API) receiveDeferred(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Mode            string  `json:"mode"`
		SequenceNumbers []int64 `json:"sequenceNumbers"`
	}
	if err := decodeStrict(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	mode, err := parseMode(req.Mode)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.SequenceNumbers) == 0 || len(req.SequenceNumbers) > 1000 {
		a.fail(w, r, badRequest("sequenceNumbers must hold 1 to 1000 numbers"))
		return
	}
	got, err := a.b.ReceiveDeferred(r.Context(), rt.entity, mode, req.SequenceNumbers...)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": toJSONList(got)})
}

func (a *API) cancelScheduled(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		SequenceNumbers []int64 `json:"sequenceNumbers"`
	}
	if err := decodeStrict(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.SequenceNumbers) == 0 {
		a.fail(w, r, badRequest("sequenceNumbers is required"))
		return
	}
	if err := a.b.CancelScheduled(r.Context(), rt.entity, req.SequenceNumbers...); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type sessionRequest struct {
	Op        string  `json:"op"` // accept, renew, release, getState, setState
	SessionID string  `json:"sessionId"`
	LockToken string  `json:"lockToken"`
	Timeout   float64 `json:"timeout"`
	State     *string `json:"state"` // base64; null clears
}

type sessionJSON struct {
	SessionID   string    `json:"sessionId"`
	LockToken   string    `json:"lockToken"`
	LockedUntil time.Time `json:"lockedUntil"`
	State       *string   `json:"state,omitempty"`
}

func (a *API) session(w http.ResponseWriter, r *http.Request, rt route) {
	var req sessionRequest
	if err := decodeStrict(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if req.Op == "accept" {
		if req.Timeout < 0 || req.Timeout > maxWait.Seconds() {
			a.fail(w, r, badRequest("timeout must be between 0 and %d seconds", int(maxWait.Seconds())))
			return
		}
		s, err := a.b.AcceptSession(ctx, rt.entity, req.SessionID, time.Duration(req.Timeout*float64(time.Second)))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if s == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, sessionJSON{SessionID: s.ID, LockToken: s.LockToken, LockedUntil: s.LockedUntil})
		return
	}
	if req.SessionID == "" || req.LockToken == "" {
		a.fail(w, r, badRequest("sessionId and lockToken are required"))
		return
	}
	s := &broker.Session{Entity: rt.entity, ID: req.SessionID, LockToken: req.LockToken}
	var err error
	out := sessionJSON{SessionID: s.ID, LockToken: s.LockToken}
	switch req.Op {
	case "renew":
		err = a.b.RenewSessionLock(ctx, s)
		out.LockedUntil = s.LockedUntil
	case "release":
		err = a.b.ReleaseSession(ctx, s)
	case "getState":
		var st []byte
		st, err = a.b.SessionState(ctx, s)
		if st != nil {
			e := base64.StdEncoding.EncodeToString(st)
			out.State = &e
		}
	case "setState":
		var st []byte
		if req.State != nil {
			st, err = base64.StdEncoding.DecodeString(*req.State)
			if err != nil {
				a.fail(w, r, badRequest("state must be base64"))
				return
			}
		}
		err = a.b.SetSessionState(ctx, s, st)
	default:
		a.fail(w, r, badRequest("op must be accept, renew, release, getState or setState, got %q", req.Op))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
