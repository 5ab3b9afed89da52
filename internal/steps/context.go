package steps

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/dataverse"
	"junction/internal/records"
)

const zeroID = "00000000-0000-0000-0000-000000000000"

// contextFor is the RemoteExecutionContext Dataverse posts for change c of
// table t to step st, as the "Use webhooks to create external handlers for
// server events" page and the RemoteExecutionContext reference describe it:
// the message's Target in InputParameters (an Entity of the columns the write
// set, or an EntityReference for Delete), Create's new id in
// OutputParameters, and the step's images.
func (s *Service) contextFor(t *records.Table, c changelog.Change, st step, operationID string) (dataverse.RemoteExecutionContext, error) {
	user := c.UserID
	if st.User != "" {
		user = st.User
	}
	correlation := c.CorrelationID
	if correlation == "" {
		correlation = records.NewID()
	}
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	request := records.NewID()
	owner := dataverse.EntityReference{ID: st.ID, KeyAttributes: []dataverse.KeyValue{}, LogicalName: "sdkmessageprocessingstep", Name: &st.Name}
	rc := dataverse.RemoteExecutionContext{
		BusinessUnitID: records.BusinessUnitID, CorrelationID: correlation, Depth: 1,
		InitiatingUserAzureActiveDirectoryObjectID: zeroID, InitiatingUserID: c.UserID,
		InputParameters: []dataverse.KeyValue{}, IsInTransaction: st.Mode == 0, IsolationMode: 1,
		MessageName: c.Message, Mode: int(st.Mode), OperationCreatedOn: dataverse.Date(at), OperationID: operationID,
		OrganizationID: records.OrganizationID, OrganizationName: s.orgName, OutputParameters: []dataverse.KeyValue{},
		OwningExtension: &owner, PostEntityImages: []dataverse.KeyValue{}, PreEntityImages: []dataverse.KeyValue{},
		PrimaryEntityID: c.RecordID, PrimaryEntityName: c.Table, RequestID: &request, SecondaryEntityName: "none",
		SharedVariables: []dataverse.KeyValue{}, Stage: int(st.Stage), UserAzureActiveDirectoryObjectID: zeroID, UserID: user,
	}
	var target any
	if c.Message == changelog.Delete {
		target = dataverse.NewReference(c.Table, c.RecordID)
	} else {
		e, err := entity(t, c.RecordID, c.After, c.Changed, true)
		if err != nil {
			return rc, err
		}
		target = e
	}
	kv, err := dataverse.Pair("Target", target)
	if err != nil {
		return rc, err
	}
	rc.InputParameters = append(rc.InputParameters, kv)
	if c.Message == changelog.Create && st.Stage >= 40 {
		kv, _ := dataverse.Pair("id", c.RecordID)
		rc.OutputParameters = append(rc.OutputParameters, kv)
	}
	for _, im := range st.Images {
		if c.Before != nil && (im.Type == imagePre || im.Type == imageBoth) {
			e, err := entity(t, c.RecordID, c.Before, im.Attributes, false)
			if err != nil {
				return rc, err
			}
			kv, err := dataverse.Pair(im.Alias, e)
			if err != nil {
				return rc, err
			}
			rc.PreEntityImages = append(rc.PreEntityImages, kv)
		}
		// Post images exist after the main operation only.
		if c.After != nil && st.Stage >= 40 && (im.Type == imagePost || im.Type == imageBoth) {
			e, err := entity(t, c.RecordID, c.After, im.Attributes, false)
			if err != nil {
				return rc, err
			}
			kv, err := dataverse.Pair(im.Alias, e)
			if err != nil {
				return rc, err
			}
			rc.PostEntityImages = append(rc.PostEntityImages, kv)
		}
	}
	return rc, nil
}

// entity is the SDK Entity of row (in change log form) with the columns
// cols (every non-null column when empty). A Target carries "__type"; an
// image, whose declared type is Entity, does not.
func entity(t *records.Table, id string, row map[string]any, cols []string, target bool) (dataverse.SDKEntity, error) {
	e := dataverse.NewEntity(t.Name, id)
	if !target {
		e.Type = ""
	}
	all := len(cols) == 0
	if all {
		for k, v := range row {
			if v != nil {
				cols = append(cols, k)
			}
		}
	}
	cols = slices.Clone(cols)
	sort.Strings(cols)
	for _, k := range cols {
		col, ok := t.Column(k)
		if !ok {
			continue
		}
		v, present := row[k]
		if !present {
			continue
		}
		kv, err := dataverse.Pair(k, contractValue(col, v))
		if err != nil {
			return e, err
		}
		e.Attributes = append(e.Attributes, kv)
	}
	return e, nil
}

// contractValue turns a change log value into its data contract form:
// lookups as EntityReference, choices as OptionSetValue, money as Money,
// dates as "/Date(ms)/".
func contractValue(c *records.Column, v any) any {
	if v == nil {
		return nil
	}
	switch {
	case c.Type.IsLookup():
		if m, ok := v.(map[string]any); ok {
			id, _ := m["id"].(string)
			table, _ := m["logicalName"].(string)
			return dataverse.NewReference(table, id)
		}
	case c.Type == records.Picklist || c.Type == records.State || c.Type == records.Status:
		switch n := v.(type) {
		case int64:
			return dataverse.OptionSetValue(n)
		case float64:
			return dataverse.OptionSetValue(int64(n))
		case json.Number:
			i, _ := n.Int64()
			return dataverse.OptionSetValue(i)
		}
	case c.Type == records.Money:
		return dataverse.MoneyValue(v)
	case c.Type == records.DateTime:
		if s, ok := v.(string); ok {
			if tm, err := records.ParseTime(s); err == nil {
				return dataverse.Date(tm)
			}
		}
	}
	return v
}

// fires reports whether an Update that set changed fires st: any change
// when st has no filtering attributes, else one of them.
func fires(st step, message string, changed []string) bool {
	if message != changelog.Update || len(st.Filtering) == 0 {
		return true
	}
	for _, c := range changed {
		if slices.Contains(st.Filtering, strings.ToLower(c)) {
			return true
		}
	}
	return false
}
