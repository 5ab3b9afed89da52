package events

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"junction/internal/server"
	"junction/internal/store"
)

// Pull limits.
const (
	maxReceiveEvents = 100
	maxLockTokens    = 100
)

var releaseDelays = map[int]bool{0: true, 10: true, 60: true, 600: true, 3600: true}

// handlePull serves POST /eventgrid/topics/{t}/eventsubscriptions/{s}:{action}
// for receive, acknowledge, release, reject and renewLock.
func (r *Router) handlePull(w http.ResponseWriter, req *http.Request) {
	topic := req.PathValue("topic")
	name, action, ok := strings.Cut(req.PathValue("subAction"), ":")
	if !ok {
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "use {subscription}:receive, :acknowledge, :release, :reject or :renewLock"}).write(w)
		return
	}
	var t topicRow
	var s subRow
	err := r.st.Read(req.Context(), func(q store.Querier) error {
		var err error
		if t, err = getTopic(req.Context(), q, topic); err != nil {
			return err
		}
		s, err = getSub(req.Context(), q, topic, name)
		return err
	})
	switch {
	case errors.Is(err, ErrTopicNotFound):
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "The topic '" + topic + "' was not found."}).write(w)
		return
	case errors.Is(err, ErrSubscriptionNotFound):
		if _, aerr := r.authorize(req, t, server.RoleListener); aerr != nil {
			aerr.write(w)
			return
		}
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "The event subscription '" + name + "' was not found."}).write(w)
		return
	case err != nil:
		r.internal(w, err)
		return
	}
	if _, aerr := r.authorize(req, t, server.RoleListener); aerr != nil {
		aerr.write(w)
		return
	}
	if !s.Props.pull() {
		badInput("event subscription %s uses push delivery; pull operations need deliveryMode Queue", name).write(w)
		return
	}
	switch strings.ToLower(action) {
	case "receive":
		r.receive(w, req, &s)
	case "acknowledge", "release", "reject", "renewlock":
		r.settle(w, req, &s, strings.ToLower(action))
	default:
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "unknown operation " + action}).write(w)
	}
}

type receiveDetail struct {
	BrokerProperties struct {
		LockToken     string `json:"lockToken"`
		DeliveryCount int    `json:"deliveryCount"`
	} `json:"brokerProperties"`
	Event map[string]any `json:"event"`
}

func (r *Router) receive(w http.ResponseWriter, req *http.Request, s *subRow) {
	q := req.URL.Query()
	maxEvents, maxWait := 1, 60
	if v := q.Get("maxEvents"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxReceiveEvents {
			badInput("maxEvents must be 1..%d", maxReceiveEvents).write(w)
			return
		}
		maxEvents = n
	}
	if v := q.Get("maxWaitTime"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 120 {
			badInput("maxWaitTime must be 0..120 seconds").write(w)
			return
		}
		maxWait = n
	}
	deadline := time.Now().Add(time.Duration(maxWait) * time.Second)
	sub := r.st.Listen(channel)
	defer sub.Close()
	for {
		got, err := r.claimPull(req.Context(), s, maxEvents)
		if err != nil {
			r.internal(w, err)
			return
		}
		if len(got) > 0 || !time.Now().Before(deadline) {
			if got == nil {
				got = []receiveDetail{}
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"value": got})
			return
		}
		wait := min(time.Until(deadline), 250*time.Millisecond)
		if !sleep(req.Context(), wait, sub.C) {
			return
		}
	}
}

func (r *Router) claimPull(ctx context.Context, s *subRow, maxEvents int) ([]receiveDetail, error) {
	qc := s.Props.DeliveryConfiguration.Queue
	var out []receiveDetail
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		out = out[:0]
		now := r.now()
		lock := tx.Dialect().SkipLocked()
		cs, err := store.Collect(ctx, tx, scanClaimed, `SELECT `+claimedCols+` FROM events_deliveries d
			JOIN events_events e ON e.seq = d.event_seq
			WHERE d.topic = ? AND d.subscription = ? AND d.next_at <= ? AND d.lease_until < ?
			ORDER BY d.id LIMIT ?`+lock, s.Topic, s.Name, store.Micros(now), store.Micros(now), maxEvents)
		if err != nil {
			return err
		}
		ttl := r.scaled(time.Duration(qc.EventTimeToLiveInMinutes) * time.Minute)
		lockFor := time.Duration(qc.ReceiveLockDurationInSeconds) * time.Second
		for _, c := range cs {
			reason := ""
			switch {
			case c.Attempts >= qc.MaxDeliveryCount:
				reason = ReasonMaxCount
			case now.After(c.Published.Add(ttl)):
				reason = ReasonTTL
			}
			if reason != "" {
				if err := r.deadLetterTx(ctx, tx, "", s, c, reason, 0, "Abandoned", now); err != nil {
					return err
				}
				continue
			}
			token := newToken()
			if _, err := tx.Exec(ctx, `UPDATE events_deliveries SET attempts = attempts + 1, lock_token = ?, lease_owner = ?, lease_until = ?,
				last_attempt_at = ? WHERE id = ?`, token, "pull", store.Micros(now.Add(lockFor)), store.Micros(now), c.ID); err != nil {
				return err
			}
			var d receiveDetail
			d.BrokerProperties.LockToken = token
			d.BrokerProperties.DeliveryCount = c.Attempts + 1
			d.Event = c.Event.CloudEvent()
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

type failedToken struct {
	LockToken        string            `json:"lockToken"`
	ErrorCode        string            `json:"errorCode"`
	ErrorDescription string            `json:"errorDescription"`
	Error            map[string]string `json:"error"`
}

// settle acknowledges, releases, rejects or renews lock tokens, answering which
// succeeded and which failed.
func (r *Router) settle(w http.ResponseWriter, req *http.Request, s *subRow, action string) {
	var body struct {
		LockTokens []string `json:"lockTokens"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		badInput("the body must be {\"lockTokens\":[...]}: %v", err).write(w)
		return
	}
	if len(body.LockTokens) == 0 || len(body.LockTokens) > maxLockTokens {
		badInput("lockTokens must hold 1..%d tokens", maxLockTokens).write(w)
		return
	}
	delay := 0
	if action == "release" {
		if v := req.URL.Query().Get("releaseDelayInSeconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || !releaseDelays[n] {
				badInput("releaseDelayInSeconds must be 0, 10, 60, 600 or 3600").write(w)
				return
			}
			delay = n
		}
	}
	lockFor := time.Duration(s.Props.DeliveryConfiguration.Queue.ReceiveLockDurationInSeconds) * time.Second
	succeeded := []string{}
	failed := []failedToken{}
	err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		succeeded, failed = succeeded[:0], failed[:0]
		now := r.now()
		for _, tok := range body.LockTokens {
			var c claimed
			var body string
			var pub int64
			err := tx.QueryRow(req.Context(), `SELECT d.id, d.attempts, d.published_at, e.body FROM events_deliveries d
				JOIN events_events e ON e.seq = d.event_seq
				WHERE d.topic = ? AND d.subscription = ? AND d.lock_token = ? AND d.lease_until >= ?`,
				s.Topic, s.Name, tok, store.Micros(now)).Scan(&c.ID, &c.Attempts, &pub, &body)
			if err != nil {
				if tok == "" || errors.Is(err, store.ErrNotFound) {
					failed = append(failed, failedToken{LockToken: tok, ErrorCode: "TokenLost",
						ErrorDescription: "the lock token is not valid, or its lock expired",
						Error:            map[string]string{"code": "TokenLost", "message": "the lock token is not valid, or its lock expired"}})
					continue
				}
				return err
			}
			c.Published = store.FromMicros(pub)
			_ = json.Unmarshal([]byte(body), &c.Event)
			switch action {
			case "acknowledge":
				_, err = tx.Exec(req.Context(), `DELETE FROM events_deliveries WHERE id = ?`, c.ID)
			case "release":
				_, err = tx.Exec(req.Context(), `UPDATE events_deliveries SET lock_token = '', lease_owner = '', lease_until = 0, next_at = ? WHERE id = ?`,
					store.Micros(now.Add(time.Duration(delay)*time.Second)), c.ID)
				tx.Notify(channel)
			case "reject":
				err = r.deadLetterTx(req.Context(), tx, "", s, c, ReasonRejected, 0, "Rejected", now)
			case "renewlock":
				_, err = tx.Exec(req.Context(), `UPDATE events_deliveries SET lease_until = ? WHERE id = ?`, store.Micros(now.Add(lockFor)), c.ID)
			}
			if err != nil {
				return err
			}
			succeeded = append(succeeded, tok)
		}
		return nil
	})
	if err != nil {
		r.internal(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"succeededLockTokens": succeeded, "failedLockTokens": failed})
}
