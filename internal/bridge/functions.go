package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"junction/internal/broker"
	dv "junction/internal/dataverse"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/webapi"
)

// The function host's bindings over the broker, the event router and the
// Web API.
var (
	_ function.Committer      = (*Bridge)(nil)
	_ function.SessionSource  = (*Bridge)(nil)
	_ function.MessageSender  = (*Bridge)(nil)
	_ function.EventPublisher = (*Bridge)(nil)
	_ function.RowWriter      = (*Bridge)(nil)
)

func entityPath(e function.Entity) string {
	switch {
	case e.Queue != "":
		return e.Queue
	case e.Subscription != "":
		return e.Topic + "/subscriptions/" + e.Subscription
	}
	return e.Topic
}

// Receive implements function.MessageSource: up to max messages with a
// peek-lock.
func (b *Bridge) Receive(ctx context.Context, e function.Entity, max int, wait time.Duration) ([]*function.Message, error) {
	return b.receive(ctx, e, broker.ReceiveOptions{Mode: broker.PeekLock, Max: max, Wait: wait})
}

func (b *Bridge) receive(ctx context.Context, e function.Entity, opts broker.ReceiveOptions) ([]*function.Message, error) {
	got, err := b.Broker.Receive(ctx, entityPath(e), opts)
	if err != nil || len(got) == 0 {
		return nil, err
	}
	out := make([]*function.Message, len(got))
	for i, m := range got {
		out[i] = &function.Message{ID: m.MessageID, Body: m.Body, ContentType: m.ContentType, CorrelationID: m.CorrelationID,
			SessionID: m.SessionID, Subject: m.Subject, DeliveryCount: m.DeliveryCount, EnqueuedTime: m.EnqueuedTime,
			Properties: m.Properties, LockToken: m.LockToken}
	}
	return out, nil
}

// AcceptSession implements function.SessionSource.
func (b *Bridge) AcceptSession(ctx context.Context, e function.Entity, wait time.Duration) (function.MessageSession, error) {
	s, err := b.Broker.AcceptSession(ctx, entityPath(e), "", wait)
	if err != nil || s == nil {
		return nil, err
	}
	return &session{b: b, e: e, s: s, lock: time.Until(s.LockedUntil)}, nil
}

// session is an accepted broker session as function.MessageSession.
type session struct {
	b    *Bridge
	e    function.Entity
	s    *broker.Session
	lock time.Duration // the entity's lock duration
}

// Receive implements function.MessageSession, renewing the session's lock
// once half of it is spent.
func (s *session) Receive(ctx context.Context, max int, wait time.Duration) ([]*function.Message, error) {
	if time.Until(s.s.LockedUntil) < s.lock/2 {
		if err := s.b.Broker.RenewSessionLock(ctx, s.s); err != nil {
			return nil, err
		}
	}
	return s.b.receive(ctx, s.e, broker.ReceiveOptions{Mode: broker.PeekLock, Max: max, Wait: wait, Session: s.s})
}

// Close implements function.MessageSession.
func (s *session) Close(ctx context.Context) error { return s.b.Broker.ReleaseSession(ctx, s.s) }

// Complete implements function.MessageSource.
func (b *Bridge) Complete(ctx context.Context, e function.Entity, m *function.Message) error {
	return b.Broker.Complete(ctx, entityPath(e), broker.Settlement{LockToken: m.LockToken})
}

// Abandon implements function.MessageSource; past MaxDeliveryCount the broker
// dead-letters the message.
func (b *Bridge) Abandon(ctx context.Context, e function.Entity, m *function.Message) error {
	return b.Broker.Abandon(ctx, entityPath(e), broker.Settlement{LockToken: m.LockToken})
}

// CompleteWith implements function.Committer: the complete, the outputs and
// the invocation's record in one transaction of the store the broker and the
// function host share.
func (b *Bridge) CompleteWith(ctx context.Context, e function.Entity, m *function.Message, out []function.Output, record func(store.Tx) error) error {
	sends := make([]broker.Outgoing, len(out))
	for i, o := range out {
		sends[i] = broker.Outgoing{Path: entityPath(o.Entity), Messages: brokerMessages(ctx, o.Messages)}
	}
	return b.Broker.CompleteAndSend(ctx, entityPath(e), broker.Settlement{LockToken: m.LockToken}, sends, record)
}

// Send implements function.MessageSender: all messages in one transaction.
func (b *Bridge) Send(ctx context.Context, e function.Entity, msgs []function.Message) error {
	_, err := b.Broker.Send(ctx, entityPath(e), brokerMessages(ctx, msgs)...)
	return err
}

func brokerMessages(ctx context.Context, msgs []function.Message) []broker.Message {
	out := make([]broker.Message, len(msgs))
	for i, m := range msgs {
		out[i] = broker.Message{MessageID: m.ID, Body: m.Body, ContentType: m.ContentType, CorrelationID: m.CorrelationID,
			SessionID: m.SessionID, Subject: m.Subject, Properties: m.Properties}
	}
	return broker.Traced(ctx, out)
}

// Publish implements function.EventPublisher. topicEndpoint is a topic name
// or a Junction topic URL (".../eventgrid/topics/{topic}/api/events").
func (b *Bridge) Publish(ctx context.Context, topicEndpoint string, raw []json.RawMessage) error {
	topic := topicEndpoint
	if u, err := url.Parse(topicEndpoint); err == nil && u.Path != "" && strings.Contains(u.Path, "/topics/") {
		rest := u.Path[strings.Index(u.Path, "/topics/")+len("/topics/"):]
		topic, _, _ = strings.Cut(rest, "/")
		topic, _, _ = strings.Cut(topic, ":")
	}
	body, _ := json.Marshal(raw)
	evs, err := events.DecodeEventGrid(body, topic)
	if err != nil {
		return err
	}
	return b.Router.Publish(ctx, topic, evs)
}

// headerTransport adds a header to every request.
type headerTransport struct {
	base        http.RoundTripper
	name, value string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(t.name, t.value)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// WriteRows implements function.RowWriter through Junction's own Web API, so
// rows get the same validation, lookups and change log as any client's.
// mode "upsert" updates rows that carry their primary id and creates others.
func (b *Bridge) WriteRows(ctx context.Context, entitySet, mode string, rows []map[string]any) error {
	base, key := b.Local()
	client := b.LocalClient
	if tok, _ := ctx.Value(transactionKey{}).(string); tok != "" {
		// Inside a changeset: every write joins its transaction.
		c := http.Client{}
		if client != nil {
			c = *client
		}
		c.Transport = headerTransport{base: c.Transport, name: webapi.TransactionHeader, value: tok}
		client = &c
	}
	c, err := dv.New(dv.Config{URL: base, Token: key, MaxRetries: 2, HTTPClient: client})
	if err != nil {
		return err
	}
	t, ok := b.Records.TableBySet(entitySet)
	if !ok {
		return fmt.Errorf("no table with entity set %q", entitySet)
	}
	for i, row := range rows {
		id, _ := row[t.PrimaryID()].(string)
		if strings.EqualFold(mode, "upsert") && id != "" {
			_, err = c.Upsert(ctx, entitySet, id, row)
		} else {
			_, err = c.Create(ctx, entitySet, row)
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return nil
}

// SendStep implements steps.Broker: a Dataverse step's execution context as
// one message on a queue or topic of Junction's broker.
func (b *Bridge) SendStep(ctx context.Context, path string, body []byte, properties map[string]any) error {
	_, err := b.Broker.Send(ctx, path, broker.Traced(ctx, []broker.Message{{Body: body, ContentType: "application/json", Properties: properties}})...)
	return err
}
