package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// TableDefinition is a table's full definition as EntityDefinitions gives
// it: the table's own properties, every column with the properties of its
// derived type (lengths, ranges, precision, choices with their labels,
// lookup targets), the alternate keys, the relationships in which the
// table is the referencing one (ManyToOneRelationships, with their
// CascadeConfiguration) and its many-to-many relationships.
type TableDefinition struct {
	LogicalName           string
	SchemaName            string
	EntitySetName         string
	PrimaryIDAttribute    string
	PrimaryNameAttribute  string
	DisplayName           string
	DisplayCollectionName string
	OwnershipType         string
	ObjectTypeCode        int
	IsCustomEntity        bool
	IsActivity            bool
	IsIntersect           bool
	Attributes            []AttributeDefinition
	Keys                  []KeyDefinition
	ManyToOne             []OneToManyDefinition
	ManyToMany            []ManyToManyDefinition
}

// AttributeDefinition is one column's definition.
type AttributeDefinition struct {
	LogicalName string
	SchemaName  string
	// AttributeType is String, Integer, Lookup, Virtual, ...;
	// AttributeTypeName is the finer AttributeTypeName.Value (StringType,
	// MultiSelectPicklistType, ImageType, ...).
	AttributeType     string
	AttributeTypeName string
	// AttributeOf names the column this one belongs to (the name of a
	// lookup, a yomi name, ...).
	AttributeOf       string
	DisplayName       string
	RequiredLevel     string
	IsCustomAttribute bool
	IsPrimaryID       bool
	IsPrimaryName     bool
	// SourceType is 1 for a calculated column, 2 for a rollup column.
	SourceType       int
	MaxLength        int
	MinValue         *float64
	MaxValue         *float64
	Precision        *int
	Targets          []string
	DateTimeBehavior string
	AutoNumberFormat string
	IsBaseCurrency   bool
	DefaultFormValue *int64
	// Options are a choice column's options (its local OptionSet or its
	// GlobalOptionSet), or a Boolean's false and true options.
	Options []OptionDefinition
	// GlobalOptionSet names the global choice the column uses, if any.
	GlobalOptionSet string
}

// OptionDefinition is one option of a choice column.
type OptionDefinition struct {
	Value int64
	Label string
	// State is the statecode a Status option belongs to.
	State *int64
}

// KeyDefinition is an alternate key.
type KeyDefinition struct {
	LogicalName   string
	SchemaName    string
	KeyAttributes []string
}

// CascadeConfiguration is what an action on the referenced row does to the
// referencing rows.
type CascadeConfiguration struct {
	Assign, Delete, Merge, Reparent, Share, Unshare string
}

// OneToManyDefinition is a one-to-many relationship.
type OneToManyDefinition struct {
	SchemaName                              string
	ReferencedEntity                        string
	ReferencedAttribute                     string
	ReferencingEntity                       string
	ReferencingAttribute                    string
	ReferencedEntityNavigationPropertyName  string
	ReferencingEntityNavigationPropertyName string
	IsHierarchical                          bool
	IsCustomRelationship                    bool
	CascadeConfiguration                    CascadeConfiguration
}

// ManyToManyDefinition is a many-to-many relationship.
type ManyToManyDefinition struct {
	SchemaName                    string
	IntersectEntityName           string
	Entity1LogicalName            string
	Entity1IntersectAttribute     string
	Entity1NavigationPropertyName string
	Entity2LogicalName            string
	Entity2IntersectAttribute     string
	Entity2NavigationPropertyName string
	IsCustomRelationship          bool
}

// label is a Label complex type: the user's label, else the English one,
// else the first.
type label struct {
	UserLocalizedLabel *struct{ Label string }
	LocalizedLabels    []struct {
		Label        string
		LanguageCode int
	}
}

func (l *label) text() string {
	if l == nil {
		return ""
	}
	if l.UserLocalizedLabel != nil && l.UserLocalizedLabel.Label != "" {
		return l.UserLocalizedLabel.Label
	}
	for _, ll := range l.LocalizedLabels {
		if ll.LanguageCode == 1033 {
			return ll.Label
		}
	}
	if len(l.LocalizedLabels) > 0 {
		return l.LocalizedLabels[0].Label
	}
	return ""
}

type valueOf struct{ Value string }

type rawOption struct {
	Value int64
	Label *label
	State *int64
}

type rawOptionSet struct {
	Name        string
	Options     []rawOption
	TrueOption  *rawOption
	FalseOption *rawOption
}

type rawAttribute struct {
	LogicalName       string
	SchemaName        string
	AttributeType     string
	AttributeTypeName *valueOf
	AttributeOf       string
	DisplayName       *label
	RequiredLevel     *valueOf
	IsCustomAttribute bool
	IsPrimaryID       bool `json:"IsPrimaryId"`
	IsPrimaryName     bool
	SourceType        *int
	MaxLength         *int
	MinValue          *float64
	MaxValue          *float64
	Precision         *int
	Targets           []string
	DateTimeBehavior  *valueOf
	AutoNumberFormat  string
	IsBaseCurrency    bool
	DefaultFormValue  *int64
	OptionSet         *rawOptionSet
	GlobalOptionSet   *rawOptionSet
}

// attributeCasts are the derived types whose properties a table definition
// reads, each through its cast of the Attributes collection; the choice
// types also expand their option sets, local and global.
var attributeCasts = []struct {
	cast    string
	options bool
}{
	{"StringAttributeMetadata", false}, {"MemoAttributeMetadata", false}, {"IntegerAttributeMetadata", false},
	{"BigIntAttributeMetadata", false}, {"DecimalAttributeMetadata", false}, {"DoubleAttributeMetadata", false},
	{"MoneyAttributeMetadata", false}, {"DateTimeAttributeMetadata", false}, {"LookupAttributeMetadata", false},
	{"PicklistAttributeMetadata", true}, {"StateAttributeMetadata", true}, {"StatusAttributeMetadata", true},
	{"BooleanAttributeMetadata", true}, {"MultiSelectPicklistAttributeMetadata", true},
}

// getJSON GETs path and decodes the body into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	r, err := c.Do(ctx, "GET", path, nil, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("dataverse: %s: %w", path, err)
	}
	return nil
}

// TableDefinition reads the full definition of the table with the logical
// name name, as `junction tables pull` needs it.
func (c *Client) TableDefinition(ctx context.Context, name string) (*TableDefinition, error) {
	path := "EntityDefinitions(LogicalName='" + strings.ReplaceAll(name, "'", "''") + "')"
	var e struct {
		LogicalName           string
		SchemaName            string
		EntitySetName         string
		PrimaryIDAttribute    string `json:"PrimaryIdAttribute"`
		PrimaryNameAttribute  string
		DisplayName           *label
		DisplayCollectionName *label
		OwnershipType         string
		ObjectTypeCode        int
		IsCustomEntity        bool
		IsActivity            bool
		IsIntersect           bool
	}
	sel := "LogicalName,SchemaName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,DisplayName,DisplayCollectionName," +
		"OwnershipType,ObjectTypeCode,IsCustomEntity,IsActivity,IsIntersect"
	if err := c.getJSON(ctx, path+"?$select="+sel, &e); err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("the org has no table %q (give its logical name): %w", name, err)
		}
		return nil, err
	}
	d := &TableDefinition{LogicalName: e.LogicalName, SchemaName: e.SchemaName, EntitySetName: e.EntitySetName,
		PrimaryIDAttribute: e.PrimaryIDAttribute, PrimaryNameAttribute: e.PrimaryNameAttribute, DisplayName: e.DisplayName.text(),
		DisplayCollectionName: e.DisplayCollectionName.text(), OwnershipType: e.OwnershipType, ObjectTypeCode: e.ObjectTypeCode,
		IsCustomEntity: e.IsCustomEntity, IsActivity: e.IsActivity, IsIntersect: e.IsIntersect}

	// Every column, then each derived type's properties through its cast,
	// merged into the column they describe.
	var all struct{ Value []json.RawMessage }
	if err := c.getJSON(ctx, path+"/Attributes", &all); err != nil {
		return nil, err
	}
	raws := make([]*rawAttribute, 0, len(all.Value))
	byName := map[string]*rawAttribute{}
	for _, v := range all.Value {
		a := &rawAttribute{}
		if err := json.Unmarshal(v, a); err != nil {
			return nil, fmt.Errorf("dataverse: columns of %s: %w", name, err)
		}
		raws = append(raws, a)
		byName[a.LogicalName] = a
	}
	for _, k := range attributeCasts {
		q := ""
		if k.options {
			q = "?" + url.Values{"$expand": {"OptionSet,GlobalOptionSet"}}.Encode()
		}
		var part struct{ Value []json.RawMessage }
		if err := c.getJSON(ctx, path+"/Attributes/Microsoft.Dynamics.CRM."+k.cast+q, &part); err != nil {
			return nil, err
		}
		for _, v := range part.Value {
			var id struct{ LogicalName string }
			if err := json.Unmarshal(v, &id); err != nil {
				return nil, fmt.Errorf("dataverse: %s columns of %s: %w", k.cast, name, err)
			}
			a := byName[id.LogicalName]
			if a == nil {
				continue
			}
			if err := json.Unmarshal(v, a); err != nil {
				return nil, fmt.Errorf("dataverse: column %s.%s: %w", name, id.LogicalName, err)
			}
		}
	}
	for _, a := range raws {
		d.Attributes = append(d.Attributes, a.definition())
	}

	var keys struct{ Value []KeyDefinition }
	if err := c.getJSON(ctx, path+"/Keys", &keys); err != nil {
		return nil, err
	}
	d.Keys = keys.Value
	var m2o struct{ Value []OneToManyDefinition }
	if err := c.getJSON(ctx, path+"/ManyToOneRelationships", &m2o); err != nil {
		return nil, err
	}
	d.ManyToOne = m2o.Value
	var m2m struct{ Value []ManyToManyDefinition }
	if err := c.getJSON(ctx, path+"/ManyToManyRelationships", &m2m); err != nil {
		return nil, err
	}
	d.ManyToMany = m2m.Value
	return d, nil
}

func (a *rawAttribute) definition() AttributeDefinition {
	d := AttributeDefinition{LogicalName: a.LogicalName, SchemaName: a.SchemaName, AttributeType: a.AttributeType, AttributeOf: a.AttributeOf,
		DisplayName: a.DisplayName.text(), IsCustomAttribute: a.IsCustomAttribute, IsPrimaryID: a.IsPrimaryID, IsPrimaryName: a.IsPrimaryName,
		MinValue: a.MinValue, MaxValue: a.MaxValue, Precision: a.Precision, Targets: a.Targets, AutoNumberFormat: a.AutoNumberFormat,
		IsBaseCurrency: a.IsBaseCurrency}
	if a.AttributeTypeName != nil {
		d.AttributeTypeName = a.AttributeTypeName.Value
	}
	if a.RequiredLevel != nil {
		d.RequiredLevel = a.RequiredLevel.Value
	}
	if a.SourceType != nil {
		d.SourceType = *a.SourceType
	}
	if a.MaxLength != nil {
		d.MaxLength = *a.MaxLength
	}
	if a.DateTimeBehavior != nil {
		d.DateTimeBehavior = a.DateTimeBehavior.Value
	}
	// Dataverse gives -1 when a choice has no default.
	if a.DefaultFormValue != nil && *a.DefaultFormValue >= 0 {
		d.DefaultFormValue = a.DefaultFormValue
	}
	set := a.OptionSet
	if a.GlobalOptionSet != nil {
		set = a.GlobalOptionSet
		d.GlobalOptionSet = set.Name
	}
	if set != nil {
		opts := set.Options
		if set.FalseOption != nil && set.TrueOption != nil {
			opts = []rawOption{*set.FalseOption, *set.TrueOption}
		}
		for _, o := range opts {
			d.Options = append(d.Options, OptionDefinition{Value: o.Value, Label: o.Label.text(), State: o.State})
		}
	}
	return d
}
