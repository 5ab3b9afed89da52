package sql_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"junction/internal/connector/connectortest"
	jsql "junction/internal/connector/sql"
	"junction/internal/store/storetest"
)

const mariaRoot = "root@tcp(127.0.0.1:3306)/"

func suffix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// databases returns a fresh database of each driver as connection values.
func databases(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{
		"sqlite": {"driver": "sqlite", "connectionString": filepath.Join(t.TempDir(), "db.sqlite")},
	}
	pg := storetest.RequirePostgres(t)
	schema := storetest.NewSchema(t)
	c := jsql.New()
	connectortest.Invoke(t, c, map[string]any{"driver": "postgres", "connectionString": pg}, "executeNonQuery", map[string]any{"query": "CREATE SCHEMA " + schema})
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	out["postgres"] = map[string]any{"driver": "postgres", "connectionString": pg + sep + "search_path=" + schema}

	root, err := sql.Open("mysql", mariaRoot)
	if err == nil {
		err = root.Ping()
	}
	if err != nil {
		t.Fatalf("MariaDB at 127.0.0.1:3306 is required (scripts/deps/services.sh starts it): %v", err)
	}
	name := "jt_" + suffix()
	if _, err := root.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("DROP DATABASE " + name); root.Close() })
	out["mysql"] = map[string]any{"driver": "mysql", "connectionString": mariaRoot + name}
	return out
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, jsql.New())
}

func TestOperations(t *testing.T) {
	t.Parallel()
	c := jsql.New()
	for driver, conn := range databases(t) {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ph := func(i int) string {
				if driver == "postgres" {
					return "$" + string(rune('0'+i))
				}
				return "?"
			}
			run := func(op string, in map[string]any) map[string]any {
				t.Helper()
				return connectortest.Invoke(t, c, conn, op, in).(map[string]any)
			}
			run("executeNonQuery", map[string]any{"query": "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, balance INTEGER)"})
			out := run("insertRow", map[string]any{"table": "accounts", "row": map[string]any{"id": 1.0, "name": "Contoso", "balance": 10.0}})
			if out["rowsAffected"] != int64(1) {
				t.Fatalf("insert: %v", out)
			}
			run("upsertRow", map[string]any{"table": "accounts", "row": map[string]any{"id": 1.0, "name": "Contoso Ltd", "balance": 20.0}, "keyColumns": []any{"id"}})
			run("upsertRow", map[string]any{"table": "accounts", "row": map[string]any{"id": 2.0, "name": "Fabrikam", "balance": 5.0}, "keyColumns": []any{"id"}})
			out = run("executeNonQuery", map[string]any{"query": "UPDATE accounts SET balance = balance + 1 WHERE balance > " + ph(1), "parameters": []any{6.0}})
			if out["rowsAffected"] != int64(1) {
				t.Fatalf("update: %v", out)
			}
			out = run("executeQuery", map[string]any{"query": "SELECT id, name, balance FROM accounts WHERE name <> " + ph(1) + " ORDER BY id", "parameters": []any{"nobody"}})
			rows := out["rows"].([]map[string]any)
			if len(rows) != 2 || rows[0]["name"] != "Contoso Ltd" || rows[0]["balance"] != int64(21) || rows[1]["name"] != "Fabrikam" {
				t.Fatalf("query: %#v", out)
			}
			if !reflect.DeepEqual(out["columns"], []string{"id", "name", "balance"}) {
				t.Fatalf("columns: %v", out["columns"])
			}
			// A duplicate key on insert is a plain error, not retryable.
			connectortest.Fails(t, c, conn, "insertRow", map[string]any{"table": "accounts", "row": map[string]any{"id": 1.0, "name": "dup"}}, false)
			connectortest.Fails(t, c, conn, "executeQuery", map[string]any{"query": "SELEC nonsense"}, false)
			ce := connectortest.Fails(t, c, conn, "insertRow", map[string]any{"table": "accounts; DROP TABLE accounts", "row": map[string]any{"id": 3.0}}, false)
			if ce.Status != 400 {
				t.Fatalf("injection attempt: %v", ce)
			}
			connectortest.Fails(t, c, conn, "upsertRow", map[string]any{"table": "accounts", "row": map[string]any{"id": 3.0}, "keyColumns": []any{"name"}}, false)

			switch driver {
			case "postgres":
				run("executeNonQuery", map[string]any{"query": "CREATE PROCEDURE add_one(INOUT n integer) LANGUAGE plpgsql AS $$ BEGIN n := n + 1; END $$"})
				out = run("executeStoredProcedure", map[string]any{"procedure": "add_one", "parameters": []any{41.0}})
			case "mysql":
				run("executeNonQuery", map[string]any{"query": "CREATE PROCEDURE add_one(IN n INT) BEGIN SELECT n + 1 AS n; END"})
				out = run("executeStoredProcedure", map[string]any{"procedure": "add_one", "parameters": []any{41.0}})
			case "sqlite":
				connectortest.Fails(t, c, conn, "executeStoredProcedure", map[string]any{"procedure": "add_one"}, false)
				return
			}
			if rows := out["rows"].([]map[string]any); len(rows) != 1 || rows[0]["n"] != int64(42) {
				t.Fatalf("procedure: %#v", out)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	c := jsql.New()
	q := map[string]any{"query": "SELECT 1"}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		connectortest.Fails(t, c, map[string]any{"driver": "postgres", "connectionString": "postgres://u:pw@127.0.0.1:1/db?connect_timeout=2"}, "executeQuery", q, true)
		connectortest.Fails(t, c, map[string]any{"driver": "mysql", "connectionString": "u:pw@tcp(127.0.0.1:1)/db"}, "executeQuery", q, true)
	})
	t.Run("wrong credentials", func(t *testing.T) {
		t.Parallel()
		ce := connectortest.Fails(t, c, map[string]any{"driver": "mysql", "connectionString": "nobody:s3cret-password@tcp(127.0.0.1:3306)/mysql"}, "executeQuery", q, false)
		if !strings.Contains(ce.Error(), "Access denied") {
			t.Fatalf("error: %v", ce)
		}
		storetest.RequirePostgres(t)
		connectortest.Fails(t, c, map[string]any{"driver": "postgres", "connectionString": "postgres://no_such_role_x:s3cret-password@127.0.0.1:5432/test?sslmode=disable"}, "executeQuery", q, false)
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		pg := storetest.RequirePostgres(t)
		connectortest.Fails(t, c, map[string]any{"driver": "postgres", "connectionString": pg, "timeoutSeconds": 1.0}, "executeQuery", map[string]any{"query": "SELECT pg_sleep(10)"}, true)
	})
	t.Run("bad connection", func(t *testing.T) {
		t.Parallel()
		connectortest.Fails(t, c, map[string]any{"driver": "oracle", "connectionString": "x"}, "executeQuery", q, false)
		connectortest.Fails(t, c, map[string]any{"driver": "mysql"}, "executeQuery", q, false)
	})
}
