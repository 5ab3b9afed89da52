package sql

import (
	"context"
	"math"
	"strings"
	"time"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

// chunkTable is the session's temporary table that new rows are copied into
// on PostgreSQL, to be inserted from it with RETURNING.
const chunkTable = "junction_chunk_rows"

// readBack is what one Apply's writes returned: each live row's key and
// checksum as the table holds it.
type readBack struct {
	n           int
	first, last int64
	got         map[string][32]byte
}

func newReadBack(rows []sink.Row, got map[string][32]byte) *readBack {
	b := &readBack{n: len(rows), got: got}
	if len(rows) > 0 {
		b.first, b.last = rows[0].Line, rows[len(rows)-1].Line
	}
	return b
}

// of says rows are the chunk the writes were of.
func (b *readBack) of(rows []sink.Row) bool {
	if len(rows) != b.n {
		return false
	}
	return len(rows) == 0 || rows[0].Line == b.first && rows[len(rows)-1].Line == b.last
}

// returning is the RETURNING clause of the columns rowHash reads.
func (s *Sink) returning() string {
	sel := s.selectCols()
	if s.deletes == "flag" {
		sel += ", " + s.d.Quote(s.delCol)
	}
	return " RETURNING " + sel
}

// prepareFold decides whether the chunk's writes can stand for its
// read-back: on SQLite and PostgreSQL (RETURNING), when the table has no
// triggers or rules that could change a row after the statement that wrote
// it. On PostgreSQL it creates the session's chunk table, on SQLite it
// prepares the upsert statement.
func (s *Sink) prepareFold(ctx context.Context) error {
	var q string
	switch s.d {
	case "sqlite":
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) = lower(?)"
	case "postgres":
		q = `SELECT (SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = to_regclass(quote_ident($1)) AND NOT tgisinternal)
			+ (SELECT COUNT(*) FROM pg_rules WHERE schemaname = current_schema() AND tablename = $1)`
	default:
		return nil
	}
	var n int64
	err := s.withTx(ctx, func(tx chunkTx) error {
		return tx.query(ctx, q, []any{s.table}, func(v []any) error {
			n, _ = v[0].(int64)
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.fold = n == 0
	if s.d == "sqlite" {
		s.per = s.rowsPerUpsert()
		if s.plain, err = s.db.PrepareContext(ctx, s.upsertSQL(s.per, false)); err != nil || !s.fold {
			return err
		}
		if s.stmt, err = s.db.PrepareContext(ctx, s.upsertSQL(s.per, true)); err != nil {
			return err
		}
		s.kept, err = s.sqliteTypes(ctx)
		return err
	}
	if !s.fold {
		return nil
	}
	if s.pg != nil && !s.noCopy {
		list := s.quotedNames(s.writeCols())
		if _, err := s.pg.Exec(ctx, "CREATE TEMPORARY TABLE "+s.d.Quote(chunkTable)+" ON COMMIT DELETE ROWS AS SELECT "+list+
			" FROM "+s.d.Quote(s.table)+" WITH NO DATA"); err != nil {
			return err
		}
		s.kept, err = s.postgresTypes(ctx)
	}
	return err
}

// keeper says that the database stores v, bound for one column, exactly as
// it is, and so returns what hashes as v when read.
type keeper func(v any) bool

// keeps says that the database stores every value of args, rows of
// writeCols, as it is bound.
func (s *Sink) keeps(args []any) bool {
	if s.kept == nil {
		return false
	}
	n := len(s.kept)
	for i, v := range args {
		if !s.kept[i%n](v) {
			return false
		}
	}
	return true
}

// affinity is the type affinity of a SQLite column, from its declared type
// (SQLite's documentation, "Datatypes In SQLite", 3.1).
type affinity byte

const (
	affNumeric affinity = iota
	affInteger
	affText
	affBlob
	affReal
)

func affinityOf(declared string) affinity {
	t := strings.ToUpper(declared)
	switch {
	case strings.Contains(t, "INT"):
		return affInteger
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return affText
	case strings.Contains(t, "BLOB"), t == "":
		return affBlob
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return affReal
	}
	return affNumeric
}

// stores says that SQLite stores v, bound as a parameter, in a column of
// affinity a exactly as it is, and so returns v itself when read: text in a
// text or untyped column, an integer in an integer, numeric or untyped one, a
// real in a real or untyped one, NULL where it is not the rowid. Anything
// else may be converted (text to a number, an integer to a real, a real with
// no fraction to an integer, NaN to NULL, -0.0 to 0), and is read back.
func (a affinity) stores(v any, rowid bool) bool {
	switch x := v.(type) {
	case nil:
		return !rowid
	case string:
		return (a == affText || a == affBlob) && strings.IndexByte(x, 0) < 0
	case int64:
		return a == affInteger || a == affNumeric || a == affBlob
	case float64:
		return (a == affReal || a == affBlob) && !math.IsNaN(x) && !(x == 0 && math.Signbit(x))
	}
	return false
}

// sqliteTypes returns what each column the sink writes keeps, by its affinity, in
// the order of writeCols, or nil when the table's definition could make a
// stored value differ from the one bound even where the affinity keeps it: a
// collation (a key matched case-insensitively keeps the stored spelling) or a
// conflict clause (NOT NULL ON CONFLICT REPLACE stores the default).
func (s *Sink) sqliteTypes(ctx context.Context) ([]keeper, error) {
	type col struct {
		declared string
		pk       bool
	}
	table := map[string]col{}
	safe := true
	err := s.withTx(ctx, func(tx chunkTx) error {
		if err := tx.query(ctx, "SELECT sql FROM sqlite_master WHERE lower(tbl_name) = lower(?) AND sql IS NOT NULL", []any{s.table}, func(v []any) error {
			def := strings.ToUpper(format.Text(v[0]))
			safe = safe && !strings.Contains(def, "COLLATE") && !strings.Contains(def, "CONFLICT")
			return nil
		}); err != nil {
			return err
		}
		return tx.query(ctx, "SELECT name, type, pk FROM pragma_table_xinfo(?) WHERE hidden = 0", []any{s.table}, func(v []any) error {
			pk, _ := v[2].(int64)
			table[strings.ToLower(format.Text(v[0]))] = col{declared: format.Text(v[1]), pk: pk > 0}
			return nil
		})
	})
	if err != nil || !safe {
		return nil, err
	}
	cols := s.writeCols()
	out := make([]keeper, len(cols))
	pks := 0
	for _, c := range table {
		if c.pk {
			pks++
		}
	}
	for i, c := range cols {
		tc, ok := table[strings.ToLower(c.Name)]
		if !ok {
			return nil, nil
		}
		a := affinityOf(tc.declared)
		// A single INTEGER PRIMARY KEY column is the rowid: NULL there
		// takes a new number.
		rowid := tc.pk && pks == 1 && strings.EqualFold(strings.TrimSpace(tc.declared), "INTEGER")
		if a == affBlob && s.isKey(c.Name) {
			// An untyped key keeps each value's own type, and an integer
			// matches the real of the same value a row already holds
			// (1 = 1.0), whose key the upsert leaves as it was.
			return nil, nil
		}
		out[i] = func(v any) bool { return a.stores(v, rowid) }
	}
	return out, nil
}

// PostgreSQL's type oids of the columns whose values postgresStores knows.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidFloat8      = 701
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamptz = 1184
	oidNumeric     = 1700
)

// postgresStores says that PostgreSQL stores v, as the sink copies it (pgx's
// binary COPY), in a column of type oid with modifier typmod exactly as it
// is, so that it reads back as what hashes as v: text in text or varchar
// without a length (varchar(n) cuts trailing spaces past n), a whole number
// in an integer column (one out of range fails the chunk), a decimal in its
// normal form in numeric without precision and scale (which round), a date
// at midnight UTC in a date column, a time with whole microseconds in a
// timestamptz one (both in years 1 to 9999), a bool or a float64 in their
// own types, and NULL. Anything else (text in a number column, a domain, an
// array) may be converted, and is returned by the insert.
func postgresStores(oid, typmod int64, v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		switch oid {
		case oidText, oidVarchar:
			return typmod < 0
		case oidNumeric:
			return typmod < 0 && format.NormalDecimal(x)
		}
	case int64:
		return oid == oidInt8 || oid == oidInt4 || oid == oidInt2
	case bool:
		return oid == oidBool
	case float64:
		return oid == oidFloat8
	case time.Time:
		if y := x.Year(); y < 1 || y > 9999 || x.Location() != time.UTC {
			return false
		}
		switch oid {
		case oidDate:
			return x.Equal(time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC))
		case oidTimestamptz:
			return x.Nanosecond()%1000 == 0
		}
	}
	return false
}

// postgresTypes returns what each of writeCols keeps, from the table's column
// types, or nil where the server's encoding is not UTF-8 (text could be
// converted) or a column is missing.
func (s *Sink) postgresTypes(ctx context.Context) ([]keeper, error) {
	type col struct{ oid, typmod int64 }
	table := map[string]col{}
	utf8 := false
	err := s.withTx(ctx, func(tx chunkTx) error {
		if err := tx.query(ctx, "SELECT current_setting('server_encoding') = 'UTF8'", nil, func(v []any) error {
			utf8, _ = v[0].(bool)
			return nil
		}); err != nil {
			return err
		}
		return tx.query(ctx, `SELECT attname::text, atttypid::int8, atttypmod::int8 FROM pg_attribute
			WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped AND attgenerated = ''`, []any{s.table}, func(v []any) error {
			oid, _ := v[1].(int64)
			typmod, _ := v[2].(int64)
			table[format.Text(v[0])] = col{oid, typmod}
			return nil
		})
	})
	if err != nil || !utf8 {
		return nil, err
	}
	cols := s.writeCols()
	out := make([]keeper, len(cols))
	for i, c := range cols {
		tc, ok := table[c.Name] // quoted: the name as it is
		if !ok {
			return nil, nil
		}
		out[i] = func(v any) bool { return postgresStores(tc.oid, tc.typmod, v) }
	}
	return out, nil
}
