package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// EntityKind says what an entity is.
type EntityKind string

// The entity kinds.
const (
	Queue        EntityKind = "queue"
	Topic        EntityKind = "topic"
	Subscription EntityKind = "subscription"
)

// Properties are an entity's settings, named as in Azure Resource Manager.
// Settings that do not apply to a kind are ignored for it (a topic has no lock
// duration).
type Properties struct {
	LockDuration                        Duration `json:"lockDuration"`
	MaxDeliveryCount                    int      `json:"maxDeliveryCount"`
	DefaultMessageTimeToLive            Duration `json:"defaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration    bool     `json:"deadLetteringOnMessageExpiration"`
	RequiresDuplicateDetection          bool     `json:"requiresDuplicateDetection"`
	DuplicateDetectionHistoryTimeWindow Duration `json:"duplicateDetectionHistoryTimeWindow"`
	RequiresSession                     bool     `json:"requiresSession"`
	ForwardTo                           string   `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo       string   `json:"forwardDeadLetteredMessagesTo,omitempty"`
	MaxSizeInMegabytes                  int      `json:"maxSizeInMegabytes"`
	MaxMessageSizeInKilobytes           int      `json:"maxMessageSizeInKilobytes"`
	AutoDeleteOnIdle                    Duration `json:"autoDeleteOnIdle"`
	Status                              string   `json:"status"`
}

// Defaults fills zero settings with Service Bus's defaults.
func (p Properties) Defaults() Properties {
	if p.LockDuration == 0 {
		p.LockDuration = Duration(DefaultLockDuration)
	}
	if p.MaxDeliveryCount == 0 {
		p.MaxDeliveryCount = DefaultMaxDelivery
	}
	if p.DefaultMessageTimeToLive == 0 {
		p.DefaultMessageTimeToLive = Duration(MaxTTL)
	}
	if p.DuplicateDetectionHistoryTimeWindow == 0 {
		p.DuplicateDetectionHistoryTimeWindow = Duration(DefaultDedupeWindow)
	}
	if p.MaxSizeInMegabytes == 0 {
		p.MaxSizeInMegabytes = 1024
	}
	if p.MaxMessageSizeInKilobytes == 0 {
		p.MaxMessageSizeInKilobytes = DefaultMaxMessageSize / 1024
	}
	if p.AutoDeleteOnIdle == 0 {
		p.AutoDeleteOnIdle = Duration(MaxTTL)
	}
	if p.Status == "" {
		p.Status = "Active"
	}
	return p
}

// Validate checks settings after Defaults; field names are the JSON ones.
func (p Properties) Validate() error {
	switch {
	case p.LockDuration < Duration(5*time.Second) || p.LockDuration > Duration(MaxLockDuration):
		return fieldErr("lockDuration", "must be between PT5S and PT5M")
	case p.MaxDeliveryCount < 1:
		return fieldErr("maxDeliveryCount", "must be at least 1")
	case p.DefaultMessageTimeToLive < Duration(time.Second):
		return fieldErr("defaultMessageTimeToLive", "must be at least PT1S")
	case p.DuplicateDetectionHistoryTimeWindow < Duration(MinDedupeWindow) || p.DuplicateDetectionHistoryTimeWindow > Duration(MaxDedupeWindow):
		return fieldErr("duplicateDetectionHistoryTimeWindow", "must be between PT20S and P7D")
	case p.MaxSizeInMegabytes < 1:
		return fieldErr("maxSizeInMegabytes", "must be positive")
	case p.MaxMessageSizeInKilobytes < 1:
		return fieldErr("maxMessageSizeInKilobytes", "must be positive")
	case p.AutoDeleteOnIdle < Duration(5*time.Minute):
		return fieldErr("autoDeleteOnIdle", "must be at least PT5M")
	case p.Status != "Active":
		return fieldErr("status", "only Active is supported")
	}
	return nil
}

// FieldError is a bad setting, named by its JSON field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, msg string) error {
	return &Error{Kind: KindBadRequest, Message: (&FieldError{field, msg}).Error()}
}

// Entity is a queue, topic or subscription.
type Entity struct {
	ID         int64
	Path       string // "orders", "events", "events/subscriptions/billing"
	Kind       EntityKind
	TopicID    int64 // for subscriptions
	Properties Properties
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Name is the last segment of the path.
func (e Entity) Name() string {
	if e.Kind == Subscription {
		return e.Path[strings.LastIndex(e.Path, "/")+1:]
	}
	return e.Path
}

var (
	entityName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,258}[A-Za-z0-9_])?$`)
	subName    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9_])?$`)
	ruleName   = regexp.MustCompile(`^(\$Default|[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9_])?)$`)
)

// ValidateEntityName checks a queue or topic name.
func ValidateEntityName(name string) error {
	if !entityName.MatchString(name) || strings.Contains(name, "//") {
		return errorf(KindBadRequest, "invalid entity name %q: use 1 to 260 letters, digits, periods, hyphens, underscores and slashes, starting and ending with a letter or digit", name)
	}
	lower := strings.ToLower(name)
	for _, seg := range strings.Split(lower, "/") {
		if seg == "subscriptions" || seg == "rules" || seg == "messages" || strings.HasPrefix(seg, "$") {
			return errorf(KindBadRequest, "invalid entity name %q: the segment %q is reserved", name, seg)
		}
	}
	return nil
}

// ValidateSubscriptionName checks a subscription name.
func ValidateSubscriptionName(name string) error {
	if !subName.MatchString(name) {
		return errorf(KindBadRequest, "invalid subscription name %q: use 1 to 50 letters, digits, periods, hyphens and underscores", name)
	}
	return nil
}

// SubscriptionPath is the entity path of a subscription.
func SubscriptionPath(topic, sub string) string { return topic + "/subscriptions/" + sub }

// DeadLetterPath is the path of an entity's dead-letter queue.
func DeadLetterPath(path string) string { return path + "/$deadletterqueue" }

// entityOf decodes a stored entity.
func entityOf(se storage.Entity) (Entity, error) {
	e := Entity{ID: se.ID, Path: se.Path, Kind: EntityKind(se.Kind), TopicID: se.TopicID,
		CreatedAt: store.FromMicros(se.CreatedAt), UpdatedAt: store.FromMicros(se.UpdatedAt)}
	if err := json.Unmarshal([]byte(se.Props), &e.Properties); err != nil {
		return e, fmt.Errorf("entity %s: bad settings: %w", e.Path, err)
	}
	return e, nil
}

func entitiesOf(ses []storage.Entity, err error) ([]Entity, error) {
	return decodeAll(ses, err, entityOf)
}

// decodeAll decodes what a storage read returned, item by item, or passes
// the read's error on.
func decodeAll[S, T any](items []S, err error, decode func(S) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	var out []T
	for _, it := range items {
		v, err := decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func loadEntity(ctx context.Context, r storage.Reader, path string) (Entity, error) {
	se, err := r.Entity(ctx, path)
	if errors.Is(err, storage.ErrNotFound) {
		return Entity{}, errorf(KindEntityNotFound, "the messaging entity '%s' could not be found", path)
	}
	if err != nil {
		return Entity{}, err
	}
	return entityOf(se)
}

func loadEntityByID(ctx context.Context, r storage.Reader, id int64) (Entity, error) {
	se, err := r.EntityByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Entity{}, errorf(KindEntityNotFound, "the messaging entity %d could not be found", id)
	}
	if err != nil {
		return Entity{}, err
	}
	return entityOf(se)
}

// address is a resolved runtime path: an entity and whether its dead-letter
// queue is meant.
type address struct {
	Entity
	dlq bool
}

func (a address) path() string {
	if a.dlq {
		return DeadLetterPath(a.Path)
	}
	return a.Path
}

func splitDLQ(path string) (string, bool) {
	path = strings.Trim(path, "/")
	if i := strings.LastIndex(path, "/"); i >= 0 && strings.EqualFold(path[i+1:], "$deadletterqueue") {
		return path[:i], true
	}
	return path, false
}

// entityCacheTTL bounds how long a node uses an entity's settings after
// another node changed them. Changes made through this node are seen at once.
const entityCacheTTL = time.Second

type cachedEntity struct {
	e  Entity
	at time.Time
}

// entityCached is loadEntity through the node's short-lived entity cache.
func (b *Broker) entityCached(ctx context.Context, q storage.Reader, path string) (Entity, error) {
	if e, ok := b.cachedEntity(path); ok {
		return e, nil
	}
	e, err := loadEntity(ctx, q, path)
	if err != nil {
		return e, err
	}
	b.entities.Store(strings.ToLower(path), cachedEntity{e: e, at: time.Now()})
	return e, nil
}

// cachedEntity returns the entity at path from the cache when it is there
// and fresh.
func (b *Broker) cachedEntity(path string) (Entity, bool) {
	if c, ok := b.entities.Load(strings.ToLower(path)); ok {
		if ce := c.(cachedEntity); time.Since(ce.at) < entityCacheTTL {
			return ce.e, true
		}
	}
	return Entity{}, false
}

// forgetEntities empties the entity cache once tx commits.
func (b *Broker) forgetEntities(tx storage.Tx) {
	b.entities.Clear()
	tx.AfterCommit(func() { b.entities.Clear() })
}

func (b *Broker) resolve(ctx context.Context, q storage.Reader, path string) (address, error) {
	p, dlq := splitDLQ(path)
	e, err := b.entityCached(ctx, q, p)
	if err != nil {
		if KindOf(err) == KindEntityNotFound {
			return address{}, errorf(KindEntityNotFound, "the messaging entity '%s' could not be found", path)
		}
		return address{}, err
	}
	return address{Entity: e, dlq: dlq}, nil
}

// PutQueue creates a queue, or updates its settings; created says which.
func (b *Broker) PutQueue(ctx context.Context, name string, p Properties) (Entity, bool, error) {
	if err := ValidateEntityName(name); err != nil {
		return Entity{}, false, err
	}
	return b.put(ctx, name, Queue, "", p)
}

// PutTopic creates or updates a topic.
func (b *Broker) PutTopic(ctx context.Context, name string, p Properties) (Entity, bool, error) {
	if err := ValidateEntityName(name); err != nil {
		return Entity{}, false, err
	}
	return b.put(ctx, name, Topic, "", p)
}

// PutSubscription creates or updates a subscription of topic. A new
// subscription gets the $Default rule, which matches every message.
func (b *Broker) PutSubscription(ctx context.Context, topic, name string, p Properties) (Entity, bool, error) {
	if err := ValidateSubscriptionName(name); err != nil {
		return Entity{}, false, err
	}
	return b.put(ctx, SubscriptionPath(topic, name), Subscription, topic, p)
}

func (b *Broker) put(ctx context.Context, path string, kind EntityKind, topic string, p Properties) (Entity, bool, error) {
	p = p.Defaults()
	if err := p.Validate(); err != nil {
		return Entity{}, false, err
	}
	if kind == Topic {
		p.LockDuration, p.MaxDeliveryCount, p.RequiresSession, p.ForwardTo, p.ForwardDeadLetteredMessagesTo = Duration(DefaultLockDuration), DefaultMaxDelivery, false, "", ""
		p.DeadLetteringOnMessageExpiration = false
	}
	if kind == Subscription {
		p.RequiresDuplicateDetection = false
	}
	var out Entity
	var created bool
	err := b.s.Tx(ctx, func(tx storage.Tx) error {
		created = false
		b.forgetEntities(tx)
		var topicID int64
		if kind == Subscription {
			t, err := loadEntity(ctx, tx, topic)
			if err != nil {
				return err
			}
			if t.Kind != Topic {
				return errorf(KindEntityNotFound, "the topic '%s' could not be found", topic)
			}
			topicID = t.ID
		}
		for field, target := range map[string]string{"forwardTo": p.ForwardTo, "forwardDeadLetteredMessagesTo": p.ForwardDeadLetteredMessagesTo} {
			if target == "" {
				continue
			}
			if strings.EqualFold(target, path) {
				return fieldErr(field, "an entity cannot forward to itself")
			}
			t, err := loadEntity(ctx, tx, target)
			if err != nil {
				return fieldErr(field, fmt.Sprintf("the entity %q does not exist", target))
			}
			if t.Kind == Subscription {
				return fieldErr(field, "messages can be forwarded to a queue or a topic only")
			}
		}
		propsJSON, _ := json.Marshal(p)
		now := store.Micros(b.now())
		existing, err := loadEntity(ctx, tx, path)
		switch {
		case err == nil:
			if existing.Kind != kind {
				return errorf(KindConflict, "'%s' already exists as a %s", path, existing.Kind)
			}
			if existing.Properties.RequiresSession != p.RequiresSession {
				return fieldErr("requiresSession", "cannot be changed on an existing entity")
			}
			if kind != Subscription && existing.Properties.RequiresDuplicateDetection != p.RequiresDuplicateDetection {
				return fieldErr("requiresDuplicateDetection", "cannot be changed on an existing entity")
			}
			if err := tx.UpdateEntity(ctx, existing.ID, string(propsJSON), now); err != nil {
				return err
			}
		case KindOf(err) == KindEntityNotFound:
			if _, err := tx.InsertEntity(ctx, storage.Entity{Path: path, Kind: string(kind), TopicID: topicID, Props: string(propsJSON), CreatedAt: now, UpdatedAt: now}); err != nil {
				if errors.Is(err, storage.ErrConflict) {
					return errorf(KindConflict, "'%s' already exists", path)
				}
				return err
			}
			created = true
		default:
			return err
		}
		out, err = loadEntity(ctx, tx, path)
		if err != nil {
			return err
		}
		if created && kind == Subscription {
			return insertRule(ctx, tx, out.ID, Rule{Name: DefaultRuleName, Filter: Filter{Type: FilterTrue}}, now)
		}
		return nil
	})
	if err != nil {
		return Entity{}, false, fmt.Errorf("put %s %s: %w", kind, path, err)
	}
	return out, created, nil
}

// Entity returns the entity at path (a queue, topic or subscription path).
func (b *Broker) Entity(ctx context.Context, path string) (Entity, error) {
	var e Entity
	err := b.s.Read(ctx, func(q storage.Reader) (err error) {
		e, err = loadEntity(ctx, q, path)
		return err
	})
	return e, err
}

// Entities lists the entities of a kind; for subscriptions, those of topic.
func (b *Broker) Entities(ctx context.Context, kind EntityKind, topic string) ([]Entity, error) {
	var out []Entity
	err := b.s.Read(ctx, func(q storage.Reader) (err error) {
		var topicID int64
		if kind == Subscription {
			t, err := loadEntity(ctx, q, topic)
			if err != nil {
				return err
			}
			if t.Kind != Topic {
				return errorf(KindEntityNotFound, "the topic '%s' could not be found", topic)
			}
			topicID = t.ID
		}
		out, err = entitiesOf(q.Entities(ctx, string(kind), topicID))
		return err
	})
	return out, err
}

// DeleteEntity deletes an entity with its messages, sessions and rules; a
// topic takes its subscriptions with it.
func (b *Broker) DeleteEntity(ctx context.Context, path string, kind EntityKind) error {
	return b.s.Tx(ctx, func(tx storage.Tx) error {
		b.forgetEntities(tx)
		e, err := loadEntity(ctx, tx, path)
		if err != nil {
			return err
		}
		if e.Kind != kind {
			return errorf(KindEntityNotFound, "the %s '%s' could not be found", kind, path)
		}
		ids := []int64{e.ID}
		if e.Kind == Topic {
			subs, err := tx.Subscriptions(ctx, e.ID)
			if err != nil {
				return err
			}
			for _, s := range subs {
				ids = append(ids, s.ID)
			}
		}
		for _, id := range ids {
			if err := tx.DeleteEntity(ctx, id); err != nil {
				return err
			}
		}
		return tx.DeleteAuthRules(ctx, strings.ToLower(e.Path))
	})
}

// Counts are an entity's runtime message counts.
type Counts struct {
	Active     int64 `json:"activeMessageCount"`
	DeadLetter int64 `json:"deadLetterMessageCount"`
	Scheduled  int64 `json:"scheduledMessageCount"`
	Transfer   int64 `json:"transferMessageCount"`
	TransferDL int64 `json:"transferDeadLetterMessageCount"`
	Deferred   int64 `json:"deferredMessageCount"`
	Total      int64 `json:"messageCount"`
	SizeBytes  int64 `json:"sizeInBytes"`
}

// Counts returns the message counts of the entity at path. Auto-forwarding
// happens inside the sending transaction, so transfer counts are always zero.
func (b *Broker) Counts(ctx context.Context, path string) (Counts, error) {
	var c Counts
	now := store.Micros(b.now())
	err := b.s.Read(ctx, func(q storage.Reader) error {
		e, err := loadEntity(ctx, q, path)
		if err != nil {
			return err
		}
		if e.Kind == Topic {
			// A topic's messages live in its subscriptions; its counts are theirs.
			return nil
		}
		sc, err := q.Counts(ctx, e.ID, now)
		c = Counts{Active: sc.Active, Scheduled: sc.Scheduled, Deferred: sc.Deferred, DeadLetter: sc.DeadLetter, Total: sc.Total, SizeBytes: sc.Size}
		return err
	})
	return c, err
}
