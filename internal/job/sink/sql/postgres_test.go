package sql

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"junction/internal/job/format"
	"junction/internal/job/sink"
	"junction/internal/store/storetest"
)

// warehouse is an empty PostgreSQL database for a sink, and a connection to
// it closed when t ends.
func warehouse(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return dsn, conn
}

// TestPostgresStoresWhatItSays checks postgresStores against PostgreSQL
// itself: for each column type, mapping type and value, a chunk whose bound
// values stand for the table (copied straight in, not returned) hashes as
// the table holds it when read again.
func TestPostgresStoresWhatItSays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, conn := warehouse(t)
	declared := []string{"TEXT", "VARCHAR", "VARCHAR(5)", "CHAR(5)", "BIGINT", "INTEGER", "SMALLINT", "NUMERIC", "NUMERIC(10,2)",
		"DATE", "TIMESTAMPTZ", "TIMESTAMP", "BOOLEAN", "DOUBLE PRECISION", "REAL", "JSONB"}
	types := []string{"", format.TypeString, format.TypeInt, format.TypeDecimal, format.TypeDate, format.TypeDateTime, format.TypeBool, format.TypeFloat}
	raws := []string{"", "abc", "ab   ", "ab      ", "abcdefgh  ", " padded ", "007", "3", "1.50", "-0.5", "12345.678", "1e3", "2026-02-03",
		"2026-02-03T04:05:06.123456789+02:00", "0001-01-01", "true", "ünï", "99999999999"}
	direct := 0
	check := func(s *Sink, chunk []sink.Row) {
		t.Helper()
		if s.back == nil {
			t.Fatalf("%s: no read-back from the writes", s.table)
		}
		var read map[string][32]byte
		if err := s.withTx(ctx, func(tx chunkTx) (err error) {
			read, err = s.existing(ctx, tx, chunk)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, r := range chunk {
			k := sink.KeyOf(s.key, r.Values)
			if s.back.got[k] != read[k] {
				t.Errorf("%s: %v was taken as stored, but the table holds another value", s.table, r.Values)
			}
			direct++
		}
	}
	for ti, decl := range declared {
		// A column of the declared type for each mapping type; a row sets
		// one of them.
		table := fmt.Sprintf("t%d", ti)
		plan := sink.Plan{Cols: []format.Column{{Name: "k", Type: format.TypeInt}}, Key: []string{"k"}}
		defs := []string{"k BIGINT PRIMARY KEY"}
		for mi, typ := range types {
			plan.Cols = append(plan.Cols, format.Column{Name: fmt.Sprintf("v%d", mi), Type: typ})
			defs = append(defs, fmt.Sprintf("v%d %s", mi, decl))
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" ("+strings.Join(defs, ", ")+")"); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, Table{Driver: "postgres", Name: table}, dsn, plan, true)
		if err != nil {
			t.Fatal(err)
		}
		// The values taken as stored, in one chunk, or row by row where the
		// column refuses one of them.
		var rows []sink.Row
		for mi, typ := range types {
			for _, raw := range raws {
				v, err := format.Convert(raw, typ, "")
				row := sink.Row{Line: int64(len(rows) + 1), Values: map[string]any{"k": int64(len(rows)), fmt.Sprintf("v%d", mi): v}}
				if err == nil && s.keeps(s.rowArgs(s.writeCols(), row)) {
					rows = append(rows, row)
				}
			}
		}
		if len(rows) == 0 {
			s.Abort()
			continue
		}
		if _, _, err := s.Apply(ctx, rows); err == nil {
			check(s, rows)
		} else {
			for _, r := range rows {
				if _, _, err := s.Apply(ctx, []sink.Row{r}); err == nil {
					check(s, []sink.Row{r})
				}
			}
		}
		s.Abort()
	}
	if direct == 0 {
		t.Fatal("no value was taken as stored")
	}
}

// FuzzNumeric: a decimal goes to COPY as the number pgx's own parsing reads.
func FuzzNumeric(f *testing.F) {
	for _, d := range []string{"0", "1.5", "-1.5", "1200", "-1200", "0.001", "123456789012345678", "12345678901234567.8", "1234567890123456789", "-0.5", "1.50", "abc"} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) {
		got, ok := numeric(d)
		var want pgtype.Numeric
		if wantOK := want.Scan(d) == nil; ok != wantOK {
			t.Fatalf("numeric(%q): ok %v, Scan %v", d, ok, wantOK)
		}
		if ok && (got.Int.Cmp(want.Int) != 0 || got.Exp != want.Exp || got.Valid != want.Valid || got.NaN != want.NaN) {
			t.Fatalf("numeric(%q) = %v e%d, Scan %v e%d", d, got.Int, got.Exp, want.Int, want.Exp)
		}
	})
}

// TestPostgresTableGainsColumns: an existing table gains the columns the job
// maps but it lacks, once; one without the key column is refused; a table of
// the same name in another schema does not count as the one to write.
func TestPostgresTableGainsColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, conn := warehouse(t)
	for _, q := range []string{"CREATE TABLE t (k BIGINT PRIMARY KEY, a TEXT)", "CREATE SCHEMA other", "CREATE TABLE other.elsewhere (x TEXT)"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	plan := sink.Plan{Cols: []format.Column{{Name: "k", Type: format.TypeInt}, {Name: "a"}, {Name: "b", Type: format.TypeDecimal}}, Key: []string{"k"}}
	for range 2 {
		s, err := Open(ctx, Table{Driver: "postgres", Name: "t"}, dsn, plan, true)
		if err != nil {
			t.Fatal(err)
		}
		s.Abort()
	}
	var cols []string
	rows, _ := conn.Query(ctx, "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position")
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	if strings.Join(cols, ", ") != "k bigint, a text, b numeric" {
		t.Fatalf("columns: %v", cols)
	}
	if _, err := Open(ctx, Table{Driver: "postgres", Name: "t"}, dsn, sink.Plan{Cols: []format.Column{{Name: "id"}}, Key: []string{"id"}}, true); err == nil || !strings.Contains(err.Error(), "without the key column") {
		t.Fatalf("a table without the key column: %v", err)
	}
	// With other on the search path after public, elsewhere is not in the
	// current schema: the sink creates its own.
	s, err := Open(ctx, Table{Driver: "postgres", Name: "elsewhere"}, dsn+map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")]+"search_path=public,other", plan, true)
	if err != nil {
		t.Fatal(err)
	}
	s.Abort()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'elsewhere'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("elsewhere in public: %d, %v", n, err)
	}
}
