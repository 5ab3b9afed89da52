package sql

import (
	"context"

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
		s.stmt, err = s.db.PrepareContext(ctx, s.upsertSQL(s.per))
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
	}
	return nil
}
