package function

import (
	"encoding/json"
	"fmt"
	"time"
)

// ServiceBusExtension is host.json's extensions.serviceBus section: the
// Service Bus extension's settings (5.x names at the top level, and the
// messageHandlerOptions and sessionHandlerOptions of 3.x and 4.x). Junction
// honours maxConcurrentCalls, prefetchCount and maxConcurrentSessions, with
// the extension's defaults (16, 0 and 8), and sessionIdleTimeout (3.x and
// 4.x: sessionHandlerOptions.messageWaitTimeout), default one second; the
// others are accepted.
type ServiceBusExtension struct {
	PrefetchCount         int                    `json:"prefetchCount,omitempty"`
	MaxConcurrentCalls    int                    `json:"maxConcurrentCalls,omitempty"`
	MaxConcurrentSessions int                    `json:"maxConcurrentSessions,omitempty"`
	MessageHandlerOptions *ServiceBusHandlerOpts `json:"messageHandlerOptions,omitempty"`
	SessionHandlerOptions *ServiceBusHandlerOpts `json:"sessionHandlerOptions,omitempty"`
	// Settings Azure knows that Junction accepts and ignores.
	AutoCompleteMessages          *bool           `json:"autoCompleteMessages,omitempty"`
	MaxAutoLockRenewalDuration    string          `json:"maxAutoLockRenewalDuration,omitempty"`
	MaxMessageBatchSize           int             `json:"maxMessageBatchSize,omitempty"`
	MinMessageBatchSize           int             `json:"minMessageBatchSize,omitempty"`
	MaxBatchWaitTime              string          `json:"maxBatchWaitTime,omitempty"`
	SessionIdleTimeout            string          `json:"sessionIdleTimeout,omitempty"`
	EnableCrossEntityTransactions bool            `json:"enableCrossEntityTransactions,omitempty"`
	ClientRetryOptions            json.RawMessage `json:"clientRetryOptions,omitempty"`
	TransportType                 string          `json:"transportType,omitempty"`
	WebProxy                      string          `json:"webProxy,omitempty"`
	BatchOptions                  json.RawMessage `json:"batchOptions,omitempty"`
}

// ServiceBusHandlerOpts are the 3.x and 4.x extensions' handler options.
type ServiceBusHandlerOpts struct {
	MaxConcurrentCalls    int    `json:"maxConcurrentCalls,omitempty"`
	MaxConcurrentSessions int    `json:"maxConcurrentSessions,omitempty"`
	AutoComplete          *bool  `json:"autoComplete,omitempty"`
	MaxAutoRenewDuration  string `json:"maxAutoRenewDuration,omitempty"`
	MessageWaitTimeout    string `json:"messageWaitTimeout,omitempty"`
}

// The Service Bus extension's defaults, and Junction's ceilings on them (a
// receive loop per call is a goroutine and a long poll; a prefetched message
// is held locked in memory).
const (
	defaultConcurrentCalls    = 16
	defaultConcurrentSessions = 8
	maxConcurrentCalls        = 1000
	maxPrefetch               = 10000
)

// check reports the first setting out of range, as "name: problem".
func (x ServiceBusExtension) check() string {
	calls, sessions := x.MaxConcurrentCalls, x.MaxConcurrentSessions
	if o := x.MessageHandlerOptions; o != nil && calls == 0 {
		calls = o.MaxConcurrentCalls
	}
	if o := x.SessionHandlerOptions; o != nil && sessions == 0 {
		sessions = o.MaxConcurrentSessions
	}
	switch {
	case calls < 0 || calls > maxConcurrentCalls:
		return fmt.Sprintf("maxConcurrentCalls %d: must be between 1 and %d", calls, maxConcurrentCalls)
	case sessions < 0 || sessions > maxConcurrentCalls:
		return fmt.Sprintf("maxConcurrentSessions %d: must be between 1 and %d", sessions, maxConcurrentCalls)
	case x.SessionIdleTimeout != "" && badSpan(x.SessionIdleTimeout):
		return fmt.Sprintf("sessionIdleTimeout %q: not a positive hh:mm:ss time span", x.SessionIdleTimeout)
	case x.SessionHandlerOptions != nil && x.SessionHandlerOptions.MessageWaitTimeout != "" && badSpan(x.SessionHandlerOptions.MessageWaitTimeout):
		return fmt.Sprintf("sessionHandlerOptions.messageWaitTimeout %q: not a positive hh:mm:ss time span", x.SessionHandlerOptions.MessageWaitTimeout)
	case x.PrefetchCount < 0 || x.PrefetchCount > maxPrefetch:
		return fmt.Sprintf("prefetchCount %d: must be between 0 and %d", x.PrefetchCount, maxPrefetch)
	}
	return ""
}

// concurrentCalls is how many messages of one function are processed at once.
func (x ServiceBusExtension) concurrentCalls() int {
	if x.MaxConcurrentCalls > 0 {
		return x.MaxConcurrentCalls
	}
	if o := x.MessageHandlerOptions; o != nil && o.MaxConcurrentCalls > 0 {
		return o.MaxConcurrentCalls
	}
	return defaultConcurrentCalls
}

// concurrentSessions is how many sessions of one function are processed at
// once, each in order.
func (x ServiceBusExtension) concurrentSessions() int {
	if x.MaxConcurrentSessions > 0 {
		return x.MaxConcurrentSessions
	}
	if o := x.SessionHandlerOptions; o != nil && o.MaxConcurrentSessions > 0 {
		return o.MaxConcurrentSessions
	}
	return defaultConcurrentSessions
}

func badSpan(s string) bool {
	d, err := parseTimeSpan(s)
	return err != nil || d <= 0
}

// sessionIdle is how long a session loop waits for a session's next message
// before it releases the session and accepts another. Azure's default is
// the client's try timeout (a minute), which would hold a loop on a drained
// session; Junction's is one second.
func (x ServiceBusExtension) sessionIdle() time.Duration {
	span := x.SessionIdleTimeout
	if o := x.SessionHandlerOptions; span == "" && o != nil {
		span = o.MessageWaitTimeout
	}
	if d, err := parseTimeSpan(span); err == nil && d > 0 {
		return d
	}
	return time.Second
}
