// Package sql is the SQL connector: queries with parameters, statements, row
// inserts and upserts, and stored procedures on PostgreSQL (pgx), MySQL and
// MariaDB (go-sql-driver/mysql) and SQLite (modernc, pure Go).
package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"junction/internal/connector"
)

// Name is the connector's name in the registry.
const Name = "sql"

// Drivers the connector speaks.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	SQLite   = "sqlite"
)

type pools struct {
	mu sync.Mutex
	m  map[string]*sql.DB
}

// New returns the SQL connector. It keeps one connection pool per
// connection string; pools close their idle connections after five minutes.
func New() *connector.Connector {
	p := &pools{m: map[string]*sql.DB{}}
	params := map[string]any{"type": "array", "description": "positional parameters, bound to the query's placeholders ($1 on PostgreSQL, ? on MySQL and SQLite)", "items": map[string]any{}}
	rowsOut := map[string]any{"type": "object", "properties": map[string]any{
		"columns": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"rows":    map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
	}}
	affected := map[string]any{"type": "object", "properties": map[string]any{"rowsAffected": map[string]any{"type": "integer"}}}
	ident := map[string]any{"type": "string", "pattern": identPattern}
	return &connector.Connector{
		Name:        Name,
		Title:       "SQL",
		Description: "Query and change PostgreSQL, MySQL/MariaDB and SQLite databases.",
		Params: []connector.Param{
			{Name: "driver", Type: "string", Required: true, Description: "postgres, mysql (MySQL and MariaDB) or sqlite"},
			{Name: "connectionString", Type: "string", Required: true, Secret: true, Description: "postgres://user:pass@host:5432/db, user:pass@tcp(host:3306)/db (go-sql-driver DSN), or a SQLite file path"},
			{Name: "timeoutSeconds", Type: "integer", Default: 30, Description: "time limit of one operation"},
		},
		Operations: []connector.Operation{
			{ID: "executeQuery", Kind: connector.Action, Summary: "Run a query and return its rows",
				Inputs:  schema([]string{"query"}, map[string]any{"query": map[string]any{"type": "string"}, "parameters": params}),
				Outputs: rowsOut, Invoke: p.op("executeQuery", executeQuery)},
			{ID: "executeNonQuery", Kind: connector.Action, Summary: "Run a statement and return the number of rows it changed",
				Inputs:  schema([]string{"query"}, map[string]any{"query": map[string]any{"type": "string"}, "parameters": params}),
				Outputs: affected, Invoke: p.op("executeNonQuery", executeNonQuery)},
			{ID: "insertRow", Kind: connector.Action, Summary: "Insert a row",
				Inputs:  schema([]string{"table", "row"}, map[string]any{"table": ident, "row": map[string]any{"type": "object"}}),
				Outputs: affected, Invoke: p.op("insertRow", insertRow)},
			{ID: "upsertRow", Kind: connector.Action, Summary: "Insert a row, or update the row with the same key",
				Inputs: schema([]string{"table", "row", "keyColumns"}, map[string]any{"table": ident, "row": map[string]any{"type": "object"},
					"keyColumns": map[string]any{"type": "array", "items": ident, "minItems": 1, "description": "the columns of a primary or unique key"}}),
				Outputs: affected, Invoke: p.op("upsertRow", upsertRow)},
			{ID: "executeStoredProcedure", Kind: connector.Action, Summary: "Call a stored procedure (PostgreSQL and MySQL) and return the rows it yields",
				Inputs:  schema([]string{"procedure"}, map[string]any{"procedure": ident, "parameters": params}),
				Outputs: rowsOut, Invoke: p.op("executeStoredProcedure", executeStoredProcedure)},
		},
	}
}

func schema(required []string, props map[string]any) connector.Schema {
	return connector.Schema{"type": "object", "required": required, "properties": props, "additionalProperties": false}
}

const identPattern = `^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`

var identRE = regexp.MustCompile(identPattern)

type db struct {
	*sql.DB
	driver string
}

type opFunc func(ctx context.Context, d db, in connector.Values) (any, error)

func (p *pools) op(name string, fn opFunc) func(context.Context, connector.Connection, map[string]any) (any, error) {
	return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
		d, timeout, err := p.open(conn)
		if err != nil {
			return nil, connector.BadInput(Name, name, err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := fn(ctx, d, connector.Values(inputs))
		if err != nil {
			var bad badInput
			if errors.As(err, &bad) {
				return nil, connector.BadInput(Name, name, bad.error)
			}
			return nil, &connector.Error{Connector: Name, Operation: name, Retryable: retryable(err), Err: redact(err, conn)}
		}
		return out, nil
	}
}

type badInput struct{ error }

func bad(format string, args ...any) error { return badInput{fmt.Errorf(format, args...)} }

func (p *pools) open(conn connector.Connection) (db, time.Duration, error) {
	v := connector.Values(conn.Values)
	driver, err := v.Required("driver")
	if err != nil {
		return db{}, 0, err
	}
	dsn, err := v.Required("connectionString")
	if err != nil {
		return db{}, 0, err
	}
	secs, err := v.Int("timeoutSeconds", 30)
	if err != nil || secs <= 0 {
		return db{}, 0, fmt.Errorf("timeoutSeconds must be a positive integer")
	}
	var name string
	switch driver {
	case Postgres:
		name = "pgx"
	case MySQL:
		name = "mysql"
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return db{}, 0, errors.New("connectionString is not a MySQL DSN (user:pass@tcp(host:3306)/db)")
		}
		cfg.ParseTime = true
		cfg.MultiStatements = false
		if cfg.Timeout == 0 {
			cfg.Timeout = 10 * time.Second
		}
		dsn = cfg.FormatDSN()
	case SQLite:
		name = "sqlite"
	default:
		return db{}, 0, fmt.Errorf("driver %q must be postgres, mysql or sqlite", driver)
	}
	key := driver + "\x00" + dsn
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.m[key]; ok {
		return db{d, driver}, time.Duration(secs) * time.Second, nil
	}
	d, err := sql.Open(name, dsn)
	if err != nil {
		return db{}, 0, errors.New("connectionString cannot be used: " + err.Error())
	}
	d.SetConnMaxIdleTime(5 * time.Minute)
	d.SetMaxOpenConns(16)
	if driver == SQLite {
		d.SetMaxOpenConns(1)
	}
	p.m[key] = d
	return db{d, driver}, time.Duration(secs) * time.Second, nil
}

func executeQuery(ctx context.Context, d db, in connector.Values) (any, error) {
	q, err := in.Required("query")
	if err != nil {
		return nil, badInput{err}
	}
	args, err := in.Array("parameters")
	if err != nil {
		return nil, badInput{err}
	}
	return queryRows(ctx, d, q, args)
}

func queryRows(ctx context.Context, d db, q string, args []any) (any, error) {
	rows, err := d.QueryContext(ctx, q, bindArgs(args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c] = jsonValue(vals[i])
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return map[string]any{"columns": cols, "rows": out}, nil
}

// bindArgs passes JSON values to the driver: whole numbers as integers,
// objects and arrays as JSON text.
func bindArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case float64:
			if x == float64(int64(x)) {
				out[i] = int64(x)
			} else {
				out[i] = x
			}
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			out[i] = string(b)
		default:
			out[i] = a
		}
	}
	return out
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func executeNonQuery(ctx context.Context, d db, in connector.Values) (any, error) {
	q, err := in.Required("query")
	if err != nil {
		return nil, badInput{err}
	}
	args, err := in.Array("parameters")
	if err != nil {
		return nil, badInput{err}
	}
	res, err := d.ExecContext(ctx, q, bindArgs(args)...)
	if err != nil {
		return nil, err
	}
	n, _ := res.RowsAffected()
	return map[string]any{"rowsAffected": n}, nil
}

func (d db) quote(id string) string {
	parts := strings.Split(id, ".")
	for i, p := range parts {
		if d.driver == MySQL {
			parts[i] = "`" + p + "`"
		} else {
			parts[i] = `"` + p + `"`
		}
	}
	return strings.Join(parts, ".")
}

func (d db) placeholder(i int) string {
	if d.driver == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

func rowParts(d db, in connector.Values) (table string, cols []string, args []any, err error) {
	table, err = in.Required("table")
	if err != nil {
		return "", nil, nil, badInput{err}
	}
	if !identRE.MatchString(table) {
		return "", nil, nil, bad("table %q is not a plain (schema.)name", table)
	}
	row, err := in.Object("row")
	if err != nil || len(row) == 0 {
		return "", nil, nil, bad("row must be an object with at least one column")
	}
	for c := range row {
		if !identRE.MatchString(c) || strings.Contains(c, ".") {
			return "", nil, nil, bad("column %q is not a plain name", c)
		}
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		args = append(args, row[c])
	}
	return table, cols, bindArgs(args), nil
}

func insertSQL(d db, table string, cols []string) string {
	q := make([]string, len(cols))
	ph := make([]string, len(cols))
	for i, c := range cols {
		q[i] = d.quote(c)
		ph[i] = d.placeholder(i + 1)
	}
	return "INSERT INTO " + d.quote(table) + " (" + strings.Join(q, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
}

func insertRow(ctx context.Context, d db, in connector.Values) (any, error) {
	table, cols, args, err := rowParts(d, in)
	if err != nil {
		return nil, err
	}
	res, err := d.ExecContext(ctx, insertSQL(d, table, cols), args...)
	if err != nil {
		return nil, err
	}
	n, _ := res.RowsAffected()
	return map[string]any{"rowsAffected": n}, nil
}

func upsertRow(ctx context.Context, d db, in connector.Values) (any, error) {
	table, cols, args, err := rowParts(d, in)
	if err != nil {
		return nil, err
	}
	keysAny, err := in.Array("keyColumns")
	if err != nil || len(keysAny) == 0 {
		return nil, bad("keyColumns must name at least one column")
	}
	keys := map[string]bool{}
	var keyList []string
	for _, k := range keysAny {
		s, ok := k.(string)
		if !ok || !identRE.MatchString(s) {
			return nil, bad("keyColumns holds %v, not a column name", k)
		}
		found := false
		for _, c := range cols {
			found = found || c == s
		}
		if !found {
			return nil, bad("key column %q is not in the row", s)
		}
		keys[s] = true
		keyList = append(keyList, d.quote(s))
	}
	q := insertSQL(d, table, cols)
	var sets []string
	for _, c := range cols {
		if keys[c] {
			continue
		}
		if d.driver == MySQL {
			sets = append(sets, d.quote(c)+" = VALUES("+d.quote(c)+")")
		} else {
			sets = append(sets, d.quote(c)+" = excluded."+d.quote(c))
		}
	}
	switch {
	case d.driver == MySQL && len(sets) == 0:
		q = strings.Replace(q, "INSERT INTO", "INSERT IGNORE INTO", 1)
	case d.driver == MySQL:
		q += " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	case len(sets) == 0:
		q += " ON CONFLICT (" + strings.Join(keyList, ", ") + ") DO NOTHING"
	default:
		q += " ON CONFLICT (" + strings.Join(keyList, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ")
	}
	res, err := d.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	n, _ := res.RowsAffected()
	return map[string]any{"rowsAffected": n}, nil
}

func executeStoredProcedure(ctx context.Context, d db, in connector.Values) (any, error) {
	proc, err := in.Required("procedure")
	if err != nil {
		return nil, badInput{err}
	}
	if !identRE.MatchString(proc) {
		return nil, bad("procedure %q is not a plain (schema.)name", proc)
	}
	if d.driver == SQLite {
		return nil, bad("SQLite has no stored procedures")
	}
	args, err := in.Array("parameters")
	if err != nil {
		return nil, badInput{err}
	}
	ph := make([]string, len(args))
	for i := range args {
		ph[i] = d.placeholder(i + 1)
	}
	return queryRows(ctx, d, "CALL "+d.quote(proc)+"("+strings.Join(ph, ", ")+")", args)
}

// retryable tells transient database failures (connection loss, deadlocks,
// serialization failures, lock timeouts, too many connections) from the rest.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "40001", pg.Code == "40P01", strings.HasPrefix(pg.Code, "53"), pg.Code == "57P01", pg.Code == "57P03":
			return true
		}
		return false
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1040, 1205, 1213, 2002, 2003, 2006, 2013:
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// A refused or timed-out connection may come back; a rejected login will not.
		var inner *pgconn.PgError
		if errors.As(ce.Unwrap(), &inner) {
			return false
		}
		return connector.Transient(ce.Unwrap()) || connector.Transient(err)
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	return connector.Transient(err)
}

// redact removes the connection string's password from driver messages.
func redact(err error, conn connector.Connection) error {
	dsn, _ := conn.Values["connectionString"].(string)
	msg := err.Error()
	if pw := password(dsn); len(pw) >= 3 && strings.Contains(msg, pw) {
		return &redacted{msg: strings.ReplaceAll(msg, pw, "****")}
	}
	return err
}

type redacted struct{ msg string }

func (r *redacted) Error() string { return r.msg }

// Unwrap is deliberately absent: the wrapped message holds the secret.

func password(dsn string) string {
	if strings.Contains(dsn, "://") {
		at := strings.LastIndex(dsn, "@")
		start := strings.Index(dsn, "://") + 3
		if at > start {
			if _, pw, ok := strings.Cut(dsn[start:at], ":"); ok {
				return pw
			}
		}
		return ""
	}
	if cfg, err := mysql.ParseDSN(dsn); err == nil {
		return cfg.Passwd
	}
	return ""
}
