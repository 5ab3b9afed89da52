// Package solution reads a Dataverse solution exported as a zip (the file
// ImportSolution takes and `junction tables import` reads): its
// solution.xml names the solution and its publisher, and its
// customizations.xml defines the tables, columns, choices (local and
// global), alternate keys and one-to-many and many-to-many relationships
// that the import turns into Junction table definitions (records.Table).
// Forms, views, ribbons, workflows and the other components are left out.
package solution

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"junction/internal/records"
)

// Solution is what an import takes from an exported solution.
type Solution struct {
	UniqueName   string
	FriendlyName string
	Version      string
	Description  string
	Managed      bool
	Publisher    Publisher
	// Tables are the tables the solution defines or extends, each with the
	// columns, keys and lookups it declares (the system columns Junction
	// adds itself are left out), many-to-many intersect tables last.
	Tables []records.Table
	// Skipped says what the solution defines that Junction does not
	// import, one sentence each.
	Skipped []string
}

// Publisher is the solution's publisher.
type Publisher struct {
	UniqueName        string
	FriendlyName      string
	Prefix            string
	OptionValuePrefix int64
	Email             string
	Website           string
}

// ErrInvalid wraps every reason a file is not a solution Junction can read.
var ErrInvalid = errors.New("invalid solution")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// maxPart bounds how much of one zip entry is read, against zip bombs.
const maxPart = 256 << 20

// Read reads an exported solution zip.
func Read(data []byte) (*Solution, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, invalid("the file is not a zip: %v", err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		name := strings.ToLower(path.Clean(strings.ReplaceAll(f.Name, `\`, "/")))
		if name != "customizations.xml" && name != "solution.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, invalid("%s: %v", f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxPart+1))
		rc.Close()
		if err != nil {
			return nil, invalid("%s: %v", f.Name, err)
		}
		if len(b) > maxPart {
			return nil, invalid("%s is larger than %d bytes", f.Name, maxPart)
		}
		parts[name] = b
	}
	if parts["customizations.xml"] == nil {
		return nil, invalid("the zip has no customizations.xml at its root: export the solution from Dataverse (or pack it with SolutionPackager) and import that zip")
	}
	s := &Solution{}
	if m := parts["solution.xml"]; m != nil {
		if err := s.readManifest(m); err != nil {
			return nil, err
		}
	} else {
		return nil, invalid("the zip has no solution.xml at its root")
	}
	s.Tables, s.Skipped, err = ParseCustomizations(parts["customizations.xml"])
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Solution) readManifest(data []byte) error {
	var m xmlManifest
	if err := xml.Unmarshal(data, &m); err != nil {
		return invalid("solution.xml: %v", err)
	}
	man := m.Manifest
	if man.UniqueName == "" {
		return invalid("solution.xml names no solution (SolutionManifest/UniqueName)")
	}
	s.UniqueName, s.Version, s.Managed = man.UniqueName, man.Version, man.Managed == "1"
	s.FriendlyName, s.Description = label(man.Names), label(man.Description)
	if s.FriendlyName == "" {
		s.FriendlyName = s.UniqueName
	}
	if s.Version == "" {
		s.Version = "1.0.0.0"
	}
	p := man.Publisher
	s.Publisher = Publisher{UniqueName: p.UniqueName, FriendlyName: label(p.Names), Prefix: p.Prefix, Email: p.Email, Website: p.Website}
	if s.Publisher.UniqueName == "" {
		return invalid("solution.xml names no publisher (SolutionManifest/Publisher/UniqueName)")
	}
	if p.OptionValuePrefix != "" {
		n, err := strconv.ParseInt(p.OptionValuePrefix, 10, 64)
		if err != nil {
			return invalid("solution.xml: CustomizationOptionValuePrefix %q is not a number", p.OptionValuePrefix)
		}
		s.Publisher.OptionValuePrefix = n
	}
	return nil
}

// ParseCustomizations reads a customizations.xml into table definitions
// and the list of what it leaves out.
func ParseCustomizations(data []byte) ([]records.Table, []string, error) {
	var cx xmlCustomizations
	if err := xml.Unmarshal(data, &cx); err != nil {
		return nil, nil, invalid("customizations.xml: %v", err)
	}
	p := parser{global: map[string]*xmlOptionSet{}, tables: map[string]*records.Table{}}
	for i := range cx.OptionSets {
		o := &cx.OptionSets[i]
		p.global[strings.ToLower(o.Name)] = o
	}
	for _, e := range cx.Entities {
		if e.Info == nil {
			continue // named for its forms, views or ribbon only
		}
		if err := p.entity(e); err != nil {
			return nil, nil, err
		}
	}
	if err := p.relationships(cx.Relationships); err != nil {
		return nil, nil, err
	}
	out := make([]records.Table, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, *p.tables[n])
	}
	return append(out, p.intersects...), p.skipped, nil
}

type parser struct {
	global     map[string]*xmlOptionSet
	tables     map[string]*records.Table
	order      []string
	intersects []records.Table
	skipped    []string
}

func (p *parser) skip(format string, args ...any) {
	p.skipped = append(p.skipped, fmt.Sprintf(format, args...))
}

// logical is the logical name of a schema name, checked.
func logical(kind, s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if !records.ValidName(n) {
		return "", invalid("%s name %q must be letters, digits and underscores, starting with a letter", kind, s)
	}
	return n, nil
}

var ownerships = map[string]string{"": "", "UserOwned": records.UserOwned, "TeamOwned": records.UserOwned,
	"OrganizationOwned": records.OrganizationOwned, "BusinessOwned": records.BusinessOwned, "None": records.NoOwnership}

func (p *parser) entity(e xmlEntity) error {
	schema := strings.TrimSpace(e.Name)
	if schema == "" {
		schema = e.Info.Name
	}
	name, err := logical("entity", schema)
	if err != nil {
		return err
	}
	if _, dup := p.tables[name]; dup {
		return invalid("entity %s is defined twice", name)
	}
	own, ok := ownerships[strings.TrimSpace(e.Info.Ownership)]
	if !ok {
		return invalid("entity %s: unknown OwnershipTypeMask %q", name, e.Info.Ownership)
	}
	t := &records.Table{Name: name, SchemaName: schema, SetName: strings.ToLower(e.Info.SetName), Ownership: own,
		DisplayName: label(e.Info.Names), DisplayCollectionName: label(e.Info.CollectionNames)}
	if e.Info.IsActivity == "1" {
		p.skip("%s: imported as a table; its activity behaviour (activitypointer, parties) is not", name)
	}
	seen := map[string]bool{}
	for _, a := range e.Info.Attributes {
		c, keep, err := p.column(t, a)
		if err != nil {
			return err
		}
		if !keep {
			continue
		}
		if seen[c.Name] {
			return invalid("entity %s: attribute %s is defined twice", name, c.Name)
		}
		seen[c.Name] = true
		t.Columns = append(t.Columns, c)
	}
	for _, k := range e.Info.Keys {
		kn := k.LogicalName
		if kn == "" {
			kn = k.Name
		}
		key := records.Key{Name: strings.ToLower(kn)}
		for _, a := range k.Attributes {
			cn, err := logical("key attribute", a)
			if err != nil {
				return err
			}
			key.Columns = append(key.Columns, cn)
		}
		t.Keys = append(t.Keys, key)
	}
	p.tables[name] = t
	p.order = append(p.order, name)
	return nil
}

// attributeTypes maps customizations.xml attribute types to column types.
var attributeTypes = map[string]records.Type{
	"nvarchar": records.String, "string": records.String, "ntext": records.Memo, "memo": records.Memo,
	"int": records.Integer, "integer": records.Integer, "bigint": records.BigInt, "decimal": records.Decimal,
	"float": records.Double, "double": records.Double, "money": records.Money, "bit": records.Boolean, "boolean": records.Boolean,
	"datetime": records.DateTime, "picklist": records.Picklist, "state": records.State, "status": records.Status,
	"lookup": records.Lookup, "customer": records.Customer, "owner": records.Owner, "uniqueidentifier": records.UniqueIdentifier,
}

// unsupportedTypes are Dataverse attribute types Junction has no column
// type for; their attributes are left out and listed.
var unsupportedTypes = map[string]string{
	"partylist": "activity parties", "image": "images", "file": "files", "virtual": "virtual columns",
	"multiselectpicklist": "multi-select choices", "managedproperty": "managed properties", "entityname": "entity names",
	"calendarrules": "calendar rules",
}

var requiredLevels = map[string]string{"": records.RequiredNone, "none": records.RequiredNone, "recommended": records.RequiredRecommended,
	"applicationrequired": records.RequiredApp, "required": records.RequiredApp, "systemrequired": records.RequiredSystem}

var behaviors = map[string]string{"": "", "0": "", "1": "", "2": "DateOnly", "3": "TimeZoneIndependent"}

// column reads one attribute; keep is false for what the import leaves
// out (the primary key and the columns Junction adds to every table).
func (p *parser) column(t *records.Table, a xmlAttribute) (records.Column, bool, error) {
	raw := a.LogicalName
	if raw == "" {
		raw = a.Name
	}
	if raw == "" {
		raw = a.PhysicalName
	}
	name, err := logical("attribute", raw)
	if err != nil {
		return records.Column{}, false, invalid("entity %s: %v", t.Name, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	typ := strings.ToLower(strings.TrimSpace(a.Type))
	where := t.Name + "." + name
	if typ == "primarykey" {
		if name != t.Name+"id" {
			t.PrimaryIDName = name
		}
		return records.Column{}, false, nil
	}
	if what, ok := unsupportedTypes[typ]; ok {
		p.skip("%s: Junction has no %s (%s)", where, what, typ)
		return records.Column{}, false, nil
	}
	ct, ok := attributeTypes[typ]
	if !ok {
		return records.Column{}, false, invalid("%s: unknown attribute type %q", where, a.Type)
	}
	if ct == records.Owner || junctionColumn(name) {
		return records.Column{}, false, nil
	}
	req, ok := requiredLevels[strings.ToLower(strings.TrimSpace(a.RequiredLevel))]
	if !ok {
		return records.Column{}, false, invalid("%s: unknown RequiredLevel %q", where, a.RequiredLevel)
	}
	c := records.Column{Name: name, Type: ct, DisplayName: label(a.DisplayNames), Required: req}
	if strings.Contains(a.DisplayMask, "PrimaryName") {
		t.PrimaryName = name
	}
	switch a.SourceType {
	case "1", "2", "3":
		c.ReadOnly = true
		p.skip("%s: a calculated, rollup or formula column; imported read-only and not computed", where)
	}
	if f := strings.TrimSpace(a.AutoNumber); f != "" && ct == records.String {
		c.Type, c.Format = records.AutoNumber, f
	}
	num := func(field, s string) (*float64, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, invalid("%s: %s %q is not a number", where, field, s)
		}
		return &f, nil
	}
	length := a.MaxLength
	if length == "" {
		length = a.Length
	}
	switch {
	case c.Type.IsText():
		if n, err := num("MaxLength", length); err != nil {
			return c, false, err
		} else if n != nil {
			c.MaxLength = int(*n)
		}
	case ct == records.Integer || ct == records.BigInt || ct == records.Decimal || ct == records.Double || ct == records.Money:
		if c.Min, err = num("MinValue", a.MinValue); err != nil {
			return c, false, err
		}
		if c.Max, err = num("MaxValue", a.MaxValue); err != nil {
			return c, false, err
		}
		if n, err := num("Accuracy", a.Accuracy); err != nil {
			return c, false, err
		} else if n != nil {
			c.Precision = int(*n)
		}
	case ct == records.DateTime:
		b, ok := behaviors[strings.TrimSpace(a.Behavior)]
		if !ok {
			return c, false, invalid("%s: unknown DateTime Behavior %q", where, a.Behavior)
		}
		c.Behavior = b
	case ct.IsChoice() || ct == records.Boolean:
		if err := p.options(&c, a, where); err != nil {
			var no errNoOptionSet
			if errors.As(err, &no) {
				// A global choice of the org (lead.purchaseprocess): the
				// column is imported where its choice is.
				p.skip("%s: its choice is the global option set %s, which the solution does not carry", where, no.name)
				return c, false, nil
			}
			return c, false, err
		}
		if d := strings.TrimSpace(a.AppDefault); d != "" && d != "-1" {
			if v, err := strconv.ParseInt(d, 10, 64); err == nil {
				c.Default = &v
			}
		}
	}
	return c, true, nil
}

// junctionColumn reports columns Junction adds to every table itself
// (statecode and statuscode are read: a table may define its own).
func junctionColumn(name string) bool {
	switch name {
	case "createdon", "modifiedon", "versionnumber", "ownerid", "createdby", "modifiedby", "createdonbehalfby",
		"modifiedonbehalfby", "owninguser", "owningteam", "owningbusinessunit":
		return true
	}
	return false
}

// errNoOptionSet is a choice naming a global option set the solution
// does not define.
type errNoOptionSet struct{ name string }

func (e errNoOptionSet) Error() string { return "no option set " + e.name }

// options fills a choice or Boolean column's options from its own option
// set or the global one it names.
func (p *parser) options(c *records.Column, a xmlAttribute, where string) error {
	os := a.OptionSet
	if os == nil || len(os.Options)+len(os.States)+len(os.Statuses) == 0 && os.True == nil {
		name := strings.ToLower(a.OptionSetName)
		if os != nil && os.Name != "" {
			name = strings.ToLower(os.Name)
		}
		g := p.global[name]
		if g == nil {
			if c.Type == records.Boolean {
				return nil // the default Yes/No labels
			}
			return errNoOptionSet{name}
		}
		os = g
	}
	value := func(o xmlOption) (int64, error) {
		v, err := strconv.ParseInt(strings.TrimSpace(o.Value), 10, 64)
		if err != nil {
			return 0, invalid("%s: option value %q is not a number", where, o.Value)
		}
		return v, nil
	}
	var list []xmlOption
	switch c.Type {
	case records.State:
		list = os.States
	case records.Status:
		list = os.Statuses
	case records.Boolean:
		list = os.Options
		if os.True != nil && os.False != nil {
			list = []xmlOption{*os.True, *os.False}
		}
	default:
		list = os.Options
	}
	for _, o := range list {
		v, err := value(o)
		if err != nil {
			return err
		}
		opt := records.Option{Value: v, Label: label(o.Labels)}
		if c.Type == records.Status {
			st, err := strconv.ParseInt(strings.TrimSpace(o.State), 10, 64)
			if err != nil {
				return invalid("%s: status %d names no state", where, v)
			}
			opt.State = &st
		}
		c.Options = append(c.Options, opt)
	}
	if c.Type == records.Boolean {
		// Junction keeps a Boolean's labels for 1 then 0.
		sort.SliceStable(c.Options, func(i, j int) bool { return c.Options[i].Value > c.Options[j].Value })
		if len(c.Options) != 2 {
			c.Options = nil
		}
	}
	return nil
}

var cascades = map[string]string{"": "", "NoCascade": records.CascadeNone, "Cascade": records.CascadeAll, "Active": records.CascadeActive,
	"UserOwned": records.CascadeUserOwned, "RemoveLink": records.CascadeRemoveLink, "Restrict": records.CascadeRestrict}

func cascade(where, v string) (string, error) {
	c, ok := cascades[strings.TrimSpace(v)]
	if !ok {
		return "", invalid("relationship %s: unknown cascade %q", where, v)
	}
	return c, nil
}

// relationships gives the lookups their targets and cascades, and makes
// the intersect tables of the many-to-many relationships.
func (p *parser) relationships(rels []xmlRelationship) error {
	for _, r := range rels {
		switch strings.TrimSpace(r.Type) {
		case "OneToMany", "":
			if err := p.oneToMany(r); err != nil {
				return err
			}
		case "ManyToMany":
			if err := p.manyToMany(r); err != nil {
				return err
			}
		default:
			return invalid("relationship %s: unknown EntityRelationshipType %q", r.Name, r.Type)
		}
	}
	return nil
}

func (p *parser) oneToMany(r xmlRelationship) error {
	referencing := strings.ToLower(r.Referencing)
	t := p.tables[referencing]
	if t == nil {
		return nil // the lookup belongs to a table the solution does not carry
	}
	attr := strings.ToLower(r.ReferencingAttr)
	var c *records.Column
	for i := range t.Columns {
		if t.Columns[i].Name == attr {
			c = &t.Columns[i]
		}
	}
	if c == nil || !c.Type.IsLookup() {
		return nil // a system lookup (createdby, owningbusinessunit, ...)
	}
	target, err := logical("entity", r.Referenced)
	if err != nil {
		return invalid("relationship %s: %v", r.Name, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	if strings.TrimSpace(r.Name) == "" {
		return invalid("a relationship of %s.%s has no name", t.Name, attr)
	}
	var cc records.Cascade
	for _, f := range []struct {
		dst *string
		v   string
	}{{&cc.Assign, r.CascadeAssign}, {&cc.Delete, r.CascadeDelete}, {&cc.Merge, r.CascadeMerge}, {&cc.Reparent, r.CascadeReparent},
		{&cc.Share, r.CascadeShare}, {&cc.Unshare, r.CascadeUnshare}} {
		if *f.dst, err = cascade(r.Name, f.v); err != nil {
			return err
		}
	}
	l := records.Link{Target: target, Name: r.Name, Cascade: cc}
	for _, role := range r.Roles {
		if role.RoleType == "1" && role.NavigationPropertyName != "" {
			l.Nav = role.NavigationPropertyName
		}
	}
	for _, x := range c.Links {
		if x.Target == target {
			return invalid("%s.%s has two relationships to %s (%s and %s)", t.Name, attr, target, x.Name, r.Name)
		}
	}
	c.Targets = append(c.Targets, target)
	c.Links = append(c.Links, l)
	if len(c.Links) > 1 || c.Type == records.Customer {
		// A lookup with several targets has one navigation property per
		// target (customerid_account); Junction names them.
		for i := range c.Links {
			c.Links[i].Nav = ""
		}
	}
	c.Hierarchical = c.Hierarchical || r.IsHierarchical == "1"
	return nil
}

func (p *parser) manyToMany(r xmlRelationship) error {
	if strings.TrimSpace(r.Name) == "" {
		return invalid("a many-to-many relationship has no name")
	}
	e1, err := logical("entity", r.FirstEntity)
	if err != nil {
		return invalid("relationship %s: %v", r.Name, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	e2, err := logical("entity", r.SecondEntity)
	if err != nil {
		return invalid("relationship %s: %v", r.Name, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	intersect := strings.ToLower(r.IntersectEntity)
	if intersect == "" {
		intersect = strings.ToLower(r.Name)
	}
	if !records.ValidName(intersect) {
		return invalid("relationship %s: intersect entity name %q must be letters, digits and underscores", r.Name, r.IntersectEntity)
	}
	in := records.Intersect{Name: r.Name, Entity1: e1, Entity2: e2}
	for _, role := range r.Roles {
		switch role.Ordinal {
		case "1":
			in.Nav1 = role.NavigationPropertyName
		case "2":
			in.Nav2 = role.NavigationPropertyName
		}
	}
	t := records.ManyToManyTable(in, intersect)
	for _, c := range t.Columns {
		if !records.ValidName(c.Name) {
			return invalid("relationship %s: the intersect column %q would be too long or invalid", r.Name, c.Name)
		}
	}
	p.intersects = append(p.intersects, t)
	return nil
}
