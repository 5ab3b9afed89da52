package dataverse

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Entity is what a client needs to know of a table to read and write it.
type Entity struct {
	LogicalName        string
	EntitySetName      string
	PrimaryIDAttribute string
	Attributes         []Attribute
	// Keys are the alternate keys, each a list of column names.
	Keys [][]string
}

// Attribute is one column: its logical name, its AttributeType (String,
// Integer, Lookup, ...) and, for lookups, the tables it may point to.
type Attribute struct {
	LogicalName string
	Type        string
	Targets     []string
}

// Attribute returns the column named name.
func (e *Entity) Attribute(name string) (Attribute, bool) {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.LogicalName, name) {
			return a, true
		}
	}
	return Attribute{}, false
}

// IsLookup says whether the attribute holds a reference to another row.
func (a Attribute) IsLookup() bool {
	switch strings.ToLower(a.Type) {
	case "lookup", "customer", "owner":
		return true
	}
	return false
}

// Entity reads a table's definition, named by its logical name (account) or
// its entity set name (accounts), with its columns and alternate keys.
func (c *Client) Entity(ctx context.Context, name string) (*Entity, error) {
	lit := "'" + strings.ReplaceAll(name, "'", "''") + "'"
	q := url.Values{
		"$select": {"LogicalName,EntitySetName,PrimaryIdAttribute"},
		"$filter": {"LogicalName eq " + lit + " or EntitySetName eq " + lit},
	}
	r, err := c.Do(ctx, "GET", "EntityDefinitions?"+q.Encode(), nil, nil)
	if err != nil {
		return nil, err
	}
	var defs struct {
		Value []struct {
			LogicalName        string
			EntitySetName      string
			PrimaryIDAttribute string `json:"PrimaryIdAttribute"`
		} `json:"value"`
	}
	if err := r.JSON(&defs); err != nil {
		return nil, fmt.Errorf("dataverse: table definitions: %w", err)
	}
	if len(defs.Value) == 0 {
		return nil, &Error{Status: 404, Code: "0x80060888", Message: fmt.Sprintf("the org has no table %q (give its logical name or entity set name)", name)}
	}
	d := defs.Value[0]
	e := &Entity{LogicalName: d.LogicalName, EntitySetName: d.EntitySetName, PrimaryIDAttribute: d.PrimaryIDAttribute}
	path := "EntityDefinitions(LogicalName='" + d.LogicalName + "')"
	r, err = c.Do(ctx, "GET", path+"/Attributes?$select=LogicalName,AttributeType,AttributeOf", nil, nil)
	if err != nil {
		return nil, err
	}
	var attrs struct {
		Value []struct {
			LogicalName   string
			AttributeType string
			AttributeOf   string
		} `json:"value"`
	}
	if err := r.JSON(&attrs); err != nil {
		return nil, fmt.Errorf("dataverse: columns of %s: %w", d.LogicalName, err)
	}
	for _, a := range attrs.Value {
		if a.AttributeOf != "" || a.AttributeType == "Virtual" || a.AttributeType == "EntityName" {
			continue // the name half of a lookup, images, file columns: not data of the row
		}
		e.Attributes = append(e.Attributes, Attribute{LogicalName: a.LogicalName, Type: a.AttributeType})
	}
	r, err = c.Do(ctx, "GET", path+"/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets", nil, nil)
	if err != nil {
		return nil, err
	}
	var lookups struct {
		Value []struct {
			LogicalName string
			Targets     []string
		} `json:"value"`
	}
	if err := r.JSON(&lookups); err != nil {
		return nil, fmt.Errorf("dataverse: lookups of %s: %w", d.LogicalName, err)
	}
	for _, l := range lookups.Value {
		for i := range e.Attributes {
			if e.Attributes[i].LogicalName == l.LogicalName {
				e.Attributes[i].Targets = l.Targets
			}
		}
	}
	r, err = c.Do(ctx, "GET", path+"/Keys?$select=KeyAttributes", nil, nil)
	if err != nil {
		return nil, err
	}
	var keys struct {
		Value []struct{ KeyAttributes []string } `json:"value"`
	}
	if err := r.JSON(&keys); err != nil {
		return nil, fmt.Errorf("dataverse: keys of %s: %w", d.LogicalName, err)
	}
	for _, k := range keys.Value {
		e.Keys = append(e.Keys, k.KeyAttributes)
	}
	return e, nil
}
