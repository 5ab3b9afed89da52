package records

import (
	"context"
	"fmt"
	"strings"

	"junction/internal/store"
)

// The indexes Dataverse keeps on every table, shaped for the SQL the Web API
// compiles (see package odata):
//   - the primary name, on its folded value (string comparisons fold case)
//     followed by the primary id, in the order $orderby=name asc sorts (nulls
//     first, ties by id), so an eq filter seeks it and $orderby + $top reads
//     its first rows instead of sorting the table;
//   - createdon and modifiedon, newest first with ties by id, as
//     $orderby=createdon desc sorts (nulls last);
//   - statecode, followed by the primary name as above, so a view of the
//     active rows by name reads them in order;
//   - every lookup (owner and customer lookups included), followed by the
//     primary id, so the rows of one parent come in id order, as a list
//     without $orderby is sorted; but for the lookups the platform fills in
//     (createdby, owninguser, ...): those are read with their row, and an
//     index on each of the seven would tax every write. A lookup's index
//     holds only the rows that reference something (see lookupIndexDDL).
//
// Alternate keys have their unique index and an index on the folded value of
// each text column (see apply). Every statement is CREATE INDEX IF NOT EXISTS,
// so running them again is harmless.
func indexDDL(d store.Dialect, t *Table) []string {
	tbl, id := t.SQLName(), Quote(t.PrimaryID())
	var out []string
	add := func(name, cols string) {
		out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", Quote(tbl+"_"+name), Quote(tbl), cols))
	}
	// SQLite sorts nulls first ascending and last descending, what the
	// compiled ORDER BY asks for; PostgreSQL must be told.
	asc, desc := "", " DESC"
	if d == store.Postgres {
		asc, desc = " NULLS FIRST", " DESC NULLS LAST"
	}
	name := id
	if c, ok := t.Column(t.PrimaryName); ok && c.Type.IsText() {
		name = Fold(d, Quote(c.Name)) + asc + ", " + id
		add("ix_name", name)
	}
	for _, n := range []string{"createdon", "modifiedon"} {
		if _, ok := t.Column(n); ok {
			add("ix_"+n, Quote(n)+desc+", "+id)
		}
	}
	if _, ok := t.Column("statecode"); ok {
		add("ix_statecode", Quote("statecode")+", "+name)
	}
	for _, c := range indexedLookups(t) {
		out = append(out, lookupIndexDDL(t, c))
	}
	return out
}

func lookupIndex(c *Column) string { return "lk_" + c.Name }

// lookupIndexDDL creates the index of lookup c of t: partial, on the rows
// whose lookup is set. Most lookups of a new row are empty (a record has a
// parent account, a primary contact, a currency... or not), and an entry for
// each empty one, ordered by the row's random id, would cost every create a
// write to a leaf page of each such index. The queries the index serves
// compare the lookup with a value (eq, in, a parent's related rows), which
// both databases know implies IS NOT NULL; a filter for rows without a
// reference (eq null) reads the table, as any filter on an unindexed column.
func lookupIndexDDL(t *Table, c *Column) string {
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s, %s) WHERE %s IS NOT NULL",
		Quote(t.SQLName()+"_"+lookupIndex(c)), Quote(t.SQLName()), Quote(c.Name), Quote(t.PrimaryID()), Quote(c.Name))
}

// indexedLookups are the lookups of t that have an index of their own.
func indexedLookups(t *Table) []*Column {
	var out []*Column
	for i := range t.Columns {
		if c := &t.Columns[i]; c.Type.IsLookup() && c.Computed == "" && c.Name != t.PrimaryID() {
			out = append(out, c)
		}
	}
	return out
}

// partialLookupIndexes replaces the lookup indexes of the tables stored
// before lookupIndexDDL, which held an entry for every row, with partial ones:
// the records migration that runs it once per store.
func partialLookupIndexes(ctx context.Context, tx store.Tx) error {
	return reindex(ctx, tx, func(t *Table) []string {
		var ddl []string
		for _, c := range indexedLookups(t) {
			ddl = append(ddl, "DROP INDEX IF EXISTS "+Quote(t.SQLName()+"_"+lookupIndex(c)), lookupIndexDDL(t, c))
		}
		return ddl
	})
}

// oldIndexDDL drops the indexes tables had before indexDDL's: a plain
// modifiedon index and one on each lookup alone, each replaced by one that
// also orders ties by the primary id.
func oldIndexDDL(t *Table) []string {
	tbl := t.SQLName()
	out := []string{"DROP INDEX IF EXISTS " + Quote(tbl+"_modifiedon")}
	for i := range t.Columns {
		if c := &t.Columns[i]; c.Type.IsLookup() {
			out = append(out, "DROP INDEX IF EXISTS "+Quote(tbl+"_"+c.Name))
		}
	}
	return out
}

// indexExisting gives the tables stored before indexDDL their indexes: the
// records migration that runs it once per store.
func indexExisting(ctx context.Context, tx store.Tx) error {
	return reindex(ctx, tx, func(t *Table) []string { return append(oldIndexDDL(t), indexDDL(tx.Dialect(), t)...) })
}

// reindex runs the statements ddl gives for each stored table, a table's in
// one round trip.
func reindex(ctx context.Context, tx store.Tx, ddl func(t *Table) []string) error {
	defs, err := loadDefs(ctx, tx)
	if err != nil {
		return err
	}
	for _, t := range defs {
		stmts := ddl(t)
		if len(stmts) == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
			return fmt.Errorf("index table %s: %w", t.Name, err)
		}
	}
	return nil
}
