package job

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"junction/internal/job/format"
	"junction/internal/job/sqldb"
	"junction/internal/secrets"
	"junction/internal/sftp"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// fakeClock is a settable clock for schedules and file ages.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	svc   *Service
	store store.Store
	data  string
	clock *fakeClock
	env   map[string]string
}

func setup(t *testing.T, s store.Store) *bundle { return setupB(t, s) }

func setupB(t testing.TB, s store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, Migrations()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: s, data: t.TempDir(), clock: &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}, env: map[string]string{}}
	b.svc = New(Config{Store: s, NodeID: "node-a", DataDir: b.data, Now: b.clock.Now,
		Logger:  testLogger(t),
		Secrets: testSecrets(b.env)})
	return b
}

func testLogger(t testing.TB) *slog.Logger {
	if tt, ok := t.(*testing.T); ok {
		return slog.New(slog.NewTextHandler(testWriter{tt}, nil))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// define stores spec as an API job.
func (b *bundle) define(t testing.TB, spec Spec) *Spec {
	t.Helper()
	if ps := spec.Check(); len(ps) > 0 {
		t.Fatalf("spec problems: %v", ps)
	}
	b.svc.mu.Lock()
	b.svc.project[spec.Name] = &spec
	b.svc.mu.Unlock()
	return &spec
}

// runNow queues a run and carries it out on this goroutine.
func (b *bundle) runNow(t *testing.T, job, file string) Run {
	t.Helper()
	ctx := context.Background()
	id, err := enqueue(ctx, b.store, job, "manual", "", file, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b.drain(t, id)
}

// drain carries out queued runs until run id has ended.
func (b *bundle) drain(t *testing.T, id int64) Run { return drainB(t, b, id) }

func drainB(t testing.TB, b *bundle, id int64) Run {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		run, ok, err := claim(ctx, b.store, b.svc.cfg.NodeID, b.svc.cfg.LeaseTTL)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		b.svc.execute(ctx, run)
	}
	r, err := getRun(ctx, b.store, mustJob(t, b, id), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJob(t testing.TB, b *bundle, id int64) string {
	var job string
	err := b.store.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT job FROM batch_runs WHERE id = ?", id).Scan(&job)
	})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sqlTarget is a fresh database of one driver for sinks and sources.
type sqlTarget struct {
	driver string
	dsn    string
	db     *sql.DB
}

// newSQLTargetB returns a fresh database's DSN for benchmarks.
func newSQLTargetB(t testing.TB, driver string) string {
	if tt, ok := t.(*testing.T); ok {
		return newSQLTarget(tt, driver).dsn
	}
	if driver == "sqlite" {
		return filepath.Join(t.TempDir(), "bench.db")
	}
	base := storetest.RequirePostgres(t)
	schema := storetest.NewSchema(t)
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	conn.Exec(context.Background(), "CREATE SCHEMA "+schema)
	conn.Close(context.Background())
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func newSQLTarget(t *testing.T, driver string) sqlTarget {
	t.Helper()
	ctx := context.Background()
	switch driver {
	case "sqlite":
		dsn := filepath.Join(t.TempDir(), "warehouse.db")
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlTarget{driver, dsn, db}
	case "postgres":
		base := storetest.RequirePostgres(t)
		schema := storetest.NewSchema(t)
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		dsn := base + sep + "search_path=" + schema
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlTarget{driver, dsn, db}
	case "mysql":
		root := os.Getenv("JUNCTION_TEST_MYSQL")
		if root == "" {
			root = "root@tcp(127.0.0.1:3306)/"
		}
		admin, err := sql.Open("mysql", root)
		if err == nil {
			err = admin.PingContext(ctx)
		}
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("MariaDB is required in CI: %v", err)
			}
			t.Skipf("SKIPPING MYSQL: %s unreachable (%v); set JUNCTION_TEST_MYSQL", root, err)
		}
		name := fmt.Sprintf("jt_%d", time.Now().UnixNano())
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
		dsn := root + name + "?parseTime=true"
		if strings.HasSuffix(root, "/") == false {
			dsn = root + "/" + name + "?parseTime=true"
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlTarget{driver, dsn, db}
	}
	t.Fatalf("unknown driver %s", driver)
	return sqlTarget{}
}

func (s sqlTarget) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if s.driver == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	if _, err := s.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rows returns a query's rows as text, one "a|b|c" string per row.
func (s sqlTarget) rows(t *testing.T, q string) []string {
	t.Helper()
	rows, err := s.db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			v = sqldb.Value(v)
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format("2006-01-02")
			}
			if str, ok := v.(string); ok && s.driver == "mysql" && strings.Contains(str, ".") {
				if d, err := format.Convert(str, format.TypeDecimal, ""); err == nil {
					v = d // DECIMAL(38,10) pads its scale
				}
			}
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// testSecrets resolves the variables the tests set in env, allowed by name
// (--secrets-allow) as an admin would.
func testSecrets(env map[string]string) *secrets.Resolver {
	r, err := secrets.New(secrets.Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Allow: []string{"SRC", "WAREHOUSE", "W", "PARTNER_PW", "PW", "S"}})
	if err != nil {
		panic(err)
	}
	return r
}

// startRemote starts a built-in SFTP server, to be reached as a remote one,
// with user whose password is pw; it returns the server and its host key's
// fingerprint.
func startRemote(t *testing.T, user, pw string) (*sftp.Server, string) {
	t.Helper()
	remote := sftp.New(sftp.Options{DataDir: t.TempDir(), Secrets: testSecrets(map[string]string{"PW": pw})})
	if err := remote.Configure(sftp.Config{Listen: "127.0.0.1:0", Users: []sftp.User{{Name: user, Password: "${PW}"}}}); err != nil {
		t.Fatal(err)
	}
	if err := remote.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Stop(context.Background()) })
	fp, err := remote.HostKeyFingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return remote, fp
}

// warehouseJob is a bundle on a SQLite store with a warehouse of driver whose
// DSN the jobs name as ${W}.
func warehouseJob(t *testing.T, driver string) (*bundle, store.Store, sqlTarget) {
	t.Helper()
	s := storetest.Open(t, store.SQLite)
	b := setup(t, s)
	target := newSQLTarget(t, driver)
	b.env["W"] = target.dsn
	return b, s, target
}
