// Package records keeps Junction's own Dataverse-style tables: the metadata
// model (tables, typed columns, choices, lookups, alternate keys, auto-numbers),
// one real SQL table per Junction table created and altered at runtime, and the
// record operations (create, retrieve, update, upsert, delete) that append every
// change to the change log in the same transaction.
package records

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Type is a column's Dataverse attribute type.
type Type string

// The column types.
const (
	String           Type = "String"
	Memo             Type = "Memo"
	Integer          Type = "Integer"
	BigInt           Type = "BigInt"
	Decimal          Type = "Decimal"
	Double           Type = "Double"
	Money            Type = "Money"
	Boolean          Type = "Boolean"
	DateTime         Type = "DateTime"
	Picklist         Type = "Picklist"
	State            Type = "State"
	Status           Type = "Status"
	Lookup           Type = "Lookup"
	Customer         Type = "Customer"
	Owner            Type = "Owner"
	UniqueIdentifier Type = "Uniqueidentifier"
	AutoNumber       Type = "AutoNumber"
)

var validTypes = map[Type]bool{String: true, Memo: true, Integer: true, BigInt: true, Decimal: true, Double: true, Money: true,
	Boolean: true, DateTime: true, Picklist: true, State: true, Status: true, Lookup: true, Customer: true, Owner: true,
	UniqueIdentifier: true, AutoNumber: true}

// IsLookup reports whether the type references other rows.
func (t Type) IsLookup() bool { return t == Lookup || t == Customer || t == Owner }

// IsChoice reports whether the type holds an option value.
func (t Type) IsChoice() bool { return t == Picklist || t == State || t == Status }

// IsText reports whether values are strings.
func (t Type) IsText() bool { return t == String || t == Memo || t == AutoNumber }

// Required levels.
const (
	RequiredNone   = "None"
	RequiredSystem = "SystemRequired"
	RequiredApp    = "ApplicationRequired"
)

// Option is one value of a choice column.
type Option struct {
	Value int64  `yaml:"value" json:"value"`
	Label string `yaml:"label" json:"label"`
	State *int64 `yaml:"state,omitempty" json:"state,omitempty"` // for Status: the statecode it belongs to
}

// Column is one attribute of a table.
type Column struct {
	Name        string   `yaml:"name" json:"name"`
	Type        Type     `yaml:"type" json:"type"`
	DisplayName string   `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	Required    string   `yaml:"required,omitempty" json:"required,omitempty"`
	MaxLength   int      `yaml:"maxLength,omitempty" json:"maxLength,omitempty"`
	Min         *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max         *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	Precision   int      `yaml:"precision,omitempty" json:"precision,omitempty"`
	Options     []Option `yaml:"options,omitempty" json:"options,omitempty"`
	// Targets are the tables a lookup references (two for Customer).
	Targets []string `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Relationship names the one-to-many relationship of a lookup; for a
	// Customer it is a prefix completed with the target ("contact_customer" →
	// contact_customer_accounts).
	Relationship string `yaml:"relationship,omitempty" json:"relationship,omitempty"`
	// Format is an auto-number format such as "CAS-{SEQNUM:5}-{RANDSTRING:6}".
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	Seed   int64  `yaml:"seed,omitempty" json:"seed,omitempty"`
	// System columns are maintained by Junction and cannot be written.
	System bool `yaml:"-" json:"system,omitempty"`
}

// Key is an alternate key: one or more columns whose values are unique.
type Key struct {
	Name    string   `yaml:"name" json:"name"`
	Columns []string `yaml:"columns" json:"columns"`
}

// Table is one Junction table.
type Table struct {
	Name        string   `yaml:"name" json:"name"`
	SetName     string   `yaml:"setName,omitempty" json:"setName,omitempty"`
	DisplayName string   `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	PrimaryName string   `yaml:"primaryName,omitempty" json:"primaryName,omitempty"`
	Columns     []Column `yaml:"columns" json:"columns"`
	Keys        []Key    `yaml:"keys,omitempty" json:"keys,omitempty"`
	Custom      bool     `yaml:"-" json:"custom,omitempty"`
	// ChangeTracking is on for every table; kept for metadata queries.
	ChangeTracking bool `yaml:"-" json:"-"`

	cols map[string]*Column
}

// PrimaryID is the primary key column's name.
func (t *Table) PrimaryID() string { return t.Name + "id" }

// SQLName is the table's SQL name.
func (t *Table) SQLName() string { return "rec_" + t.Name }

// Column returns a column by logical name.
func (t *Table) Column(name string) (*Column, bool) {
	c, ok := t.cols[name]
	return c, ok
}

// Option returns the label of a choice value.
func (c *Column) Option(v int64) (string, bool) {
	for _, o := range c.Options {
		if o.Value == v {
			return o.Label, true
		}
	}
	return "", false
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,48}$`)

// ValidName reports whether s can name a table or column.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// systemColumns are added to every table.
func systemColumns(t *Table) []Column {
	stateOpts := []Option{{Value: 0, Label: "Active"}, {Value: 1, Label: "Inactive"}}
	zero, one := int64(0), int64(1)
	statusOpts := []Option{{Value: 1, Label: "Active", State: &zero}, {Value: 2, Label: "Inactive", State: &one}}
	if t.Name == "asyncoperation" {
		two, three := int64(2), int64(3)
		stateOpts = []Option{{Value: 0, Label: "Ready"}, {Value: 1, Label: "Suspended"}, {Value: 2, Label: "Locked"}, {Value: 3, Label: "Completed"}}
		statusOpts = []Option{{Value: 0, Label: "Waiting For Resources", State: &zero}, {Value: 10, Label: "Waiting", State: &one},
			{Value: 20, Label: "In Progress", State: &two}, {Value: 21, Label: "Pausing", State: &two}, {Value: 22, Label: "Canceling", State: &two},
			{Value: 30, Label: "Succeeded", State: &three}, {Value: 31, Label: "Failed", State: &three}, {Value: 32, Label: "Canceled", State: &three}}
	}
	if t.Name == "lead" {
		two := int64(2)
		stateOpts = []Option{{Value: 0, Label: "Open"}, {Value: 1, Label: "Qualified"}, {Value: 2, Label: "Disqualified"}}
		statusOpts = []Option{{Value: 1, Label: "New", State: &zero}, {Value: 2, Label: "Contacted", State: &zero}, {Value: 3, Label: "Qualified", State: &one},
			{Value: 4, Label: "Lost", State: &two}, {Value: 5, Label: "Cannot Contact", State: &two}, {Value: 6, Label: "No Longer Interested", State: &two},
			{Value: 7, Label: "Canceled", State: &two}}
	}
	if t.Name == "opportunity" {
		two := int64(2)
		stateOpts = []Option{{Value: 0, Label: "Open"}, {Value: 1, Label: "Won"}, {Value: 2, Label: "Lost"}}
		statusOpts = []Option{{Value: 1, Label: "In Progress", State: &zero}, {Value: 2, Label: "On Hold", State: &zero}, {Value: 3, Label: "Won", State: &one},
			{Value: 4, Label: "Canceled", State: &two}, {Value: 5, Label: "Out-Sold", State: &two}}
	}
	if t.Name == "incident" {
		stateOpts = []Option{{Value: 0, Label: "Active"}, {Value: 1, Label: "Resolved"}, {Value: 2, Label: "Cancelled"}}
		two := int64(2)
		statusOpts = []Option{{Value: 1, Label: "In Progress", State: &zero}, {Value: 2, Label: "On Hold", State: &zero},
			{Value: 3, Label: "Waiting for Details", State: &zero}, {Value: 4, Label: "Researching", State: &zero},
			{Value: 5, Label: "Problem Solved", State: &one}, {Value: 6, Label: "Cancelled", State: &two}}
	}
	return []Column{
		{Name: t.PrimaryID(), Type: UniqueIdentifier, DisplayName: t.DisplayName, Required: RequiredSystem, System: true},
		{Name: "createdon", Type: DateTime, DisplayName: "Created On", System: true},
		{Name: "modifiedon", Type: DateTime, DisplayName: "Modified On", System: true},
		{Name: "versionnumber", Type: BigInt, DisplayName: "Version Number", System: true},
		{Name: "statecode", Type: State, DisplayName: "Status", Options: stateOpts},
		{Name: "statuscode", Type: Status, DisplayName: "Status Reason", Options: statusOpts},
		{Name: "ownerid", Type: Owner, DisplayName: "Owner", Targets: []string{"systemuser"}, Relationship: "user_" + t.Name, System: true},
	}
}

// Prepare fills defaults, adds the system columns and checks the definition.
// known lists the other tables' names, for lookup targets.
func (t *Table) Prepare(known func(string) bool) error {
	if !ValidName(t.Name) {
		return fmt.Errorf("table name %q must be lowercase letters, digits and underscores, starting with a letter", t.Name)
	}
	if t.SetName == "" {
		t.SetName = pluralize(t.Name)
	}
	t.SetName = strings.ToLower(t.SetName)
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	if t.PrimaryName == "" {
		return fmt.Errorf("table %s: primaryName is required", t.Name)
	}
	var cols []Column
	seen := map[string]bool{}
	for _, c := range systemColumns(t) {
		seen[c.Name] = true
		cols = append(cols, c)
	}
	for _, c := range t.Columns {
		if seen[c.Name] {
			if isSystemName(t, c.Name) {
				continue // stored definitions carry the system columns already
			}
			return fmt.Errorf("table %s: column %s is declared twice", t.Name, c.Name)
		}
		seen[c.Name] = true
		cols = append(cols, c)
	}
	t.Columns = cols
	t.cols = map[string]*Column{}
	for i := range t.Columns {
		c := &t.Columns[i]
		if err := c.prepare(t, known); err != nil {
			return err
		}
		t.cols[c.Name] = c
		if c.Type == Customer {
			t.cols[c.Name] = c
		}
	}
	pn, ok := t.cols[t.PrimaryName]
	if !ok || !pn.Type.IsText() {
		return fmt.Errorf("table %s: primaryName %q must name a String column", t.Name, t.PrimaryName)
	}
	for i, k := range t.Keys {
		if k.Name == "" {
			t.Keys[i].Name = t.Name + "_key" + fmt.Sprint(i+1)
		}
		if len(k.Columns) == 0 {
			return fmt.Errorf("table %s: key %s has no columns", t.Name, k.Name)
		}
		for _, cn := range k.Columns {
			c, ok := t.cols[cn]
			if !ok {
				return fmt.Errorf("table %s: key %s: no column %q", t.Name, k.Name, cn)
			}
			switch c.Type {
			case String, Integer, BigInt, Decimal, Picklist, DateTime, Lookup, UniqueIdentifier, AutoNumber:
			default:
				return fmt.Errorf("table %s: key %s: a %s column cannot be part of a key", t.Name, k.Name, c.Type)
			}
		}
	}
	return nil
}

func isSystemName(t *Table, n string) bool {
	for _, c := range systemColumns(t) {
		if c.Name == n {
			return true
		}
	}
	return false
}

func (c *Column) prepare(t *Table, known func(string) bool) error {
	where := fmt.Sprintf("table %s: column %s", t.Name, c.Name)
	if !ValidName(c.Name) {
		return fmt.Errorf("table %s: column name %q must be lowercase letters, digits and underscores", t.Name, c.Name)
	}
	if strings.HasPrefix(c.Name, "_") || strings.Contains(c.Name, "__") {
		return fmt.Errorf("%s: the name may not contain a double underscore", where)
	}
	if !validTypes[c.Type] {
		return fmt.Errorf("%s: unknown type %q", where, c.Type)
	}
	if c.DisplayName == "" {
		c.DisplayName = c.Name
	}
	switch c.Required {
	case "":
		c.Required = RequiredNone
	case RequiredNone, RequiredSystem, RequiredApp:
	default:
		return fmt.Errorf("%s: required must be None, ApplicationRequired or SystemRequired", where)
	}
	switch c.Type {
	case String:
		if c.MaxLength == 0 {
			c.MaxLength = 100
		}
		if c.MaxLength < 1 || c.MaxLength > 4000 {
			return fmt.Errorf("%s: maxLength must be 1..4000", where)
		}
	case Memo:
		if c.MaxLength == 0 {
			c.MaxLength = 2000
		}
		if c.MaxLength < 1 || c.MaxLength > 1048576 {
			return fmt.Errorf("%s: maxLength must be 1..1048576", where)
		}
	case AutoNumber:
		if c.MaxLength == 0 {
			c.MaxLength = 100
		}
		if c.Format == "" {
			return fmt.Errorf("%s: an AutoNumber column needs a format such as \"CAS-{SEQNUM:5}-{RANDSTRING:6}\"", where)
		}
		if _, err := parseAutoFormat(c.Format); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	case Picklist, State, Status:
		if len(c.Options) == 0 {
			return fmt.Errorf("%s: a choice column needs options", where)
		}
		seen := map[int64]bool{}
		for _, o := range c.Options {
			if seen[o.Value] {
				return fmt.Errorf("%s: option value %d appears twice", where, o.Value)
			}
			seen[o.Value] = true
		}
	case Lookup, Owner:
		if len(c.Targets) != 1 {
			return fmt.Errorf("%s: a lookup needs exactly one target table", where)
		}
	case Customer:
		if len(c.Targets) == 0 {
			c.Targets = []string{"account", "contact"}
		}
	}
	if c.Type.IsLookup() {
		for _, tg := range c.Targets {
			if tg != t.Name && known != nil && !known(tg) {
				return fmt.Errorf("%s: target table %q does not exist", where, tg)
			}
		}
		if c.Relationship == "" {
			if c.Type == Customer {
				c.Relationship = t.Name + "_" + c.Name
			} else {
				c.Relationship = c.Targets[0] + "_" + t.Name + "_" + c.Name
			}
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		return fmt.Errorf("%s: min is greater than max", where)
	}
	return nil
}

// NavName is the single-valued navigation property of a lookup to target.
func (c *Column) NavName(target string) string {
	if c.Type == Customer {
		return c.Name + "_" + target
	}
	return c.Name
}

// RelName is the one-to-many relationship (and the collection navigation
// property on target) of a lookup.
func (c *Column) RelName(target string) string {
	if c.Type == Customer {
		return c.Relationship + "_" + pluralize(target)
	}
	return c.Relationship
}

func pluralize(s string) string {
	switch {
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ay") && !strings.HasSuffix(s, "ey") && !strings.HasSuffix(s, "oy"):
		return s[:len(s)-1] + "ies"
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	}
	return s + "s"
}

// Nav is a navigation property of a table.
type Nav struct {
	Name       string
	Collection bool
	Column     *Column // the lookup column (on this table when single, on Other when collection)
	Other      string  // the table on the other side
}

// Navs lists a table's navigation properties; all gives the other tables.
func (t *Table) Navs(all map[string]*Table) []Nav {
	var out []Nav
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Type.IsLookup() {
			for _, tg := range c.Targets {
				out = append(out, Nav{Name: c.NavName(tg), Column: c, Other: tg})
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := all[n]
		for i := range o.Columns {
			c := &o.Columns[i]
			if !c.Type.IsLookup() {
				continue
			}
			for _, tg := range c.Targets {
				if tg == t.Name {
					out = append(out, Nav{Name: c.RelName(tg), Collection: true, Column: c, Other: o.Name})
				}
			}
		}
	}
	return out
}
