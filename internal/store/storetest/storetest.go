// Package storetest opens real stores for tests and holds the conformance suite
// that every storage driver must pass. Tests of any subsystem call Each to run
// against SQLite and PostgreSQL alike.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"junction/internal/store"
	"junction/internal/store/postgres"
	"junction/internal/store/sqlite"
)

// DefaultPostgres is the local server the suite uses unless
// JUNCTION_TEST_POSTGRES names another.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the PostgreSQL URL for tests.
func PostgresURL() string {
	if u := os.Getenv("JUNCTION_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgres
}

var (
	pgOnce  sync.Once
	pgError error
)

// RequirePostgres skips t when PostgreSQL cannot be reached, loudly, unless
// JUNCTION_TEST_POSTGRES_REQUIRED=1, in which case it fails t.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, PostgresURL())
		if err != nil {
			pgError = err
			return
		}
		conn.Close(ctx)
	})
	if pgError != nil {
		if os.Getenv("JUNCTION_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatalf("PostgreSQL is required but unreachable at %s: %v", PostgresURL(), pgError)
		}
		t.Skipf("SKIPPING POSTGRESQL HALF: %s unreachable (%v); set JUNCTION_TEST_POSTGRES", PostgresURL(), pgError)
	}
	return PostgresURL()
}

// Drivers are the names Each runs over.
var Drivers = []store.Dialect{store.SQLite, store.Postgres}

// Each runs fn as a parallel subtest on a fresh store of every driver.
func Each(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, empty store of dialect d, closed when t ends. On
// PostgreSQL each store lives in its own schema, dropped at the end.
func Open(t testing.TB, d store.Dialect) store.Store {
	t.Helper()
	s, _ := OpenWith(t, d, "")
	return s
}

// OpenWith is Open that also returns the location: the SQLite file path, or the
// PostgreSQL schema. A non-empty at reopens that location instead of a new one.
func OpenWith(t testing.TB, d store.Dialect, at string) (store.Store, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch d {
	case store.SQLite:
		path := at
		if path == "" {
			path = filepath.Join(t.TempDir(), "junction.db")
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{Poll: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s, path
	case store.Postgres:
		url := RequirePostgres(t)
		schema := at
		if schema == "" {
			schema = NewSchema(t)
		}
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, Poll: 200 * time.Millisecond, MaxConns: 8})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s, schema
	}
	t.Fatalf("unknown driver %q", d)
	return nil, ""
}

// OpenPostgresConns opens a PostgreSQL store in a schema of its own with a
// pool of conns connections, for tests that need to know which connection a
// statement runs on; it is closed when t ends.
func OpenPostgresConns(t testing.TB, conns int) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), RequirePostgres(t), postgres.Options{Schema: NewSchema(t), Poll: 200 * time.Millisecond, MaxConns: conns})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewSchema names a fresh PostgreSQL schema and drops it when t ends.
func NewSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	t.Cleanup(func() { DropSchema(schema) })
	return schema
}

// DropSchema removes a test schema and everything in it.
func DropSchema(schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresURL())
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, fmt.Sprintf("DROP SCHEMA IF EXISTS %s CASCADE", pgx.Identifier{schema}.Sanitize()))
}

// NewDatabase creates an empty database on the test server, dropped when t
// ends, and returns its URL: for a database that must not be the store's own
// (a job's warehouse, say).
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "d_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
