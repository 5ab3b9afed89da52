package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"junction/internal/job/format"
)

// sqlSink upserts rows into a warehouse table on PostgreSQL, MySQL/MariaDB or
// SQLite. The table is created when missing and gains columns the job maps but
// it lacks. Each chunk is one transaction: existing rows are read by key to
// count inserts, updates and unchanged rows; new rows go in with COPY on
// PostgreSQL, changed rows with a multi-row upsert.
type sqlSink struct {
	d       sqlDialect
	db      *sql.DB   // mysql, sqlite
	pg      *pgx.Conn // postgres
	table   string
	cols    []format.Column
	key     []string
	deletes string
	delCol  string
	noCopy  bool
}

func openSQLSink(ctx context.Context, sk Sink, dsn string, p sinkPlan, prepare bool) (*sqlSink, error) {
	s := &sqlSink{d: sqlDialect(sk.Driver), table: sk.Table, cols: p.cols, key: p.key, deletes: sk.Deletes, delCol: sk.DeletedColumn, noCopy: sk.NoCopy}
	var err error
	if s.d == "postgres" {
		s.pg, err = pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("cannot reach the postgres database: %w", err)
		}
	} else {
		if s.db, err = openSQL(ctx, s.d, dsn); err != nil {
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
	return s, nil
}

func (s *sqlSink) isKey(name string) bool { return contains(s.key, name) }

func (s *sqlSink) withTx(ctx context.Context, fn func(chunkTx) error) error {
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

func (s *sqlSink) ensureTable(ctx context.Context) error {
	return s.withTx(ctx, func(tx chunkTx) error {
		var existing = map[string]bool{}
		var q string
		switch s.d {
		case "postgres":
			q = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"
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
				def := s.d.quote(c.Name) + " " + s.d.columnType(c.Type, s.isKey(c.Name))
				if s.isKey(c.Name) {
					def += " NOT NULL"
				}
				defs = append(defs, def)
			}
			keys := make([]string, len(s.key))
			for i, k := range s.key {
				keys[i] = s.d.quote(k)
			}
			defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
			_, err := tx.exec(ctx, "CREATE TABLE "+s.d.quote(s.table)+" (\n  "+strings.Join(defs, ",\n  ")+"\n)", nil)
			return err
		}
		for _, c := range cols {
			if existing[strings.ToLower(c.Name)] {
				continue
			}
			if s.isKey(c.Name) {
				return fmt.Errorf("the table exists without the key column %s; add it (with a unique index) first", c.Name)
			}
			if _, err := tx.exec(ctx, "ALTER TABLE "+s.d.quote(s.table)+" ADD COLUMN "+s.d.quote(c.Name)+" "+s.d.columnType(c.Type, false), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// whereKeys builds a WHERE clause matching rows by key, placeholders from n+1.
func (s *sqlSink) whereKeys(rows []Row, n int) (string, []any) {
	var args []any
	if len(s.key) == 1 {
		k := s.key[0]
		phs := make([]string, len(rows))
		for i, r := range rows {
			args = append(args, s.d.bind(s.colType(k), r.Values[k]))
			phs[i] = s.d.ph(n + len(args))
		}
		return s.d.quote(k) + " IN (" + strings.Join(phs, ", ") + ")", args
	}
	ors := make([]string, len(rows))
	for i, r := range rows {
		ands := make([]string, len(s.key))
		for j, k := range s.key {
			args = append(args, s.d.bind(s.colType(k), r.Values[k]))
			ands[j] = s.d.quote(k) + " = " + s.d.ph(n+len(args))
		}
		ors[i] = "(" + strings.Join(ands, " AND ") + ")"
	}
	return strings.Join(ors, " OR "), args
}

func (s *sqlSink) colType(name string) string {
	for _, c := range s.cols {
		if c.Name == name {
			return c.Type
		}
	}
	return format.TypeString
}

func (s *sqlSink) selectCols() string {
	names := make([]string, len(s.cols))
	for i, c := range s.cols {
		names[i] = s.d.quote(c.Name)
	}
	return strings.Join(names, ", ")
}

// existing reads the rows of chunk that the table holds, by key text. With
// deletes: flag, a row that is flagged deleted has no hash: it is not the
// live row the chunk may bring back.
func (s *sqlSink) existing(ctx context.Context, tx chunkTx, rows []Row) (map[string][32]byte, error) {
	out := make(map[string][32]byte, len(rows))
	const batch = 500
	flag := s.deletes == "flag"
	sel := s.selectCols()
	if flag {
		sel += ", " + s.d.quote(s.delCol)
	}
	for start := 0; start < len(rows); start += batch {
		part := rows[start:min(start+batch, len(rows))]
		where, args := s.whereKeys(part, 0)
		q := "SELECT " + sel + " FROM " + s.d.quote(s.table) + " WHERE " + where
		err := tx.query(ctx, q, args, func(v []any) error {
			row := make(map[string]any, len(s.cols))
			for i, c := range s.cols {
				row[c.Name] = v[i]
			}
			live := true
			if flag {
				deleted, _ := convert(dbValue(v[len(s.cols)]), format.TypeBool, "")
				live = deleted != true
			}
			var h [32]byte // a flagged row: differs from any live row
			if live {
				h = rowHash(s.cols, row)
			}
			out[keyOf(s.key, row)] = h
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dedupe keeps the last row of each key in a chunk.
func dedupe(key []string, rows []Row) []Row {
	seen := make(map[string]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		k := keyOf(key, r.Values)
		if i, ok := seen[k]; ok {
			out[i] = r
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out
}

func (s *sqlSink) Apply(ctx context.Context, rows []Row) (Counts, []Reject, error) {
	rows = dedupe(s.key, rows)
	var c Counts
	err := s.withTx(ctx, func(tx chunkTx) error {
		c = Counts{}
		have, err := s.existing(ctx, tx, rows)
		if err != nil {
			return fmt.Errorf("read existing rows: %w", err)
		}
		var fresh, changed, deleted []Row
		for _, r := range rows {
			k := keyOf(s.key, r.Values)
			h, ok := have[k]
			switch {
			case r.Deleted:
				if ok && s.deletes != "ignore" {
					deleted = append(deleted, r)
				}
			case !ok:
				fresh = append(fresh, r)
			case h != rowHash(s.cols, r.Values):
				changed = append(changed, r)
			default:
				c.Unchanged++
			}
		}
		if s.pg != nil && !s.noCopy && len(fresh) > 0 {
			n, err := s.copyRows(ctx, tx.(pgTx).tx, fresh)
			if err != nil {
				return fmt.Errorf("copy new rows: %w", err)
			}
			c.Inserted = n
		} else if len(fresh) > 0 {
			if err := s.upsert(ctx, tx, fresh); err != nil {
				return fmt.Errorf("insert new rows: %w", err)
			}
			c.Inserted = int64(len(fresh))
		}
		if len(changed) > 0 {
			if err := s.upsert(ctx, tx, changed); err != nil {
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
	return c, nil, err
}

func (s *sqlSink) writeCols() []format.Column {
	if s.deletes == "flag" {
		return append(append([]format.Column(nil), s.cols...), format.Column{Name: s.delCol, Type: format.TypeBool})
	}
	return s.cols
}

func (s *sqlSink) rowArgs(cols []format.Column, r Row) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		if s.deletes == "flag" && c.Name == s.delCol {
			out[i] = r.Deleted
			continue
		}
		out[i] = s.d.bind(c.Type, r.Values[c.Name])
	}
	return out
}

func (s *sqlSink) copyRows(ctx context.Context, tx pgx.Tx, rows []Row) (int64, error) {
	cols := s.writeCols()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	data := make([][]any, len(rows))
	for i, r := range rows {
		data[i] = s.rowArgs(cols, r)
	}
	return tx.CopyFrom(ctx, pgx.Identifier{s.table}, names, pgx.CopyFromRows(data))
}

// upsert writes rows with multi-row INSERT ... ON CONFLICT (or ON DUPLICATE
// KEY on MySQL), a few hundred rows a statement.
func (s *sqlSink) upsert(ctx context.Context, tx chunkTx, rows []Row) error {
	cols := s.writeCols()
	names := make([]string, len(cols))
	var sets []string
	for i, c := range cols {
		names[i] = s.d.quote(c.Name)
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
		keys[i] = s.d.quote(k)
	}
	per := max(1, 30000/len(cols))
	for start := 0; start < len(rows); start += per {
		part := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + s.d.quote(s.table) + " (" + strings.Join(names, ", ") + ") VALUES ")
		args := make([]any, 0, len(part)*len(cols))
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range s.rowArgs(cols, r) {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				b.WriteString(s.d.ph(len(args)))
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
		if _, err := tx.exec(ctx, b.String(), args); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlSink) delete(ctx context.Context, tx chunkTx, rows []Row) (int64, error) {
	where, args := s.whereKeys(rows, 1)
	if s.deletes == "flag" {
		return tx.exec(ctx, "UPDATE "+s.d.quote(s.table)+" SET "+s.d.quote(s.delCol)+" = "+s.d.ph(1)+" WHERE "+where, append([]any{true}, args...))
	}
	where, args = s.whereKeys(rows, 0)
	return tx.exec(ctx, "DELETE FROM "+s.d.quote(s.table)+" WHERE "+where, args)
}

func (s *sqlSink) Verify(ctx context.Context, rows []Row) (map[string][32]byte, bool, error) {
	var live []Row
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

func (s *sqlSink) Resolve(ctx context.Context, l Lookup, value string) (any, bool, error) {
	q := "SELECT " + s.d.quote(l.Return) + " FROM " + s.d.quote(l.Table) + " WHERE " + s.d.quote(l.Key) + " = " + s.d.ph(1)
	if s.d == "postgres" {
		q = "SELECT " + s.d.quote(l.Return) + " FROM " + s.d.quote(l.Table) + " WHERE CAST(" + s.d.quote(l.Key) + " AS TEXT) = $1"
	}
	q += " LIMIT 2"
	var vals []any
	var err error
	if s.pg != nil {
		var rows pgx.Rows
		rows, err = s.pg.Query(ctx, q, value)
		if err == nil {
			for rows.Next() {
				v, verr := rows.Values()
				if verr != nil {
					err = verr
					break
				}
				vals = append(vals, dbValue(v[0]))
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	} else {
		var rows *sql.Rows
		rows, err = s.db.QueryContext(ctx, q, value)
		if err == nil {
			for rows.Next() {
				var v any
				if err = rows.Scan(&v); err != nil {
					break
				}
				vals = append(vals, dbValue(v))
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
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

func (s *sqlSink) Finish(context.Context) (*tally, error) { s.Abort(); return nil, nil }

func (s *sqlSink) Abort() {
	if s.pg != nil {
		s.pg.Close(context.Background())
		s.pg = nil
	}
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}
