package records

import (
	"context"
	"fmt"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
)

// Rollup defines a rollup column, as Dataverse's "Define rollup columns that
// aggregate values" describes one: the aggregate of a column of the rows
// related to a row through one of its one-to-many relationships, optionally
// filtered and optionally over the row's hierarchy (its descendants' related
// rows too). Every rollup column has two companions Prepare adds when they
// are not declared: <name>_date, when it was last calculated, and
// <name>_state, the calculation's state (RollupNotCalculated, ...). The
// column is read-only; CalculateRollupField computes it.
type Rollup struct {
	// Relationship is the one-to-many relationship from this table whose
	// related rows are aggregated (opportunity_parent_account on account).
	Relationship string `yaml:"relationship" json:"relationship"`
	// Aggregate is SUM, COUNT, MIN, MAX or AVG.
	Aggregate string `yaml:"aggregate" json:"aggregate"`
	// Column is the related table's column aggregated; COUNT takes none.
	Column string `yaml:"column,omitempty" json:"column,omitempty"`
	// Filter is an OData $filter over the related rows, such as
	// "statecode eq 0" (open opportunities).
	Filter string `yaml:"filter,omitempty" json:"filter,omitempty"`
	// Hierarchy includes the rows related to the row's descendants through
	// the table's hierarchical lookup ("and its child accounts").
	Hierarchy bool `yaml:"hierarchy,omitempty" json:"hierarchy,omitempty"`
}

// The values of a rollup column's <name>_state companion.
const (
	RollupNotCalculated                     = 0
	RollupCalculated                        = 1
	RollupOverflowError                     = 2
	RollupOtherError                        = 3
	RollupRetryLimitExceeded                = 4
	RollupHierarchicalRecursionLimitReached = 5
	RollupLoopDetected                      = 6
)

func numeric(t Type) bool {
	return t == Integer || t == BigInt || t == Decimal || t == Double || t == Money
}

// addRollupCompanions appends the <name>_date and <name>_state columns of
// each rollup column that does not declare them.
func (t *Table) addRollupCompanions() {
	have := map[string]bool{}
	for _, c := range t.Columns {
		have[c.Name] = true
	}
	n := len(t.Columns)
	for i := 0; i < n; i++ {
		c := t.Columns[i]
		if c.Rollup == nil {
			continue
		}
		if !have[c.Name+"_date"] {
			t.Columns = append(t.Columns, Column{Name: c.Name + "_date", Type: DateTime, DisplayName: c.DisplayName + " (Last Updated On)",
				Behavior: "UserLocal", ReadOnly: true})
		}
		if !have[c.Name+"_state"] {
			lo, hi := float64(0), float64(6)
			t.Columns = append(t.Columns, Column{Name: c.Name + "_state", Type: Integer, DisplayName: c.DisplayName + " (State)",
				Min: &lo, Max: &hi, ReadOnly: true})
		}
	}
}

// prepareRollup checks what a rollup column can check alone.
func (c *Column) prepareRollup(where string) error {
	r := c.Rollup
	c.ReadOnly, c.System = true, true
	r.Aggregate = strings.ToUpper(r.Aggregate)
	if r.Relationship == "" {
		return fmt.Errorf("%s: a rollup needs the relationship whose related rows it aggregates", where)
	}
	switch r.Aggregate {
	case "COUNT":
		if c.Type != Integer && c.Type != BigInt {
			return fmt.Errorf("%s: a COUNT rollup is a whole number column", where)
		}
	case "SUM", "AVG":
		if !numeric(c.Type) {
			return fmt.Errorf("%s: a %s rollup is a number or currency column", where, r.Aggregate)
		}
	case "MIN", "MAX":
		if !numeric(c.Type) && c.Type != DateTime {
			return fmt.Errorf("%s: a %s rollup is a number, currency or date column", where, r.Aggregate)
		}
	default:
		return fmt.Errorf("%s: rollup aggregate %q must be SUM, COUNT, MIN, MAX or AVG", where, r.Aggregate)
	}
	if r.Aggregate != "COUNT" && r.Column == "" {
		return fmt.Errorf("%s: a %s rollup names the related column it aggregates", where, r.Aggregate)
	}
	return nil
}

// RollupSource is where a rollup column's values come from.
type RollupSource struct {
	Related *Table  // the related table
	Lookup  *Column // its lookup to the rollup's table
	Column  *Column // the column aggregated, nil for COUNT
	Parent  *Column // the rollup table's hierarchical lookup, for Hierarchy
}

// RollupSourceOf resolves the rollup of column c of t among all tables.
func RollupSourceOf(all map[string]*Table, t *Table, c *Column) (RollupSource, error) {
	r := c.Rollup
	where := fmt.Sprintf("table %s: rollup column %s", t.Name, c.Name)
	var src RollupSource
	for _, n := range t.navsOf(all) {
		if n.Collection && n.Link.Name == r.Relationship {
			src.Related, src.Lookup = all[n.Other], n.Column
			break
		}
	}
	if src.Related == nil {
		return src, fmt.Errorf("%s: %s is not a one-to-many relationship of %s", where, r.Relationship, t.Name)
	}
	if r.Column != "" {
		col, ok := src.Related.Column(r.Column)
		if !ok {
			return src, fmt.Errorf("%s: %s has no column %s", where, src.Related.Name, r.Column)
		}
		if (c.Type == DateTime) != (col.Type == DateTime) || (numeric(c.Type) && !numeric(col.Type)) {
			return src, fmt.Errorf("%s: a %s column cannot roll up into a %s column", where, col.Type, c.Type)
		}
		src.Column = col
	}
	if r.Hierarchy {
		for i := range t.Columns {
			if p := &t.Columns[i]; p.Hierarchical {
				src.Parent = p
			}
		}
		if src.Parent == nil {
			return src, fmt.Errorf("%s: a hierarchical rollup needs a hierarchical lookup on %s", where, t.Name)
		}
	}
	return src, nil
}

// SetRollup stores the result of a rollup calculation on row id: the
// rollup column (and its base-currency value), <col>_date and <col>_state,
// with a change-log entry, as the platform's own write: the rollup and its
// companions are read-only to callers. value nil leaves the column as it
// was (a failed calculation records only its state).
func (s *Service) SetRollup(ctx context.Context, tx store.Tx, t *Table, id, col string, value any, at time.Time, state int64, who Caller) (Row, error) {
	before, err := s.Get(ctx, tx, t, id)
	if err != nil {
		return nil, err
	}
	after := Row{}
	for k, v := range before {
		after[k] = v
	}
	changed := []string{col + "_date", col + "_state"}
	after[col+"_date"], after[col+"_state"] = at.UTC().Truncate(time.Second), state
	if state == RollupCalculated {
		after[col] = value
		changed = append(changed, col)
	}
	computed, err := s.compute(ctx, tx, t, before, after, changed, who.internal())
	if err != nil {
		return nil, err
	}
	changed = append(changed, computed...)
	// The platform's own write: modifiedon stays as it was.
	if err := writeChanged(ctx, tx, t, before, after, changed, time.Time{}, nil); err != nil {
		return nil, err
	}
	if _, err := s.shapes.Append(ctx, tx, changelog.Change{Table: t.Name, RecordID: id, Message: changelog.Update, Changed: changed,
		Before: JSONRow(before), After: JSONRow(after), CorrelationID: who.CorrelationID, UserID: ownerOf(who), At: s.now().UTC().Truncate(1e3)}); err != nil {
		return nil, err
	}
	return after, nil
}
