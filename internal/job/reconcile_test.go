package job

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestReconciliationSeesWhatTheTableHolds: the reconciliation compares the
// source with what the warehouse table holds after each chunk, not with what
// the job sent: a value the column's type changes, a row a trigger drops and
// a value a trigger rewrites after the insert are all reported.
func TestReconciliationSeesWhatTheTableHolds(t *testing.T) {
	t.Parallel()
	triggers := map[string][]string{
		"sqlite": {
			"CREATE TRIGGER drop_p3 AFTER INSERT ON prices WHEN NEW.productnumber = 'p3' BEGIN DELETE FROM prices WHERE productnumber = 'p3'; END",
			"CREATE TRIGGER upper_p4 AFTER INSERT ON prices WHEN NEW.productnumber = 'p4' BEGIN UPDATE prices SET name = upper(name) WHERE productnumber = 'p4'; END",
		},
		"postgres": {
			`CREATE FUNCTION drop_p3() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.productnumber = 'p3' THEN RETURN NULL; END IF; RETURN NEW; END $$`,
			"CREATE TRIGGER drop_p3 BEFORE INSERT ON prices FOR EACH ROW EXECUTE FUNCTION drop_p3()",
			`CREATE FUNCTION upper_p4() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE prices SET name = upper(name) WHERE productnumber = 'p4'; RETURN NULL; END $$`,
			"CREATE TRIGGER upper_p4 AFTER INSERT ON prices FOR EACH ROW WHEN (NEW.productnumber = 'p4') EXECUTE FUNCTION upper_p4()",
		},
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		for _, withTriggers := range []bool{false, true} {
			name := driver
			if withTriggers {
				name += "/triggers"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b, _, target := warehouseJob(t, driver)
				// qty is text to the job and a whole number to the table.
				target.exec(t, "CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name TEXT, qty INTEGER)")
				if withTriggers {
					for _, q := range triggers[driver] {
						target.exec(t, q)
					}
				}
				b.define(t, Spec{Name: "prices", Source: Source{Type: "file", Path: "drop/prices"},
					Mapping: []Mapping{{To: "productnumber", Required: true}, {To: "name"}, {To: "qty"}}, Key: []string{"productnumber"},
					Sink: Sink{Type: "sql", Driver: driver, DSN: "${W}", Table: "prices"}, Chunk: 2})
				folder := filepath.Join(b.data, "files", "drop", "prices")
				check := func(file string, inserted, updated int64, different, missing []string) {
					t.Helper()
					run := b.runNow(t, "prices", writeFile(t, filepath.Join(folder, file), "productnumber,name,qty\n"+map[string]string{
						"a.csv": "p1,one,7\np2,two,007\np3,three,3\np4,four,4\np5,five,5\n",
						"b.csv": "p1,one,07\np2,two,007\np5,five,5\n",
					}[file]))
					rc := run.Reconciliation
					if run.Status != StatusSucceeded || run.Inserted != inserted || run.Updated != updated || rc == nil {
						t.Fatalf("%s: run %+v", file, run)
					}
					if !slices.Equal(rc.Different, different) || !slices.Equal(rc.Missing, missing) || rc.Matched != (len(different)+len(missing) == 0) ||
						rc.DifferentCount != int64(len(different)) || rc.MissingCount != int64(len(missing)) {
						t.Fatalf("%s: reconciliation %+v, want different %v, missing %v", file, rc, different, missing)
					}
				}
				if withTriggers {
					inserted := int64(5)
					if driver == "postgres" {
						inserted = 4 // the row its trigger skips is not counted
					}
					check("a.csv", inserted, 0, []string{"p2", "p4"}, []string{"p3"})
				} else {
					check("a.csv", 5, 0, []string{"p2"}, nil)
				}
				// p1 and p2 differ from what the table holds: both are
				// written again, and read back as the table holds them.
				check("b.csv", 0, 2, []string{"p1", "p2"}, nil)
			})
		}
	}
}

// TestReconciliationTakesNothingOnTrust: where SQLite stores what a chunk
// binds as it is, the writes' own values stand for the read-back; a table
// whose definition could make a stored row differ from the bound one (a
// case-insensitive key, a conflict clause that replaces NULL) is read back,
// and what it holds is reported.
func TestReconciliationTakesNothingOnTrust(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		table, before, csv string
		different, missing []string
	}{
		// p1 matches the key P1 and updates that row: the table holds
		// no p1.
		"collation": {"CREATE TABLE prices (productnumber TEXT PRIMARY KEY COLLATE NOCASE, name TEXT, qty INTEGER)",
			"INSERT INTO prices VALUES ('P1', 'one', 1)", "productnumber,name,qty\np1,uno,1\np2,two,2\n", nil, []string{"p1"}},
		// An empty name is stored as the column's default.
		"conflict clause": {"CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name TEXT NOT NULL ON CONFLICT REPLACE DEFAULT 'unnamed', qty INTEGER)",
			"", "productnumber,name,qty\np1,,1\np2,two,2\n", []string{"p1"}, nil},
		// Nothing changes what is bound: the writes stand for the
		// read-back, and everything matches.
		"kept": {"CREATE TABLE prices (productnumber TEXT PRIMARY KEY, name VARCHAR(40), qty INTEGER)",
			"", "productnumber,name,qty\np1,one,1\np2,two,2\n", nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, _, target := warehouseJob(t, "sqlite")
			target.exec(t, c.table)
			if c.before != "" {
				target.exec(t, c.before)
			}
			b.define(t, Spec{Name: "prices", Source: Source{Type: "file", Path: "drop/prices"},
				Mapping: []Mapping{{To: "productnumber", Required: true}, {To: "name"}, {To: "qty", Type: "int"}}, Key: []string{"productnumber"},
				Sink: Sink{Type: "sql", Driver: "sqlite", DSN: "${W}", Table: "prices"}, Chunk: 10})
			run := b.runNow(t, "prices", writeFile(t, filepath.Join(b.data, "files", "drop", "prices", "a.csv"), c.csv))
			rc := run.Reconciliation
			if run.Status != StatusSucceeded || rc == nil {
				t.Fatalf("run %+v", run)
			}
			if !slices.Equal(rc.Different, c.different) || !slices.Equal(rc.Missing, c.missing) || rc.Matched != (len(c.different)+len(c.missing) == 0) {
				t.Fatalf("reconciliation %+v, want different %v, missing %v", rc, c.different, c.missing)
			}
		})
	}
}
