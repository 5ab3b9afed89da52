// Package sql is the sink of a job into a warehouse table on PostgreSQL,
// MySQL/MariaDB or SQLite.
package sql

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"junction/internal/job/format"
	"junction/internal/job/sink"
	"junction/internal/job/sqldb"
	"junction/internal/store"
)

// Table is the warehouse table a sink writes.
type Table struct {
	Driver string // postgres, mysql or sqlite
	Name   string
	// Deletes is ignore, flag (set DeletedColumn) or delete.
	Deletes       string
	DeletedColumn string
	// NoCopy turns off COPY for new rows on PostgreSQL.
	NoCopy bool
}

// Sink upserts rows into a warehouse table on PostgreSQL, MySQL/MariaDB or
// SQLite. The table is created when missing and gains columns the job maps but
// it lacks. Each chunk is one transaction: existing rows are read by key to
// count inserts, updates and unchanged rows; new rows go in with COPY on
// PostgreSQL, changed rows with a multi-row upsert. On PostgreSQL, while
// chunks find none of their rows in the table, a chunk is first copied in
// without reading its keys, its unique key index failing the copy of a row
// the table holds. Where the writes can
// return what they wrote (RETURNING), they do, and stand for the chunk's
// read-back.
type Sink struct {
	d       sqldb.Dialect
	db      *dbsql.DB // mysql, sqlite
	pg      *pgx.Conn // postgres
	table   string
	cols    []format.Column
	key     []string
	keyAt   []int // the key columns' places in cols
	deletes string
	delCol  string
	noCopy  bool
	// uniqueKey says that a PostgreSQL table's unique index on the key
	// fails a COPY of a row it holds (keyIsUnique); lastNew, that the last
	// chunk read by key found none of its rows, so that the next is first
	// copied in without reading them (copyFirst).
	uniqueKey, lastNew bool
	// fold says the chunk's writes return the rows as the table holds them
	// (RETURNING), so that Verify need not read them again: set when the
	// table has no triggers or rules, which could change a row after the
	// statement that wrote it.
	fold bool
	// back is what the last Apply's writes returned, for Verify.
	back *readBack
	// stmt is SQLite's prepared upsert of per rows, returning them with
	// fold; plain is the same without RETURNING, for the rows that the
	// database is known to store as they are bound (kept, set with fold).
	stmt, plain *dbsql.Stmt
	per         int
	kept        []keeper // one for each of writeCols
}

// Open connects to the database of dsn. With prepare, the table is created
// or altered to hold the plan's columns; without, the sink only resolves
// lookups.
func Open(ctx context.Context, t Table, dsn string, p sink.Plan, prepare bool) (*Sink, error) {
	s := &Sink{d: sqldb.Dialect(t.Driver), table: t.Name, cols: p.Cols, key: p.Key, deletes: t.Deletes, delCol: t.DeletedColumn, noCopy: t.NoCopy}
	for _, k := range s.key {
		s.keyAt = append(s.keyAt, slices.IndexFunc(s.cols, func(c format.Column) bool { return c.Name == k }))
	}
	var err error
	if s.d == "postgres" {
		s.pg, err = pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("cannot reach the postgres database: %w", err)
		}
	} else {
		if s.db, err = sqldb.Open(ctx, s.d, dsn); err != nil {
			return nil, err
		}
		s.db.SetMaxOpenConns(1)
	}
	if !prepare {
		return s, nil
	}
	if err := s.ensureTable(ctx); err != nil {
		s.Abort()
		return nil, fmt.Errorf("prepare table %s: %w", s.table, err)
	}
	if err := s.prepareFold(ctx); err != nil {
		s.Abort()
		return nil, fmt.Errorf("prepare table %s: %w", s.table, err)
	}
	if s.pg != nil && !s.noCopy && !s.uniqueKey {
		if s.uniqueKey, err = s.keyIsUnique(ctx); err != nil {
			s.Abort()
			return nil, fmt.Errorf("prepare table %s: %w", s.table, err)
		}
	}
	s.lastNew = true
	return s, nil
}

func (s *Sink) isKey(name string) bool { return slices.Contains(s.key, name) }

func (s *Sink) withTx(ctx context.Context, fn func(chunkTx) error) error {
	if s.pg != nil {
		tx, err := s.pg.Begin(ctx)
		if err != nil {
			return err
		}
		if err := fn(pgTx{tx}); err != nil {
			tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(stdTx{tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Sink) ensureTable(ctx context.Context) error {
	return s.withTx(ctx, func(tx chunkTx) error {
		var existing = map[string]bool{}
		var q string
		switch s.d {
		case "postgres":
			// The catalog itself: information_schema.columns took 30-50 ms
			// on a server with a few hundred tables, once a run.
			q = `SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))
				AND attnum > 0 AND NOT attisdropped`
		case "mysql":
			q = "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?"
		default:
			q = "SELECT name FROM pragma_table_info(?)"
		}
		if err := tx.query(ctx, q, []any{s.table}, func(v []any) error {
			existing[strings.ToLower(format.Text(v[0]))] = true
			return nil
		}); err != nil {
			return err
		}
		cols := append([]format.Column(nil), s.cols...)
		if s.deletes == "flag" {
			cols = append(cols, format.Column{Name: s.delCol, Type: format.TypeBool})
		}
		if len(existing) == 0 {
			defs := make([]string, 0, len(cols)+1)
			for _, c := range cols {
				def := s.d.Quote(c.Name) + " " + s.d.ColumnType(c.Type, s.isKey(c.Name))
				if s.isKey(c.Name) {
					def += " NOT NULL"
				}
				defs = append(defs, def)
			}
			keys := make([]string, len(s.key))
			for i, k := range s.key {
				keys[i] = s.d.Quote(k)
			}
			defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
			_, err := tx.exec(ctx, "CREATE TABLE "+s.d.Quote(s.table)+" (\n  "+strings.Join(defs, ",\n  ")+"\n)", nil)
			s.uniqueKey = err == nil && s.d == "postgres"
			return err
		}
		for _, c := range cols {
			if existing[strings.ToLower(c.Name)] {
				continue
			}
			if s.isKey(c.Name) {
				return fmt.Errorf("the table exists without the key column %s; add it (with a unique index) first", c.Name)
			}
			if _, err := tx.exec(ctx, "ALTER TABLE "+s.d.Quote(s.table)+" ADD COLUMN "+s.d.Quote(c.Name)+" "+s.d.ColumnType(c.Type, false), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// whereKeys builds a WHERE clause matching rows by key, placeholders from n+1.
func (s *Sink) whereKeys(rows []sink.Row, n int) (string, []any) {
	var args []any
	if len(s.key) == 1 {
		k := s.key[0]
		phs := make([]string, len(rows))
		for i, r := range rows {
			args = append(args, s.d.Bind(s.colType(k), r.Values[k]))
			phs[i] = s.d.Ph(n + len(args))
		}
		return s.d.Quote(k) + " IN (" + strings.Join(phs, ", ") + ")", args
	}
	ors := make([]string, len(rows))
	for i, r := range rows {
		ands := make([]string, len(s.key))
		for j, k := range s.key {
			args = append(args, s.d.Bind(s.colType(k), r.Values[k]))
			ands[j] = s.d.Quote(k) + " = " + s.d.Ph(n+len(args))
		}
		ors[i] = "(" + strings.Join(ands, " AND ") + ")"
	}
	return strings.Join(ors, " OR "), args
}

// keyList matches rows by a single key column with one bound value, so
// that a chunk is read in one statement however long: a JSON array on
// SQLite, an array on PostgreSQL. ok is false where it does not apply (MySQL,
// composite keys, key types other than text and whole numbers); whereKeys
// serves those, and rows whose key is not of the column's type.
func (s *Sink) keyList(rows []sink.Row) (where string, args []any, ok bool) {
	if len(s.key) != 1 || (s.d != "sqlite" && s.d != "postgres") {
		return "", nil, false
	}
	k := s.key[0]
	typ := s.colType(k)
	if typ != format.TypeString && typ != format.TypeGUID && typ != format.TypeInt {
		return "", nil, false
	}
	col := s.d.Quote(k)
	if s.d == "sqlite" {
		vals := make([]any, len(rows))
		for i, r := range rows {
			switch r.Values[k].(type) {
			case string, int64:
				vals[i] = r.Values[k]
			default:
				return "", nil, false
			}
		}
		b, err := json.Marshal(vals)
		if err != nil {
			return "", nil, false
		}
		return col + " IN (SELECT value FROM json_each(?))", []any{string(b)}, true
	}
	if typ == format.TypeInt {
		vals := make([]int64, 0, len(rows))
		for _, r := range rows {
			n, isInt := r.Values[k].(int64)
			if !isInt {
				return "", nil, false
			}
			vals = append(vals, n)
		}
		return col + " = ANY($1)", []any{vals}, true
	}
	vals := make([]string, 0, len(rows))
	for _, r := range rows {
		v, isText := r.Values[k].(string)
		if !isText {
			return "", nil, false
		}
		vals = append(vals, v)
	}
	return col + " = ANY($1)", []any{vals}, true
}

func (s *Sink) colType(name string) string {
	for _, c := range s.cols {
		if c.Name == name {
			return c.Type
		}
	}
	return format.TypeString
}

func (s *Sink) selectCols() string {
	names := make([]string, len(s.cols))
	for i, c := range s.cols {
		names[i] = s.d.Quote(c.Name)
	}
	return strings.Join(names, ", ")
}

// existing reads the rows of chunk that the table holds, by key text. With
// deletes: flag, a row that is flagged deleted has no hash: it is not the
// live row the chunk may bring back.
func (s *Sink) existing(ctx context.Context, tx chunkTx, rows []sink.Row) (map[string][32]byte, error) {
	out := make(map[string][32]byte, len(rows))
	const batch = 500
	sel := s.selectCols()
	if s.deletes == "flag" {
		sel += ", " + s.d.Quote(s.delCol)
	}
	parts := [][]sink.Row{rows} // the whole chunk in one statement
	where, args, one := s.keyList(rows)
	if !one {
		parts = nil
		for start := 0; start < len(rows); start += batch {
			parts = append(parts, rows[start:min(start+batch, len(rows))])
		}
	}
	for _, part := range parts {
		if !one {
			where, args = s.whereKeys(part, 0)
		}
		q := "SELECT " + sel + " FROM " + s.d.Quote(s.table) + " WHERE " + where
		err := tx.query(ctx, q, args, func(v []any) error {
			k, h := s.rowHash(v)
			out[k] = h
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowHash is the key text and checksum of a row the table returned: its
// columns in the order of s.cols, then, with deletes: flag, the flag. A
// flagged row has no checksum: it is not the live row a chunk may bring back.
func (s *Sink) rowHash(v []any) (string, [32]byte) {
	var h [32]byte
	live := true
	if s.deletes == "flag" {
		deleted, _ := format.Convert(sqldb.Value(v[len(s.cols)]), format.TypeBool, "")
		live = deleted != true
	}
	if live {
		h = sink.HashValues(s.cols, v[:len(s.cols)])
	}
	if len(s.key) == 1 {
		return format.Text(v[s.keyAt[0]]), h
	}
	row := make(map[string]any, len(s.key))
	for i, k := range s.key {
		row[k] = v[s.keyAt[i]]
	}
	return sink.KeyOf(s.key, row), h
}

// Apply writes one chunk in one transaction: rows the table lacks are
// inserted, changed ones updated, deletions deleted or flagged.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row) (sink.Counts, []sink.Reject, error) {
	rows = sink.Dedupe(s.key, rows)
	s.back = nil
	if s.copyFirst(rows) {
		c, back, err := s.applyNew(ctx, rows)
		if err == nil {
			if back != nil {
				s.back = newReadBack(rows, back)
			}
			return c, nil, nil
		}
		if !isHeld(err) {
			return sink.Counts{}, nil, fmt.Errorf("copy new rows: %w", err)
		}
	}
	var c sink.Counts
	var back map[string][32]byte
	err := s.withTx(ctx, func(tx chunkTx) error {
		c = sink.Counts{}
		have, err := s.existing(ctx, tx, rows)
		if err != nil {
			return fmt.Errorf("read existing rows: %w", err)
		}
		s.lastNew = len(have) == 0
		fresh := make([]sink.Row, 0, len(rows))
		var changed, deleted []sink.Row
		back = nil
		if s.fold {
			back = make(map[string][32]byte, len(rows))
		}
		for _, r := range rows {
			k := sink.KeyOf(s.key, r.Values)
			h, ok := have[k]
			switch {
			case r.Deleted:
				if ok && s.deletes != "ignore" {
					deleted = append(deleted, r)
				}
			case !ok:
				fresh = append(fresh, r)
			case h != sink.Hash(s.cols, r.Values):
				changed = append(changed, r)
			default:
				c.Unchanged++
				if back != nil {
					back[k] = h // as read in this transaction, and left as it was
				}
			}
		}
		if len(deleted) > 0 {
			// A deletion may cascade to rows this chunk wrote: Verify
			// reads the chunk back once it is committed.
			back = nil
		}
		if s.pg != nil && !s.noCopy && len(fresh) > 0 {
			n, err := s.copyRows(ctx, tx.(pgTx).tx, fresh, back)
			if err != nil {
				return fmt.Errorf("copy new rows: %w", err)
			}
			c.Inserted = n
		} else if len(fresh) > 0 {
			if err := s.upsert(ctx, tx, fresh, back); err != nil {
				return fmt.Errorf("insert new rows: %w", err)
			}
			c.Inserted = int64(len(fresh))
		}
		if len(changed) > 0 {
			if err := s.upsert(ctx, tx, changed, back); err != nil {
				return fmt.Errorf("update rows: %w", err)
			}
			c.Updated = int64(len(changed))
		}
		if len(deleted) > 0 {
			n, err := s.delete(ctx, tx, deleted)
			if err != nil {
				return fmt.Errorf("delete rows: %w", err)
			}
			c.Deleted = n
		}
		return nil
	})
	if err == nil && back != nil {
		s.back = newReadBack(rows, back)
	}
	return c, nil, err
}

func (s *Sink) writeCols() []format.Column {
	if s.deletes == "flag" {
		return append(append([]format.Column(nil), s.cols...), format.Column{Name: s.delCol, Type: format.TypeBool})
	}
	return s.cols
}

func (s *Sink) rowArgs(cols []format.Column, r sink.Row) []any {
	return s.appendRowArgs(make([]any, 0, len(cols)), cols, r)
}

func (s *Sink) appendRowArgs(out []any, cols []format.Column, r sink.Row) []any {
	for _, c := range cols {
		if s.deletes == "flag" && c.Name == s.delCol {
			out = append(out, r.Deleted)
			continue
		}
		out = append(out, s.d.Bind(c.Type, r.Values[c.Name]))
	}
	return out
}

// copyRows writes new rows with COPY. With back, each row comes back as the
// table holds it: where PostgreSQL is known to store every value as it is
// bound, the rows are copied into the table and their bound values stand
// for it; otherwise they are copied into the session's chunk table and
// inserted from it, returning each row.
func (s *Sink) copyRows(ctx context.Context, tx pgx.Tx, rows []sink.Row, back map[string][32]byte) (int64, error) {
	cols := s.writeCols()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	data := make([][]any, len(rows))
	kept := back != nil
	for i, r := range rows {
		data[i] = s.rowArgs(cols, r)
		kept = kept && s.keeps(data[i])
	}
	if kept {
		for _, args := range data {
			k, h := s.rowHash(args)
			back[k] = h
		}
		back = nil
	}
	for i := range data {
		for j, c := range cols {
			// A decimal goes as a number: pgx would first fail to encode
			// its text, then parse it.
			if d, ok := data[i][j].(string); ok && c.Type == format.TypeDecimal {
				if n, ok := numeric(d); ok {
					data[i][j] = n
				}
			}
		}
	}
	if back == nil {
		return tx.CopyFrom(ctx, pgx.Identifier{s.table}, names, pgx.CopyFromRows(data))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{chunkTable}, names, pgx.CopyFromRows(data)); err != nil {
		return 0, err
	}
	list := s.quotedNames(cols)
	q := "INSERT INTO " + s.d.Quote(s.table) + " (" + list + ") SELECT " + list + " FROM " + s.d.Quote(chunkTable) + s.returning()
	var n int64
	err := pgTx{tx}.query(ctx, q, nil, func(v []any) error {
		k, h := s.rowHash(v)
		back[k] = h
		n++
		return nil
	})
	return n, err
}

// numeric is the decimal d as pgx's Scan reads it, without math/big's
// parsing where d is in its normal form with at most 18 digits.
func numeric(d string) (pgtype.Numeric, bool) {
	if format.NormalDecimal(d) && len(strings.TrimPrefix(d, "-")) <= 18 {
		neg := d[0] == '-'
		digits := strings.TrimPrefix(d, "-")
		var exp int32
		if dot := strings.IndexByte(digits, '.'); dot >= 0 {
			exp = -int32(len(digits) - dot - 1)
		} else {
			for len(digits) > 1 && digits[len(digits)-1] == '0' {
				digits = digits[:len(digits)-1]
				exp++
			}
		}
		var v int64
		for i := 0; i < len(digits); i++ {
			if digits[i] != '.' {
				v = v*10 + int64(digits[i]-'0')
			}
		}
		if neg {
			v = -v
		}
		return pgtype.Numeric{Int: big.NewInt(v), Exp: exp, Valid: true}, true
	}
	var n pgtype.Numeric
	return n, n.Scan(d) == nil
}

func (s *Sink) quotedNames(cols []format.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = s.d.Quote(c.Name)
	}
	return strings.Join(names, ", ")
}

// upsertSQL is the multi-row INSERT ... ON CONFLICT (or ON DUPLICATE KEY on
// MySQL) of n rows, returning them when the sink folds its read-back into
// its writes.
func (s *Sink) upsertSQL(n int, returning bool) string {
	cols := s.writeCols()
	names := make([]string, len(cols))
	var sets []string
	for i, c := range cols {
		names[i] = s.d.Quote(c.Name)
		if s.isKey(c.Name) {
			continue
		}
		if s.d == "mysql" {
			sets = append(sets, names[i]+" = VALUES("+names[i]+")")
		} else {
			sets = append(sets, names[i]+" = excluded."+names[i])
		}
	}
	keys := make([]string, len(s.key))
	for i, k := range s.key {
		keys[i] = s.d.Quote(k)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + s.d.Quote(s.table) + " (" + strings.Join(names, ", ") + ") VALUES ")
	ph := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			ph++
			b.WriteString(s.d.Ph(ph))
		}
		b.WriteByte(')')
	}
	switch {
	case len(sets) == 0 && s.d == "mysql":
		b.WriteString(" ON DUPLICATE KEY UPDATE " + names[0] + " = " + names[0])
	case len(sets) == 0:
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO NOTHING")
	case s.d == "mysql":
		b.WriteString(" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", "))
	default:
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", "))
	}
	if returning {
		b.WriteString(s.returning())
	}
	return b.String()
}

// upsert writes rows with multi-row upserts, a few hundred rows a statement
// (on SQLite, prepared once). With back, each row comes back as the table
// holds it: returned by the statement, or, on SQLite, taken from the values
// bound when SQLite is known to store each of them as it is.
func (s *Sink) upsert(ctx context.Context, tx chunkTx, rows []sink.Row, back map[string][32]byte) error {
	cols := s.writeCols()
	per := s.rowsPerUpsert()
	got := func(v []any) error {
		if back != nil {
			k, h := s.rowHash(v)
			back[k] = h
		}
		return nil
	}
	for start := 0; start < len(rows); start += per {
		part := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(part)*len(cols))
		for _, r := range part {
			args = s.appendRowArgs(args, cols, r)
		}
		var err error
		switch {
		case s.d == "sqlite" && back != nil && s.keeps(args):
			if err = s.sqliteUpsert(ctx, tx.(stdTx), len(part), args, nil); err == nil {
				for i := 0; i < len(args); i += len(cols) {
					got(args[i : i+len(cols)])
				}
			}
		case s.d == "sqlite":
			err = s.sqliteUpsert(ctx, tx.(stdTx), len(part), args, got)
		case s.fold:
			err = tx.query(ctx, s.upsertSQL(len(part), true), args, got)
		default:
			_, err = tx.exec(ctx, s.upsertSQL(len(part), false), args)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sqliteUpsert runs the upsert of n rows, the statement prepared at open
// for a full statement. With got, the rows come back (RETURNING) to it.
func (s *Sink) sqliteUpsert(ctx context.Context, tx stdTx, n int, args []any, got func([]any) error) error {
	returning := s.fold && got != nil
	prepared := s.plain
	if returning {
		prepared = s.stmt
	}
	if prepared == nil || n != s.per {
		if !returning {
			_, err := tx.exec(ctx, s.upsertSQL(n, false), args)
			return err
		}
		return tx.query(ctx, s.upsertSQL(n, true), args, got)
	}
	st := tx.tx.StmtContext(ctx, prepared)
	defer st.Close()
	if !returning {
		_, err := st.ExecContext(ctx, args...)
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	return scanRows(rows, got)
}

// rowsPerUpsert is how many rows one upsert statement writes: SQLite's
// statements stay under its historical limit of 999 parameters.
func (s *Sink) rowsPerUpsert() int {
	if s.d == "sqlite" {
		return max(1, 999/len(s.writeCols()))
	}
	return max(1, 30000/len(s.writeCols()))
}

func (s *Sink) delete(ctx context.Context, tx chunkTx, rows []sink.Row) (int64, error) {
	where, args := s.whereKeys(rows, 1)
	if s.deletes == "flag" {
		return tx.exec(ctx, "UPDATE "+s.d.Quote(s.table)+" SET "+s.d.Quote(s.delCol)+" = "+s.d.Ph(1)+" WHERE "+where, append([]any{true}, args...))
	}
	where, args = s.whereKeys(rows, 0)
	return tx.exec(ctx, "DELETE FROM "+s.d.Quote(s.table)+" WHERE "+where, args)
}

// Verify returns the chunk's live rows as the table holds them: as the
// chunk's writes returned them (and, for rows it left alone, as it read them
// before), or read back by key.
func (s *Sink) Verify(ctx context.Context, rows []sink.Row) (map[string][32]byte, bool, error) {
	if b := s.back; b != nil {
		s.back = nil
		if b.of(rows) {
			return b.got, true, nil
		}
	}
	var live []sink.Row
	for _, r := range rows {
		if !r.Deleted {
			live = append(live, r)
		}
	}
	var got map[string][32]byte
	err := s.withTx(ctx, func(tx chunkTx) error {
		var err error
		got, err = s.existing(ctx, tx, live)
		return err
	})
	return got, true, err
}

// Resolve finds l.Return of the row of l.Table whose l.Key is value, in the
// sink's database. A value two rows share stops the run: a lookup key must
// be unique.
func (s *Sink) Resolve(ctx context.Context, l sink.Lookup, value string) (any, bool, error) {
	q := "SELECT " + s.d.Quote(l.Return) + " FROM " + s.d.Quote(l.Table) + " WHERE " + s.d.Quote(l.Key) + " = " + s.d.Ph(1)
	if s.d == "postgres" {
		q = "SELECT " + s.d.Quote(l.Return) + " FROM " + s.d.Quote(l.Table) + " WHERE CAST(" + s.d.Quote(l.Key) + " AS TEXT) = $1"
	}
	q += " LIMIT 2"
	var vals []any
	var err error
	if s.pg != nil {
		var rows pgx.Rows
		if rows, err = s.pg.Query(ctx, q, value); err == nil {
			vals, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (any, error) {
				v, err := r.Values()
				if err != nil {
					return nil, err
				}
				return sqldb.Value(v[0]), nil
			})
		}
	} else {
		var rows *dbsql.Rows
		if rows, err = s.db.QueryContext(ctx, q, value); err == nil {
			vals, err = store.CollectRows(rows, func(r *dbsql.Rows) (any, error) {
				var v any
				err := r.Scan(&v)
				return sqldb.Value(v), err
			})
		}
	}
	if err != nil {
		return nil, false, err
	}
	switch len(vals) {
	case 0:
		return nil, false, nil
	case 1:
		return vals[0], true, nil
	}
	return nil, false, errors.New("more than one row has " + l.Key + " = " + value + " in " + l.Table)
}

// Finish closes the database: every chunk was committed when applied.
func (s *Sink) Finish(context.Context) (*sink.Tally, error) { s.Abort(); return nil, nil }

// Abort closes the database.
func (s *Sink) Abort() {
	if s.pg != nil {
		s.pg.Close(context.Background())
		s.pg = nil
	}
	if s.plain != nil {
		s.plain.Close()
		s.plain = nil
	}
	if s.stmt != nil {
		s.stmt.Close()
		s.stmt = nil
	}
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}
