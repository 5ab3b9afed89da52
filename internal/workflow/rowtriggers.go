package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"junction/internal/trace"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/changelog"
	"junction/internal/lifecycle"
	"junction/internal/store"
)

// RowTriggers fires Power Automate's Dataverse trigger "When a row is added,
// modified or deleted" (OpenApiConnectionWebhook, SubscribeWebhookTrigger)
// from the change log: changes of Junction's tables and of real orgs that
// post to the Dataverse webhook. One node at a time reads the log (a lease);
// each subscription keeps a changelog.Cursor, placed at the end of the log
// when the workflow is deployed and advanced after each run is recorded, so
// a crash repeats at most the change in flight.
type RowTriggers struct {
	st     store.Store
	log    *slog.Logger
	node   string
	worker lifecycle.Worker

	mu   sync.Mutex
	subs map[string]rowSub
	wake chan struct{}
}

var _ TriggerSource = (*RowTriggers)(nil)

// rowTriggerLease is the lease of the node that reads the log for the row
// triggers (named when they lived in the bridge, so that nodes of both
// versions never read at once).
const rowTriggerLease = "bridge.rowtriggers"

type rowSub struct {
	sub      Subscription
	table    string
	messages map[string]bool
	columns  []string
}

// RowTriggersConfig is what RowTriggers are built from.
type RowTriggersConfig struct {
	Store  store.Store
	Logger *slog.Logger // nil: discard
	NodeID string       // the holder of the log reader's lease
}

// NewRowTriggers returns the row-change trigger source over cfg.Store;
// Start runs it.
func NewRowTriggers(cfg RowTriggersConfig) *RowTriggers {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &RowTriggers{st: cfg.Store, log: cfg.Logger, node: cfg.NodeID, subs: map[string]rowSub{}, wake: make(chan struct{}, 1)}
}

// Start runs the loop that reads the change log while this node holds the
// lease.
func (r *RowTriggers) Start(ctx context.Context) error {
	r.worker.Start(ctx, func(ctx context.Context) {
		_ = r.st.Leases().Hold(ctx, rowTriggerLease, r.node, 15*time.Second, r.run)
	})
	return nil
}

// Stop ends the loop, waiting for it within ctx's deadline. Safe twice and
// without Start.
func (r *RowTriggers) Stop(ctx context.Context) error { return r.worker.Stop(ctx) }

// Types implements TriggerSource.
func (*RowTriggers) Types() []string { return []string{"openapiconnectionwebhook"} }

// Match implements TriggerSource: the Dataverse connector's webhook trigger.
func (*RowTriggers) Match(t *Trigger) bool {
	cfg, _ := ConnectorInputs(t)
	return strings.Contains(strings.ToLower(str(cfg, "apiId")), "commondataservice") &&
		strings.EqualFold(str(cfg, "operationId"), "SubscribeWebhookTrigger")
}

// messageCodes are Power Automate's change types.
var messageCodes = map[int][]string{
	1: {changelog.Create}, 2: {changelog.Delete}, 3: {changelog.Update},
	4: {changelog.Create, changelog.Update}, 5: {changelog.Create, changelog.Delete},
	6: {changelog.Update, changelog.Delete}, 7: {changelog.Create, changelog.Update, changelog.Delete},
}

// Subscribe implements TriggerSource. The trigger's cursor is placed where
// the log ends now, when the workflow is deployed, not when the reader
// first gets to it: a change made right after the deployment fires it.
func (r *RowTriggers) Subscribe(ctx context.Context, sub Subscription) (func(context.Context) error, error) {
	_, p := ConnectorInputs(sub.Def)
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
	if n, ok := IntInput(get("message")); ok {
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
	if _, err := r.cursor(ctx, key); err != nil {
		return nil, fmt.Errorf("place the trigger's cursor: %w", err)
	}
	r.mu.Lock()
	r.subs[key] = rs
	r.mu.Unlock()
	r.poke()
	return func(context.Context) error {
		r.mu.Lock()
		delete(r.subs, key)
		r.mu.Unlock()
		return nil
	}, nil
}

func (r *RowTriggers) subscribed(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.subs[key]
	return ok
}

func (r *RowTriggers) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *RowTriggers) run(ctx context.Context) {
	sub := r.st.Listen(changelog.Channel)
	defer sub.Close()
	for {
		r.mu.Lock()
		subs := make(map[string]rowSub, len(r.subs))
		for k, v := range r.subs {
			subs[k] = v
		}
		r.mu.Unlock()
		if len(subs) > 0 {
			if err := changelog.TrySequence(ctx, r.st); err != nil && ctx.Err() == nil {
				r.log.Warn("row-change triggers: number the change log", "err", err)
			}
		}
		for key, s := range subs {
			if err := r.catchUp(ctx, key, s); err != nil && ctx.Err() == nil {
				r.log.Warn("row-change trigger failed; retrying", "workflow", s.sub.Workflow, "trigger", s.sub.Trigger, "err", err)
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

// cursor opens the cursor of the trigger key ("workflow/trigger"), placing
// it at the end of the log when it has none yet.
func (r *RowTriggers) cursor(ctx context.Context, key string) (*changelog.Cursor, error) {
	// Numbered first, so that the head is after every change committed
	// before the subscription.
	if err := changelog.Sequence(ctx, r.st); err != nil {
		return nil, err
	}
	var c *changelog.Cursor
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		var err error
		c, err = changelog.OpenCursor(ctx, tx, rowTriggerCursor(key))
		return err
	})
	return c, err
}

// catchUp fires one subscription for every matching change after its
// cursor, advancing the cursor past each change once its run is recorded.
// Only Subscribe places a cursor: one dropped meanwhile (the workflow was
// removed) is not placed again by a reader that listed the subscription
// before it went.
func (r *RowTriggers) catchUp(ctx context.Context, key string, s rowSub) error {
	var cursor *changelog.Cursor
	err := r.st.Read(ctx, func(q store.Querier) error {
		var err error
		cursor, err = changelog.GetCursor(ctx, q, rowTriggerCursor(key))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cursor.Lost {
		// Retention deleted changes the trigger had not seen (it stayed
		// behind longer than --retain-changes-max): it restarts from the
		// head instead of firing for a partial history.
		err := r.st.Tx(ctx, func(tx store.Tx) error {
			head, err := changelog.Head(ctx, tx)
			if err != nil {
				return err
			}
			r.log.Warn("the change log was trimmed past a row-change trigger; it restarts from the head and did not fire for the changes in between",
				"workflow", s.sub.Workflow, "trigger", s.sub.Trigger, "position", cursor.Seq, "head", head)
			return cursor.Advance(ctx, tx, max(head, cursor.Seq))
		})
		if err != nil {
			return err
		}
	}
	for {
		var changes []changelog.Change
		if err := r.st.Read(ctx, func(q store.Querier) error {
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
				if _, err := s.sub.Fire(trace.Remote(ctx, c.Trace), map[string]any{"body": rowBody(c), "headers": map[string]any{"x-ms-dynamics-request-name": c.Message}}); err != nil {
					return err
				}
			}
			if err := r.st.Tx(ctx, func(tx store.Tx) error { return cursor.Advance(ctx, tx, c.Seq) }); err != nil {
				if errors.Is(err, changelog.ErrCursorMoved) && !r.subscribed(key) {
					return nil // removed while this change fired
				}
				return err
			}
		}
	}
}

// matches applies the trigger's change types and, to updates, its
// filtering attributes.
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

// ConnectorInputs reads a connector trigger's literal inputs: the
// configuration (a ServiceProvider trigger's serviceProviderConfiguration,
// or an OpenApiConnectionWebhook's host) and the parameters (Power
// Automate's keep their "a/b" keys). params is never nil.
func ConnectorInputs(t *Trigger) (config, params map[string]any) {
	in, _ := t.Inputs.(map[string]any)
	params, _ = in["parameters"].(map[string]any)
	if c, ok := in["serviceProviderConfiguration"].(map[string]any); ok {
		config = c
	} else {
		config, _ = in["host"].(map[string]any)
	}
	if params == nil {
		params = map[string]any{}
	}
	return config, params
}

// IntInput reads an integer input however the definition's decoder typed
// it: a JSON number (truncated), an integer, or its text.
func IntInput(v any) (int, bool) {
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

// rowTriggerCursor names the change-log cursor of the row trigger key
// ("workflow/trigger").
func rowTriggerCursor(key string) string { return "rowtrigger:" + key }
