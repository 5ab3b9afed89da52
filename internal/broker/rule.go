package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"junction/internal/broker/sqlfilter"
	"junction/internal/broker/storage"
	"junction/internal/store"
)

// DefaultRuleName is the rule every new subscription starts with.
const DefaultRuleName = "$Default"

// FilterType names a kind of rule filter.
type FilterType string

// The filter types.
const (
	FilterTrue        FilterType = "TrueFilter"
	FilterFalse       FilterType = "FalseFilter"
	FilterSQL         FilterType = "SqlFilter"
	FilterCorrelation FilterType = "CorrelationFilter"
)

// CorrelationFilter matches by exact, case-sensitive equality on every field
// that is set; all are ANDed.
type CorrelationFilter struct {
	CorrelationID    string         `json:"correlationId,omitempty"`
	MessageID        string         `json:"messageId,omitempty"`
	To               string         `json:"to,omitempty"`
	ReplyTo          string         `json:"replyTo,omitempty"`
	Label            string         `json:"label,omitempty"`
	SessionID        string         `json:"sessionId,omitempty"`
	ReplyToSessionID string         `json:"replyToSessionId,omitempty"`
	ContentType      string         `json:"contentType,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

// Filter is a rule's filter.
type Filter struct {
	Type        FilterType         `json:"filterType"`
	SQL         string             `json:"sqlExpression,omitempty"`
	Correlation *CorrelationFilter `json:"correlationFilter,omitempty"`
}

// Rule is a named filter with an optional action on a subscription.
type Rule struct {
	Name      string    `json:"name"`
	Filter    Filter    `json:"filter"`
	Action    string    `json:"action,omitempty"` // SQL rule action; empty for none
	CreatedAt time.Time `json:"createdAt"`

	sql    *sqlfilter.Filter
	action *sqlfilter.Action
}

// compile checks the rule and parses its expressions.
func (r *Rule) compile() error {
	if !ruleName.MatchString(r.Name) {
		return errorf(KindBadRequest, "invalid rule name %q", r.Name)
	}
	switch r.Filter.Type {
	case FilterTrue, FilterFalse:
	case FilterSQL:
		f, err := sqlfilter.Parse(r.Filter.SQL)
		if err != nil {
			return errorf(KindBadRequest, "invalid SQL filter %q: %v", r.Filter.SQL, err)
		}
		r.sql = f
	case FilterCorrelation:
		if r.Filter.Correlation == nil {
			return errorf(KindBadRequest, "a correlation filter needs at least one field")
		}
		for k, v := range r.Filter.Correlation.Properties {
			switch v.(type) {
			case string, float64, bool, int64:
			default:
				return errorf(KindBadRequest, "correlation filter property %q must be a string, number or boolean", k)
			}
		}
	default:
		return errorf(KindBadRequest, "unknown filter type %q: use SqlFilter, CorrelationFilter, TrueFilter or FalseFilter", r.Filter.Type)
	}
	if strings.TrimSpace(r.Action) != "" {
		a, err := sqlfilter.ParseAction(r.Action)
		if err != nil {
			return errorf(KindBadRequest, "invalid rule action %q: %v", r.Action, err)
		}
		r.action = a
	}
	return nil
}

// ruleCache keeps compiled rules by their stored JSON, so a topic send does
// not parse SQL every time.
type ruleCache struct {
	m sync.Map // spec string -> Rule
}

func (c *ruleCache) rule(name, spec string) (Rule, error) {
	key := name + "\x00" + spec
	if r, ok := c.m.Load(key); ok {
		return r.(Rule), nil
	}
	var r Rule
	if err := json.Unmarshal([]byte(spec), &r); err != nil {
		return Rule{}, err
	}
	r.Name = name
	if err := r.compile(); err != nil {
		return Rule{}, err
	}
	c.m.Store(key, r)
	return r, nil
}

// matchRules returns the copies a subscription gets of m: one for all
// matching rules without actions together, one per matching rule with an
// action.
func matchRules(rules []Rule, m *Message) []Message {
	var out []Message
	plain := false
	env := &filterEnv{m: m}
	for i := range rules {
		r := &rules[i]
		if !r.matches(env) {
			continue
		}
		if r.action == nil {
			plain = true
			continue
		}
		c := m.Clone()
		if err := r.action.Apply(&filterEnv{m: &c}); err == nil {
			out = append(out, c)
		}
	}
	if plain {
		out = append([]Message{m.Clone()}, out...)
	}
	return out
}

func (r *Rule) matches(env *filterEnv) bool {
	switch r.Filter.Type {
	case FilterTrue:
		return true
	case FilterSQL:
		return r.sql != nil && r.sql.Match(env)
	case FilterCorrelation:
		return r.Filter.Correlation.match(env.m)
	}
	return false
}

func (c *CorrelationFilter) match(m *Message) bool {
	pairs := [][2]string{{c.CorrelationID, m.CorrelationID}, {c.MessageID, m.MessageID}, {c.To, m.To}, {c.ReplyTo, m.ReplyTo},
		{c.Label, m.Subject}, {c.SessionID, m.SessionID}, {c.ReplyToSessionID, m.ReplyToSessionID}, {c.ContentType, m.ContentType}}
	for _, p := range pairs {
		if p[0] != "" && p[0] != p[1] {
			return false
		}
	}
	for k, want := range c.Properties {
		got, ok := m.Properties[k]
		if !ok {
			return false
		}
		switch w := want.(type) {
		case float64:
			switch g := got.(type) {
			case int64:
				if float64(g) != w {
					return false
				}
			case float64:
				if g != w {
					return false
				}
			default:
				return false
			}
		case int64:
			switch g := got.(type) {
			case int64:
				if g != w {
					return false
				}
			case float64:
				if g != float64(w) {
					return false
				}
			default:
				return false
			}
		default:
			if got != want {
				return false
			}
		}
	}
	return true
}

// filterEnv shows a message to the SQL filter evaluator.
type filterEnv struct{ m *Message }

func (e *filterEnv) System(name string) (any, bool) {
	m := e.m
	str := func(s string) (any, bool) {
		if s == "" {
			return nil, false
		}
		return s, true
	}
	switch name {
	case "MessageId":
		return str(m.MessageID)
	case "CorrelationId":
		return str(m.CorrelationID)
	case "SessionId":
		return str(m.SessionID)
	case "ReplyTo":
		return str(m.ReplyTo)
	case "ReplyToSessionId":
		return str(m.ReplyToSessionID)
	case "To":
		return str(m.To)
	case "Label":
		return str(m.Subject)
	case "ContentType":
		return str(m.ContentType)
	case "PartitionKey":
		return str(m.PartitionKey)
	case "Size":
		return int64(len(m.Body)), true
	case "TimeToLive":
		if m.TimeToLive == 0 {
			return nil, false
		}
		return m.TimeToLive.Seconds(), true
	case "ScheduledEnqueueTimeUtc":
		if m.ScheduledEnqueueTime.IsZero() {
			return nil, false
		}
		return m.ScheduledEnqueueTime, true
	}
	return nil, false
}

func (e *filterEnv) Property(name string) (any, bool) {
	if v, ok := e.m.Properties[name]; ok {
		return v, true
	}
	for k, v := range e.m.Properties {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func (e *filterEnv) SetProperty(name string, v any) {
	if e.m.Properties == nil {
		e.m.Properties = map[string]any{}
	}
	e.m.Properties[name] = v
}

func (e *filterEnv) RemoveProperty(name string) { delete(e.m.Properties, name) }

func (e *filterEnv) SetSystem(name string, v any) error {
	s := ""
	if v != nil {
		s = fmt.Sprint(v)
	}
	m := e.m
	switch name {
	case "MessageId":
		m.MessageID = s
	case "CorrelationId":
		m.CorrelationID = s
	case "SessionId":
		m.SessionID = s
	case "ReplyTo":
		m.ReplyTo = s
	case "ReplyToSessionId":
		m.ReplyToSessionID = s
	case "To":
		m.To = s
	case "Label":
		m.Subject = s
	case "ContentType":
		m.ContentType = s
	default:
		return fmt.Errorf("sys.%s cannot be set by a rule action", name)
	}
	return nil
}

func insertRule(ctx context.Context, tx storage.Tx, entityID int64, r Rule, now int64) error {
	spec, _ := json.Marshal(r)
	err := tx.InsertRule(ctx, storage.Rule{EntityID: entityID, Name: r.Name, Spec: string(spec), CreatedAt: now})
	if errors.Is(err, storage.ErrConflict) {
		return errorf(KindConflict, "the rule '%s' already exists", r.Name)
	}
	return err
}

func (b *Broker) subscription(ctx context.Context, q storage.Reader, topic, sub string) (Entity, error) {
	e, err := loadEntity(ctx, q, SubscriptionPath(topic, sub))
	if err == nil && e.Kind != Subscription {
		err = errorf(KindEntityNotFound, "the subscription '%s' could not be found", SubscriptionPath(topic, sub))
	}
	return e, err
}

// PutRule creates or replaces a rule on a subscription.
func (b *Broker) PutRule(ctx context.Context, topic, sub string, r Rule) (Rule, bool, error) {
	if err := r.compile(); err != nil {
		return Rule{}, false, err
	}
	var created bool
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		e, err := b.subscription(ctx, tx, topic, sub)
		if err != nil {
			return err
		}
		existed, err := tx.DeleteRule(ctx, e.ID, r.Name)
		if err != nil {
			return err
		}
		created = !existed
		r.CreatedAt = b.now().UTC()
		return insertRule(ctx, tx, e.ID, r, store.Micros(r.CreatedAt))
	})
	if err != nil {
		return Rule{}, false, err
	}
	return r, created, nil
}

// Rules lists a subscription's rules.
func (b *Broker) Rules(ctx context.Context, topic, sub string) ([]Rule, error) {
	var out []Rule
	err := b.s.Read(ctx, func(q storage.Reader) error {
		e, err := b.subscription(ctx, q, topic, sub)
		if err != nil {
			return err
		}
		stored, err := q.Rules(ctx, e.ID)
		if err != nil {
			return err
		}
		for _, sr := range stored {
			var r Rule
			if err := json.Unmarshal([]byte(sr.Spec), &r); err != nil {
				return err
			}
			r.Name, r.CreatedAt = sr.Name, store.FromMicros(sr.CreatedAt)
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Rule returns one rule.
func (b *Broker) Rule(ctx context.Context, topic, sub, name string) (Rule, error) {
	rules, err := b.Rules(ctx, topic, sub)
	if err != nil {
		return Rule{}, err
	}
	for _, r := range rules {
		if r.Name == name {
			return r, nil
		}
	}
	return Rule{}, errorf(KindEntityNotFound, "the rule '%s' could not be found", name)
}

// DeleteRule removes a rule.
func (b *Broker) DeleteRule(ctx context.Context, topic, sub, name string) error {
	return b.s.Tx(ctx, func(tx storage.Tx) error {
		e, err := b.subscription(ctx, tx, topic, sub)
		if err != nil {
			return err
		}
		found, err := tx.DeleteRule(ctx, e.ID, name)
		if err == nil && !found {
			return errorf(KindEntityNotFound, "the rule '%s' could not be found", name)
		}
		return err
	})
}

// CheckRule reports whether a rule's filter and action are valid.
func CheckRule(r Rule) error { return r.compile() }
