package records_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestGetColumnsReadsTheSetOnly reads a contact with a column set (a
// polymorphic lookup among them) and whole: the set's columns have the values
// of the whole row, and no other column is read.
func TestGetColumnsReadsTheSetOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		ctx := context.Background()
		acc, _ := rec.Table("account")
		con, _ := rec.Table("contact")
		var id string
		err := s.Tx(ctx, func(tx store.Tx) error {
			a, err := rec.Create(ctx, tx, acc, records.Row{"name": "A"}, records.Caller{})
			if err != nil {
				return err
			}
			c, err := rec.Create(ctx, tx, con, records.Row{"lastname": "Lee", "creditlimit": 12.5,
				"parentcustomerid": records.Ref{Table: "account", ID: a["accountid"].(string)}}, records.Caller{})
			id, _ = c["contactid"].(string)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"parentcustomerid", "lastname", "nosuchcolumn", "creditlimit", "ownerid", "contactid", "lastname"}
		set := con.ColumnSet(names...)
		if set.Width() != 7 { // five columns, two of them polymorphic lookups with their type
			t.Fatalf("width %d: %s", set.Width(), set.List("c"))
		}
		list := set.List("c")
		for _, c := range []string{"contactid", "lastname", "creditlimit", "parentcustomerid", "parentcustomerid__type", "ownerid", "ownerid__type"} {
			if !strings.Contains(list, `c."`+c+`"`) {
				t.Fatalf("list %s has no %s", list, c)
			}
		}
		if strings.Count(list, ", ") != 6 {
			t.Fatalf("list %s names more columns", list)
		}
		var part, whole records.Row
		err = s.Read(ctx, func(q store.Querier) error {
			var err error
			if part, err = rec.GetColumns(ctx, q, con, strings.ToUpper(id), set); err != nil {
				return err
			}
			whole, err = rec.Get(ctx, q, con, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := records.Row{}
		for _, n := range []string{"contactid", "lastname", "creditlimit", "parentcustomerid", "ownerid"} {
			want[n] = whole[n]
		}
		if !reflect.DeepEqual(part, want) {
			t.Fatalf("read with the set %v, want %v", part, want)
		}
		if ref, _ := part["parentcustomerid"].(records.Ref); ref.Table != "account" {
			t.Fatalf("the polymorphic lookup lost its table: %#v", part["parentcustomerid"])
		}
		err = s.Read(ctx, func(q store.Querier) error {
			_, err := rec.GetColumns(ctx, q, con, records.NewID(), set)
			return err
		})
		if records.AsError(err).Code != records.CodeNotFound {
			t.Fatalf("missing row: %v", err)
		}
	})
}

// TestColumnSetsAreKept checks that a set is built once whatever the order
// and repeats of its names, that no names is every column, and that past
// the bound a set is still right but not kept.
func TestColumnSetsAreKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		if s.Dialect() != store.SQLite {
			t.Skip("the store plays no part")
		}
		rec := setup(t, s)
		con, _ := rec.Table("contact")
		a := con.ColumnSet("lastname", "contactid")
		if b := con.ColumnSet("contactid", "lastname", "lastname"); a != b {
			t.Fatal("the same set was built twice")
		}
		if all := con.ColumnSet(); all != con.ColumnSet() || all.List("t") != records.SelectList(con, "t") || all.Width() != records.SelectWidth(con) {
			t.Fatal("no names is not every column, kept")
		}
		var names []string
		for i := range con.Columns {
			names = append(names, con.Columns[i].Name)
		}
		for i := 0; i < 300; i++ {
			set := con.ColumnSet(names[i%len(names)], fmt.Sprint("x", i))
			if set.Width() < 1 || set.List("t") != "t."+records.Quote(names[i%len(names)])+typeSuffix(con, names[i%len(names)]) {
				t.Fatalf("set %d: %s", i, set.List("t"))
			}
		}
		if con.ColumnSet("lastname", "x299") == con.ColumnSet("lastname", "x299") {
			t.Fatal("a set past the bound was kept")
		}
	})
}

func typeSuffix(t *records.Table, name string) string {
	c, _ := t.Column(name)
	if c.Polymorphic() {
		return ", t." + records.Quote(records.TypeColumn(c))
	}
	return ""
}

// TestGetColumnsEndedContext: a read by id whose context has ended does not
// run, outside a transaction as inside one.
func TestGetColumnsEndedContext(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		rec := setup(t, s)
		acc, _ := rec.Table("account")
		var id string
		err := s.Tx(context.Background(), func(tx store.Tx) error {
			a, err := rec.Create(context.Background(), tx, acc, records.Row{"name": "A"}, records.Caller{})
			id, _ = a["accountid"].(string)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, read := range []func(context.Context, func(store.Querier) error) error{s.Read, func(ctx context.Context, fn func(store.Querier) error) error {
			return store.ReadOne(ctx, s, fn)
		}} {
			err := read(context.Background(), func(q store.Querier) error {
				_, err := rec.GetColumns(ctx, q, acc, id, acc.ColumnSet("name"))
				return err
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("read with an ended context: %v", err)
			}
		}
	})
}
