package records_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// keyBundle is a records service with a table keyed by two columns.
type keyBundle struct {
	t   *testing.T
	s   store.Store
	rec *records.Service
}

func setupKeys(t *testing.T, s store.Store) *keyBundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	pair := records.Table{Name: "pair", DisplayName: "Pair", PrimaryName: "label", Columns: []records.Column{
		{Name: "label", Type: records.String, MaxLength: 100},
		{Name: "region", Type: records.String, MaxLength: 10},
		{Name: "code", Type: records.Integer},
	}, Keys: []records.Key{{Name: "pair_region_code", Columns: []string{"region", "code"}}}}
	if err := rec.Init(ctx, []records.Table{pair}); err != nil {
		t.Fatal(err)
	}
	return &keyBundle{t: t, s: s, rec: rec}
}

func (b *keyBundle) table(name string) *records.Table {
	t, ok := b.rec.Table(name)
	if !ok {
		b.t.Fatalf("no table %s", name)
	}
	return t
}

func (b *keyBundle) upsert(table string, key []string, rows ...map[string]any) (records.UpsertCounts, error) {
	var c records.UpsertCounts
	err := b.s.Tx(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = b.rec.UpsertByKey(context.Background(), tx, b.table(table), key, rows, records.Caller{CorrelationID: "bulk"})
		return err
	})
	return c, err
}

func (b *keyBundle) mustUpsert(table string, key []string, want records.UpsertCounts, rows ...map[string]any) {
	b.t.Helper()
	c, err := b.upsert(table, key, rows...)
	if err != nil {
		b.t.Fatal(err)
	}
	if c != want {
		b.t.Fatalf("upsert %s: %+v, want %+v", table, c, want)
	}
}

func (b *keyBundle) get(table string, key []string, keys ...map[string]any) []map[string]any {
	b.t.Helper()
	var out []map[string]any
	if err := b.s.Read(context.Background(), func(q store.Querier) error {
		var err error
		out, err = b.rec.GetByKeys(context.Background(), q, b.table(table), key, keys)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i][key[0]]) < fmt.Sprint(out[j][key[0]]) })
	return out
}

func (b *keyBundle) changes() int {
	b.t.Helper()
	var n int
	b.s.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT COUNT(*) FROM junction_changes WHERE correlation_id = 'bulk'").Scan(&n)
	})
	return n
}

func (b *keyBundle) contact(last string) string {
	b.t.Helper()
	var id string
	if err := b.s.Tx(context.Background(), func(tx store.Tx) error {
		r, err := b.rec.Create(context.Background(), tx, b.table("contact"), records.Row{"lastname": last}, records.Caller{})
		if err == nil {
			id = r["contactid"].(string)
		}
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return id
}

func TestUpsertByKeyInBulk(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		cid := b.contact("Lee")
		key := []string{"accountnumber"}
		rows := []map[string]any{
			{"accountnumber": "A-1", "name": "One", "revenue": "1000.5", "numberofemployees": " 12 ", "creditonhold": "yes",
				"industrycode": "accounting", "primarycontactid": "{" + strings.ToUpper(cid) + "}"},
			{"accountnumber": "A-2", "name": "Two", "numberofemployees": int64(3), "creditonhold": int64(0),
				"primarycontactid": map[string]any{"id": cid, "logicalName": "contact"}},
			{"accountnumber": "A-3", "name": "Three", "revenue": 7.25, "lastonholdtime": "2026-05-01T10:00:00Z"},
		}
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 3}, rows...)
		b.mustUpsert("account", key, records.UpsertCounts{Unchanged: 3}, rows...)
		if n := b.changes(); n != 3 {
			t.Fatalf("%d changes after writing 3 rows and then the same again", n)
		}
		got := b.get("account", key, map[string]any{"accountnumber": "A-1"})
		if len(got) != 1 || got[0]["revenue"] != 1000.5 || got[0]["numberofemployees"] != int64(12) || got[0]["creditonhold"] != true ||
			got[0]["industrycode"] != int64(1) || got[0]["primarycontactid"] != cid {
			t.Fatalf("stored: %v", got)
		}
		// Only the changed row is updated, with only what differs; a key given
		// twice in one chunk creates the row and then updates it.
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 1, Updated: 2, Unchanged: 1},
			map[string]any{"accountnumber": "A-1", "name": "One Ltd"},
			map[string]any{"accountnumber": "A-2", "name": "Two"},
			map[string]any{"accountnumber": "A-4", "name": "Four"},
			map[string]any{"accountnumber": "A-4", "name": "Four Ltd"})
		if g := b.get("account", key, map[string]any{"accountnumber": "A-4"}, map[string]any{"accountnumber": "A-1"}); len(g) != 2 ||
			g[0]["name"] != "One Ltd" || g[0]["revenue"] != 1000.5 || g[1]["name"] != "Four Ltd" {
			t.Fatalf("after the update: %v", g)
		}
		// A value the table refuses fails the whole chunk, naming the row.
		before := b.changes()
		_, err := b.upsert("account", key,
			map[string]any{"accountnumber": "A-5", "name": "Five"},
			map[string]any{"accountnumber": "A-6", "name": "Six", "numberofemployees": "many"})
		if err == nil || !strings.Contains(err.Error(), `row 2 of the chunk (accountnumber = "A-6")`) || !strings.Contains(err.Error(), "must be a number") {
			t.Fatalf("refused chunk: %v", err)
		}
		if b.changes() != before || len(b.get("account", key, map[string]any{"accountnumber": "A-5"})) != 0 {
			t.Fatal("a refused chunk wrote rows")
		}
		for _, tc := range []struct {
			key  []string
			rows []map[string]any
			want string
		}{
			{nil, rows, "needs key columns (an alternate key such as accountnumber, or the primary id accountid)"},
			{[]string{"nope"}, rows, `table account has no key column "nope"`},
			{key, []map[string]any{{"accountnumber": "A-7", "colour": "red"}}, `table account has no column "colour"`},
			{key, []map[string]any{{"accountnumber": nil, "name": "No key"}}, "the key column accountnumber is empty"},
		} {
			if _, err := b.upsert("account", tc.key, tc.rows...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v %v: %v, want %q", tc.key, tc.rows, err, tc.want)
			}
		}
		// A key that is not unique among the stored rows is an error, not a guess.
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 1}, map[string]any{"accountnumber": "A-8", "name": "One Ltd"})
		if _, err := b.upsert("account", []string{"name"}, map[string]any{"name": "One Ltd", "telephone1": "1"}); err == nil ||
			!strings.Contains(err.Error(), "more than one account row has the key name = One Ltd") {
			t.Fatalf("ambiguous key: %v", err)
		}
	})
}

// TestUpsertByTwoColumnKey: a key of two columns, matched by both values,
// each value given in whatever form.
func TestUpsertByTwoColumnKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		key := []string{"region", "code"}
		b.mustUpsert("pair", key, records.UpsertCounts{Inserted: 3},
			map[string]any{"region": "eu", "code": "1", "label": "eu-1"},
			map[string]any{"region": "eu", "code": int64(2), "label": "eu-2"},
			map[string]any{"region": "us", "code": 1.0, "label": "us-1"})
		b.mustUpsert("pair", key, records.UpsertCounts{Updated: 1, Unchanged: 2},
			map[string]any{"region": "eu", "code": int64(1), "label": "eu-1"},
			map[string]any{"region": "eu", "code": "2", "label": "eu-2 again"},
			map[string]any{"region": "us", "code": " 1 ", "label": "us-1"})
		got := b.get("pair", key, map[string]any{"region": "eu", "code": "2"}, map[string]any{"region": "us", "code": "1"}, map[string]any{"region": "us", "code": "2"})
		if len(got) != 2 || got[0]["label"] != "eu-2 again" || got[1]["label"] != "us-1" {
			t.Fatalf("by two columns: %v", got)
		}
	})
}

func TestCheckByKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		key := []string{"accountnumber"}
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 1}, map[string]any{"accountnumber": "C-1", "name": "Stored"})
		before := b.changes()
		rows := []map[string]any{
			{"accountnumber": "C-1", "name": "Renamed"},                                             // an update: fine
			{"accountnumber": "C-2", "name": "New"},                                                 // a create: fine
			{"accountnumber": "C-3", "numberofemployees": "lots", "name": strings.Repeat("x", 161)}, // two bad values
			{"accountnumber": nil, "name": "No key"},                                                // an empty key
			{"accountnumber": "C-4", "numberofemployees": int64(-1)},                                // out of range
			{"accountnumber": "C-5", "name": "Dangling", "primarycontactid": "6d1a2b3c-0000-4000-8000-000000000003"},
			{"accountnumber": "C-1", "name": nil}, // an update clearing the name
		}
		var out [][]records.Refusal
		err := s.Read(context.Background(), func(q store.Querier) error {
			var err error
			out, err = b.rec.CheckByKey(context.Background(), q, b.table("account"), key, rows, records.Caller{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		cols := func(rs []records.Refusal) string {
			var c []string
			for _, r := range rs {
				c = append(c, r.Column)
			}
			return strings.Join(c, ",")
		}
		want := []string{"", "", "name,numberofemployees", "accountnumber", "numberofemployees", "primarycontactid", ""}
		for i := range rows {
			if got := cols(out[i]); got != want[i] {
				t.Errorf("row %d: refused %q (%v), want %q", i, got, out[i], want[i])
			}
		}
		if r := out[2][1]; r.Value != "lots" || !strings.Contains(r.Err.Message, "must be a number") {
			t.Errorf("refusal %+v", r)
		}
		if b.changes() != before {
			t.Fatal("a check wrote")
		}
		err = s.Read(context.Background(), func(q store.Querier) error {
			_, err := b.rec.CheckByKey(context.Background(), q, b.table("account"), key, []map[string]any{{"accountnumber": "C-9", "colour": "red"}}, records.Caller{})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), `no column "colour"`) {
			t.Fatalf("unknown column: %v", err)
		}
	})
}

func TestGetByKeysAsGiven(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		cid := b.contact("Lee")
		key := []string{"accountnumber"}
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 3},
			map[string]any{"accountnumber": "G-1", "name": "Obj", "primarycontactid": cid, "industrycode": int64(2)},
			map[string]any{"accountnumber": "G-2", "name": "Text", "primarycontactid": cid, "industrycode": "consulting"},
			map[string]any{"accountnumber": "G-3", "name": "Id", "primarycontactid": cid})
		obj := map[string]any{"id": cid, "logicalName": "contact"}
		got := b.get("account", key,
			map[string]any{"accountnumber": "G-1", "primarycontactid": obj},
			map[string]any{"accountnumber": "G-2", "primarycontactid": `{"id":"` + cid + `","logicalName":"contact"}`, "industrycode": "Consulting"},
			map[string]any{"accountnumber": "G-3"},
			map[string]any{"accountnumber": "G-9"})
		if len(got) != 3 {
			t.Fatalf("got %d rows: %v", len(got), got)
		}
		if g, ok := got[0]["primarycontactid"].(map[string]any); !ok || g["id"] != cid || g["logicalName"] != "contact" || got[0]["industrycode"] != int64(2) {
			t.Errorf("given an object: %v", got[0])
		}
		if got[1]["primarycontactid"] != `{"id":"`+cid+`","logicalName":"contact"}` || got[1]["industrycode"] != "Consulting" {
			t.Errorf("given JSON text and a label: %v", got[1])
		}
		if got[2]["primarycontactid"] != cid {
			t.Errorf("given nothing: %v", got[2])
		}
	})
}

func TestDeleteAndFlagByKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		ctx := context.Background()
		key := []string{"accountnumber"}
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 4},
			map[string]any{"accountnumber": "D-1", "name": "a"}, map[string]any{"accountnumber": "D-2", "name": "b"},
			map[string]any{"accountnumber": "D-3", "name": "c", "creditonhold": true}, map[string]any{"accountnumber": "D-4", "name": "d"})
		write := func(fn func(tx store.Tx, t *records.Table) (int64, error)) (int64, error) {
			var n int64
			err := s.Tx(ctx, func(tx store.Tx) error {
				var err error
				n, err = fn(tx, b.table("account"))
				return err
			})
			return n, err
		}
		keys := func(ns ...string) []map[string]any {
			var out []map[string]any
			for _, n := range ns {
				out = append(out, map[string]any{"accountnumber": n})
			}
			return out
		}
		n, err := write(func(tx store.Tx, t *records.Table) (int64, error) {
			return b.rec.FlagByKey(ctx, tx, t, key, "creditonhold", keys("D-2", "D-3", "D-2", "D-9"), records.Caller{})
		})
		if err != nil || n != 1 {
			t.Fatalf("flagged %d: %v (want only D-2: D-3 is flagged, D-9 absent, D-2 given twice)", n, err)
		}
		if _, err := write(func(tx store.Tx, t *records.Table) (int64, error) {
			return b.rec.FlagByKey(ctx, tx, t, key, "name", keys("D-1"), records.Caller{})
		}); err == nil || !strings.Contains(err.Error(), `flag accountnumber = D-1: table account has no Boolean column "name"`) {
			t.Fatalf("flag with a text column: %v", err)
		}
		n, err = write(func(tx store.Tx, t *records.Table) (int64, error) {
			return b.rec.DeleteByKey(ctx, tx, t, key, keys("D-1", "D-4", "D-1", "D-8"), records.Caller{})
		})
		if err != nil || n != 2 {
			t.Fatalf("deleted %d: %v", n, err)
		}
		got := b.get("account", key, keys("D-1", "D-2", "D-3", "D-4")...)
		if len(got) != 2 || got[0]["accountnumber"] != "D-2" || got[0]["creditonhold"] != true || got[1]["accountnumber"] != "D-3" {
			t.Fatalf("left: %v", got)
		}
		if _, err := write(func(tx store.Tx, t *records.Table) (int64, error) {
			return b.rec.DeleteByKey(ctx, tx, t, key, []map[string]any{{"accountnumber": nil}}, records.Caller{})
		}); err == nil || !strings.Contains(err.Error(), "the key column accountnumber is empty") {
			t.Fatalf("empty key: %v", err)
		}
	})
}

func TestFindByValue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		key := []string{"accountnumber"}
		b.mustUpsert("account", key, records.UpsertCounts{Inserted: 3},
			map[string]any{"accountnumber": "F-1", "name": "Contoso", "numberofemployees": int64(5)},
			map[string]any{"accountnumber": "F-2", "name": "CONTOSO", "numberofemployees": int64(5)},
			map[string]any{"accountnumber": "F-3", "name": "Fabrikam"})
		acct := b.table("account")
		find := func(col string, v any) []records.Row {
			c, _ := acct.Column(col)
			var out []records.Row
			if err := s.Read(context.Background(), func(q store.Querier) error {
				var err error
				out, err = b.rec.FindByValue(context.Background(), q, acct, c, v, 2)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := find("name", "Contoso"); len(got) != 1 || got[0]["accountnumber"] != "F-1" {
			t.Errorf("exact text first: %v", got)
		}
		if got := find("name", "fabrikam"); len(got) != 1 || got[0]["accountnumber"] != "F-3" {
			t.Errorf("case folded: %v", got)
		}
		if got := find("name", "contoso"); len(got) != 2 {
			t.Errorf("two folded matches: %v", got)
		}
		if got := find("numberofemployees", "5"); len(got) != 2 {
			t.Errorf("a number given as text: %v", got)
		}
		if got := find("numberofemployees", "five"); got != nil {
			t.Errorf("a value the column cannot hold: %v", got)
		}
		if got := find("name", "Northwind"); len(got) != 0 {
			t.Errorf("no match: %v", got)
		}
	})
}

// TestScanTable reads a table of more than one page, and returns the log's
// head as it was before the first page.
func TestScanTable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setupKeys(t, s)
		const n = 1203
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{"region": "r", "code": int64(i), "label": fmt.Sprint("row ", i)}
		}
		b.mustUpsert("pair", []string{"region", "code"}, records.UpsertCounts{Inserted: n}, rows...)
		if err := changelog.Sequence(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		var head int64
		s.Read(context.Background(), func(q store.Querier) error {
			var err error
			head, err = changelog.Head(context.Background(), q)
			return err
		})
		seen := map[int64]bool{}
		last := ""
		seq, err := b.rec.ScanTable(context.Background(), b.table("pair"), func(r records.Row) error {
			id := r["pairid"].(string)
			if id <= last {
				t.Fatalf("rows out of id order: %s after %s", id, last)
			}
			last = id
			seen[r["code"].(int64)] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != n || seq != head {
			t.Fatalf("scanned %d rows at %d, want %d at the head %d", len(seen), seq, n, head)
		}
		stop := fmt.Errorf("stop")
		if _, err := b.rec.ScanTable(context.Background(), b.table("pair"), func(records.Row) error { return stop }); err != stop {
			t.Fatalf("fn's error: %v", err)
		}
	})
}
