package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"junction/internal/changelog"
	"junction/internal/lifecycle"
	"junction/internal/store"
)

// SchemaChannel is notified after a table definition changes, so that other
// nodes reload their metadata.
const SchemaChannel = "records_schema"

// schemaLockKey serialises schema changes on PostgreSQL.
const schemaLockKey = 7_275_000_301

// Migrations are the records component's own tables: table definitions and
// auto-number counters. The record tables themselves are created at runtime.
func Migrations() []store.Migration {
	return []store.Migration{{
		Component: "records",
		Version:   1,
		Name:      "table definitions and auto-numbers",
		SQL: `CREATE TABLE records_tables (
			name       TEXT PRIMARY KEY,
			definition TEXT NOT NULL,
			custom     BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		);
		CREATE TABLE records_autonumbers (
			table_name  TEXT NOT NULL,
			column_name TEXT NOT NULL,
			next_value  BIGINT NOT NULL,
			PRIMARY KEY (table_name, column_name)
		);`,
	}, {
		Component: "records",
		Version:   2,
		Name:      "api key users given their default security role",
		SQL: `CREATE TABLE records_key_users (
			systemuserid TEXT PRIMARY KEY,
			key_role     TEXT NOT NULL,
			created_at   BIGINT NOT NULL
		);`,
	}, {
		Component: "records",
		Version:   3,
		Name:      "Dataverse's indexes on the existing record tables",
		Func:      indexExisting,
	}, {
		Component: "records",
		Version:   4,
		Name:      "lookup indexes of the rows with a reference only",
		Func:      partialLookupIndexes,
	}}
}

// Service holds the metadata of every table and performs record operations.
type Service struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time

	// reloading orders Reloads: a reload begun before a schema change
	// committed cannot end after, and so undo, one begun after it.
	reloading sync.Mutex
	mu        sync.RWMutex
	tables    map[string]*Table
	sets      map[string]*Table

	users  userCache
	grants grantsCache
	org    orgCache
	steps  Steps
	// shapes are the change log's row shapes st holds.
	shapes changelog.Shapes

	watcher lifecycle.Group
}

// Config is what a records Service is built from.
type Config struct {
	Store  store.Store
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // the clock (nil: time.Now)
}

// New returns the records service over cfg.Store.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: cfg.Store, log: cfg.Logger, now: cfg.Now, tables: map[string]*Table{}, sets: map[string]*Table{}}
	if c, ok := cfg.Store.(store.ConnectionCounter); ok {
		s.shapes.Connects = c.Connects
	}
	return s
}

// Store is the store records live in.
func (s *Service) Store() store.Store { return s.st }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Init creates or extends the out-of-the-box tables and extra (the project's
// tables), seeds the WhoAmI rows, and loads the metadata.
func (s *Service) Init(ctx context.Context, extra []Table) error {
	builtin := Builtin()
	var own []Table
	for _, x := range extra {
		if x.Extends == "" {
			own = append(own, x)
			continue
		}
		for i := range builtin {
			if builtin[i].Name == x.Extends {
				builtin[i] = Extension(builtin[i], x)
			}
		}
	}
	defs := append(builtin, own...)
	var prepared []*Table
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		prepared = prepared[:0]
		if err := lockSchema(ctx, tx); err != nil {
			return err
		}
		stored, err := loadDefs(ctx, tx)
		if err != nil {
			return err
		}
		known := func(n string) bool {
			if _, ok := stored[n]; ok {
				return true
			}
			for _, d := range defs {
				if d.Name == n {
					return true
				}
			}
			return false
		}
		for i := range defs {
			d := defs[i]
			d.Custom = i >= len(builtin)
			if old := stored[d.Name]; old != nil {
				// Keep what was added at runtime (POST .../Attributes).
				for _, c := range old.Columns {
					if _, ok := findColumn(d.Columns, c.Name); !ok && !c.System && !isSystemName(&d, c.Name) {
						d.Columns = append(d.Columns, c)
					}
				}
				for _, k := range old.Keys {
					if !hasKey(&d, k.Name) {
						d.Keys = append(d.Keys, k)
					}
				}
			}
			if err := d.Prepare(known); err != nil {
				return err
			}
			if err := s.apply(ctx, tx, stored[d.Name], &d); err != nil {
				return err
			}
			prepared = append(prepared, &d)
			delete(stored, d.Name)
		}
		if err := seed(ctx, tx, s.now()); err != nil {
			return err
		}
		for _, t := range stored { // defined at runtime
			prepared = append(prepared, t)
		}
		all := map[string]*Table{}
		for _, t := range prepared {
			all[t.Name] = t
		}
		if err := CheckRelated(all); err != nil {
			return err
		}
		if err := syncPrivileges(ctx, tx, prepared, s.now()); err != nil {
			return err
		}
		return syncMessages(ctx, tx, prepared, s.now())
	})
	if err != nil {
		return fmt.Errorf("records: prepare tables: %w", err)
	}
	return s.Reload(ctx)
}

func lockSchema(ctx context.Context, tx store.Tx) error {
	if tx.Dialect() == store.Postgres {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(schemaLockKey)); err != nil {
			return err
		}
	}
	return nil
}

// Reload reads every table definition from the store.
func (s *Service) Reload(ctx context.Context) error {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	var defs map[string]*Table
	err := s.st.Read(ctx, func(q store.Querier) error {
		var err error
		defs, err = loadDefs(ctx, q)
		return err
	})
	if err != nil {
		return fmt.Errorf("records: load tables: %w", err)
	}
	sets := map[string]*Table{}
	for _, t := range defs {
		sets[t.SetName] = t
	}
	s.mu.Lock()
	s.tables, s.sets = defs, sets
	s.mu.Unlock()
	return nil
}

// Watch reloads the table definitions whenever a node changes them, until
// StopWatching. Watching twice does nothing.
func (s *Service) Watch(ctx context.Context) {
	// Subscribed before Watch returns, so no change after it is missed.
	sub := s.st.Listen(SchemaChannel)
	started := s.watcher.Start(ctx, func(ctx context.Context) {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.C:
				if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("reload table definitions", "err", err)
				}
			}
		}
	})
	if !started {
		sub.Close()
	}
}

// StopWatching ends Watch, waiting for a reload under way within ctx's
// deadline. Safe twice and without Watch.
func (s *Service) StopWatching(ctx context.Context) error { return s.watcher.Stop(ctx) }

func loadDefs(ctx context.Context, q store.Querier) (map[string]*Table, error) {
	type stored struct {
		name, def string
		custom    int64
	}
	defs, err := store.Collect(ctx, q, func(rows *sql.Rows) (d stored, err error) {
		err = rows.Scan(&d.name, &d.def, &d.custom)
		return d, err
	}, "SELECT name, definition, custom FROM records_tables ORDER BY name")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Table, len(defs))
	for _, d := range defs {
		t := &Table{}
		if err := json.Unmarshal([]byte(d.def), t); err != nil {
			return nil, fmt.Errorf("table %s: %w", d.name, err)
		}
		t.Custom = d.custom == 1
		if err := t.Prepare(nil); err != nil {
			return nil, err
		}
		out[d.name] = t
	}
	return out, nil
}

// Table returns a table by logical name.
func (s *Service) Table(name string) (*Table, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tables[name]
	return t, ok
}

// TableBySet returns a table by entity set name (case-insensitive).
func (s *Service) TableBySet(set string) (*Table, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.sets[strings.ToLower(set)]
	return t, ok
}

// Tables returns every table, sorted by name.
func (s *Service) Tables() []*Table {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Table, 0, len(s.tables))
	for _, t := range s.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// All returns the tables by name; do not modify it.
func (s *Service) All() map[string]*Table {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tables
}

// DefineTable creates a new table (POST EntityDefinitions).
func (s *Service) DefineTable(ctx context.Context, t Table) (*Table, error) {
	t.Custom = true
	for i := range t.Columns {
		if err := checkNewColumn(&t.Columns[i]); err != nil {
			return nil, err
		}
	}
	if err := t.Prepare(func(n string) bool { _, ok := s.Table(n); return ok }); err != nil {
		return nil, Invalid("%v", err)
	}
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		if err := lockSchema(ctx, tx); err != nil {
			return err
		}
		stored, err := loadDefs(ctx, tx)
		if err != nil {
			return err
		}
		if _, ok := stored[t.Name]; ok {
			return Errorf(http.StatusConflict, CodeDuplicateKey, "A table named %s already exists.", t.Name)
		}
		for _, o := range stored {
			if o.SetName == t.SetName {
				return Errorf(http.StatusConflict, CodeDuplicateKey, "The entity set name %s is already used by %s.", t.SetName, o.Name)
			}
		}
		if err := s.apply(ctx, tx, nil, &t); err != nil {
			return err
		}
		if err := syncPrivileges(ctx, tx, []*Table{&t}, s.now()); err != nil {
			return err
		}
		return syncMessages(ctx, tx, []*Table{&t}, s.now())
	})
	if err != nil {
		return nil, err
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	nt, _ := s.Table(t.Name)
	return nt, nil
}

// AddColumn adds a column to an existing table, rows included: the new column
// is NULL on existing rows, so no rewrite is needed.
func (s *Service) AddColumn(ctx context.Context, table string, c Column) (*Table, error) {
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		if err := lockSchema(ctx, tx); err != nil {
			return err
		}
		stored, err := loadDefs(ctx, tx)
		if err != nil {
			return err
		}
		old, ok := stored[table]
		if !ok {
			return Errorf(http.StatusNotFound, CodeBadSegment, "Could not find an entity with the logical name %s.", table)
		}
		if _, dup := old.Column(c.Name); dup {
			return Errorf(http.StatusConflict, CodeDuplicateKey, "An attribute named %s already exists on %s.", c.Name, table)
		}
		if c.Required == RequiredSystem {
			return Invalid("a column added to an existing table cannot be SystemRequired")
		}
		if err := checkNewColumn(&c); err != nil {
			return err
		}
		c.Custom = !old.Custom
		nt := *old
		nt.Columns = append(append([]Column(nil), old.Columns...), c)
		nt.Keys = append([]Key(nil), old.Keys...)
		if err := nt.Prepare(func(n string) bool { _, ok := stored[n]; return ok }); err != nil {
			return Invalid("%v", err)
		}
		return s.apply(ctx, tx, old, &nt)
	})
	if err != nil {
		return nil, err
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	nt, _ := s.Table(table)
	return nt, nil
}

func sqlType(c *Column) string {
	switch c.Type {
	case Integer, BigInt, Boolean, DateTime, Picklist, State, Status:
		return "BIGINT"
	case Decimal, Double, Money:
		return "DOUBLE PRECISION"
	}
	return "TEXT"
}

// Fold is the SQL of text x with ASCII case folded, as string comparisons in
// queries use it: LOWER, under the "C" collation on PostgreSQL, which is
// what SQLite's LOWER does.
func Fold(d store.Dialect, x string) string {
	if d == store.Postgres {
		return "LOWER((" + x + ") COLLATE \"C\")"
	}
	return "LOWER(" + x + ")"
}

// Quote quotes an identifier.
func Quote(name string) string { return `"` + name + `"` }

// TypeColumn is the SQL column holding the target table of a polymorphic
// lookup (Customer, Owner, regardingobjectid).
func TypeColumn(c *Column) string { return c.Name + "__type" }

// apply brings the SQL table of t from old (nil: none) to t and stores t.
// The statements that cannot fail on data (creating the table, adding
// columns, plain indexes) go to the database in one batch.
func (s *Service) apply(ctx context.Context, tx store.Tx, old, t *Table) error {
	var ddl []string
	if old == nil {
		var cols []string
		for i := range t.Columns {
			c := &t.Columns[i]
			def := Quote(c.Name) + " " + sqlType(c)
			if c.Name == t.PrimaryID() {
				def += " PRIMARY KEY"
			}
			cols = append(cols, def)
			if c.Polymorphic() {
				cols = append(cols, Quote(TypeColumn(c))+" TEXT")
			}
		}
		ddl = append(ddl, fmt.Sprintf("CREATE TABLE %s (%s)", Quote(t.SQLName()), strings.Join(cols, ", ")))
		ddl = append(ddl, indexDDL(tx.Dialect(), t)...)
	} else {
		for i := range t.Columns {
			c := &t.Columns[i]
			oc, ok := old.Column(c.Name)
			if ok {
				if sqlType(oc) != sqlType(c) || oc.Type.IsLookup() != c.Type.IsLookup() {
					return fmt.Errorf("table %s: column %s cannot change from %s to %s", t.Name, c.Name, oc.Type, c.Type)
				}
				if c.Polymorphic() && !oc.Polymorphic() {
					// A lookup given more targets keeps the target of its rows
					// beside the id from now on; rows without one reference the
					// first target, as they did.
					ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s TEXT", Quote(t.SQLName()), Quote(TypeColumn(c))))
				}
				continue
			}
			ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", Quote(t.SQLName()), Quote(c.Name), sqlType(c)))
			if c.Polymorphic() {
				ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s TEXT", Quote(t.SQLName()), Quote(TypeColumn(c))))
			}
		}
	}
	// A lookup added to an existing table gets its index (see indexDDL).
	for i := range t.Columns {
		c := &t.Columns[i]
		if old == nil || !c.Type.IsLookup() || c.Computed != "" {
			continue
		}
		if _, ok := old.Column(c.Name); ok {
			continue
		}
		ddl = append(ddl, lookupIndexDDL(t, c))
	}
	// String comparisons in queries fold case (see Fold); an index on the
	// folded value of each text key column lets a $filter on an alternate
	// key, such as a batch job reading rows by key, use an index.
	for _, k := range t.Keys {
		for _, name := range k.Columns {
			c, ok := t.Column(name)
			if !ok || !c.Type.IsText() {
				continue
			}
			idx := Quote(t.SQLName() + "_fold_" + c.Name)
			ddl = append(ddl, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", idx, Quote(t.SQLName()), Fold(tx.Dialect(), Quote(c.Name))))
		}
	}
	if len(ddl) > 0 {
		if _, err := tx.Exec(ctx, strings.Join(ddl, ";\n")); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	for _, k := range t.Keys {
		if old != nil && hasKey(old, k.Name) {
			continue
		}
		cols := make([]string, len(k.Columns))
		for i, c := range k.Columns {
			cols[i] = Quote(c)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE UNIQUE INDEX %s ON %s (%s)", Quote(t.SQLName()+"_key_"+k.Name), Quote(t.SQLName()), strings.Join(cols, ", "))); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return Errorf(http.StatusConflict, CodeDuplicateKey, "key %s: existing rows have duplicate values", k.Name)
			}
			return fmt.Errorf("key %s.%s: %w", t.Name, k.Name, err)
		}
	}
	return s.store(ctx, tx, t)
}

// store writes t's definition and tells the other nodes.
func (s *Service) store(ctx context.Context, tx store.Tx, t *Table) error {
	def, err := json.Marshal(t)
	if err != nil {
		return err
	}
	custom := int64(0)
	if t.Custom {
		custom = 1
	}
	if _, err := tx.Exec(ctx, `INSERT INTO records_tables (name, definition, custom, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, custom = excluded.custom, updated_at = excluded.updated_at`,
		t.Name, string(def), custom, store.Micros(s.now())); err != nil {
		return err
	}
	tx.Notify(SchemaChannel)
	return nil
}

func findColumn(cols []Column, name string) (int, bool) {
	for i, c := range cols {
		if c.Name == name {
			return i, true
		}
	}
	return -1, false
}

func hasKey(t *Table, name string) bool {
	for _, k := range t.Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

// seed inserts the rows an org starts with, each unless it exists: the
// organization, its base currency (US Dollar), the root business unit, the
// administrator WhoAmI reports and the business unit's default team.
func seed(ctx context.Context, tx store.Tx, now time.Time) error {
	at := store.Micros(now)
	stmts := []struct {
		table, id, q string
		args         []any
	}{
		{"transactioncurrency", BaseCurrencyID, `INSERT INTO "rec_transactioncurrency" (transactioncurrencyid, currencyname, isocurrencycode, currencysymbol, exchangerate, currencyprecision, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, 'US Dollar', 'USD', '$', 1, 2, ?, ?, 1, 0, 1)`,
			[]any{BaseCurrencyID, at, at}},
		{"organization", OrganizationID, `INSERT INTO "rec_organization" (organizationid, name, basecurrencyid, fullnameconventioncode, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, 'Junction', ?, 1, ?, ?, 1, 0, 1)`,
			[]any{OrganizationID, BaseCurrencyID, at, at}},
		{"businessunit", BusinessUnitID, `INSERT INTO "rec_businessunit" (businessunitid, name, organizationid, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, 'Junction', ?, ?, ?, 1, 0, 1)`,
			[]any{BusinessUnitID, OrganizationID, at, at}},
		{"systemuser", SystemUserID, `INSERT INTO "rec_systemuser" (systemuserid, firstname, lastname, fullname, domainname, internalemailaddress, businessunitid, accessmode, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, 'Junction', 'Administrator', 'Junction Administrator', 'admin@junction.local', 'admin@junction.local', ?, 0, ?, ?, 1, 0, 1)`,
			[]any{SystemUserID, BusinessUnitID, at, at}},
		{"team", DefaultTeamID, `INSERT INTO "rec_team" (teamid, name, businessunitid, administratorid, isdefault, teamtype, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES (?, 'Junction', ?, ?, 1, 0, ?, ?, 1, 0, 1)`,
			[]any{DefaultTeamID, BusinessUnitID, SystemUserID, at, at}},
	}
	for _, st := range stmts {
		var n int
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM "rec_%s" WHERE %sid = ?`, st.table, st.table), st.id).Scan(&n); err != nil {
			return fmt.Errorf("seed %s: %w", st.table, err)
		}
		if n > 0 {
			continue
		}
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("seed %s: %w", st.table, err)
		}
	}
	return nil
}
