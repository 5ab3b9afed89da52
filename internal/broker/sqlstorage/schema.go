package sqlstorage

import (
	"strconv"

	"junction/internal/broker/storage"
	"junction/internal/store"
)

// Migrations are the broker's tables, for the app to apply before New.
func Migrations() []store.Migration {
	return append([]store.Migration{{
		Component: "broker",
		Version:   1,
		Name:      "entities, messages, sessions, rules, duplicate detection, keys",
		SQL:       schema(store.SQLite),
		Postgres:  schema(store.Postgres),
	}, {
		Component: "broker",
		Version:   2,
		Name:      "message indexes of the messages they find only",
		SQL:       partialIndexes,
	}}, retentionMigrations...)
}

// partialIndexes narrows three indexes of broker_messages to the rows their
// queries look for. A message just sent holds no lock, most never expire
// (a queue's default time to live is unbounded) and only a topic's copies
// have an origin: the entries for those (”, Never, 0) were written by every
// send and read by no query. Each query that reads one of these indexes
// repeats the index's condition (see messages.go), which is how both
// databases know the index serves it.
var partialIndexes = `
DROP INDEX broker_messages_lock;
DROP INDEX broker_messages_expiry;
DROP INDEX broker_messages_origin;
CREATE INDEX broker_messages_lock ON broker_messages (lock_token) WHERE ` + locked + `;
CREATE INDEX broker_messages_expiry ON broker_messages (expires_at) WHERE ` + expiring + `;
CREATE INDEX broker_messages_origin ON broker_messages (origin) WHERE ` + copied + `;`

// The conditions of the partial indexes, written into the queries that use
// them exactly as in the index.
var (
	locked   = "lock_token <> ''"
	expiring = "expires_at < " + strconv.FormatInt(storage.Never, 10)
	copied   = "origin <> 0"
)

func schema(d store.Dialect) string {
	return `
CREATE TABLE broker_entities (
	id          ` + d.AutoID() + `,
	path_key    TEXT NOT NULL UNIQUE,
	path        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	topic_id    BIGINT NOT NULL DEFAULT 0,
	props       TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX broker_entities_topic ON broker_entities (topic_id);
CREATE TABLE broker_messages (
	id             ` + d.AutoID() + `,
	entity_id      BIGINT NOT NULL,
	dlq            INTEGER NOT NULL DEFAULT 0,
	state          INTEGER NOT NULL DEFAULT 0,
	visible_at     BIGINT NOT NULL,
	lock_token     TEXT NOT NULL DEFAULT '',
	locked_until   BIGINT NOT NULL DEFAULT 0,
	delivery_count INTEGER NOT NULL DEFAULT 0,
	enqueued_at    BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	origin         BIGINT NOT NULL DEFAULT 0,
	message_id     TEXT NOT NULL DEFAULT '',
	session_id     TEXT NOT NULL DEFAULT '',
	size           BIGINT NOT NULL DEFAULT 0,
	props          TEXT NOT NULL,
	body           ` + d.Blob() + ` NOT NULL
);
CREATE INDEX broker_messages_claim ON broker_messages (entity_id, dlq, state, session_id, id);
CREATE INDEX broker_messages_lock ON broker_messages (lock_token);
CREATE INDEX broker_messages_expiry ON broker_messages (expires_at);
CREATE INDEX broker_messages_origin ON broker_messages (origin);
CREATE TABLE broker_sessions (
	entity_id    BIGINT NOT NULL,
	session_id   TEXT NOT NULL,
	lock_token   TEXT NOT NULL DEFAULT '',
	locked_until BIGINT NOT NULL DEFAULT 0,
	state        ` + d.Blob() + `,
	PRIMARY KEY (entity_id, session_id)
);
CREATE TABLE broker_rules (
	entity_id  BIGINT NOT NULL,
	name       TEXT NOT NULL,
	spec       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (entity_id, name)
);
CREATE TABLE broker_dedupe (
	entity_id  BIGINT NOT NULL,
	message_id TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (entity_id, message_id)
);
CREATE INDEX broker_dedupe_expiry ON broker_dedupe (expires_at);
CREATE TABLE broker_auth_rules (
	scope  TEXT NOT NULL,
	name   TEXT NOT NULL,
	rights TEXT NOT NULL,
	primary_key   TEXT NOT NULL,
	secondary_key TEXT NOT NULL,
	PRIMARY KEY (scope, name)
);
`
}

// retentionMigrations keep when each dead letter was first seen dead-lettered,
// the clock of its time to live (a component of their own, so that they
// never clash with the broker tables' next version). The partial index finds
// dead letters without costing active messages anything.
var retentionMigrations = []store.Migration{{
	Component: "broker-retention", Version: 1, Name: "when dead letters were dead-lettered",
	SQL: `CREATE TABLE broker_deadletter_seen (
		message_id BIGINT PRIMARY KEY,
		seen_at    BIGINT NOT NULL
	);
	CREATE INDEX broker_deadletter_seen_at ON broker_deadletter_seen (seen_at);
	CREATE INDEX broker_messages_dead ON broker_messages (id) WHERE dlq = 1`,
}}
