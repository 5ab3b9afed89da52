package job

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB sources and sinks
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL sources
	_ "modernc.org/sqlite"             // SQLite sources and sinks

	"junction/internal/job/format"
)

// sqlDialect holds what differs between the three SQL databases jobs talk to.
type sqlDialect string

func (d sqlDialect) driverName() string {
	switch d {
	case "postgres":
		return "pgx"
	case "mysql":
		return "mysql"
	}
	return "sqlite"
}

func (d sqlDialect) quote(name string) string {
	if d == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

func (d sqlDialect) ph(i int) string {
	if d == "postgres" {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// columnType is the DDL type of a job column.
func (d sqlDialect) columnType(typ string, key bool) string {
	switch typ {
	case format.TypeInt:
		if d == "sqlite" {
			return "INTEGER"
		}
		return "BIGINT"
	case format.TypeFloat:
		switch d {
		case "postgres":
			return "DOUBLE PRECISION"
		case "mysql":
			return "DOUBLE"
		}
		return "REAL"
	case format.TypeDecimal:
		switch d {
		case "postgres":
			return "NUMERIC"
		case "mysql":
			return "DECIMAL(38,10)"
		}
		return "TEXT" // exact: SQLite's NUMERIC affinity would round through REAL
	case format.TypeBool:
		if d == "sqlite" {
			return "INTEGER"
		}
		return "BOOLEAN"
	case format.TypeDateTime:
		switch d {
		case "postgres":
			return "TIMESTAMPTZ"
		case "mysql":
			return "DATETIME(6)"
		}
		return "TEXT"
	case format.TypeDate:
		if d == "sqlite" {
			return "TEXT"
		}
		return "DATE"
	case format.TypeGUID:
		if d == "mysql" {
			return "VARCHAR(36)"
		}
		return "TEXT"
	}
	if d == "mysql" {
		if key {
			return "VARCHAR(255)"
		}
		return "LONGTEXT"
	}
	return "TEXT"
}

// bind turns a job value into what the driver stores in a column of typ.
func (d sqlDialect) bind(typ string, v any) any {
	if v == nil {
		return nil
	}
	if t, ok := v.(time.Time); ok {
		if typ == format.TypeDate && d != "postgres" {
			return t.Format(time.DateOnly)
		}
		if d == "sqlite" {
			return t.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
	}
	return v
}

// dbValue turns what a driver returned into a plain Go value.
func dbValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case driver.Valuer:
		if dv, err := x.Value(); err == nil {
			return dbValue(dv)
		}
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// openSQL opens a database/sql handle and checks that it answers.
func openSQL(ctx context.Context, d sqlDialect, dsn string) (*sql.DB, error) {
	db, err := sql.Open(d.driverName(), dsn)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach the %s database: %w", d, err)
	}
	return db, nil
}

// sourceColumnType maps a database type name to a job column type.
func sourceColumnType(dbType string) string {
	t := strings.ToUpper(dbType)
	switch {
	case strings.Contains(t, "INT") && !strings.Contains(t, "INTERVAL") && !strings.Contains(t, "POINT"):
		if t == "TINYINT" || strings.HasPrefix(t, "BOOL") {
			return format.TypeInt
		}
		return format.TypeInt
	case strings.HasPrefix(t, "BOOL"):
		return format.TypeBool
	case t == "FLOAT4" || t == "FLOAT8" || t == "REAL" || t == "DOUBLE" || t == "FLOAT" || t == "DOUBLE PRECISION":
		return format.TypeFloat
	case strings.HasPrefix(t, "NUMERIC") || strings.HasPrefix(t, "DECIMAL"):
		return format.TypeDecimal
	case strings.HasPrefix(t, "TIMESTAMP") || t == "DATETIME" || t == "TIMESTAMPTZ":
		return format.TypeDateTime
	case t == "DATE":
		return format.TypeDate
	case t == "UUID":
		return format.TypeGUID
	}
	return format.TypeString
}

// tx is one chunk's transaction on a sink database.
type chunkTx interface {
	query(ctx context.Context, q string, args []any, row func([]any) error) error
	exec(ctx context.Context, q string, args []any) (int64, error)
}

type stdTx struct{ tx *sql.Tx }

func (t stdTx) query(ctx context.Context, q string, args []any, fn func([]any) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = dbValue(v)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t stdTx) exec(ctx context.Context, q string, args []any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) query(ctx context.Context, q string, args []any, fn func([]any) error) error {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, v := range vals {
			vals[i] = dbValue(v)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t pgTx) exec(ctx context.Context, q string, args []any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}
