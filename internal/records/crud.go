package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
)

// Caller identifies who performs a write, for the change log.
type Caller struct {
	UserID        string
	CorrelationID string
	// Grants, when set, are the caller's privileges, and every write is
	// checked against them; Junction's own components write without.
	Grants *Grants
}

// internal is who without its grants: cascades the caller did not ask for.
func (who Caller) internal() Caller {
	return Caller{UserID: who.UserID, CorrelationID: who.CorrelationID}
}

// scanString reads a one-column row of text.
func scanString(r *sql.Rows) (s string, err error) {
	err = r.Scan(&s)
	return
}

// FindByKey returns the primary id of the row whose key columns have values;
// the columns must form an alternate key of t (or be the primary id).
func (s *Service) FindByKey(ctx context.Context, q store.Querier, t *Table, values map[string]any) (string, error) {
	sqlText, args, err := KeyQuery(t, values)
	if err != nil {
		return "", err
	}
	var id string
	err = q.QueryRow(ctx, sqlText, args...).Scan(&id)
	if errors.Is(err, store.ErrNotFound) {
		return "", Errorf(http.StatusNotFound, CodeNotFound, "A record with the specified key values does not exist in %s entity", t.Name)
	}
	return id, err
}

// KeyQuery is the statement FindByKey runs, with its arguments: the primary
// id of the row whose key columns have values, sought in the key's unique
// index.
func KeyQuery(t *Table, values map[string]any) (string, []any, error) {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	if !isKey(t, names) {
		return "", nil, Errorf(http.StatusBadRequest, CodeBadSegment, "The key attribute(s) %s do not form an alternate key of %s.", strings.Join(names, ", "), t.Name)
	}
	var where []string
	var args []any
	for _, n := range names {
		c, _ := t.Column(n)
		v, err := Convert(t, c, values[n])
		if err != nil {
			return "", nil, err
		}
		where = append(where, Quote(n)+" = ?")
		args = append(args, toSQL(v))
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s", Quote(t.PrimaryID()), Quote(t.SQLName()), strings.Join(where, " AND ")), args, nil
}

func isKey(t *Table, names []string) bool {
	if len(names) == 1 && names[0] == t.PrimaryID() {
		return true
	}
	for _, k := range t.Keys {
		ks := append([]string(nil), k.Columns...)
		sort.Strings(ks)
		if strings.Join(ks, ",") == strings.Join(names, ",") {
			return true
		}
	}
	return false
}

// Create inserts a row and appends its change; it returns the new id. values
// holds row-form values (see Convert); a value for the primary id chooses it.
func (s *Service) Create(ctx context.Context, tx store.Tx, t *Table, values Row, who Caller) (Row, error) {
	p, err := s.PrepareCreate(ctx, tx, t, values, who)
	if err != nil {
		return nil, err
	}
	return s.CreatePrepared(ctx, tx, p)
}

// A Creation is a create prepared by PrepareCreate and not yet written.
type Creation struct {
	t    *Table
	who  Caller
	row  Row // the row to insert; full, its statement and change are set once it is complete
	set  []string
	refs []refCheck
	now  time.Time

	full   Row
	stmt   string
	args   []any
	change changelog.Encoded
	c      changelog.Change
}

// PrepareCreate does the work of a create that needs no transaction:
// it checks values and the caller's right to write them, computes the
// computed columns, chooses the id and encodes the statement and the
// change, reading with q what it must (a currency's rate, a referenced
// row's owner for a privilege check). A caller may prepare before its
// write transaction begins, so that on SQLite the work is not done while
// the store's single writer waits; CreatePrepared then writes it.
func (s *Service) PrepareCreate(ctx context.Context, q store.Querier, t *Table, values Row, who Caller) (*Creation, error) {
	if err := refusePointer(t, "Create"); err != nil {
		return nil, err
	}
	if who.Grants != nil {
		if _, err := who.Grants.Need(RightCreate, t); err != nil {
			return nil, err
		}
	}
	row, _, err := written(t, nil, values, who)
	if err != nil {
		return nil, err
	}
	set := make([]string, 0, len(row))
	for k := range row {
		set = append(set, k)
	}
	if err := s.checkWrite(ctx, q, t, nil, row, set, who); err != nil {
		return nil, err
	}
	refs, err := s.check(t, nil, row, nil)
	if err != nil {
		return nil, err
	}
	if _, err := s.compute(ctx, q, t, nil, row, nil, who); err != nil {
		return nil, err
	}
	id, _ := row[t.PrimaryID()].(string)
	if id == "" {
		id = NewOrderedID()
	}
	row[t.PrimaryID()] = strings.ToLower(id)
	if err := refusesItself(t, row, refs); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(1e3)
	row["createdon"], row["modifiedon"], row["versionnumber"] = now, now, int64(1)
	p := &Creation{t: t, who: who, row: row, set: set, refs: refs, now: now}
	if !needsAutoNumber(t, row) {
		if err := p.complete(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func needsAutoNumber(t *Table, row Row) bool {
	for i := range t.Columns {
		if t.Columns[i].Type == AutoNumber && row[t.Columns[i].Name] == nil {
			return true
		}
	}
	return false
}

// complete builds the creation's statement, whole row and encoded change
// from its row.
func (p *Creation) complete(ctx context.Context) error {
	t, row := p.t, p.row
	cols, marks := make([]string, 0, len(row)+1), make([]string, 0, len(row)+1)
	args := make([]any, 0, len(row)+1)
	for _, i := range t.present(row) {
		c := &t.Columns[i]
		v := row[c.Name]
		cols, marks, args = append(cols, Quote(c.Name)), append(marks, "?"), append(args, toSQL(v))
		if c.Polymorphic() {
			var tbl any
			if r, ok := v.(Ref); ok {
				tbl = r.Table
			}
			cols, marks, args = append(cols, Quote(TypeColumn(c))), append(marks, "?"), append(args, tbl)
		}
	}
	full := maps.Clone(t.blank) // copying a map of every column costs less than filling one
	if full == nil {
		full = make(Row, len(t.Columns))
		for i := range t.Columns {
			full[t.Columns[i].Name] = nil
		}
	}
	changed := make([]string, 0, len(row))
	for k, v := range row {
		full[k] = v
		changed = append(changed, k)
	}
	sort.Strings(changed)
	id := row[t.PrimaryID()].(string)
	p.c = changelog.Change{Table: t.Name, RecordID: id, Message: changelog.Create, Changed: changed,
		CorrelationID: p.who.CorrelationID, UserID: ownerOf(p.who), At: p.now}
	if t.image != nil {
		// The change's image is the values the row has; its layout
		// says the rest are null.
		p.c.After, p.c.Layout = JSONRow(row), t.image
	} else {
		p.c.After = JSONRow(full)
	}
	var err error
	if p.change, err = changelog.Encode(ctx, p.c); err != nil {
		return err
	}
	p.full, p.args = full, args
	p.stmt = "INSERT INTO " + Quote(t.SQLName()) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	return nil
}

// CreatePrepared writes a create PrepareCreate prepared, in tx: the row,
// the checks of its lookups and its change. It returns the row created.
func (s *Service) CreatePrepared(ctx context.Context, tx store.Tx, p *Creation) (Row, error) {
	t := p.t
	if p.full == nil {
		for i := range t.Columns {
			c := &t.Columns[i]
			if c.Type == AutoNumber && p.row[c.Name] == nil {
				v, err := nextAutoNumber(ctx, tx, t, c)
				if err != nil {
					return nil, err
				}
				p.row[c.Name] = v
			}
		}
		if err := p.complete(ctx); err != nil {
			return nil, err
		}
	}
	seq, err := s.insert(ctx, tx, p, false)
	if err != nil {
		return nil, err
	}
	if err := s.syncPointer(ctx, tx, t, p.full, false); err != nil {
		return nil, err
	}
	if err := s.written(ctx, tx, t, p.c, seq); err != nil {
		return nil, err
	}
	return p.full, nil
}

// WriteCreation writes p in a transaction of its own, as CreatePrepared
// does in Tx. On PostgreSQL a create that is one statement (no auto-number
// to draw, no steps to run, no activity pointer to keep) runs outside a
// transaction and commits by itself: one round trip, where BEGIN, the
// statement and COMMIT take three. A lookup to no row then makes the
// statement fail whole (its check divides by the count of rows found), and
// the create is made again in a transaction, which names the lookup; so is
// any create the database refuses, which it refuses before it commits.
func (s *Service) WriteCreation(ctx context.Context, p *Creation) (Row, error) {
	st := s.Store()
	if st.Dialect() == store.Postgres && p.full != nil && !p.t.Activity {
		// Whether steps run on the create is asked now, not when it was
		// prepared: a step registered since runs on it, as it would in a
		// transaction. While the steps read last are current this reads
		// nothing.
		var quiet bool
		if err := store.ReadOne(ctx, st, func(q store.Querier) (err error) {
			quiet, err = s.quiet(ctx, q, p.t, changelog.Create)
			return err
		}); err != nil {
			return nil, err
		}
		if quiet {
			err := store.WriteOne(ctx, st, func(tx store.Tx) error {
				_, err := s.insert(ctx, tx, p, true)
				return err
			})
			if err == nil {
				return p.full, nil
			}
			var refused *Error
			if errors.As(err, &refused) || !store.IsRefused(err) {
				return nil, err
			}
		}
	}
	var row Row
	err := st.Tx(ctx, func(tx store.Tx) (err error) {
		row, err = s.CreatePrepared(ctx, tx, p)
		return err
	})
	return row, err
}

// insert writes p's row and change, and returns the change's id. alone is
// whether the statement commits by itself: its lookups' checks then fail it
// (see insertChecking).
func (s *Service) insert(ctx context.Context, tx store.Tx, p *Creation, alone bool) (int64, error) {
	s.forgetGrants(p.t)
	s.forgetComputed(p.t)
	seq, err := s.insertChecking(ctx, tx, p.stmt, p.args, p.refs, p.change, alone)
	if err != nil {
		var refused *Error
		if errors.As(err, &refused) {
			return 0, err
		}
		if store.IsConflict(err) {
			return 0, Errorf(http.StatusPreconditionFailed, CodeDuplicateKey, "A record with matching key values already exists.")
		}
		return 0, fmt.Errorf("insert %s: %w", p.t.Name, err)
	}
	return seq, nil
}

func ownerOf(who Caller) string {
	if who.UserID != "" {
		return who.UserID
	}
	return SystemUserID
}

func defaultStatus(t *Table, state int64) int64 {
	c, _ := t.Column("statuscode")
	for _, o := range c.Options {
		if o.State != nil && *o.State == state {
			return o.Value
		}
	}
	return 1
}

func checkStatus(t *Table, row Row) error {
	st, _ := row["statecode"].(int64)
	sc, ok := row["statuscode"].(int64)
	if !ok {
		return nil
	}
	c, _ := t.Column("statuscode")
	for _, o := range c.Options {
		if o.Value == sc && o.State != nil && *o.State != st {
			return Invalid("%d is not a valid status code for state code %d on %s.", sc, st, t.Name).about("statuscode")
		}
	}
	return nil
}

// written returns the row a write of values by who leaves: before (nil for a
// create) with values over it, and the columns the write sets, in the order
// an update writes them. Unknown columns are an error; read-only system
// columns are skipped, as Dataverse does, except that a create may choose
// the primary id. A create gets the default state, status and owner; a state
// given without a status brings the state's default status.
func written(t *Table, before, values Row, who Caller) (Row, []string, error) {
	create := before == nil
	size := len(before) // an update's row is the whole row
	if create {
		size = len(values) + 8 // what a create sets, with its defaults and computed columns
	}
	row := make(Row, size)
	for k, v := range before {
		row[k] = v
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		c, ok := t.Column(k)
		if !ok {
			return nil, nil, Errorf(http.StatusBadRequest, CodeBadSegment, "Invalid property '%s' was found in entity 'Microsoft.Dynamics.CRM.%s'.", k, t.Name).about(k)
		}
		if !c.Writable(create) && k != "ownerid" && !(create && k == t.PrimaryID()) {
			continue // read-only columns are ignored, as Dataverse does
		}
		if (k == "statecode" || k == "statuscode") && values[k] == nil {
			return nil, nil, Invalid("Attribute '%s' of %s cannot be set to null.", k, t.Name).about(k)
		}
		row[k] = values[k]
		set = append(set, k)
	}
	if create {
		if row["statecode"] == nil {
			row["statecode"] = int64(0)
		}
		if row["statuscode"] == nil {
			row["statuscode"] = defaultStatus(t, row["statecode"].(int64))
		}
		if row["ownerid"] == nil && t.Owned() {
			row["ownerid"] = Ref{Table: "systemuser", ID: ownerOf(who)}
		}
		return row, set, nil
	}
	_, state := values["statecode"]
	_, status := values["statuscode"]
	if state && !status {
		st, _ := row["statecode"].(int64)
		row["statuscode"] = defaultStatus(t, st)
		set = append(set, "statuscode")
	}
	return row, set, nil
}

// check is the validation every write makes before it writes, shared by
// Create, Update and Check: row is the whole row the write leaves (see
// written) and set the columns an update sets (nil for a create, which sets
// them all). Required columns must have a value and the status must fit the
// state. The lookups written must point at existing rows: check returns
// those checks, which a write runs in its statement (writeChecking) and
// Check runs by themselves (checkRefs).
func (s *Service) check(t *Table, before, row Row, set []string) ([]refCheck, error) {
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Required != RequiredSystem || row[c.Name] != nil {
			continue
		}
		if before == nil && c.Type != AutoNumber && c.Name != t.PrimaryID() { // those two are filled in by Create
			return nil, Invalid("A value for the required column %s of %s is missing.", c.Name, t.Name).about(c.Name)
		}
		if before != nil && contains(set, c.Name) {
			return nil, Invalid("The required column %s of %s cannot be cleared.", c.Name, t.Name).about(c.Name)
		}
	}
	if err := checkStatus(t, row); err != nil {
		return nil, err
	}
	refs := row
	if before != nil {
		refs = make(Row, len(set))
		for _, k := range set {
			refs[k] = row[k]
		}
	}
	return s.refChecks(t, refs)
}

// Check validates a write of values (row form, see Convert) by who to t
// without making it: a create when before is nil, else an update of before.
// It makes the checks Create and Update make; Convert has checked each
// value's type, length, range and choice.
func (s *Service) Check(ctx context.Context, q store.Querier, t *Table, before, values Row, who Caller) error {
	row, set, err := written(t, before, values, who)
	if err != nil {
		return err
	}
	if before == nil {
		set = nil
	}
	refs, err := s.check(t, before, row, set)
	if err != nil {
		return err
	}
	return checkRefs(ctx, q, refs)
}

// Update changes the given columns of row id. ifMatch, when not empty, is "*"
// or the ETag the caller last saw.
func (s *Service) Update(ctx context.Context, tx store.Tx, t *Table, id string, values Row, ifMatch string, who Caller) (Row, error) {
	if err := refusePointer(t, "Update"); err != nil {
		return nil, err
	}
	before, err := s.Get(ctx, tx, t, id)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, tx, t, before, values, ifMatch, who, map[string]bool{})
}

// update is Update of the row before; seen holds the rows an assign cascade
// has reached.
func (s *Service) update(ctx context.Context, tx store.Tx, t *Table, before, values Row, ifMatch string, who Caller, seen map[string]bool) (Row, error) {
	if who.Grants != nil {
		if err := who.Grants.NeedRow(RightWrite, t, before); err != nil {
			return nil, err
		}
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != before.ETag() {
		return nil, Errorf(http.StatusPreconditionFailed, CodeConcurrency, "The version of the existing record doesn't match the RowVersion property provided.")
	}
	after, changed, err := written(t, before, values, who)
	if err != nil {
		return nil, err
	}
	if err := s.checkWrite(ctx, tx, t, before, after, changed, who); err != nil {
		return nil, err
	}
	s.forgetGrants(t)
	s.forgetComputed(t)
	refs, err := s.check(t, before, after, changed)
	if err != nil {
		return nil, err
	}
	computed, err := s.compute(ctx, tx, t, before, after, changed, who)
	if err != nil {
		return nil, err
	}
	changed = append(changed, computed...)
	now := s.now().UTC().Truncate(1e3)
	if err := writeChanged(ctx, tx, t, before, after, changed, now, refs); err != nil {
		return nil, err
	}
	if err := s.syncPointer(ctx, tx, t, after, false); err != nil {
		return nil, err
	}
	if err := s.appendChange(ctx, tx, t, changelog.Change{Table: t.Name, RecordID: before[t.PrimaryID()].(string), Message: changelog.Update, Changed: changed,
		Before: JSONRow(before), After: JSONRow(after), CorrelationID: who.CorrelationID, UserID: ownerOf(who), At: now}); err != nil {
		return nil, err
	}
	if contains(changed, "ownerid") {
		from, _ := before["ownerid"].(Ref)
		to, _ := after["ownerid"].(Ref)
		if err := s.cascadeAssign(ctx, tx, t, before[t.PrimaryID()].(string), from, to, who, seen); err != nil {
			return nil, err
		}
	}
	if err := s.reparent(ctx, tx, t, after, changed, who); err != nil {
		return nil, err
	}
	return after, nil
}

// writeChanged writes the changed columns of after over the row before,
// with its next version number (and, unless now is zero, modifiedon now),
// as long as no other write came between, checking refs as it writes.
func writeChanged(ctx context.Context, tx store.Tx, t *Table, before, after Row, changed []string, now time.Time, refs []refCheck) error {
	var sets []string
	var args []any
	for _, k := range changed {
		c, _ := t.Column(k)
		v := after[k]
		sets, args = append(sets, Quote(k)+" = ?"), append(args, toSQL(v))
		if c.Polymorphic() {
			var tbl any
			if r, ok := v.(Ref); ok {
				tbl = r.Table
			}
			sets, args = append(sets, Quote(TypeColumn(c))+" = ?"), append(args, tbl)
		}
	}
	if !now.IsZero() {
		after["modifiedon"] = now
		sets, args = append(sets, `"modifiedon" = ?`), append(args, toSQL(now))
	}
	after["versionnumber"] = before.Version() + 1
	sets = append(sets, `"versionnumber" = ?`)
	args = append(args, before.Version()+1, before[t.PrimaryID()], before.Version())
	wrote, err := writeChecking(ctx, tx, fmt.Sprintf("UPDATE %s SET %s WHERE %s = ? AND versionnumber = ?", Quote(t.SQLName()), strings.Join(sets, ", "), Quote(t.PrimaryID())), args, refs)
	if err != nil {
		var refused *Error
		if errors.As(err, &refused) {
			return err
		}
		if store.IsConflict(err) {
			return Errorf(http.StatusPreconditionFailed, CodeDuplicateKey, "A record with matching key values already exists.")
		}
		return fmt.Errorf("update %s: %w", t.Name, err)
	}
	if !wrote {
		return Errorf(http.StatusPreconditionFailed, CodeConcurrency, "The record was changed by another request; retry.")
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Upsert updates the row whose alternate key (or primary id) has the values
// in key, or creates it with those values when there is none. values are in
// row form (see Convert). It reports whether the row was created.
func (s *Service) Upsert(ctx context.Context, tx store.Tx, t *Table, key map[string]any, values Row, who Caller) (string, bool, error) {
	id, err := s.FindByKey(ctx, tx, t, key)
	if err == nil {
		if _, err := s.Get(ctx, tx, t, id); err == nil {
			_, err = s.Update(ctx, tx, t, id, values, "", who)
			return id, false, err
		} else if AsError(err).Status != http.StatusNotFound {
			return "", false, err
		}
	} else if AsError(err).Status != http.StatusNotFound {
		return "", false, err
	}
	row := Row{}
	for k, v := range values {
		row[k] = v
	}
	for k, v := range key {
		c, _ := t.Column(k)
		cv, err := Convert(t, c, v)
		if err != nil {
			return "", false, err
		}
		row[k] = cv
	}
	created, err := s.Create(ctx, tx, t, row, who)
	if err != nil {
		return "", false, err
	}
	return created[t.PrimaryID()].(string), true, nil
}
