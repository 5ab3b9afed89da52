// Package sqldb is what a job's SQL source and SQL sink share about the
// databases they talk to: PostgreSQL, MySQL/MariaDB and SQLite, their
// differences of quoting, placeholders and column types, opening one, and
// the values their drivers return as plain Go values.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB sources and sinks
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL sources
	_ "modernc.org/sqlite"             // SQLite sources and sinks

	"junction/internal/job/format"
)

// Dialect is a job's driver name: postgres, mysql or sqlite.
type Dialect string

func (d Dialect) driverName() string {
	switch d {
	case "postgres":
		return "pgx"
	case "mysql":
		return "mysql"
	}
	return "sqlite"
}

// Quote quotes an identifier.
func (d Dialect) Quote(name string) string {
	if d == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// Ph is the i-th placeholder (from 1).
func (d Dialect) Ph(i int) string {
	if d == "postgres" {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// ColumnType is the DDL type of a job column; key says it is part of the
// primary key (MySQL cannot index LONGTEXT).
func (d Dialect) ColumnType(typ string, key bool) string {
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

// Bind turns a job value into what the driver stores in a column of typ.
func (d Dialect) Bind(typ string, v any) any {
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

// Value turns what a driver returned into a plain Go value.
func Value(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case driver.Valuer:
		if dv, err := x.Value(); err == nil {
			return Value(dv)
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

// Open opens a database/sql handle and checks that it answers.
func Open(ctx context.Context, d Dialect, dsn string) (*sql.DB, error) {
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
