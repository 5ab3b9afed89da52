package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Migration is one versioned schema change of one component. Versions of a
// component are applied in ascending order, each in its own transaction, once.
type Migration struct {
	Component string // e.g. "auth", "broker"
	Version   int    // 1, 2, 3, ... per component
	Name      string
	SQL       string // statements for both dialects, unless Postgres is set
	Postgres  string // statements for PostgreSQL when they differ
	// Func runs after the SQL, inside the same transaction, for changes that
	// need code (backfills); it may be nil.
	Func func(ctx context.Context, tx Tx) error
}

// migrationsTable holds what has been applied. It is created by drivers at open.
const migrationsTable = `CREATE TABLE IF NOT EXISTS junction_migrations (
	component  TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (component, version)
)`

// migrationLockKey is the PostgreSQL advisory lock that serialises nodes applying
// migrations at the same time.
const migrationLockKey = 7_275_000_001

// ApplyMigrations is the migration runner drivers share.
func ApplyMigrations(ctx context.Context, s Store, migrations []Migration) error {
	sorted := append([]Migration(nil), migrations...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Component != sorted[j].Component {
			return sorted[i].Component < sorted[j].Component
		}
		return sorted[i].Version < sorted[j].Version
	})
	// Several consumers may declare a shared component's migrations (the change
	// log, say): the same migration twice is kept once; two different ones with
	// one version are an error.
	unique := make([]Migration, 0, len(sorted))
	for i, m := range sorted {
		if m.Component == "" || m.Version <= 0 {
			return fmt.Errorf("migration %q: component and a positive version are required", m.Name)
		}
		if i > 0 && sorted[i-1].Component == m.Component && sorted[i-1].Version == m.Version {
			if sorted[i-1].Name != m.Name {
				return fmt.Errorf("migration %s/%d: version declared twice (%q and %q)", m.Component, m.Version, sorted[i-1].Name, m.Name)
			}
			continue
		}
		unique = append(unique, m)
	}
	sorted = unique
	if err := s.Tx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, migrationsTable)
		return err
	}); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	for _, m := range sorted {
		err := s.Tx(ctx, func(tx Tx) error {
			if tx.Dialect() == Postgres {
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrationLockKey)); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM junction_migrations WHERE component = ? AND version = ?", m.Component, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			stmts := m.SQL
			if tx.Dialect() == Postgres && m.Postgres != "" {
				stmts = m.Postgres
			}
			if stmts != "" {
				if _, err := tx.Exec(ctx, stmts); err != nil {
					return err
				}
			}
			if m.Func != nil {
				if err := m.Func(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "INSERT INTO junction_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
				m.Component, m.Version, m.Name, Micros(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s/%d %s: %w", m.Component, m.Version, m.Name, err)
		}
	}
	return nil
}

// Applied lists the applied migrations as "component/version".
func Applied(ctx context.Context, s Store) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.Read(ctx, func(q Querier) error {
		rows, err := q.Query(ctx, "SELECT component, version FROM junction_migrations")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var v int
			if err := rows.Scan(&c, &v); err != nil {
				return err
			}
			out[fmt.Sprintf("%s/%d", c, v)] = true
		}
		return rows.Err()
	})
	return out, err
}
