// Package storage is the broker's storage contract: the operations the engine
// (package broker) needs of wherever its entities, messages, sessions, rules
// and keys are kept, in the engine's own terms, with no SQL in them. Package
// sqlstorage serves it over the store (SQLite and PostgreSQL); another engine
// (a distributed log) could serve it without the broker's front ends changing.
//
// Times are integer microseconds since the Unix epoch, as the store keeps them.
package storage

import (
	"context"
	"time"

	"junction/internal/store"
)

// Errors a Driver reports; they are the store contract's sentinels, so one
// errors.Is serves callers of both.
var (
	// ErrNotFound: the entity, message, session or key asked for is not there.
	ErrNotFound = store.ErrNotFound
	// ErrConflict: something with that name already exists.
	ErrConflict = store.ErrConflict
)

// Relaxed marks a transaction whose loss in a power failure only means a
// message delivered again (a lock taken, renewed or released): the driver may
// answer before the commit is flushed, provided commits stay in order (a
// power failure loses a relaxed commit only with every commit after it) and a
// process crash loses nothing. Sends and settlements are never relaxed.
func Relaxed(ctx context.Context) context.Context { return store.Relaxed(ctx) }

// Never is the expiry of a message that does not expire.
const Never = int64(1<<63 - 1)

// Driver is where the broker keeps its state.
type Driver interface {
	// Tx runs fn in a write transaction and returns once it is durably
	// committed, or with fn's error after undoing everything fn did. fn may be
	// run more than once and must not keep tx. With a ctx marked by Relaxed,
	// Tx may return before the commit is flushed (see Relaxed).
	Tx(ctx context.Context, fn func(tx Tx) error) error
	// WriteOne runs fn, a write known beforehand to be one InsertMessage
	// and nothing else (Notify and AfterCommit aside), and returns once it
	// is durably committed, as Tx does. A driver whose store commits one
	// statement by itself (PostgreSQL) runs it outside a transaction, in
	// one round trip, and refuses a second operation without running it;
	// others run fn in Tx.
	WriteOne(ctx context.Context, fn func(tx Tx) error) error
	// WritesAlone reports whether WriteOne commits its statement by itself
	// (PostgreSQL), each commit a round trip and a flush of its own: the
	// engine then writes a group of concurrent one-message sends with one
	// InsertMessages in one WriteOne, several groups at once; elsewhere in
	// one Tx, one group at a time.
	WritesAlone() bool
	// Read runs fn against a consistent read-only view.
	Read(ctx context.Context, fn func(r Reader) error) error
	// Listen returns a subscription that fires after commits that notified
	// channel, and on the driver's poll interval as a fallback.
	Listen(channel string) *store.Subscription
	// Notify wakes the listeners of channels outside any caller's
	// transaction.
	Notify(ctx context.Context, channels []string) error
	// NotifyAfterCommit reports whether a notification sent inside a
	// transaction slows other transactions' commits (PostgreSQL serialises
	// NOTIFY on a global lock), so the engine should batch them after commit.
	NotifyAfterCommit() bool
	// HoldLease runs fn while owner holds the named lease, as store.Leases.Hold.
	HoldLease(ctx context.Context, name, owner string, ttl time.Duration, fn func(ctx context.Context), report func(error)) error
}

// Reader reads the broker's state.
type Reader interface {
	// Entity returns the entity whose path is path, compared case-blind.
	Entity(ctx context.Context, path string) (Entity, error)
	// EntityByID returns the entity with id.
	EntityByID(ctx context.Context, id int64) (Entity, error)
	// Entities lists the entities of kind in path order; with topicID, only
	// that topic's subscriptions.
	Entities(ctx context.Context, kind string, topicID int64) ([]Entity, error)
	// Subscriptions lists a topic's subscriptions in the order they were made.
	Subscriptions(ctx context.Context, topicID int64) ([]Entity, error)
	// TopicRules lists the rules of every subscription of a topic, by
	// subscription id then name.
	TopicRules(ctx context.Context, topicID int64) ([]Rule, error)
	// Rules lists an entity's rules by name.
	Rules(ctx context.Context, entityID int64) ([]Rule, error)
	// Counts counts an entity's messages at now.
	Counts(ctx context.Context, entityID, now int64) (Counts, error)
	// Available reports whether the entity (or its dead-letter queue) has an
	// unlocked, visible, active message outside sessions at now.
	Available(ctx context.Context, entityID int64, dlq bool, now int64) (bool, error)
	// Peek returns up to max messages of the entity (or its dead-letter
	// queue) from sequence number from on, in sequence order.
	Peek(ctx context.Context, entityID int64, dlq bool, from int64, max int) ([]Message, error)
	// MessageSessions lists, in id order, the sessions of an entity that have
	// active messages or a state, skipping skip and returning at most top.
	MessageSessions(ctx context.Context, entityID int64, skip, top int) ([]string, error)
	// SessionLock returns a session's lock.
	SessionLock(ctx context.Context, entityID int64, sessionID string) (SessionLock, error)
	// SessionState returns a session's state (nil when none is set).
	SessionState(ctx context.Context, entityID int64, sessionID string) ([]byte, error)
	// AuthRule returns a shared access rule; scope is lower case.
	AuthRule(ctx context.Context, scope, name string) (AuthRule, error)
	// AuthRuleNames lists the names of a scope's shared access rules in order.
	AuthRuleNames(ctx context.Context, scope string) ([]string, error)
}

// Tx changes the broker's state in one transaction.
type Tx interface {
	Reader
	// Notify wakes channel's listeners once the transaction commits.
	Notify(channel string)
	// AfterCommit runs fn once the transaction is durably committed.
	AfterCommit(fn func())
	// Store is the store transaction this one runs in, so that another
	// component's rows (a function invocation's record) commit or roll back
	// with the broker's; nil when the driver keeps the broker's state
	// outside the store.
	Store() store.Tx

	// InsertEntity adds an entity (ErrConflict when its path is taken) and
	// returns its id.
	InsertEntity(ctx context.Context, e Entity) (int64, error)
	// UpdateEntity replaces an entity's settings.
	UpdateEntity(ctx context.Context, id int64, props string, updatedAt int64) error
	// DeleteEntity deletes an entity with its messages, sessions, rules and
	// duplicate-detection history.
	DeleteEntity(ctx context.Context, id int64) error

	// Dedupe records messageID in an entity's duplicate-detection history
	// until until, and reports whether it was already there (unexpired at now).
	Dedupe(ctx context.Context, entityID int64, messageID string, until, now int64) (bool, error)
	// EnsureSession makes sure a session exists (unlocked when new).
	EnsureSession(ctx context.Context, entityID int64, sessionID string) error
	// InsertMessage adds a message and returns its sequence number, or
	// ErrNotFound when its entity no longer exists.
	InsertMessage(ctx context.Context, m Message) (int64, error)
	// InsertMessages adds msgs, each to its own entity, and returns their
	// sequence numbers in msgs' order: 0 for a message whose entity no
	// longer exists, which is not added. On PostgreSQL this is one
	// statement (WriteOne may run it); on SQLite two for up to 256 messages
	// (Tx runs it).
	InsertMessages(ctx context.Context, msgs []Message) ([]int64, error)
	// Claimable returns up to limit unlocked, visible, active messages of an
	// entity (or its dead-letter queue) in one session ("" outside
	// sessions), in sequence order, reserving them for this transaction
	// where other transactions run at once.
	Claimable(ctx context.Context, entityID int64, dlq bool, sessionID string, now int64, limit int) ([]Message, error)
	// Expired returns up to limit unlocked messages, outside dead-letter
	// queues, whose time to live ended by now, oldest expiry first, reserved
	// as Claimable's.
	Expired(ctx context.Context, now int64, limit int) ([]Message, error)
	// MessageByLock returns the message holding lock token, reserved for
	// this transaction.
	MessageByLock(ctx context.Context, token string) (Message, error)
	// MessageByID returns a message, reserved for this transaction.
	MessageByID(ctx context.Context, id int64) (Message, error)
	// Complete deletes the message c names if its lock is still held (and
	// its session's, in a session), and reports whether it did.
	Complete(ctx context.Context, c Completion) (bool, error)
	// CompleteLocked deletes the messages of an entity (or its dead-letter
	// queue) holding the lock tokens whose locks are still held at now (and
	// their sessions' locks, in a session), in one statement per 100
	// tokens, and returns the tokens of the messages it deleted.
	CompleteLocked(ctx context.Context, entityID int64, dlq bool, tokens []string, now int64) ([]string, error)
	// DeleteMessage deletes a message.
	DeleteMessage(ctx context.Context, id int64) error
	// LockMessage locks a message until until with token, counting deliveries.
	LockMessage(ctx context.Context, id int64, token string, until int64, deliveries int) error
	// LockMessages locks messages until until, each with its token and
	// delivery count, in one statement per 100 messages.
	LockMessages(ctx context.Context, locks []MessageLock, until int64) error
	// DeleteMessages deletes messages, in one statement per 100 messages.
	DeleteMessages(ctx context.Context, ids []int64) error
	// ReleaseLock unlocks the message of an entity (or its dead-letter queue)
	// holding lock token without counting the delivery (the message never
	// reached its receiver), and reports whether there was one.
	ReleaseLock(ctx context.Context, entityID int64, dlq bool, token string) (bool, error)
	// RenewMessageLock moves a message's lock to until.
	RenewMessageLock(ctx context.Context, id int64, until int64) error
	// UnlockMessage releases a message's lock and replaces its properties.
	UnlockMessage(ctx context.Context, id int64, props string) error
	// DeferMessage sets a message aside (deferred, unlocked) with props.
	DeferMessage(ctx context.Context, id int64, props string) error
	// DeadLetterMessage moves a message to its entity's dead-letter queue
	// (active, unlocked, out of its session, never expiring) with props.
	DeadLetterMessage(ctx context.Context, id int64, props string) error
	// CancelScheduled deletes the scheduled message seq (not yet visible at
	// now) of a queue, or the copies of it in a topic's subscriptions, and
	// returns how many it deleted.
	CancelScheduled(ctx context.Context, entityID int64, topic bool, seq, now int64) (int64, error)
	// PurgeDeadLetters deletes an entity's dead letters and returns how many.
	PurgeDeadLetters(ctx context.Context, entityID int64) (int64, error)
	// DeadLetters returns an entity's dead letters in sequence order; with
	// seqs, only those.
	DeadLetters(ctx context.Context, entityID int64, seqs []int64) ([]Message, error)
	// PruneDeadLetters deletes up to batch dead letters first seen
	// dead-lettered before before and not locked at now, oldest first, and
	// returns how many it deleted. A dead letter is first seen by the call
	// that finds it in a dead-letter queue.
	PruneDeadLetters(ctx context.Context, before, now int64, batch int) (int64, error)
	// Forget deletes duplicate-detection history expired by now, and idle
	// sessions (unlocked at now, with no state and no messages).
	Forget(ctx context.Context, now int64) error

	// NextSession returns the first session, by id, of an entity that is
	// unlocked at now and has an available message, reserved for this
	// transaction; ErrNotFound when there is none.
	NextSession(ctx context.Context, entityID, now int64) (string, error)
	// LockSession locks a session with token until until if it is unlocked
	// at now, and reports whether it did.
	LockSession(ctx context.Context, entityID int64, sessionID, token string, until, now int64) (bool, error)
	// RenewSessionLock moves a session's lock to until.
	RenewSessionLock(ctx context.Context, entityID int64, sessionID string, until int64) error
	// ReleaseSession releases a session's lock.
	ReleaseSession(ctx context.Context, entityID int64, sessionID string) error
	// ReserveSession returns a session's lock, reserving the session for
	// this transaction.
	ReserveSession(ctx context.Context, entityID int64, sessionID string) (SessionLock, error)
	// SetSessionState stores a session's state; nil clears it.
	SetSessionState(ctx context.Context, entityID int64, sessionID string, state []byte) error

	// InsertRule adds a rule (ErrConflict when the name is taken).
	InsertRule(ctx context.Context, r Rule) error
	// DeleteRule deletes a rule and reports whether it was there.
	DeleteRule(ctx context.Context, entityID int64, name string) (bool, error)

	// InsertAuthRule adds a shared access rule; with ifAbsent, an existing
	// one is kept and no error reported.
	InsertAuthRule(ctx context.Context, r AuthRule, ifAbsent bool) error
	// SetAuthRights replaces a rule's rights and reports whether it exists.
	SetAuthRights(ctx context.Context, scope, name, rights string) (bool, error)
	// SetAuthKey replaces a rule's primary (or, with secondary, secondary)
	// key and reports whether it exists.
	SetAuthKey(ctx context.Context, scope, name string, secondary bool, key string) (bool, error)
	// DeleteAuthRule deletes a rule and reports whether it was there.
	DeleteAuthRule(ctx context.Context, scope, name string) (bool, error)
	// DeleteAuthRules deletes every rule of a scope.
	DeleteAuthRules(ctx context.Context, scope string) error
}

// Entity is a queue, topic or subscription as kept.
type Entity struct {
	ID        int64
	Path      string
	Kind      string
	TopicID   int64  // a subscription's topic
	Props     string // the settings, as JSON
	CreatedAt int64
	UpdatedAt int64
}

// Message is a message as kept.
type Message struct {
	ID          int64 // the sequence number
	EntityID    int64
	DLQ         bool
	Deferred    bool
	VisibleAt   int64
	LockToken   string
	LockedUntil int64
	Deliveries  int
	EnqueuedAt  int64
	ExpiresAt   int64
	Origin      int64 // the first copy's sequence number, for a topic's other copies
	MessageID   string
	SessionID   string // set only in entities that require sessions
	Size        int64
	Props       string // the properties, as JSON
	Body        []byte
}

// Completion names a locked message to complete: the one holding LockToken
// at Now in the entity (or its dead-letter queue), whose sequence number is
// Seq (when not 0), whose message id is MessageID (when set), and whose
// sequence number or message id is Ref (when set).
type Completion struct {
	LockToken      string
	Now            int64
	EntityID       int64
	DLQ            bool
	Seq            int64
	MessageID, Ref string
}

// Counts are an entity's message counts.
type Counts struct {
	Active, Scheduled, Deferred, DeadLetter, Total, Size int64
}

// SessionLock is a session's lock.
type SessionLock struct {
	Token string
	Until int64
}

// Rule is a subscription rule as kept.
type Rule struct {
	EntityID  int64
	Name      string
	Spec      string // the rule, as JSON
	CreatedAt int64
}

// AuthRule is a shared access rule as kept.
type AuthRule struct {
	Scope, Name, Rights      string
	PrimaryKey, SecondaryKey string
}

// MessageLock is one message's new lock (LockMessages).
type MessageLock struct {
	ID         int64
	Token      string
	Deliveries int
}
