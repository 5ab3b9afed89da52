package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Enum is an enum-typed function parameter, written as
// Microsoft.Dynamics.CRM.EndpointAccessType'Default'.
type Enum struct {
	Type   string // without the namespace: EndpointAccessType
	Member string
}

// functionValue writes a function parameter value in the query string.
func functionValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case Enum:
		return "Microsoft.Dynamics.CRM." + x.Type + "'" + x.Member + "'", nil
	case nil:
		return "null", nil
	case bool, int, int64, float64, json.Number:
		return fmt.Sprint(x), nil
	}
	data, err := json.Marshal(v) // lists and objects ({"@odata.id": ...})
	return string(data), err
}

// Aggregate runs $apply over path (an entity set, or a related collection
// such as "accounts(<id>)/contact_customer_accounts") and returns the groups.
func (c *Client) Aggregate(ctx context.Context, path, apply string) ([]Record, error) {
	r, err := c.Do(ctx, http.MethodGet, path+"?"+url.Values{"$apply": {apply}}.Encode(), nil, nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value []Record `json:"value"`
	}
	if err := r.JSON(&body); err != nil {
		return nil, fmt.Errorf("dataverse: $apply on %s: %w", path, err)
	}
	return body.Value, nil
}

// Count answers GET path/$count (an entity set or a related collection),
// optionally filtered; Dataverse stops counting at 5000.
func (c *Client) Count(ctx context.Context, path, filter string) (int, error) {
	p := path + "/$count"
	if filter != "" {
		p += "?" + url.Values{"$filter": {filter}}.Encode()
	}
	r, err := c.Do(ctx, http.MethodGet, p, nil, nil)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(r.Body), "\ufeff")))
	if err != nil {
		return 0, fmt.Errorf("dataverse: %s/$count answered %q", path, r.Body)
	}
	return n, nil
}

// Address is the input of FormatAddress.
type Address struct {
	Line1, City, StateOrProvince, PostalCode, Country string
}

// FormatAddress formats an address the way the organization writes
// addresses of its country.
func (c *Client) FormatAddress(ctx context.Context, a Address) (string, error) {
	var out struct{ Address string }
	err := c.Function(ctx, "FormatAddress", map[string]any{"Line1": a.Line1, "City": a.City, "StateOrProvince": a.StateOrProvince, "PostalCode": a.PostalCode, "Country": a.Country}, &out)
	return out.Address, err
}

// RetrieveTotalRecordCount returns the number of rows of each table.
func (c *Client) RetrieveTotalRecordCount(ctx context.Context, tables ...string) (map[string]int64, error) {
	var out struct {
		EntityRecordCountCollection struct {
			Keys   []string
			Values []int64
		}
	}
	if err := c.Function(ctx, "RetrieveTotalRecordCount", map[string]any{"EntityNames": tables}, &out); err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for i, k := range out.EntityRecordCountCollection.Keys {
		if i < len(out.EntityRecordCountCollection.Values) {
			m[k] = out.EntityRecordCountCollection.Values[i]
		}
	}
	return m, nil
}

// InitializeFrom returns the data for a new row of table target created in
// the context of the row key of set (the lookup relating them, and the
// columns the relationship maps); create it with Create after changing it.
func (c *Client) InitializeFrom(ctx context.Context, set, key, target string) (Record, error) {
	var out Record
	err := c.Function(ctx, "InitializeFrom", map[string]any{
		"EntityMoniker":    map[string]any{"@odata.id": keyPath(set, key)},
		"TargetEntityName": target,
		"TargetFieldType":  Enum{Type: "TargetFieldType", Member: "ValidForCreate"},
	}, &out)
	for k := range out {
		if strings.HasPrefix(k, "@odata.context") || k == "@odata.type" {
			delete(out, k)
		}
	}
	return out, err
}

// CalculateRollupField calculates the rollup column field of the row key of
// set now and answers the row with the column, <field>_date and
// <field>_state (Record keys as the Web API names them).
func (c *Client) CalculateRollupField(ctx context.Context, set, key, field string) (Record, error) {
	var out Record
	err := c.Function(ctx, "CalculateRollupField", map[string]any{
		"Target":    map[string]any{"@odata.id": keyPath(set, key)},
		"FieldName": field,
	}, &out)
	delete(out, "@odata.context")
	return out, err
}

// OrganizationDetail is what RetrieveCurrentOrganization answers.
type OrganizationDetail struct {
	OrganizationId, FriendlyName, OrganizationVersion, EnvironmentId, UrlName, UniqueName, State string
	Endpoints                                                                                    struct {
		Keys, Values []string
	}
}

// CurrentOrganization calls RetrieveCurrentOrganization.
func (c *Client) CurrentOrganization(ctx context.Context) (OrganizationDetail, error) {
	var out struct{ Detail OrganizationDetail }
	err := c.Function(ctx, "RetrieveCurrentOrganization", map[string]any{"AccessType": Enum{Type: "EndpointAccessType", Member: "Default"}}, &out)
	return out.Detail, err
}

// QueryExpression selects the rows of one table for BulkDelete.
type QueryExpression struct {
	EntityName string
	Criteria   FilterExpression
}

// FilterExpression joins conditions and nested filters with And or Or.
type FilterExpression struct {
	FilterOperator string             `json:",omitempty"` // And (default) or Or
	Conditions     []Condition        `json:",omitempty"`
	Filters        []FilterExpression `json:",omitempty"`
}

// Condition compares a column: Operator is a ConditionOperator name
// (Equal, NotEqual, GreaterThan, Like, In, Null, ...).
type Condition struct {
	AttributeName string
	Operator      string
	Values        []any
}

// MarshalJSON writes the values typed, as Dataverse reads them.
func (c Condition) MarshalJSON() ([]byte, error) {
	type typed struct {
		Value any
		Type  string
	}
	vals := make([]typed, 0, len(c.Values))
	for _, v := range c.Values {
		t := "System.String"
		switch v.(type) {
		case int, int32:
			t = "System.Int32"
		case int64:
			t = "System.Int64"
		case float32, float64:
			t = "System.Double"
		case bool:
			t = "System.Boolean"
		}
		vals = append(vals, typed{Value: v, Type: t})
	}
	return json.Marshal(struct {
		AttributeName, Operator string
		Values                  []typed
	}{c.AttributeName, c.Operator, vals})
}

// BulkDelete starts a bulk delete job and returns its id; poll it with Job.
func (c *Client) BulkDelete(ctx context.Context, jobName string, queries ...QueryExpression) (string, error) {
	qs := make([]map[string]any, 0, len(queries))
	for _, q := range queries {
		qs = append(qs, map[string]any{"EntityName": q.EntityName, "ColumnSet": map[string]any{"AllColumns": false, "Columns": []string{}}, "Criteria": q.Criteria})
	}
	var out struct{ JobId string }
	err := c.Action(ctx, "", "", "BulkDelete", map[string]any{"QuerySet": qs, "JobName": jobName, "SendEmailNotification": false,
		"ToRecipients": []string{}, "CCRecipients": []string{}, "RecurrencePattern": "", "StartDateTime": "2000-01-01T00:00:00Z"}, &out)
	return out.JobId, err
}

// Job is the state of a System Job (asyncoperation).
type Job struct {
	StateCode  int    `json:"statecode"`  // 3 when completed
	StatusCode int    `json:"statuscode"` // 30 succeeded, 31 failed
	Message    string `json:"message"`
}

// Done reports whether the job has completed, successfully or not.
func (j Job) Done() bool { return j.StateCode == 3 }

// Job reads the state of the System Job id.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	var j Job
	r, err := c.Do(ctx, http.MethodGet, "asyncoperations("+id+")?$select=statecode,statuscode,message", nil, nil)
	if err == nil {
		err = r.JSON(&j)
	}
	return j, err
}

// MetadataChanges calls RetrieveMetadataChanges with query (an
// EntityQueryExpression as JSON-encodable data) and the ServerVersionStamp of
// an earlier call ("" the first time): it returns the table definitions
// changed since, and the stamp to give next time.
func (c *Client) MetadataChanges(ctx context.Context, query any, stamp string) ([]Record, string, error) {
	params := map[string]any{"Query": query}
	if stamp != "" {
		params["ClientVersionStamp"] = stamp
	}
	var out struct {
		EntityMetadata     []Record
		ServerVersionStamp string
	}
	err := c.Function(ctx, "RetrieveMetadataChanges", params, &out)
	return out.EntityMetadata, out.ServerVersionStamp, err
}
