// Package records keeps Junction's own Dataverse-style tables: the metadata
// model (tables, typed columns, choices, lookups and their relationships with
// cascade behaviour, many-to-many relationships, alternate keys,
// auto-numbers), the standard tables every org has (standard/*.yaml), one
// real SQL table per Junction table created and altered at runtime, and the
// record operations (create, retrieve, update, upsert, delete, with the
// columns the platform computes and the cascades relationships configure)
// that append every change to the change log in the same transaction.
package records

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"junction/internal/changelog"
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
	RequiredNone        = "None"
	RequiredSystem      = "SystemRequired"
	RequiredApp         = "ApplicationRequired"
	RequiredRecommended = "Recommended"
)

// Ownership types of tables.
const (
	UserOwned         = "UserOwned"
	OrganizationOwned = "OrganizationOwned"
	BusinessOwned     = "BusinessOwned"
	NoOwnership       = "None"
)

// Option is one value of a choice column (or one of the two labels of a
// Boolean). In YAML it is {value, label[, state]} or the short [value, label]
// and, for a status, [value, label, state].
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
	// Default is the default value of a Boolean or choice column, as the
	// reference gives it (metadata only: Dataverse leaves an unset column
	// null in the Web API).
	Default *int64 `yaml:"default,omitempty" json:"default,omitempty"`
	// Behavior is a DateTime column's DateTimeBehavior: UserLocal (the
	// default), DateOnly or TimeZoneIndependent.
	Behavior string `yaml:"behavior,omitempty" json:"behavior,omitempty"`
	// Targets are the tables a lookup references (two for Customer).
	Targets []string `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Relationship names the one-to-many relationship of a lookup; for a
	// Customer it is a prefix completed with the target ("contact_customer" →
	// contact_customer_accounts). Links, when given, name each target's
	// relationship instead.
	Relationship string `yaml:"relationship,omitempty" json:"relationship,omitempty"`
	// Cascade is the cascade configuration of a single-target lookup's
	// relationship (Links carry their own).
	Cascade *Cascade `yaml:"cascade,omitempty" json:"cascade,omitempty"`
	// Links are the lookup's relationships, one per target; Prepare fills
	// them from Targets, Relationship and Cascade when they are not given.
	Links []Link `yaml:"links,omitempty" json:"links,omitempty"`
	// Hierarchical marks a self-referencing lookup that defines a hierarchy
	// (account.parentaccountid).
	Hierarchical bool `yaml:"hierarchical,omitempty" json:"hierarchical,omitempty"`
	// Format is an auto-number format such as "CAS-{SEQNUM:5}-{RANDSTRING:6}".
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	Seed   int64  `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Computed names what the platform computes the column from (see
	// compute.go): fullname, yomifullname, address1..address3 (the composite
	// address), base (the base-currency value of the column without _base),
	// exchangerate, createdby, modifiedby, owninguser, owningteam,
	// owningbusinessunit. Computed columns are read-only.
	Computed string `yaml:"computed,omitempty" json:"computed,omitempty"`
	// ReadOnly columns are valid for neither create nor update; CreateOnly
	// ones are valid for create only and UpdateOnly ones for update only.
	ReadOnly   bool `yaml:"readOnly,omitempty" json:"readOnly,omitempty"`
	CreateOnly bool `yaml:"createOnly,omitempty" json:"createOnly,omitempty"`
	UpdateOnly bool `yaml:"updateOnly,omitempty" json:"updateOnly,omitempty"`
	// Rollup makes the column a rollup column (see Rollup).
	Rollup *Rollup `yaml:"rollup,omitempty" json:"rollup,omitempty"`
	// System columns are maintained by Junction and cannot be written.
	System bool `yaml:"-" json:"system,omitempty"`
	// Custom marks a column added at runtime to a standard table.
	Custom bool `yaml:"-" json:"custom,omitempty"`
}

// Link is one relationship of a lookup column: the one-to-many relationship
// from Target to the column's table.
type Link struct {
	Target string `yaml:"target" json:"target"`
	// Name is the relationship's schema name, which is also the collection
	// navigation property on Target.
	Name string `yaml:"name" json:"name"`
	// Nav is the single-valued navigation property on the column's table
	// (the column's name, or column_target for a polymorphic lookup).
	Nav     string  `yaml:"nav,omitempty" json:"nav,omitempty"`
	Cascade Cascade `yaml:"cascade,omitempty" json:"cascade"`
}

// Cascade is a relationship's CascadeConfiguration: what an action on the
// referenced row does to the rows that reference it.
type Cascade struct {
	Assign   string `yaml:"assign,omitempty" json:"assign,omitempty"`
	Delete   string `yaml:"delete,omitempty" json:"delete,omitempty"`
	Merge    string `yaml:"merge,omitempty" json:"merge,omitempty"`
	Reparent string `yaml:"reparent,omitempty" json:"reparent,omitempty"`
	Share    string `yaml:"share,omitempty" json:"share,omitempty"`
	Unshare  string `yaml:"unshare,omitempty" json:"unshare,omitempty"`
}

// Cascade behaviours (CascadeType in Dataverse).
const (
	CascadeAll        = "Cascade"
	CascadeNone       = "NoCascade"
	CascadeRemoveLink = "RemoveLink"
	CascadeRestrict   = "Restrict"
	CascadeActive     = "Active"
	CascadeUserOwned  = "UserOwned"
)

var cascadeTypes = map[string]bool{CascadeAll: true, CascadeNone: true, CascadeRemoveLink: true, CascadeRestrict: true, CascadeActive: true, CascadeUserOwned: true}

// Parental is the configuration of a parental relationship: every action
// cascades, and deleting the parent deletes its children.
var Parental = Cascade{Assign: CascadeAll, Delete: CascadeAll, Merge: CascadeAll, Reparent: CascadeAll, Share: CascadeAll, Unshare: CascadeAll}

// Referential is the default of a new relationship: nothing cascades, and
// deleting the referenced row clears the references.
var Referential = Cascade{Assign: CascadeNone, Delete: CascadeRemoveLink, Merge: CascadeNone, Reparent: CascadeNone, Share: CascadeNone, Unshare: CascadeNone}

// RestrictDelete is referential with Restrict on delete: a row that is
// referenced cannot be deleted.
var RestrictDelete = Cascade{Assign: CascadeNone, Delete: CascadeRestrict, Merge: CascadeNone, Reparent: CascadeNone, Share: CascadeNone, Unshare: CascadeNone}

// withDefaults fills the behaviours c leaves empty from Referential.
func (c Cascade) withDefaults() Cascade {
	fill := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	fill(&c.Assign, Referential.Assign)
	fill(&c.Delete, Referential.Delete)
	fill(&c.Merge, Referential.Merge)
	fill(&c.Reparent, Referential.Reparent)
	fill(&c.Share, Referential.Share)
	fill(&c.Unshare, Referential.Unshare)
	return c
}

func (c Cascade) check() error {
	for _, v := range []string{c.Assign, c.Delete, c.Merge, c.Reparent, c.Share, c.Unshare} {
		if !cascadeTypes[v] {
			return fmt.Errorf("cascade %q must be Cascade, NoCascade, RemoveLink, Restrict, Active or UserOwned", v)
		}
	}
	if c.Delete == CascadeActive || c.Delete == CascadeUserOwned {
		return fmt.Errorf("delete cascade must be Cascade, RemoveLink or Restrict")
	}
	return nil
}

// Key is an alternate key: one or more columns whose values are unique.
type Key struct {
	Name    string   `yaml:"name" json:"name"`
	Columns []string `yaml:"columns" json:"columns"`
}

// Intersect marks a table as the intersect table of a many-to-many
// relationship: each row relates the row its Attribute1 references to the
// row its Attribute2 references.
type Intersect struct {
	// Name is the relationship's schema name, which is also the collection
	// navigation property on both tables unless Nav1 or Nav2 says otherwise.
	Name       string `yaml:"name" json:"name"`
	Entity1    string `yaml:"entity1" json:"entity1"`
	Attribute1 string `yaml:"attribute1" json:"attribute1"`
	Entity2    string `yaml:"entity2" json:"entity2"`
	Attribute2 string `yaml:"attribute2" json:"attribute2"`
	// Nav1 is the navigation property on Entity1 (to Entity2's rows), Nav2
	// the one on Entity2.
	Nav1 string `yaml:"nav1,omitempty" json:"nav1,omitempty"`
	Nav2 string `yaml:"nav2,omitempty" json:"nav2,omitempty"`
	// Junction marks intersect tables written only through associate and
	// disassociate (and the messages that manage them), not as rows.
	Custom bool `yaml:"-" json:"custom,omitempty"`
}

// Table is one Junction table.
type Table struct {
	Name string `yaml:"name,omitempty" json:"name"`
	// Extends, in a project's table file, names the standard table the
	// file adds columns and keys to (and nothing else); see Extension.
	Extends     string `yaml:"extends,omitempty" json:"-"`
	SchemaName  string `yaml:"schemaName,omitempty" json:"schemaName,omitempty"`
	SetName     string `yaml:"setName,omitempty" json:"setName,omitempty"`
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// DisplayCollectionName is the plural display name.
	DisplayCollectionName string `yaml:"displayCollectionName,omitempty" json:"displayCollectionName,omitempty"`
	PrimaryName           string `yaml:"primaryName,omitempty" json:"primaryName,omitempty"`
	// PrimaryIDName names the primary key column when it is not <name>id
	// (activities share activityid).
	PrimaryIDName string `yaml:"primaryId,omitempty" json:"primaryId,omitempty"`
	// Ownership is UserOwned (the default: rows have an owner),
	// OrganizationOwned, BusinessOwned or None.
	Ownership string `yaml:"ownership,omitempty" json:"ownership,omitempty"`
	// ObjectTypeCode is Dataverse's type code of a standard table.
	ObjectTypeCode int `yaml:"objectTypeCode,omitempty" json:"objectTypeCode,omitempty"`
	// Activity marks activity tables (task, email, ...), whose rows are
	// also activitypointer rows.
	Activity bool `yaml:"activity,omitempty" json:"activity,omitempty"`
	// Source names the documentation a standard table's description comes
	// from.
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// SystemRelationships name the relationships of the system lookups
	// (createdby, modifiedby, createdonbehalfby, modifiedonbehalfby,
	// owninguser, owningteam, owningbusinessunit, ownerid) where Dataverse
	// names them other than lk_<table>_<column>.
	SystemRelationships map[string]string `yaml:"system,omitempty" json:"systemRelationships,omitempty"`
	Columns             []Column          `yaml:"columns" json:"columns"`
	Keys                []Key             `yaml:"keys,omitempty" json:"keys,omitempty"`
	// Intersect is set on the intersect table of a many-to-many
	// relationship.
	Intersect *Intersect `yaml:"intersect,omitempty" json:"intersect,omitempty"`
	// AttributeMaps are the columns copied from rows of other tables into a
	// new row of this one (InitializeFrom).
	AttributeMaps []AttributeMap `yaml:"attributeMaps,omitempty" json:"attributeMaps,omitempty"`
	Custom        bool           `yaml:"-" json:"custom,omitempty"`
	// ChangeTracking is on for every table; kept for metadata queries.
	ChangeTracking bool `yaml:"-" json:"-"`

	cols map[string]*Column
	navs []Nav // cached by Service.Reload
	// columnSets keeps the column sets reads select (see ColumnSet);
	// Prepare starts it empty.
	columnSets *columnSets
	// image is the layout of the table's rows in the change log, and blank
	// a row of every column, each null.
	image *changelog.Layout
	blank Row
	place map[string]int // each column's index in Columns
	// noCompute leaves computed columns as they are written: benchmarks
	// compare a table with its computations and without.
	noCompute bool
}

// present returns the indexes in Columns of the columns row has, in order.
func (t *Table) present(row Row) []int {
	out := make([]int, 0, len(row))
	if t.place == nil {
		for i := range t.Columns {
			if _, ok := row[t.Columns[i].Name]; ok {
				out = append(out, i)
			}
		}
		return out
	}
	for k := range row {
		if i, ok := t.place[k]; ok {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// PrimaryID is the primary key column's name.
func (t *Table) PrimaryID() string {
	if t.PrimaryIDName != "" {
		return t.PrimaryIDName
	}
	return t.Name + "id"
}

// SQLName is the table's SQL name.
func (t *Table) SQLName() string { return "rec_" + t.Name }

// Owned reports whether rows have an owner (ownerid).
func (t *Table) Owned() bool { return t.Ownership == UserOwned }

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

// Polymorphic reports whether a lookup can reference more than one table;
// its SQL table then keeps the referenced table beside the id (TypeColumn).
func (c *Column) Polymorphic() bool { return c.Type.IsLookup() && len(c.Targets) > 1 }

// Writable reports whether a create (or an update) may set the column.
func (c *Column) Writable(create bool) bool {
	if c.System || c.ReadOnly || c.Computed != "" {
		return false
	}
	if create {
		return !c.UpdateOnly
	}
	return !c.CreateOnly
}

// MaxTextLength is the longest a String or Memo column of a standard table
// can be (annotation.documentbody); new columns are held to Dataverse's
// limits for them (see NewColumnLimits).
const MaxTextLength = 1073741823

// NewColumnLimits are the longest String and Memo columns Dataverse lets a
// customizer create.
var NewColumnLimits = map[Type]int{String: 4000, Memo: 1048576}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,48}$`)

// ValidName reports whether s can name a table or column.
func ValidName(s string) bool { return namePattern.MatchString(s) }

func zeroOne() (*int64, *int64) {
	zero, one := int64(0), int64(1)
	return &zero, &one
}

// systemColumns are added to every table: the primary id, the time stamps,
// the version, the state and status (unless the table defines its own), and
// on user-owned tables the owner and the lookups the platform keeps (who
// created and modified the row, and the owner's user, team and business
// unit).
func systemColumns(t *Table) []Column {
	zero, one := zeroOne()
	cols := []Column{
		{Name: t.PrimaryID(), Type: UniqueIdentifier, DisplayName: t.DisplayName, Required: RequiredSystem, System: true},
		{Name: "createdon", Type: DateTime, DisplayName: "Created On", System: true},
		{Name: "modifiedon", Type: DateTime, DisplayName: "Modified On", System: true},
		{Name: "versionnumber", Type: BigInt, DisplayName: "Version Number", System: true},
		{Name: "statecode", Type: State, DisplayName: "Status", Options: []Option{{Value: 0, Label: "Active"}, {Value: 1, Label: "Inactive"}}},
		{Name: "statuscode", Type: Status, DisplayName: "Status Reason", Options: []Option{{Value: 1, Label: "Active", State: zero}, {Value: 2, Label: "Inactive", State: one}}},
	}
	if !t.Owned() {
		return cols
	}
	rel := func(col, def string) string {
		if r := t.SystemRelationships[col]; r != "" {
			return r
		}
		return def
	}
	audit := func(name, display, computed string) Column {
		return Column{Name: name, Type: Lookup, DisplayName: display, Targets: []string{"systemuser"}, Relationship: rel(name, "lk_"+t.Name+"_"+name),
			Cascade: &Cascade{Delete: CascadeNone}, Computed: computed, System: true}
	}
	return append(cols,
		Column{Name: "ownerid", Type: Owner, DisplayName: "Owner", Targets: []string{"systemuser", "team"}, Required: RequiredSystem, System: true,
			Links: []Link{{Target: "systemuser", Name: rel("ownerid", "user_"+t.Name), Nav: "ownerid", Cascade: Cascade{Delete: CascadeNone}},
				{Target: "team", Name: rel("ownerid:team", "team_owner_"+t.Name), Nav: "ownerid_team", Cascade: Cascade{Delete: CascadeNone}}}},
		audit("createdby", "Created By", "createdby"),
		audit("modifiedby", "Modified By", "modifiedby"),
		audit("createdonbehalfby", "Created By (Delegate)", "createdonbehalfby"),
		audit("modifiedonbehalfby", "Modified By (Delegate)", "modifiedonbehalfby"),
		audit("owninguser", "Owning User", "owninguser"),
		Column{Name: "owningteam", Type: Lookup, DisplayName: "Owning Team", Targets: []string{"team"}, Relationship: rel("owningteam", "team_"+t.Name),
			Cascade: &Cascade{Delete: CascadeNone}, Computed: "owningteam", System: true},
		Column{Name: "owningbusinessunit", Type: Lookup, DisplayName: "Owning Business Unit", Targets: []string{"businessunit"},
			Relationship: rel("owningbusinessunit", "business_unit_"+t.Name), Cascade: &Cascade{Delete: CascadeRestrict}, Computed: "owningbusinessunit", System: true},
	)
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
	if t.SchemaName == "" {
		t.SchemaName = t.Name
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	if t.DisplayCollectionName == "" {
		t.DisplayCollectionName = t.DisplayName
	}
	switch t.Ownership {
	case "":
		t.Ownership = UserOwned
	case UserOwned, OrganizationOwned, BusinessOwned, NoOwnership:
	default:
		return fmt.Errorf("table %s: ownership must be UserOwned, OrganizationOwned, BusinessOwned or None", t.Name)
	}
	if t.PrimaryName == "" {
		return fmt.Errorf("table %s: primaryName is required", t.Name)
	}
	t.addRollupCompanions()
	declared := map[string]*Column{}
	for i := range t.Columns {
		declared[t.Columns[i].Name] = &t.Columns[i]
	}
	// The columns in order: the primary id, time stamps, version, state,
	// status and owner, then the table's own, then the lookups the platform
	// keeps (createdby, owninguser, ...). A table may define its own states.
	var cols, late []Column
	seen := map[string]bool{}
	for _, c := range systemColumns(t) {
		if d := declared[c.Name]; d != nil && (c.Name == "statecode" || c.Name == "statuscode") {
			c = *d
		}
		seen[c.Name] = true
		if c.Computed != "" {
			late = append(late, c)
			continue
		}
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
	cols = append(cols, late...)
	t.Columns = cols
	t.cols = map[string]*Column{}
	t.navs = nil
	t.columnSets = &columnSets{}
	for i := range t.Columns {
		c := &t.Columns[i]
		if err := c.prepare(t, known); err != nil {
			return err
		}
		t.cols[c.Name] = c
	}
	names := make([]string, len(t.Columns))
	for i := range t.Columns {
		names[i] = t.Columns[i].Name
	}
	t.image = changelog.NewLayout(names)
	t.blank, t.place = make(Row, len(names)), make(map[string]int, len(names))
	for i, n := range names {
		t.blank[n], t.place[n] = nil, i
	}
	if err := t.checkComputed(); err != nil {
		return err
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
	if in := t.Intersect; in != nil {
		if in.Name == "" || in.Entity1 == "" || in.Entity2 == "" {
			return fmt.Errorf("table %s: an intersect needs a name and two entities", t.Name)
		}
		for _, a := range []struct{ col, target string }{{in.Attribute1, in.Entity1}, {in.Attribute2, in.Entity2}} {
			c, ok := t.cols[a.col]
			if !ok || c.Type != Lookup || c.Targets[0] != a.target {
				return fmt.Errorf("table %s: intersect attribute %q must be a lookup to %s", t.Name, a.col, a.target)
			}
		}
		if in.Nav1 == "" {
			in.Nav1 = in.Name
		}
		if in.Nav2 == "" {
			in.Nav2 = in.Name
		}
	}
	return nil
}

// IsSystemColumn reports whether Junction adds the column n to t itself
// (the primary id, time stamps, version, state and status, and on
// user-owned tables the owner and the lookups the platform keeps).
func (t *Table) IsSystemColumn(n string) bool { return isSystemName(t, n) }

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
	case RequiredNone, RequiredSystem, RequiredApp, RequiredRecommended:
	default:
		return fmt.Errorf("%s: required must be None, Recommended, ApplicationRequired or SystemRequired", where)
	}
	switch c.Behavior {
	case "", "UserLocal", "DateOnly", "TimeZoneIndependent":
	default:
		return fmt.Errorf("%s: behavior must be UserLocal, DateOnly or TimeZoneIndependent", where)
	}
	if c.Rollup != nil {
		if err := c.prepareRollup(where); err != nil {
			return err
		}
	}
	if c.Computed != "" || c.ReadOnly {
		c.System = true
	}
	switch c.Type {
	case String:
		if c.MaxLength == 0 {
			c.MaxLength = 100
		}
		if c.MaxLength < 1 || c.MaxLength > MaxTextLength {
			return fmt.Errorf("%s: maxLength must be 1..%d", where, MaxTextLength)
		}
	case Memo:
		if c.MaxLength == 0 {
			c.MaxLength = 2000
		}
		if c.MaxLength < 1 || c.MaxLength > MaxTextLength {
			return fmt.Errorf("%s: maxLength must be 1..%d", where, MaxTextLength)
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
	case Boolean:
		if len(c.Options) != 0 && len(c.Options) != 2 {
			return fmt.Errorf("%s: a Boolean column has two labels, for 1 and 0", where)
		}
	case Lookup:
		if len(c.Targets) == 0 {
			for _, l := range c.Links {
				c.Targets = append(c.Targets, l.Target)
			}
		}
		if len(c.Targets) == 0 {
			return fmt.Errorf("%s: a lookup needs a target table", where)
		}
	case Owner:
		if len(c.Targets) == 0 {
			return fmt.Errorf("%s: an owner lookup needs a target table", where)
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
		if err := c.prepareLinks(t); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		return fmt.Errorf("%s: min is greater than max", where)
	}
	return nil
}

// prepareLinks gives a lookup one link per target, named as Relationship
// (and, for a Customer, completed with the target) says, or as Dataverse
// names a new relationship: <target>_<table>_<column>.
func (c *Column) prepareLinks(t *Table) error {
	if c.Relationship == "" {
		if c.Type == Customer {
			c.Relationship = t.Name + "_" + c.Name
		} else {
			c.Relationship = c.Targets[0] + "_" + t.Name + "_" + c.Name
		}
	}
	byTarget := map[string]Link{}
	for _, l := range c.Links {
		if _, dup := byTarget[l.Target]; dup {
			return fmt.Errorf("target %s has two links", l.Target)
		}
		byTarget[l.Target] = l
	}
	links := make([]Link, 0, len(c.Targets))
	for _, tg := range c.Targets {
		l, ok := byTarget[tg]
		if !ok {
			l = Link{Target: tg}
			if c.Cascade != nil {
				l.Cascade = *c.Cascade
			}
		}
		delete(byTarget, tg)
		if l.Name == "" {
			l.Name = c.Relationship
			if c.Type == Customer || len(c.Targets) > 1 && c.Type != Owner {
				l.Name = c.Relationship + "_" + pluralize(tg)
			}
		}
		if l.Nav == "" {
			l.Nav = c.Name
			if c.Type == Customer || len(c.Targets) > 1 && c.Type != Owner {
				l.Nav = c.Name + "_" + tg
			}
		}
		l.Cascade = l.Cascade.withDefaults()
		if err := l.Cascade.check(); err != nil {
			return fmt.Errorf("relationship %s: %v", l.Name, err)
		}
		links = append(links, l)
	}
	for tg := range byTarget {
		return fmt.Errorf("a link names %s, which is not a target", tg)
	}
	c.Links = links
	return nil
}

// Link returns the lookup's relationship to target.
func (c *Column) Link(target string) (Link, bool) {
	for _, l := range c.Links {
		if l.Target == target {
			return l, true
		}
	}
	return Link{}, false
}

// NavName is the single-valued navigation property of a lookup to target.
func (c *Column) NavName(target string) string {
	if l, ok := c.Link(target); ok {
		return l.Nav
	}
	if c.Type == Customer {
		return c.Name + "_" + target
	}
	return c.Name
}

// RelName is the one-to-many relationship (and the collection navigation
// property on target) of a lookup.
func (c *Column) RelName(target string) string {
	if l, ok := c.Link(target); ok {
		return l.Name
	}
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
	// Link is the relationship the property follows.
	Link Link
}

// Navs lists a table's navigation properties; all gives the other tables.
// Many-to-many relationships are not among them (see ManyToMany).
func (t *Table) Navs(all map[string]*Table) []Nav {
	if t.navs != nil {
		return t.navs
	}
	return t.navsOf(all)
}

func (t *Table) navsOf(all map[string]*Table) []Nav {
	var out []Nav
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Type.IsLookup() {
			for _, l := range c.Links {
				out = append(out, Nav{Name: l.Nav, Column: c, Other: l.Target, Link: l})
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
			for _, l := range c.Links {
				if l.Target == t.Name {
					out = append(out, Nav{Name: l.Name, Collection: true, Column: c, Other: o.Name, Link: l})
				}
			}
		}
	}
	return out
}
