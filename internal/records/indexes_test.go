package records_test

import (
	"context"
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
			have := indexNames(t, s, "rec_account")
			for _, n := range want {
				if !slices.Contains(have, n) {
					t.Errorf("%s: no index %s in %v", when, n, have)
				}
			}
			for _, n := range old {
				if slices.Contains(have, n) {
					t.Errorf("%s: the replaced index %s is still there", when, n)
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

func indexNames(t *testing.T, s store.Store, table string) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
	if s.Dialect() == store.Postgres {
		q = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?"
	}
	var out []string
	err := s.Read(context.Background(), func(qr store.Querier) error {
		rows, err := qr.Query(context.Background(), q, table)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
