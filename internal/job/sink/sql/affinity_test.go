package sql

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"junction/internal/job/format"
	"junction/internal/job/sink"
	"junction/internal/job/sqldb"
)

// declaredTypes are column types as tables declare them, one or more for
// each of SQLite's five affinities.
var declaredTypes = []string{"INTEGER", "BIGINT", "TEXT", "VARCHAR(20)", "CLOB", "BLOB", "", "REAL", "DOUBLE PRECISION", "FLOAT", "NUMERIC", "DECIMAL(10,2)", "DATE", "BOOLEAN"}

// storedAsBound checks affinity.stores against SQLite itself: every value
// that stores says is kept comes back from the table exactly as it was
// bound, with its Go type.
func storedAsBound(t testing.TB, values []any) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, typ := range declaredTypes {
		table := "t" + string(rune('a'+i))
		if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, v "+typ+")"); err != nil {
			t.Fatal(err)
		}
		a := affinityOf(typ)
		for j, v := range values {
			if !a.stores(v, false) {
				continue
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (id, v) VALUES (?, ?)", j, v); err != nil {
				t.Fatal(err)
			}
			var got any
			if err := db.QueryRowContext(ctx, "SELECT v FROM "+table+" WHERE id = ?", j).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, v) {
				t.Errorf("%s column: bound %T %#v, read back %T %#v, but stores says it is kept", typ, v, v, got, got)
			}
		}
	}
}

func TestAffinityStoresWhatItSays(t *testing.T) {
	t.Parallel()
	storedAsBound(t, []any{nil, "", "abc", "007", "1.5", "1e3", " 12 ", "2026-01-02", "ünïcødé ✓", "a\x00b",
		int64(0), int64(-7), int64(math.MaxInt64), int64(math.MinInt64),
		0.0, math.Copysign(0, -1), 2.0, 1.5, -1e300, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(), 9007199254740993.0})
	// Kept: text in text columns, integers in integer and numeric ones.
	for _, c := range []struct {
		typ  string
		v    any
		kept bool
	}{{"TEXT", "007", true}, {"INTEGER", "007", false}, {"NUMERIC", "1.5", false}, {"NUMERIC", int64(3), true},
		{"REAL", int64(3), false}, {"INTEGER", 3.0, false}, {"REAL", 3.0, true}, {"REAL", math.NaN(), false}, {"DATE", "2026-01-02", false}} {
		if got := affinityOf(c.typ).stores(c.v, false); got != c.kept {
			t.Errorf("%s column, %T %v: stores %v, want %v", c.typ, c.v, c.v, got, c.kept)
		}
	}
}

func FuzzAffinityStores(f *testing.F) {
	f.Add("007", int64(7), 7.0)
	f.Add("", int64(-1), -0.5)
	f.Fuzz(func(t *testing.T, s string, i int64, x float64) {
		storedAsBound(t, []any{s, i, x})
	})
}

// TestKeptOnlyWhereTheDefinitionAllows: the sink takes bound values as
// stored only for tables whose definition keeps them so: not with an untyped
// key (an integer matches the real of the same value), a collation or a
// conflict clause.
func TestKeptOnlyWhereTheDefinitionAllows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plan := sink.Plan{Cols: []format.Column{{Name: "k", Type: format.TypeInt}, {Name: "v", Type: format.TypeString}}, Key: []string{"k"}}
	for table, kept := range map[string]bool{
		"CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)":                                         true,
		"CREATE TABLE t (k BIGINT NOT NULL, v VARCHAR(9), PRIMARY KEY (k))":                      true,
		"CREATE TABLE t (k PRIMARY KEY, v TEXT)":                                                 false,
		"CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT COLLATE NOCASE)":                          false,
		"CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL ON CONFLICT REPLACE DEFAULT '')": false,
	} {
		dsn := filepath.Join(t.TempDir(), "w.db")
		db, err := sqldb.Open(ctx, "sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, table); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s, err := Open(ctx, Table{Driver: "sqlite", Name: "t"}, dsn, plan, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.kept != nil; got != kept {
			t.Errorf("%s: values taken as stored: %v, want %v", table, got, kept)
		}
		s.Abort()
	}
}
