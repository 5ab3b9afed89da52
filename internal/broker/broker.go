// Package broker is Junction's message broker: durable queues, topics,
// subscriptions and rules with Azure Service Bus semantics (peek-lock,
// sessions, dead-lettering, duplicate detection, scheduling, auto-forwarding),
// kept through its storage contract (package storage; package sqlstorage
// serves it over the store) so that several nodes can share one PostgreSQL
// database.
//
// The broker is independent of any wire protocol: the REST front end
// (package httpapi), the event router, workflows and functions all call the Go
// API of *Broker with entity paths such as "orders",
// "orders/$deadletterqueue" or "events/subscriptions/billing".
package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"junction/internal/broker/storage"
	"junction/internal/lifecycle"
)

// Config is what a Broker is built from: its storage driver and settings
// whose zero values are the production defaults.
type Config struct {
	// Driver stores the broker's entities and messages.
	Driver storage.Driver
	// Now is the broker's clock (default time.Now). Tests inject a fake one.
	Now func() time.Time
	// MaxMessageSize caps a message body in bytes (default 256 KiB).
	MaxMessageSize int
	// SweepInterval is how often the background worker expires messages and
	// wakes receivers of scheduled messages (default 1s).
	SweepInterval time.Duration
	// Owner names this node for leases (default a random id).
	Owner  string
	Logger *slog.Logger
}

// Defaults and limits from the Service Bus documentation.
const (
	DefaultMaxMessageSize  = 256 * 1024
	MaxIDLength            = 128
	MaxPropertySize        = 32 * 1024
	MaxPropertiesSize      = 64 * 1024
	MaxTransferHops        = 4
	DefaultLockDuration    = time.Minute
	MaxLockDuration        = 5 * time.Minute
	DefaultMaxDelivery     = 10
	DefaultDedupeWindow    = 10 * time.Minute
	MinDedupeWindow        = 20 * time.Second
	MaxDedupeWindow        = 7 * 24 * time.Hour
	MaxTTL                 = time.Duration(1<<63 - 1)
	defaultSweepInterval   = time.Second
	sweeperLease           = "broker.sweeper"
	notifyPrefix           = "broker."
	maxReceiveBatch        = 1000
	reasonMaxDelivery      = "MaxDeliveryCountExceeded"
	reasonMaxDeliveryDesc  = "Message could not be consumed after the maximum number of delivery attempts."
	reasonTTLExpired       = "TTLExpiredException"
	reasonTTLExpiredDesc   = "The message expired and was dead lettered."
	reasonHopCount         = "MaxTransferHopCountExceeded"
	reasonHopCountDesc     = "The message was forwarded more than the maximum number of times."
	reasonSessionIDMissing = "SessionIdIsMissing"
)

// Broker is the broker engine over its storage.
type Broker struct {
	s      storage.Driver
	now    func() time.Time
	maxMsg int
	sweep  time.Duration
	owner  string
	log    *slog.Logger
	rules  ruleCache
	// entities caches entity settings by lower-case path (see entityCached).
	entities sync.Map
	notifier notifier
	// settles commits concurrent callers' settlements together.
	settles callGroup[*settleCall]
	// sends writes concurrent one-message sends together (see sendGrouped).
	sends callGroup[*sendCall]
	// queuedSends does so where the store has one writer (see sendQueue).
	queuedSends sendQueue
	// arrived counts the messages committed to each queue and subscription
	// on this node (see Arrived).
	arrived arrivals

	// tasks runs the sweeper and the notifier between Start and Stop.
	tasks lifecycle.Group
}

// New returns a broker over opts.Driver. Call Start to run the background
// worker.
func New(opts Config) *Broker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = defaultSweepInterval
	}
	if opts.Owner == "" {
		opts.Owner = "broker-" + randomHex(6)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{s: opts.Driver, now: opts.Now, maxMsg: opts.MaxMessageSize, sweep: opts.SweepInterval, owner: opts.Owner, log: opts.Logger,
		notifier: notifier{kick: make(chan struct{}, 1)}}
}

// Storage is the driver the broker keeps its entities and messages in.
func (b *Broker) Storage() storage.Driver { return b.s }

// MaxMessageSize is the body limit in bytes.
func (b *Broker) MaxMessageSize() int { return b.maxMsg }

// Start runs the background work: the sweeper (message expiry, wake-ups for
// scheduled messages, duplicate-detection history cleanup) under a lease, so
// that one node at a time does it, and the notifier, which batches wake-ups
// of receivers and sends those of scheduled messages when they become due.
// Safe to call twice.
func (b *Broker) Start(ctx context.Context) error {
	b.tasks.Start(ctx, b.sweeper, b.notifyLoop)
	return nil
}

// Stop ends the background work within ctx's deadline. Safe to call twice
// or without Start.
func (b *Broker) Stop(ctx context.Context) error { return b.tasks.Stop(ctx) }

// sweeper runs sweepLoop while this node holds the sweeper lease.
func (b *Broker) sweeper(ctx context.Context) {
	ttl := 10 * b.sweep
	if ttl < 5*time.Second {
		ttl = 5 * time.Second
	}
	_ = b.s.HoldLease(ctx, sweeperLease, b.owner, ttl, b.sweepLoop, func(err error) {
		b.log.Warn("broker sweeper lease", "err", err)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newLockToken returns a random UUID (version 4), the form Service Bus uses.
func newLockToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ErrorKind classifies broker errors so front ends can map them to their own
// status codes.
type ErrorKind int

// The kinds of Error.
const (
	KindBadRequest            ErrorKind = iota + 1 // invalid input
	KindEntityNotFound                             // the queue, topic, subscription or rule does not exist
	KindConflict                                   // the entity already exists
	KindLockLost                                   // the lock token is unknown or its lock expired
	KindMessageNotFound                            // no message with that sequence number
	KindTooLarge                                   // a body or property over its limit
	KindQuotaExceeded                              // entity full
	KindSessionCannotBeLocked                      // the session is locked by another receiver
	KindSessionLockLost                            // the session lock expired or is unknown
)

// Error is a broker error with a kind and a message meant for the caller.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of a broker error, or 0 for other errors.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
