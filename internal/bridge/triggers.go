package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/broker"
	"junction/internal/changelog"
	"junction/internal/connector/servicebus"
	"junction/internal/store"
	"junction/internal/workflow"
)

// params reads a trigger's literal inputs: ServiceProvider "parameters", or
// OpenApiConnectionWebhook "parameters" with Power Automate's "a/b" keys.
func params(t *workflow.Trigger) (cfg, p map[string]any) {
	in, _ := t.Inputs.(map[string]any)
	p, _ = in["parameters"].(map[string]any)
	if c, ok := in["serviceProviderConfiguration"].(map[string]any); ok {
		cfg = c
	} else {
		cfg, _ = in["host"].(map[string]any)
	}
	if p == nil {
		p = map[string]any{}
	}
	return cfg, p
}

// number reads an integer however the definition's decoder typed it.
func number(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int64:
		return int(n), true
	case int:
		return n, true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// ServiceBusTriggers fires workflows from broker messages: the Service Bus
// built-in triggers of Logic Apps Standard. receiveQueueMessages and
// receiveTopicMessages complete each message once its run is recorded;
// peekLockQueueMessages and peekLockTopicMessages leave it locked for the
// workflow to settle with completeMessage, abandonMessage or
// deadLetterMessage (the lock token is in the trigger body), so that a run
// that never settles sees the message again and, after MaxDeliveryCount, in
// the dead-letter queue.
type ServiceBusTriggers struct{ b *Bridge }

// ServiceBusTriggers returns the broker trigger source.
func (b *Bridge) ServiceBusTriggers() ServiceBusTriggers { return ServiceBusTriggers{b} }

var _ workflow.TriggerSource = ServiceBusTriggers{}

func (ServiceBusTriggers) Types() []string { return []string{"serviceprovider"} }

func (ServiceBusTriggers) Match(t *workflow.Trigger) bool {
	cfg, _ := params(t)
	if !strings.HasSuffix(strings.ToLower(str(cfg, "serviceProviderId")), "servicebus") {
		return false
	}
	_, _, err := sbEntity(t)
	return err == nil
}

// sbEntity is the entity a trigger reads and whether it auto-completes.
func sbEntity(t *workflow.Trigger) (path string, autoComplete bool, err error) {
	cfg, p := params(t)
	op := strings.ToLower(str(cfg, "operationId"))
	switch {
	case strings.HasPrefix(op, "receivequeuemessage"), strings.HasPrefix(op, "peeklockqueuemessages"):
		path = str(p, "queueName")
	case strings.HasPrefix(op, "receivetopicmessage"), strings.HasPrefix(op, "peeklocktopicmessages"):
		if t, s := str(p, "topicName"), str(p, "subscriptionName"); t != "" && s != "" {
			path = t + "/subscriptions/" + s
		}
	default:
		return "", false, fmt.Errorf("operation %q is not a Service Bus trigger", op)
	}
	if path == "" {
		return "", false, errors.New("the trigger names no queue (queueName) or topic subscription (topicName, subscriptionName)")
	}
	return path, strings.HasPrefix(op, "receive"), nil
}

func (s ServiceBusTriggers) Subscribe(ctx context.Context, sub workflow.Subscription) (func(), error) {
	path, auto, err := sbEntity(sub.Def)
	if err != nil {
		return nil, err
	}
	_, p := params(sub.Def)
	max := 1
	if n, ok := number(p["maxMessageCount"]); ok && n >= 1 && n <= 100 {
		max = n
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.b.receiveLoop(ctx, sub, path, auto, max)
	}()
	return func() { cancel(); <-done }, nil
}

func (b *Bridge) receiveLoop(ctx context.Context, sub workflow.Subscription, path string, auto bool, max int) {
	log := b.Log.With("workflow", sub.Workflow, "trigger", sub.Trigger, "entity", path)
	for ctx.Err() == nil {
		got, err := b.Broker.Receive(ctx, path, broker.ReceiveOptions{Mode: broker.PeekLock, Max: max, Wait: 20 * time.Second})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("workflow trigger cannot receive; retrying", "err", err)
				sleep(ctx, 5*time.Second)
			}
			continue
		}
		if len(got) == 0 {
			continue
		}
		body := make([]any, len(got))
		for i, m := range got {
			body[i] = servicebus.MessageOutput(m)
		}
		if _, err := sub.Fire(ctx, map[string]any{"body": body}); err != nil {
			log.Warn("workflow trigger could not start a run; the messages will be delivered again", "err", err)
			for _, m := range got {
				_ = b.Broker.Abandon(context.WithoutCancel(ctx), path, broker.Settlement{LockToken: m.LockToken})
			}
			continue
		}
		if auto {
			for _, m := range got {
				if err := b.Broker.Complete(context.WithoutCancel(ctx), path, broker.Settlement{LockToken: m.LockToken}); err != nil {
					log.Warn("complete after the run was recorded failed; the message may start a second run", "err", err)
				}
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// rowTriggers fires Power Automate's Dataverse trigger "When a row is added,
// modified or deleted" (OpenApiConnectionWebhook, SubscribeWebhookTrigger)
// from the change log: changes of Junction's tables and of real orgs that post
// to the Dataverse webhook. One node at a time reads the log (a lease); each
// subscription keeps a cursor, advanced after the run is recorded, so a crash
// repeats at most the change in flight.
type rowTriggers struct {
	b    *Bridge
	mu   sync.Mutex
	subs map[string]rowSub
	ctx  context.Context
	wake chan struct{}
	done chan struct{}
}

type rowSub struct {
	sub      workflow.Subscription
	table    string
	messages map[string]bool
	columns  []string
}

func newRowTriggers(b *Bridge) *rowTriggers {
	return &rowTriggers{b: b, subs: map[string]rowSub{}, wake: make(chan struct{}, 1)}
}

// RowTriggers returns the row-change trigger source.
func (b *Bridge) RowTriggers() workflow.TriggerSource { return b.rows }

func (*rowTriggers) Types() []string { return []string{"openapiconnectionwebhook"} }

func (*rowTriggers) Match(t *workflow.Trigger) bool {
	cfg, _ := params(t)
	return strings.Contains(strings.ToLower(str(cfg, "apiId")), "commondataservice") &&
		strings.EqualFold(str(cfg, "operationId"), "SubscribeWebhookTrigger")
}

// messageCodes are Power Automate's change types.
var messageCodes = map[int][]string{
	1: {changelog.Create}, 2: {changelog.Delete}, 3: {changelog.Update},
	4: {changelog.Create, changelog.Update}, 5: {changelog.Create, changelog.Delete},
	6: {changelog.Update, changelog.Delete}, 7: {changelog.Create, changelog.Update, changelog.Delete},
}

func (r *rowTriggers) Subscribe(ctx context.Context, sub workflow.Subscription) (func(), error) {
	_, p := params(sub.Def)
	get := func(k string) any {
		if v, ok := p["subscriptionRequest/"+k]; ok {
			return v
		}
		if m, ok := p["subscriptionRequest"].(map[string]any); ok {
			return m[k]
		}
		return nil
	}
	table, _ := get("entityname").(string)
	if table == "" {
		return nil, errors.New("subscriptionRequest/entityname is required")
	}
	code := 7
	if n, ok := number(get("message")); ok {
		code = n
	}
	msgs, ok := messageCodes[code]
	if !ok {
		return nil, fmt.Errorf("subscriptionRequest/message must be 1 to 7, not %d", code)
	}
	rs := rowSub{sub: sub, table: strings.ToLower(table), messages: map[string]bool{}}
	for _, m := range msgs {
		rs.messages[m] = true
	}
	if cols, _ := get("filteringattributes").(string); cols != "" {
		for _, c := range strings.Split(cols, ",") {
			rs.columns = append(rs.columns, strings.ToLower(strings.TrimSpace(c)))
		}
	}
	key := sub.Workflow + "/" + sub.Trigger
	// The cursor starts where the log ends now, when the workflow is
	// deployed, not when the reader first gets to it: a change made right
	// after the deployment fires the trigger.
	if _, err := r.cursor(ctx, "rowtrigger:"+key); err != nil {
		return nil, fmt.Errorf("place the trigger's cursor: %w", err)
	}
	r.mu.Lock()
	r.subs[key] = rs
	r.mu.Unlock()
	r.poke()
	return func() {
		r.mu.Lock()
		delete(r.subs, key)
		r.mu.Unlock()
	}, nil
}

func (r *rowTriggers) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *rowTriggers) start(ctx context.Context) {
	r.ctx = ctx
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		_ = r.b.Store.Leases().Hold(ctx, "bridge.rowtriggers", r.b.NodeID, 15*time.Second, r.run)
	}()
}

func (r *rowTriggers) stop() {
	if r.done != nil {
		<-r.done
	}
}

func (r *rowTriggers) run(ctx context.Context) {
	sub := r.b.Store.Listen(changelog.Channel)
	defer sub.Close()
	for {
		r.mu.Lock()
		subs := make(map[string]rowSub, len(r.subs))
		for k, v := range r.subs {
			subs[k] = v
		}
		r.mu.Unlock()
		for key, s := range subs {
			if err := r.catchUp(ctx, key, s); err != nil && ctx.Err() == nil {
				r.b.Log.Warn("row-change trigger failed; retrying", "workflow", s.sub.Workflow, "trigger", s.sub.Trigger, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sub.C:
		case <-r.wake:
		}
	}
}

// cursor returns a subscription's cursor, placing it at the end of the log
// when it has none yet.
func (r *rowTriggers) cursor(ctx context.Context, name string) (*changelog.Cursor, error) {
	var c *changelog.Cursor
	err := r.b.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		c, err = changelog.OpenCursor(ctx, tx, name)
		return err
	})
	return c, err
}

// catchUp fires one subscription for every matching change after its cursor.
// A new subscription starts at the end of the log: it sees changes made
// after it was deployed, as a webhook registration does.
func (r *rowTriggers) catchUp(ctx context.Context, key string, s rowSub) error {
	cursor, err := r.cursor(ctx, "rowtrigger:"+key)
	if err != nil {
		return err
	}
	for {
		var changes []changelog.Change
		if err := r.b.Store.Read(ctx, func(q store.Querier) error {
			var err error
			changes, err = cursor.Next(ctx, q, s.table, 100)
			return err
		}); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		for _, c := range changes {
			if s.matches(c) {
				if _, err := s.sub.Fire(ctx, map[string]any{"body": rowBody(c), "headers": map[string]any{"x-ms-dynamics-request-name": c.Message}}); err != nil {
					return err
				}
			}
			if err := r.b.Store.Tx(ctx, func(tx store.Tx) error { return cursor.Advance(ctx, tx, c.Seq) }); err != nil {
				return err
			}
		}
	}
}

func (s rowSub) matches(c changelog.Change) bool {
	if !s.messages[c.Message] {
		return false
	}
	if c.Message != changelog.Update || len(s.columns) == 0 {
		return true
	}
	for _, col := range c.Changed {
		for _, want := range s.columns {
			if strings.EqualFold(col, want) {
				return true
			}
		}
	}
	return false
}

// rowBody is the trigger body Power Automate gives: the row's columns, and
// SdkMessage naming the change.
func rowBody(c changelog.Change) map[string]any {
	body := map[string]any{}
	src := c.After
	if c.Message == changelog.Delete {
		src = c.Before
	}
	for k, v := range src {
		body[k] = v
	}
	body[c.Table+"id"] = c.RecordID
	body["SdkMessage"] = c.Message
	body["ItemInternalId"] = c.RecordID
	body["_changedcolumns"] = c.Changed
	return body
}
