package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/store"
	"junction/internal/trace"
)

// Ladder is Event Grid's retry schedule; after its last step it repeats every 12 h.
var Ladder = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour}

// maxPause caps the delayed delivery of a failing endpoint.
const maxPause = 10 * time.Minute

// claimBatch is how many deliveries a worker claims at once.
const claimBatch = 512

// Dead-letter reasons.
const (
	ReasonMaxAttempts = "MaxDeliveryAttemptsExceeded"
	ReasonTTL         = "TimeToLiveExceeded"
	ReasonNonRetry    = "NonRetriableError"
	ReasonMaxCount    = "MaxDeliveryCountExceeded"
	ReasonRejected    = "Rejected"
)

// ladderStep is the delay before attempt n+1 after n failed attempts.
func ladderStep(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > len(Ladder) {
		n = len(Ladder)
	}
	return Ladder[n-1]
}

// terminal reports status codes that are never retried.
func terminal(status int) bool {
	return status == 400 || status == 401 || status == 403 || status == 413
}

func outcomeOf(status int, err error) string {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			return "TimedOut"
		}
		return "GenericError"
	}
	switch {
	case status >= 200 && status <= 204:
		return "Succeeded"
	case status == 400:
		return "BadRequest"
	case status == 401:
		return "Unauthorized"
	case status == 403:
		return "Forbidden"
	case status == 404:
		return "NotFound"
	case status == 408:
		return "TimedOut"
	case status == 413:
		return "SizeLimitExceeded"
	case status == 429 || status == 503:
		return "Busy"
	}
	return "GenericError"
}

// claimed is one delivery a worker holds.
type claimed struct {
	ID        int64
	Topic     string
	Sub       string
	Attempts  int
	Published time.Time
	Event     Event
	Size      int
}

// claimedCols are the columns scanClaimed reads, from events_deliveries d
// joined to events_events e.
const claimedCols = `d.id, d.topic, d.subscription, d.attempts, d.published_at, e.body, e.size`

func scanClaimed(rows *sql.Rows) (claimed, error) {
	var c claimed
	var body string
	var pub int64
	if err := rows.Scan(&c.ID, &c.Topic, &c.Sub, &c.Attempts, &pub, &body, &c.Size); err != nil {
		return c, err
	}
	c.Published = store.FromMicros(pub)
	if err := json.Unmarshal([]byte(body), &c.Event); err != nil {
		return c, fmt.Errorf("delivery %d: %w", c.ID, err)
	}
	return c, nil
}

// deliveryLoop runs the delivery rounds of the subscriptions in lane k of
// the node's Rounds (the first one also collects delivered events).
func (r *Router) deliveryLoop(ctx context.Context, k int) {
	sub := r.st.Listen(channel)
	defer sub.Close()
	lastGC := time.Time{}
	for ctx.Err() == nil {
		if k == 0 && time.Since(lastGC) > time.Minute {
			lastGC = time.Now()
			if err := r.collectGarbage(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("events: collect delivered events", "err", err)
			}
		}
		n, err := r.deliverDue(ctx, k)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("events: delivery round failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		wait := r.opts.Poll
		if next, ok := r.nextDue(ctx, k); ok {
			if d := next.Sub(r.now()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		if !sleep(ctx, wait, sub.C) {
			return
		}
	}
}

// nextDue returns when the earliest waiting push delivery of lane k is due.
func (r *Router) nextDue(ctx context.Context, k int) (time.Time, bool) {
	var next *int64
	err := r.st.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `SELECT MIN(d.next_at) FROM events_deliveries d JOIN events_subscriptions s
			ON s.topic = d.topic AND s.name = d.subscription WHERE s.pull = 0 AND s.state = ? AND d.lease_until < ? AND s.lane % ? = ?`,
			StateSucceeded, store.Micros(r.now()), r.opts.Rounds, k).Scan(&next)
	})
	if err != nil || next == nil {
		return time.Time{}, false
	}
	return store.FromMicros(*next), true
}

// deliverDue claims due push deliveries of the subscriptions in lane k,
// delivers them batched per subscription, and records the outcomes. It
// returns how many it claimed.
func (r *Router) deliverDue(ctx context.Context, k int) (int, error) {
	owner := r.node + "/" + newToken()
	now := r.now()
	var rows []claimed
	subs := map[[2]string]*subRow{}
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		rows = rows[:0]
		lock := ""
		if tx.Dialect() == store.Postgres {
			lock = " FOR UPDATE OF d SKIP LOCKED"
		}
		nowUS := store.Micros(now)
		// Claim ids first (cheap to sort and lock), then read the events.
		q, err := tx.Query(ctx, `SELECT d.id FROM events_deliveries d
			JOIN events_subscriptions s ON s.topic = d.topic AND s.name = d.subscription
			WHERE d.next_at <= ? AND d.lease_until < ? AND s.pull = 0 AND s.state = ? AND s.paused_until <= ? AND s.lane % ? = ?
			ORDER BY d.next_at, d.id LIMIT ?`+lock, nowUS, nowUS, StateSucceeded, nowUS, r.opts.Rounds, k, claimBatch)
		if err != nil {
			return err
		}
		claim, err := store.CollectRows(q, func(row *sql.Rows) (any, error) {
			var id int64
			err := row.Scan(&id)
			return id, err
		})
		if err != nil || len(claim) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE events_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN (`+placeholders(len(claim))+`)`,
			append([]any{owner, store.Micros(now.Add(r.opts.Lease))}, claim...)...); err != nil {
			return err
		}
		rows, err = store.Collect(ctx, tx, scanClaimed, `SELECT `+claimedCols+`
			FROM events_deliveries d JOIN events_events e ON e.seq = d.event_seq
			WHERE d.id IN (`+placeholders(len(claim))+`) ORDER BY d.next_at, d.id`, claim...)
		if err != nil {
			return err
		}
		for _, c := range rows {
			if subs[[2]string{c.Topic, c.Sub}] != nil {
				continue
			}
			list, err := listSubs(ctx, tx, c.Topic)
			if err != nil {
				return err
			}
			for i := range list {
				subs[[2]string{list[i].Topic, list[i].Name}] = &list[i]
			}
		}
		return nil
	})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	// Group per subscription, keeping order, then cut batches.
	var order [][2]string
	groups := map[[2]string][]claimed{}
	for _, c := range rows {
		k := [2]string{c.Topic, c.Sub}
		if subs[k] == nil {
			continue // deleted meanwhile; its rows went with it
		}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	// A subscription's batches go one after the other, in publish order; once
	// one fails the rest wait for the endpoint's delay. Subscriptions proceed
	// in parallel, within the round's share of the node's cap on deliveries
	// in flight.
	sem := r.inFlight[k]
	var wg sync.WaitGroup
	done := &successes{}
	for _, k := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(s *subRow, batches [][]claimed) {
			defer func() { <-sem; wg.Done() }()
			for i, batch := range batches {
				if !r.deliverBatch(ctx, owner, s, batch, done) {
					r.release(ctx, owner, batches[i+1:])
					return
				}
			}
		}(subs[k], cutBatches(subs[k], groups[k]))
	}
	wg.Wait()
	r.succeed(ctx, owner, done)
	return len(rows), nil
}

// successes collects a round's delivered rows, removed in one transaction at
// the end of the round (a crash before it only causes re-deliveries).
type successes struct {
	mu    sync.Mutex
	ids   []any
	subs  []*subRow
	count map[string]int
	bySub map[[2]string]int
}

func (s *successes) add(sub *subRow, batch []claimed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, ids(batch)...)
	s.subs = append(s.subs, sub)
	if s.count == nil {
		s.count = map[string]int{}
	}
	s.count[sub.Props.Destination.EndpointType] += len(batch)
	if s.bySub == nil {
		s.bySub = map[[2]string]int{}
	}
	s.bySub[[2]string{sub.Topic, sub.Name}] += len(batch)
}

// release gives claimed deliveries back without an attempt.
func (r *Router) release(ctx context.Context, owner string, batches [][]claimed) {
	var all []any
	for _, b := range batches {
		all = append(all, ids(b)...)
	}
	if len(all) == 0 || ctx.Err() != nil {
		return
	}
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE events_deliveries SET lease_owner = '', lease_until = 0 WHERE lease_owner = ? AND id IN (`+
			placeholders(len(all))+`)`, append([]any{owner}, all...)...)
		return err
	})
	if err != nil {
		r.log.Warn("events: release deliveries", "err", err)
	}
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// cutBatches splits a subscription's deliveries into batches of at most
// maxEventsPerBatch events and about preferredBatchSizeInKilobytes. It never
// waits to fill a batch.
func cutBatches(s *subRow, rows []claimed) [][]claimed {
	maxN, maxKB := 1, defaultBatchKB
	if d := s.Props.Destination; d != nil {
		maxN, maxKB = d.Properties.MaxEventsPerBatch, d.Properties.PreferredBatchSizeInKilobytes
	}
	var out [][]claimed
	var cur []claimed
	size := 0
	for _, c := range rows {
		if len(cur) > 0 && (len(cur) >= maxN || size+c.Size > maxKB*1024) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, c)
		size += c.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// deliverBatch sends one batch and records the outcome; it reports whether
// the endpoint took it.
func (r *Router) deliverBatch(ctx context.Context, owner string, s *subRow, batch []claimed, done *successes) bool {
	now := r.now()
	ttl := r.scaled(time.Duration(s.Props.RetryPolicy.EventTimeToLiveInMinutes) * time.Minute)
	// Events whose time to live passed while waiting are dead-lettered unsent.
	live := batch[:0:0]
	var expired []claimed
	for _, c := range batch {
		if now.After(c.Published.Add(ttl)) {
			expired = append(expired, c)
		} else {
			live = append(live, c)
		}
	}
	if len(expired) > 0 {
		r.finish(ctx, owner, s, expired, 0, "", ReasonTTL)
	}
	if len(live) == 0 {
		return true
	}
	status, err := r.send(ctx, s, live)
	if ctx.Err() != nil {
		return false // stopping: the lease hands the batch to the next claimer
	}
	outcome := outcomeOf(status, err)
	if outcome == "Succeeded" {
		done.add(s, live)
		return true
	}
	r.m.failed.WithLabelValues(outcome).Add(float64(len(live)))
	if err != nil {
		r.log.Info("events: delivery failed", "topic", s.Topic, "subscription", s.Name, "outcome", outcome, "err", err)
	}
	if terminal(status) || errors.As(err, new(permanentError)) {
		r.finish(ctx, owner, s, live, status, outcome, ReasonNonRetry)
		return true // the endpoint answered; the next events may be fine
	}
	r.retry(ctx, owner, s, live, status, outcome)
	return false
}

func (r *Router) send(ctx context.Context, s *subRow, batch []claimed) (status int, err error) {
	d := s.Props.Destination
	ctx, span := r.opts.Tracer.BeginFrom(ctx, batch[0].Event.Trace, "Events", "deliver "+s.Topic+"/"+s.Name)
	span.Kind(trace.KindClient).Set("messaging.destination.name", s.Topic).Set("junction.subscription", s.Name).
		Set("junction.endpoint_type", d.EndpointType).Set("messaging.batch.message_count", strconv.Itoa(len(batch))).
		Set("junction.delivery_count", strconv.Itoa(batch[0].Attempts)).Set("cloudevents.event_id", batch[0].Event.ID)
	defer func() {
		switch {
		case err != nil:
			span.End(err)
		case status >= 400:
			span.Fail("the endpoint answered HTTP " + strconv.Itoa(status))
		default:
			span.Set("http.status_code", strconv.Itoa(status)).End(nil)
		}
	}()
	if d.EndpointType == EndpointWebHook {
		return r.postWebhook(ctx, s, batch)
	}
	disp, ok := r.dispatcher(d.EndpointType)
	if !ok {
		return 0, fmt.Errorf("no dispatcher is registered for endpoint type %s", d.EndpointType)
	}
	evs := make([]Event, len(batch))
	for i, c := range batch {
		evs[i] = c.Event
	}
	dctx, cancel := context.WithTimeout(context.WithValue(ctx, deliveryKey{}, Delivery{Topic: s.Topic, Subscription: s.Name,
		Schema: s.Props.EventDeliverySchema, Attempt: batch[0].Attempts}), r.opts.Timeout)
	defer cancel()
	if err := disp.Deliver(dctx, d.Properties.ResourceID, evs); err != nil {
		return 0, err
	}
	return http.StatusOK, nil
}

// body renders a batch in the subscription's delivery schema.
func deliveryBody(s *subRow, batch []claimed) ([]byte, string) {
	schema := s.Props.EventDeliverySchema
	if schema == SchemaCloudEvents && len(batch) == 1 && (s.Props.Destination == nil || s.Props.Destination.Properties.MaxEventsPerBatch <= 1) {
		b, _ := json.Marshal(batch[0].Event.CloudEvent())
		return b, "application/cloudevents+json; charset=utf-8"
	}
	items := make([]map[string]any, len(batch))
	for i := range batch {
		items[i] = batch[i].Event.Render(schema)
	}
	b, _ := json.Marshal(items)
	if schema == SchemaCloudEvents {
		return b, "application/cloudevents-batch+json; charset=utf-8"
	}
	return b, "application/json"
}

func (r *Router) postWebhook(ctx context.Context, s *subRow, batch []claimed) (int, error) {
	body, ct := deliveryBody(s, batch)
	dp := s.Props.Destination.Properties
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, dp.EndpointURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	first := &batch[0].Event
	h := req.Header
	h.Set("Content-Type", ct)
	h.Set("aeg-event-type", "Notification")
	h.Set("aeg-subscription-name", strings.ToUpper(s.Name))
	h.Set("aeg-delivery-count", strconv.Itoa(batch[0].Attempts))
	h.Set("aeg-output-event-id", first.ID)
	// In the CloudEvents schema the metadata version is the spec version
	// and the data version does not apply, as Event Grid delivers them.
	if s.Props.EventDeliverySchema == SchemaCloudEvents {
		h.Set("aeg-metadata-version", "1.0")
	} else {
		h.Set("aeg-metadata-version", "1")
	}
	if first.DataVersion != "" {
		h.Set("aeg-data-version", first.DataVersion)
	}
	for _, a := range dp.DeliveryAttributeMappings {
		switch a.Type {
		case "Static":
			h.Set(a.Name, a.Properties.Value)
		case "Dynamic":
			if v, ok := lookup(first.envelope(), a.Properties.SourceField); ok && v != nil {
				h.Set(a.Name, headerValue(v))
			}
		}
	}
	if tp := trace.Parent(ctx); tp != "" {
		h.Set("traceparent", tp)
	}
	msgID := fmt.Sprintf("msg_%s_%d", first.ID, batch[0].ID)
	signWebhook(h, msgID, r.now(), body, s.Secrets)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func headerValue(v any) string {
	switch x := v.(type) {
	case string:
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// signWebhook sets the Standard Webhooks headers: webhook-id, webhook-timestamp
// and webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per
// secret, space-separated, so receivers keep working through a rotation).
func signWebhook(h http.Header, id string, at time.Time, body []byte, secrets []string) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	var sigs []string
	for _, sec := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_"))
		if err != nil {
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	if len(sigs) > 0 {
		h.Set("webhook-signature", strings.Join(sigs, " "))
	}
}

// VerifyWebhook checks a Standard Webhooks signature against secret; receivers
// written in Go (and the tests) use it.
func VerifyWebhook(h http.Header, body []byte, secret string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func ids(batch []claimed) []any {
	out := make([]any, len(batch))
	for i, c := range batch {
		out[i] = c.ID
	}
	return out
}

// succeed removes a round's delivered rows and clears the failure streaks of
// their endpoints.
func (r *Router) succeed(ctx context.Context, owner string, done *successes) {
	if len(done.ids) == 0 {
		return
	}
	err := r.st.Tx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		for lo := 0; lo < len(done.ids); lo += 1000 {
			chunk := done.ids[lo:min(lo+1000, len(done.ids))]
			if _, err := tx.Exec(ctx, `DELETE FROM events_deliveries WHERE lease_owner = ? AND id IN (`+placeholders(len(chunk))+`)`,
				append([]any{owner}, chunk...)...); err != nil {
				return err
			}
		}
		cleared := map[*subRow]bool{}
		for _, s := range done.subs {
			if s.Failures == 0 || cleared[s] {
				continue
			}
			cleared[s] = true
			if _, err := tx.Exec(ctx, `UPDATE events_subscriptions SET failures = 0, paused_until = 0 WHERE topic = ? AND name = ?`, s.Topic, s.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.log.Warn("events: record deliveries", "err", err)
		return
	}
	for typ, n := range done.count {
		r.m.delivered.WithLabelValues(typ).Add(float64(n))
	}
	for ts, n := range done.bySub {
		r.m.bySub.WithLabelValues(ts[0], ts[1]).Add(float64(n))
	}
}

// retry schedules the next attempt of each event on the ladder, or
// dead-letters those out of attempts or time, and delays the endpoint.
func (r *Router) retry(ctx context.Context, owner string, s *subRow, batch []claimed, status int, outcome string) {
	now := r.now()
	maxAttempts := s.Props.RetryPolicy.MaxDeliveryAttempts
	ttl := r.scaled(time.Duration(s.Props.RetryPolicy.EventTimeToLiveInMinutes) * time.Minute)
	var dead []claimed
	var reasons []string
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		dead, reasons = dead[:0], reasons[:0]
		for _, c := range batch {
			attempts := c.Attempts + 1
			next := now.Add(time.Duration(float64(r.scaled(ladderStep(attempts))) * r.opts.Jitter()))
			switch {
			case attempts >= maxAttempts:
				dead, reasons = append(dead, c), append(reasons, ReasonMaxAttempts)
				continue
			case next.After(c.Published.Add(ttl)):
				dead, reasons = append(dead, c), append(reasons, ReasonTTL)
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE events_deliveries SET attempts = ?, next_at = ?, lease_owner = '', lease_until = 0,
				last_status = ?, last_outcome = ?, last_attempt_at = ? WHERE id = ? AND lease_owner = ?`,
				attempts, store.Micros(next), status, outcome, store.Micros(now), c.ID, owner); err != nil {
				return err
			}
		}
		for i, c := range dead {
			c.Attempts++
			if err := r.deadLetterTx(ctx, tx, owner, s, c, reasons[i], status, outcome, now); err != nil {
				return err
			}
		}
		var failures int
		if err := tx.QueryRow(ctx, `SELECT failures FROM events_subscriptions WHERE topic = ? AND name = ?`, s.Topic, s.Name).Scan(&failures); err != nil {
			return err
		}
		failures++
		pause := min(r.scaled(ladderStep(failures)), r.scaled(maxPause))
		_, err := tx.Exec(ctx, `UPDATE events_subscriptions SET failures = ?, paused_until = ? WHERE topic = ? AND name = ?`,
			failures, store.Micros(now.Add(pause)), s.Topic, s.Name)
		return err
	})
	if err != nil {
		r.log.Warn("events: record failed delivery", "err", err)
	}
}

// finish dead-letters (or drops) a batch with one reason.
func (r *Router) finish(ctx context.Context, owner string, s *subRow, batch []claimed, status int, outcome, reason string) {
	now := r.now()
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		for _, c := range batch {
			if outcome != "" {
				c.Attempts++
			}
			if err := r.deadLetterTx(ctx, tx, owner, s, c, reason, status, outcome, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.log.Warn("events: dead-letter", "err", err)
	}
}

// deadLetterTx removes a delivery and, when the subscription has a dead-letter
// destination, keeps the event with why it died.
func (r *Router) deadLetterTx(ctx context.Context, tx store.Tx, owner string, s *subRow, c claimed, reason string, status int, outcome string, now time.Time) error {
	q, args := `DELETE FROM events_deliveries WHERE id = ? AND lease_owner = ?`, []any{c.ID, owner}
	if owner == "" {
		q, args = `DELETE FROM events_deliveries WHERE id = ?`, []any{c.ID}
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another node took it over
	}
	r.m.deadLetter.WithLabelValues(reason).Inc()
	if s.Props.DeadLetterDestination == nil {
		r.log.Info("events: event dropped (no dead-letter destination)", "topic", s.Topic, "subscription", s.Name, "event", c.Event.ID, "reason", reason)
		return nil
	}
	body, err := json.Marshal(&c.Event)
	if err != nil {
		return err
	}
	if outcome == "" {
		outcome = "None"
	}
	_, err = tx.Exec(ctx, `INSERT INTO events_deadletters (topic, subscription, body, reason, attempts, last_outcome, last_status,
		publish_time, last_attempt_time, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Topic, s.Name, string(body), reason, c.Attempts, outcome, status, store.Micros(c.Published), store.Micros(now), store.Micros(now))
	return err
}

// collectGarbage deletes events that no delivery refers to any more.
func (r *Router) collectGarbage(ctx context.Context) error {
	return r.st.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM events_events WHERE published_at < ? AND NOT EXISTS
			(SELECT 1 FROM events_deliveries d WHERE d.event_seq = events_events.seq)`, store.Micros(r.now().Add(-time.Minute)))
		if err != nil {
			return err
		}
		// Dataverse retries within hours; a week of request ids is plenty.
		_, err = tx.Exec(ctx, `DELETE FROM events_dataverse_requests WHERE at < ?`, store.Micros(r.now().Add(-7*24*time.Hour)))
		return err
	})
}
