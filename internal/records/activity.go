package records

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"junction/internal/store"
)

// PointerTable is the table every activity also has a row in, with the same
// activityid: Dataverse's activitypointer, which lets a query list a
// record's activities of every kind at once.
const PointerTable = "activitypointer"

// refusePointer refuses writes made to activitypointer directly: its rows
// follow their activities.
func refusePointer(t *Table, method string) error {
	if t.Name == PointerTable {
		return Errorf(http.StatusBadRequest, CodeNotSupported, "The '%s' method does not support entities of type 'activitypointer'. Write the activity (task, email, ...) instead.", method)
	}
	return nil
}

// syncPointer writes the activitypointer row of row, an activity of t, in
// tx: the columns the two tables share, and activitytypecode. deleted
// removes it.
func (s *Service) syncPointer(ctx context.Context, tx store.Tx, t *Table, row Row, deleted bool) error {
	if !t.Activity {
		return nil
	}
	ap, ok := s.Table(PointerTable)
	if !ok {
		return nil
	}
	id, _ := row[t.PrimaryID()].(string)
	if deleted {
		_, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s = ?", Quote(ap.SQLName()), Quote(ap.PrimaryID())), id)
		return err
	}
	var cols, marks, updates []string
	var args []any
	add := func(col string, v any) {
		cols, marks, args = append(cols, Quote(col)), append(marks, "?"), append(args, v)
		updates = append(updates, Quote(col)+" = excluded."+Quote(col))
	}
	for i := range ap.Columns {
		c := &ap.Columns[i]
		if c.Name == "activitytypecode" {
			add(c.Name, t.Name)
			continue
		}
		tc, ok := t.Column(c.Name)
		if !ok || sqlType(tc) != sqlType(c) || tc.Type.IsLookup() != c.Type.IsLookup() {
			continue
		}
		v := row[c.Name]
		if r, isRef := v.(Ref); isRef && !contains(c.Targets, r.Table) {
			v = nil // a reference the pointer cannot hold
		}
		add(c.Name, toSQL(v))
		if c.Polymorphic() {
			var tbl any
			if r, ok := v.(Ref); ok {
				tbl = r.Table
			}
			add(TypeColumn(c), tbl)
		}
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s", Quote(ap.SQLName()), strings.Join(cols, ", "),
		strings.Join(marks, ", "), Quote(ap.PrimaryID()), strings.Join(updates, ", "))
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("activity pointer of %s %s: %w", t.Name, id, err)
	}
	return nil
}
