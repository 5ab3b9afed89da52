package sql

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

func textRows(line int64, kv ...string) []sink.Row {
	var rows []sink.Row
	for i := 0; i < len(kv); i += 2 {
		rows = append(rows, sink.Row{Line: line + int64(i/2), Values: map[string]any{"k": kv[i], "v": kv[i+1]}})
	}
	return rows
}

// TestCopyFirstCountsAsReadByKey: chunks copied in without reading their
// keys count and reconcile as chunks read by key first. A chunk with a row
// the table holds is refused by the key's index and applied as usual, and
// the next chunk is read by key; a chunk read by key that finds none of its
// rows lets the one after it be copied first again.
func TestCopyFirstCountsAsReadByKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, conn := warehouse(t)
	plan := sink.Plan{Cols: []format.Column{{Name: "k"}, {Name: "v"}}, Key: []string{"k"}}
	s, err := Open(ctx, Table{Driver: "postgres", Name: "t", Deletes: "delete"}, dsn, plan, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	if !s.uniqueKey {
		t.Fatal("the table the sink created has no unique key")
	}
	steps := []struct {
		rows     []sink.Row
		want     sink.Counts
		copyNext bool // the next chunk is copied first
	}{
		{textRows(1, "a", "1", "b", "2"), sink.Counts{Inserted: 2}, true},
		{textRows(3, "c", "3", "b", "changed", "a", "1"), sink.Counts{Inserted: 1, Updated: 1, Unchanged: 1}, false},
		{textRows(6, "d", "4"), sink.Counts{Inserted: 1}, true},
		{textRows(7, "e", "first", "f", "5", "e", "last"), sink.Counts{Inserted: 2}, true},
		{append(textRows(10, "g", "6"), sink.Row{Line: 11, Values: map[string]any{"k": "d"}, Deleted: true}), sink.Counts{Inserted: 1, Deleted: 1}, false},
		{textRows(12, "h", "7"), sink.Counts{Inserted: 1}, true},
	}
	for i, st := range steps {
		c, _, err := s.Apply(ctx, st.rows)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if c != st.want {
			t.Errorf("chunk %d: counts %+v, want %+v", i, c, st.want)
		}
		if s.copyFirst(textRows(0, "x", "y")) != st.copyNext {
			t.Errorf("chunk %d: the next chunk copied first: %v, want %v", i, !st.copyNext, st.copyNext)
		}
		live := sink.Dedupe(s.key, st.rows)
		got, _, err := s.Verify(ctx, live)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range live {
			if r.Deleted {
				continue
			}
			if want := sink.Hash(plan.Cols, r.Values); got[r.Values["k"].(string)] != want {
				t.Errorf("chunk %d: row %v does not reconcile", i, r.Values)
			}
		}
	}
	var table string
	if err := conn.QueryRow(ctx, "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM t").Scan(&table); err != nil {
		t.Fatal(err)
	}
	if table != "a=1 b=changed c=3 e=last f=5 g=6 h=7" {
		t.Fatalf("table: %s", table)
	}
}

// TestCopyFirstNeedsAUniqueKey: a table whose key has no unique index that
// every insert checks at once is read by key before each chunk, so that a
// row it holds is not copied in a second time.
func TestCopyFirstNeedsAUniqueKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, conn := warehouse(t)
	plan := sink.Plan{Cols: []format.Column{{Name: "k"}, {Name: "v"}}, Key: []string{"k"}}
	for i, tc := range []struct {
		def    string
		unique bool
	}{
		{"k TEXT NOT NULL, v TEXT", false},
		{"k TEXT NOT NULL, v TEXT, UNIQUE (k, v)", false},
		{"k TEXT NOT NULL, v TEXT, UNIQUE (k) DEFERRABLE INITIALLY DEFERRED", false},
		{"k TEXT NOT NULL, v TEXT; CREATE UNIQUE INDEX ON %s (k) WHERE v <> 'x'", false},
		{"k TEXT NOT NULL, v TEXT; CREATE UNIQUE INDEX ON %s (lower(k))", false},
		{"k TEXT NOT NULL, v TEXT; CREATE INDEX ON %s (k)", false},
		{"k TEXT NOT NULL, v TEXT; CREATE UNIQUE INDEX ON %s (k) INCLUDE (v)", true},
		{"v TEXT, k TEXT PRIMARY KEY", true},
	} {
		table := fmt.Sprintf("t%d", i)
		def, extra, _ := strings.Cut(tc.def, "; ")
		q := "CREATE TABLE " + table + " (" + def + "); INSERT INTO " + table + " (k, v) VALUES ('a', '1')"
		if extra != "" {
			q += "; " + fmt.Sprintf(extra, table)
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, Table{Driver: "postgres", Name: table}, dsn, plan, true)
		if err != nil {
			t.Fatal(err)
		}
		if s.uniqueKey != tc.unique {
			t.Errorf("%s: unique key %v, want %v", tc.def, s.uniqueKey, tc.unique)
		}
		c, _, err := s.Apply(ctx, textRows(1, "a", "1", "b", "2"))
		s.Abort()
		if err != nil {
			t.Fatalf("%s: %v", tc.def, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if c != (sink.Counts{Inserted: 1, Unchanged: 1}) || n != 2 {
			t.Errorf("%s: counts %+v, %d rows in the table", tc.def, c, n)
		}
	}
	// A composite key matches an index on its columns in another order.
	if _, err := conn.Exec(ctx, "CREATE TABLE pair (k TEXT, v TEXT, PRIMARY KEY (v, k))"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Table{Driver: "postgres", Name: "pair"}, dsn, sink.Plan{Cols: plan.Cols, Key: []string{"k", "v"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	if !s.uniqueKey {
		t.Error("the primary key (v, k) is not taken for the key k, v")
	}
}
