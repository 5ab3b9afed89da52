package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"junction/internal/store"
)

// validationWindow is how long a validation URL can be visited.
const validationWindow = 10 * time.Minute

// ValidationOrigin is the WebHook-Request-Origin of the CloudEvents handshake,
// the value Event Grid sends.
const ValidationOrigin = "eventgrid.azure.net"

// ValidationEventType is the Event Grid handshake's event type.
const ValidationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"

// validationLoop runs the handshake of new webhook subscriptions and expires
// validation URLs nobody visited.
func (r *Router) validationLoop(ctx context.Context) {
	sub := r.st.Listen(channel)
	defer sub.Close()
	for ctx.Err() == nil {
		if err := r.validatePending(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("events: validation round failed", "err", err)
		}
		if !sleep(ctx, r.opts.Poll, sub.C) {
			return
		}
	}
}

func (r *Router) validatePending(ctx context.Context) error {
	var pending []subRow
	now := r.now()
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE events_subscriptions SET state = ?, state_detail = ? WHERE state = ? AND validation_until < ?`,
			StateFailed, "the validation URL was not visited in time", StateAwaitingManual, store.Micros(now)); err != nil {
			return err
		}
		var err error
		pending, err = store.Collect(ctx, tx, scanSubRows, `SELECT `+subCols+` FROM events_subscriptions WHERE state = ? AND pull = 0`, StateCreating)
		return err
	})
	if err != nil {
		return err
	}
	if err := r.expireHeld(ctx); err != nil {
		return err
	}
	for i := range pending {
		s := &pending[i]
		state, detail := r.handshake(ctx, s)
		if ctx.Err() != nil {
			return nil
		}
		until := int64(0)
		if state == StateAwaitingManual {
			until = store.Micros(r.now().Add(validationWindow))
		}
		// Only a subscription still Creating with the same code moves: the
		// receiver may have visited the validation URL meanwhile.
		err := r.st.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE events_subscriptions SET state = ?, state_detail = ?, validation_until = ?
				WHERE topic = ? AND name = ? AND state = ? AND validation_code = ?`,
				state, detail, until, s.Topic, s.Name, StateCreating, s.ValidationCode)
			if err == nil {
				tx.Notify(channel)
			}
			return err
		})
		if err != nil {
			return err
		}
		r.log.Info("events: webhook handshake", "topic", s.Topic, "subscription", s.Name, "state", state, "detail", detail)
	}
	return nil
}

// validationURL is the link a receiver can GET to validate late.
func (s *subRow) validationURL() string {
	base := strings.TrimRight(s.ValidationURL, "/")
	return base + "/eventgrid/validate?topic=" + url.QueryEscape(s.Topic) + "&subscription=" + url.QueryEscape(s.Name) +
		"&code=" + url.QueryEscape(s.ValidationCode)
}

// handshake runs the validation of a webhook endpoint in the subscription's
// delivery schema and returns the new state.
func (r *Router) handshake(ctx context.Context, s *subRow) (string, string) {
	hctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	endpoint := s.Props.Destination.Properties.EndpointURL
	if s.Props.EventDeliverySchema == SchemaCloudEvents {
		req, err := http.NewRequestWithContext(hctx, http.MethodOptions, endpoint, nil)
		if err != nil {
			return StateFailed, err.Error()
		}
		req.Header.Set("WebHook-Request-Origin", ValidationOrigin)
		req.Header.Set("WebHook-Request-Rate", "120")
		resp, err := r.client.Do(req)
		if err != nil {
			return StateFailed, "the endpoint did not answer the OPTIONS handshake: " + err.Error()
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		allowed := resp.Header.Get("WebHook-Allowed-Origin")
		if resp.StatusCode >= 200 && resp.StatusCode < 300 && (allowed == "*" || strings.EqualFold(allowed, ValidationOrigin)) {
			return StateSucceeded, ""
		}
		return StateFailed, fmt.Sprintf("the endpoint refused the CloudEvents handshake (status %d, WebHook-Allowed-Origin %q)", resp.StatusCode, allowed)
	}
	ev := []map[string]any{{
		"id":              newToken(),
		"topic":           topicPath(s.Topic),
		"subject":         "",
		"eventType":       ValidationEventType,
		"eventTime":       nowString(r.now()),
		"metadataVersion": "1",
		"dataVersion":     "2",
		"data":            map[string]string{"validationCode": s.ValidationCode, "validationUrl": s.validationURL()},
	}}
	body, _ := json.Marshal(ev)
	req, err := http.NewRequestWithContext(hctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return StateFailed, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("aeg-event-type", "SubscriptionValidation")
	req.Header.Set("aeg-subscription-name", strings.ToUpper(s.Name))
	req.Header.Set("aeg-delivery-count", "0")
	req.Header.Set("aeg-metadata-version", "1")
	req.Header.Set("aeg-data-version", "2")
	resp, err := r.client.Do(req)
	if err != nil {
		return StateFailed, "the endpoint did not answer the validation event: " + err.Error()
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return StateFailed, fmt.Sprintf("the endpoint answered the validation event with status %d", resp.StatusCode)
	}
	var answer struct {
		ValidationResponse string `json:"validationResponse"`
	}
	if json.Unmarshal(rb, &answer) == nil && answer.ValidationResponse != "" {
		if answer.ValidationResponse == s.ValidationCode {
			return StateSucceeded, ""
		}
		return StateFailed, "the endpoint answered the validation event with a wrong validationResponse"
	}
	return StateAwaitingManual, "waiting for the endpoint to visit the validation URL"
}

// handleValidate is the validation URL: a GET validates the subscription.
func (r *Router) handleValidate(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	topic, name, code := q.Get("topic"), q.Get("subscription"), q.Get("code")
	var ok bool
	err := r.st.Tx(req.Context(), func(tx store.Tx) error {
		res, err := tx.Exec(req.Context(), `UPDATE events_subscriptions SET state = ?, state_detail = '' WHERE topic = ? AND name = ?
			AND validation_code = ? AND (state = ? OR (state = ? AND validation_until >= ?))`,
			StateSucceeded, topic, name, code, StateCreating, StateAwaitingManual, store.Micros(r.now()))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		if ok {
			tx.Notify(channel)
		}
		return nil
	})
	if err != nil {
		r.internal(w, err)
		return
	}
	if !ok {
		(&apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "no subscription awaits validation with this link (it may have expired)"}).write(w)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Webhook successfully validated as a result of validation URL invocation.")
}

// expireHeld dead-letters events whose time to live ran out while their
// subscription waited for validation (or failed it).
func (r *Router) expireHeld(ctx context.Context) error {
	now := r.now()
	return r.st.Tx(ctx, func(tx store.Tx) error {
		cs, err := store.Collect(ctx, tx, scanClaimed, `SELECT `+claimedCols+`
			FROM events_deliveries d
			JOIN events_subscriptions s ON s.topic = d.topic AND s.name = d.subscription
			JOIN events_events e ON e.seq = d.event_seq
			WHERE s.pull = 0 AND s.state <> ? AND d.published_at < ? ORDER BY d.id LIMIT 500`,
			StateSucceeded, store.Micros(now.Add(-r.scaled(time.Minute))))
		if err != nil {
			return err
		}
		subs := map[[2]string]*subRow{}
		for _, c := range cs {
			k := [2]string{c.Topic, c.Sub}
			if subs[k] == nil {
				s, err := getSub(ctx, tx, c.Topic, c.Sub)
				if err != nil {
					return err
				}
				subs[k] = &s
			}
			s := subs[k]
			ttl := r.scaled(time.Duration(s.Props.RetryPolicy.EventTimeToLiveInMinutes) * time.Minute)
			if now.After(c.Published.Add(ttl)) {
				if err := r.deadLetterTx(ctx, tx, "", s, c, ReasonTTL, 0, "", now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
