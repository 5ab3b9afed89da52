package events

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"junction/internal/store"
	"junction/internal/trace"
)

// channel is notified after commits that added deliveries or changed subscriptions.
const channel = "events"

// Subscription states (provisioningState in the resource).
const (
	StateCreating       = "Creating"
	StateAwaitingManual = "AwaitingManualAction"
	StateSucceeded      = "Succeeded"
	StateFailed         = "Failed"
)

// Migrations are the event router's tables.
func Migrations() []store.Migration {
	mk := func(d store.Dialect) string {
		return `CREATE TABLE events_topics (
			name         TEXT PRIMARY KEY,
			kind         TEXT NOT NULL,
			input_schema TEXT NOT NULL,
			key1         TEXT NOT NULL,
			key2         TEXT NOT NULL,
			origin       TEXT NOT NULL,
			created_at   BIGINT NOT NULL,
			updated_at   BIGINT NOT NULL
		);
		CREATE TABLE events_subscriptions (
			topic           TEXT NOT NULL,
			name            TEXT NOT NULL,
			definition      TEXT NOT NULL,
			pull            INTEGER NOT NULL,
			state           TEXT NOT NULL,
			state_detail    TEXT NOT NULL,
			validation_code TEXT NOT NULL,
			validation_url  TEXT NOT NULL,
			validation_until BIGINT NOT NULL,
			secrets         TEXT NOT NULL,
			failures        INTEGER NOT NULL,
			paused_until    BIGINT NOT NULL,
			origin          TEXT NOT NULL,
			created_at      BIGINT NOT NULL,
			updated_at      BIGINT NOT NULL,
			PRIMARY KEY (topic, name)
		);
		CREATE TABLE events_events (
			seq          ` + d.AutoID() + `,
			topic        TEXT NOT NULL,
			body         TEXT NOT NULL,
			size         INTEGER NOT NULL,
			published_at BIGINT NOT NULL,
			ord          INTEGER NOT NULL DEFAULT 0
		);
		CREATE TABLE events_deliveries (
			id              ` + d.AutoID() + `,
			topic           TEXT NOT NULL,
			subscription    TEXT NOT NULL,
			event_seq       BIGINT NOT NULL,
			attempts        INTEGER NOT NULL,
			next_at         BIGINT NOT NULL,
			lease_owner     TEXT NOT NULL,
			lease_until     BIGINT NOT NULL,
			lock_token      TEXT NOT NULL,
			last_status     INTEGER NOT NULL,
			last_outcome    TEXT NOT NULL,
			last_attempt_at BIGINT NOT NULL,
			published_at    BIGINT NOT NULL
		);
		CREATE INDEX events_deliveries_due ON events_deliveries (next_at);
		CREATE INDEX events_deliveries_sub ON events_deliveries (topic, subscription, next_at);
		CREATE INDEX events_deliveries_event ON events_deliveries (event_seq);
		CREATE INDEX events_deliveries_lock ON events_deliveries (lock_token);
		CREATE TABLE events_deadletters (
			id                ` + d.AutoID() + `,
			topic             TEXT NOT NULL,
			subscription      TEXT NOT NULL,
			body              TEXT NOT NULL,
			reason            TEXT NOT NULL,
			attempts          INTEGER NOT NULL,
			last_outcome      TEXT NOT NULL,
			last_status       INTEGER NOT NULL,
			publish_time      BIGINT NOT NULL,
			last_attempt_time BIGINT NOT NULL,
			created_at        BIGINT NOT NULL
		);
		CREATE INDEX events_deadletters_sub ON events_deadletters (topic, subscription, id);
		CREATE TABLE events_cursors (
			name TEXT PRIMARY KEY,
			seq  BIGINT NOT NULL
		);`
	}
	return []store.Migration{
		{Component: "events", Version: 1, Name: "topics, subscriptions, events, deliveries, dead letters",
			SQL: mk(store.SQLite), Postgres: mk(store.Postgres)},
		{Component: "events", Version: 2, Name: "due deliveries in claim order",
			SQL: `DROP INDEX events_deliveries_due;
				CREATE INDEX events_deliveries_due ON events_deliveries (next_at, id);`},
		{Component: "events", Version: 3, Name: "Dataverse webhook requests seen",
			SQL: `CREATE TABLE events_dataverse_requests (
				request_id TEXT PRIMARY KEY,
				seq        BIGINT NOT NULL,
				at         BIGINT NOT NULL
			)`},
		// The change feed's position is a changelog.Cursor now; changelog/3
		// moved it out of this table.
		{Component: "events", Version: 4, Name: "change feed cursor in the change log",
			SQL: `DROP TABLE IF EXISTS events_cursors`},
		// A subscription's lane picks the delivery round that serves it
		// (lane % Rounds); 0 until assignLanes sets it.
		{Component: "events", Version: 5, Name: "subscription delivery lanes",
			SQL: `ALTER TABLE events_subscriptions ADD COLUMN lane INTEGER NOT NULL DEFAULT 0`},
	}
}

// laneOf is the delivery lane of a subscription, 1 to 64: a hash of its
// names, so that each node's rounds share the subscriptions alike.
func laneOf(topic, name string) int {
	h := fnv.New32a()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int(h.Sum32()%64) + 1
}

// assignLanes gives subscriptions made before lanes existed their lane.
func assignLanes(ctx context.Context, st store.Store) error {
	return st.Tx(ctx, func(tx store.Tx) error {
		type key struct{ topic, name string }
		keys, err := store.Collect(ctx, tx, func(rows *sql.Rows) (key, error) {
			var k key
			return k, rows.Scan(&k.topic, &k.name)
		}, `SELECT topic, name FROM events_subscriptions WHERE lane = 0`)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `UPDATE events_subscriptions SET lane = ? WHERE topic = ? AND name = ?`, laneOf(k.topic, k.name), k.topic, k.name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Sentinel errors of the router.
var (
	ErrTopicNotFound        = errors.New("topic not found")
	ErrSubscriptionNotFound = errors.New("event subscription not found")
)

// topicRow is a stored topic.
type topicRow struct {
	Name        string
	Kind        string
	InputSchema string
	Key1, Key2  string
	Origin      string
	Created     time.Time
	Updated     time.Time
}

// subRow is a stored event subscription.
type subRow struct {
	Topic, Name     string
	Props           SubscriptionProperties
	State           string
	StateDetail     string
	ValidationCode  string
	ValidationURL   string
	ValidationUntil time.Time
	Secrets         []string
	Failures        int
	PausedUntil     time.Time
	Origin          string
	Created         time.Time
	Updated         time.Time
}

// newKey returns an access key the way Event Grid makes them: 32 random bytes in
// base64 (the SAS signature base64-decodes it).
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newSecret returns a Standard Webhooks signing secret.
func newSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

const topicCols = `name, kind, input_schema, key1, key2, origin, created_at, updated_at`

func scanTopic(sc interface{ Scan(...any) error }) (topicRow, error) {
	var t topicRow
	var c, u int64
	err := sc.Scan(&t.Name, &t.Kind, &t.InputSchema, &t.Key1, &t.Key2, &t.Origin, &c, &u)
	t.Created, t.Updated = store.FromMicros(c), store.FromMicros(u)
	return t, err
}

func scanTopicRows(rows *sql.Rows) (topicRow, error) { return scanTopic(rows) }

func getTopic(ctx context.Context, q store.Querier, name string) (topicRow, error) {
	t, err := scanTopic(q.QueryRow(ctx, `SELECT `+topicCols+` FROM events_topics WHERE name = ?`, name))
	if errors.Is(err, store.ErrNotFound) {
		return t, ErrTopicNotFound
	}
	return t, err
}

func listTopics(ctx context.Context, q store.Querier) ([]topicRow, error) {
	return store.Collect(ctx, q, scanTopicRows, `SELECT `+topicCols+` FROM events_topics ORDER BY name`)
}

// putTopic creates or updates a topic, keeping its keys; it reports whether it
// was created.
func putTopic(ctx context.Context, tx store.Tx, name string, p TopicProperties, kind, origin string, now time.Time) (bool, error) {
	old, err := getTopic(ctx, tx, name)
	switch {
	case errors.Is(err, ErrTopicNotFound):
		_, err = tx.Exec(ctx, `INSERT INTO events_topics (`+topicCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			name, kind, p.InputSchema, newKey(), newKey(), origin, store.Micros(now), store.Micros(now))
		return true, err
	case err != nil:
		return false, err
	}
	if old.Kind == KindSystem && kind != KindSystem {
		return false, fieldErr("name", "%q is a system topic and cannot be changed", name)
	}
	_, err = tx.Exec(ctx, `UPDATE events_topics SET kind = ?, input_schema = ?, origin = ?, updated_at = ? WHERE name = ?`,
		kind, p.InputSchema, origin, store.Micros(now), name)
	return false, err
}

const subCols = `topic, name, definition, state, state_detail, validation_code, validation_url, validation_until, secrets, failures, paused_until, origin, created_at, updated_at`

func scanSub(sc interface{ Scan(...any) error }) (subRow, error) {
	var s subRow
	var def, secrets string
	var vu, pu, c, u int64
	err := sc.Scan(&s.Topic, &s.Name, &def, &s.State, &s.StateDetail, &s.ValidationCode, &s.ValidationURL, &vu, &secrets, &s.Failures, &pu, &s.Origin, &c, &u)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(def), &s.Props); err != nil {
		return s, fmt.Errorf("subscription %s/%s: %w", s.Topic, s.Name, err)
	}
	_ = json.Unmarshal([]byte(secrets), &s.Secrets)
	s.ValidationUntil, s.PausedUntil = store.FromMicros(vu), store.FromMicros(pu)
	s.Created, s.Updated = store.FromMicros(c), store.FromMicros(u)
	return s, nil
}

func scanSubRows(rows *sql.Rows) (subRow, error) { return scanSub(rows) }

func getSub(ctx context.Context, q store.Querier, topic, name string) (subRow, error) {
	s, err := scanSub(q.QueryRow(ctx, `SELECT `+subCols+` FROM events_subscriptions WHERE topic = ? AND name = ?`, topic, name))
	if errors.Is(err, store.ErrNotFound) {
		return s, ErrSubscriptionNotFound
	}
	return s, err
}

func listSubs(ctx context.Context, q store.Querier, topic string) ([]subRow, error) {
	return store.Collect(ctx, q, scanSubRows, `SELECT `+subCols+` FROM events_subscriptions WHERE topic = ? ORDER BY name`, topic)
}

// putSub creates or replaces a subscription. A changed webhook endpoint or
// delivery schema needs a new validation handshake.
func putSub(ctx context.Context, tx store.Tx, topic, name string, p SubscriptionProperties, origin, validationBase string, now time.Time) (bool, error) {
	def, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	state := StateSucceeded
	if needsHandshake(&p) {
		state = StateCreating
	}
	pull := 0
	if p.pull() {
		pull = 1
	}
	old, err := getSub(ctx, tx, topic, name)
	switch {
	case errors.Is(err, ErrSubscriptionNotFound):
		code := newToken()
		secrets, _ := json.Marshal([]string{newSecret()})
		_, err = tx.Exec(ctx, `INSERT INTO events_subscriptions (topic, name, definition, pull, state, state_detail, validation_code,
			validation_url, validation_until, secrets, failures, paused_until, origin, created_at, updated_at, lane)
			VALUES (?, ?, ?, ?, ?, '', ?, ?, 0, ?, 0, 0, ?, ?, ?, ?)`,
			topic, name, string(def), pull, state, code, validationBase, string(secrets), origin, store.Micros(now), store.Micros(now), laneOf(topic, name))
		if err == nil {
			tx.Notify(channel)
		}
		return true, err
	case err != nil:
		return false, err
	}
	if state == StateCreating && old.State == StateSucceeded && sameEndpoint(&old.Props, &p) {
		state = StateSucceeded
	}
	code := old.ValidationCode
	if state == StateCreating {
		code = newToken()
	}
	_, err = tx.Exec(ctx, `UPDATE events_subscriptions SET definition = ?, pull = ?, state = ?, state_detail = '', validation_code = ?,
		validation_url = ?, origin = ?, updated_at = ? WHERE topic = ? AND name = ?`,
		string(def), pull, state, code, validationBase, origin, store.Micros(now), topic, name)
	if err == nil {
		tx.Notify(channel)
	}
	return false, err
}

func needsHandshake(p *SubscriptionProperties) bool {
	return !p.pull() && p.Destination != nil && p.Destination.EndpointType == EndpointWebHook
}

func sameEndpoint(a, b *SubscriptionProperties) bool {
	return a.Destination != nil && b.Destination != nil && a.Destination.EndpointType == b.Destination.EndpointType &&
		a.Destination.Properties.EndpointURL == b.Destination.Properties.EndpointURL && a.EventDeliverySchema == b.EventDeliverySchema
}

// deleteSub removes a subscription with its pending deliveries and dead letters.
func deleteSub(ctx context.Context, tx store.Tx, topic, name string) error {
	res, err := tx.Exec(ctx, `DELETE FROM events_subscriptions WHERE topic = ? AND name = ?`, topic, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrSubscriptionNotFound
	}
	if _, err := tx.Exec(ctx, `DELETE FROM events_deliveries WHERE topic = ? AND subscription = ?`, topic, name); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM events_deadletters WHERE topic = ? AND subscription = ?`, topic, name)
	return err
}

// deleteTopic removes a topic and everything under it.
func deleteTopic(ctx context.Context, tx store.Tx, name string) error {
	res, err := tx.Exec(ctx, `DELETE FROM events_topics WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrTopicNotFound
	}
	for _, q := range []string{`DELETE FROM events_subscriptions WHERE topic = ?`, `DELETE FROM events_deliveries WHERE topic = ?`,
		`DELETE FROM events_deadletters WHERE topic = ?`, `DELETE FROM events_events WHERE topic = ?`} {
		if _, err := tx.Exec(ctx, q, name); err != nil {
			return err
		}
	}
	return nil
}

// publishTx stores events on topic and queues one delivery per subscription
// whose filter matches, inside tx. Rows go in multi-row statements: a publish
// of 100 events to one subscription is two statements.
func publishTx(ctx context.Context, tx store.Tx, topic string, evs []Event, now time.Time) (int, error) {
	subs, err := listSubs(ctx, tx, topic)
	if err != nil {
		return 0, err
	}
	nowUS := store.Micros(now)
	type pending struct {
		body    []byte
		matched []string
	}
	var keep []pending
	for i := range evs {
		if evs[i].Trace == "" {
			evs[i].Trace = eventTrace(ctx, &evs[i])
		}
		var matched []string
		for j := range subs {
			if subs[j].State != StateFailed && subs[j].Props.Filter.Match(&evs[i]) {
				matched = append(matched, subs[j].Name)
			}
		}
		if len(matched) == 0 {
			continue // nobody listens: Event Grid drops such events too
		}
		body, err := json.Marshal(&evs[i])
		if err != nil {
			return 0, err
		}
		keep = append(keep, pending{body, matched})
	}
	queued := 0
	const eventChunk = 500
	for lo := 0; lo < len(keep); lo += eventChunk {
		chunk := keep[lo:min(lo+eventChunk, len(keep))]
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*5)
		sb.WriteString(`INSERT INTO events_events (topic, body, size, published_at, ord) VALUES `)
		for i, p := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, topic, string(p.body), len(p.body), nowUS, i)
		}
		sb.WriteString(" RETURNING seq, ord")
		type stored struct {
			seq int64
			ord int
		}
		got, err := store.Collect(ctx, tx, func(rows *sql.Rows) (s stored, err error) {
			err = rows.Scan(&s.seq, &s.ord)
			return s, err
		}, sb.String(), args...)
		if err != nil {
			return 0, fmt.Errorf("store events: %w", err)
		}
		seqs := make([]int64, len(chunk))
		for _, s := range got {
			seqs[s.ord] = s.seq
		}
		var dsb strings.Builder
		var dargs []any
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, `INSERT INTO events_deliveries (topic, subscription, event_seq, attempts, next_at, lease_owner,
				lease_until, lock_token, last_status, last_outcome, last_attempt_at, published_at) VALUES `+dsb.String(), dargs...)
			dsb.Reset()
			dargs = dargs[:0]
			queued += n
			n = 0
			return err
		}
		for i, p := range chunk {
			for _, sub := range p.matched {
				if n > 0 {
					dsb.WriteByte(',')
				}
				dsb.WriteString("(?, ?, ?, 0, ?, '', 0, '', 0, '', 0, ?)")
				dargs = append(dargs, topic, sub, seqs[i], nowUS, nowUS)
				n++
				if n == 1000 {
					if err := flush(); err != nil {
						return 0, fmt.Errorf("queue deliveries: %w", err)
					}
				}
			}
		}
		if err := flush(); err != nil {
			return 0, fmt.Errorf("queue deliveries: %w", err)
		}
	}
	if queued > 0 {
		tx.Notify(channel)
	}
	return queued, nil
}

// eventTrace is the trace an event joins: its CloudEvents distributed
// tracing extension when it has a valid one, else ctx's.
func eventTrace(ctx context.Context, e *Event) string {
	if tp, ok := e.Extensions["traceparent"].(string); ok {
		if c, ok := trace.Parse(tp); ok {
			return c.String()
		}
	}
	return trace.Parent(ctx)
}
