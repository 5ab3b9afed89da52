package records_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestIndexes checks the indexes a table is created with, and that the
// records migration gives them to a table created before them, replacing the
// older ones, however often it runs.
func TestIndexes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		migrations := append(changelog.Migrations(), records.Migrations()...)
		if err := s.Migrate(ctx, migrations); err != nil {
			t.Fatal(err)
		}
		if err := records.New(records.Config{Store: s}).Init(ctx, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"rec_account_ix_name", "rec_account_ix_createdon", "rec_account_ix_modifiedon", "rec_account_ix_statecode",
			"rec_account_lk_ownerid", "rec_account_lk_parentaccountid", "rec_account_lk_primarycontactid",
			"rec_account_key_account_accountnumber", "rec_account_fold_accountnumber"}
		old := []string{"rec_account_modifiedon", "rec_account_parentaccountid", "rec_account_lk_createdby"}
		check := func(when string) {
			t.Helper()
			have := indexes(t, s, "rec_account")
			for _, n := range want {
				if _, ok := have[n]; !ok {
					t.Errorf("%s: no index %s in %v", when, n, slices.Sorted(maps.Keys(have)))
				}
			}
			for _, n := range old {
				if _, ok := have[n]; ok {
					t.Errorf("%s: the replaced index %s is still there", when, n)
				}
			}
			// A lookup's index holds the rows with a reference only.
			for n, def := range have {
				partial := strings.Contains(strings.ToUpper(def), "WHERE")
				if lookup := strings.HasPrefix(n, "rec_account_lk_"); lookup != partial {
					t.Errorf("%s: index %s is partial: %v, want %v: %s", when, n, partial, lookup, def)
				}
			}
		}
		check("created")

		// The table as it was before: a plain modifiedon index and one on
		// each lookup alone (two of them here), none of the new ones.
		exec(t, s, `DROP INDEX rec_account_ix_name; DROP INDEX rec_account_ix_createdon; DROP INDEX rec_account_ix_modifiedon;
			DROP INDEX rec_account_ix_statecode; DROP INDEX rec_account_lk_ownerid; DROP INDEX rec_account_lk_parentaccountid;
			CREATE INDEX rec_account_modifiedon ON rec_account (modifiedon);
			CREATE INDEX rec_account_parentaccountid ON rec_account (parentaccountid)`)
		for i := range 2 {
			exec(t, s, "DELETE FROM junction_migrations WHERE component = 'records' AND version = 3")
			if err := s.Migrate(ctx, migrations); err != nil {
				t.Fatalf("migration, run %d: %v", i+1, err)
			}
			check("migrated")
		}

		// Lookup indexes as they were before they became partial: an entry
		// for every row.
		exec(t, s, `DROP INDEX rec_account_lk_ownerid; DROP INDEX rec_account_lk_parentaccountid;
			CREATE INDEX rec_account_lk_ownerid ON rec_account (ownerid, accountid);
			CREATE INDEX rec_account_lk_parentaccountid ON rec_account (parentaccountid, accountid)`)
		exec(t, s, "DELETE FROM junction_migrations WHERE component = 'records' AND version = 4")
		if err := s.Migrate(ctx, migrations); err != nil {
			t.Fatal(err)
		}
		check("made partial")
	})
}

func exec(t *testing.T, s store.Store, stmts string) {
	t.Helper()
	err := s.Tx(context.Background(), func(tx store.Tx) error {
		for _, q := range strings.Split(stmts, ";") {
			if _, err := tx.Exec(context.Background(), q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// indexes returns the indexes of table, each name with its definition.
func indexes(t *testing.T, s store.Store, table string) map[string]string {
	t.Helper()
	q := "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
	if s.Dialect() == store.Postgres {
		q = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?"
	}
	out := map[string]string{}
	err := s.Read(context.Background(), func(qr store.Querier) error {
		rows, err := qr.Query(context.Background(), q, table)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n, def string
			if err := rows.Scan(&n, &def); err != nil {
				return err
			}
			out[n] = def
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
