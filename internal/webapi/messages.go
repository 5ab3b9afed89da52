package webapi

import (
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// registerMessages adds the Dataverse messages integrations call, with the
// parameters and response shapes of Microsoft's Web API reference:
// RetrieveCurrentOrganization, FormatAddress, InitializeFrom (initialize.go),
// CalculateRollupField (rollup.go), RetrieveTotalRecordCount and BulkDelete
// (bulkdelete.go).
func (h *Handler) registerMessages() {
	str := func(n string) odata.Param { return odata.Param{Name: n, Type: "Edm.String"} }
	strs := func(n string) odata.Param { return odata.Param{Name: n, Type: "Collection(Edm.String)"} }
	orgDetail := odata.ComplexType{Name: "OrganizationDetail", Props: []odata.Param{{Name: "OrganizationId", Type: "Edm.Guid"}, str("FriendlyName"),
		str("OrganizationVersion"), str("EnvironmentId"), str("DatacenterId"), str("Geo"), str("TenantId"), str("UrlName"), str("UniqueName"), str("State"),
		{Name: "Endpoints", Type: "mscrm.EndpointCollection"}}}
	endpoints := odata.ComplexType{Name: "EndpointCollection", Props: []odata.Param{{Name: "Count", Type: "Edm.Int32"}, {Name: "IsReadOnly", Type: "Edm.Boolean"}, strs("Keys"), strs("Values")}}
	counts := odata.ComplexType{Name: "EntityRecordCountCollection", Props: []odata.Param{{Name: "Count", Type: "Edm.Int32"}, {Name: "IsReadOnly", Type: "Edm.Boolean"},
		strs("Keys"), {Name: "Values", Type: "Collection(Edm.Int64)"}}}
	// Enum parameters are declared as strings: Junction takes the enum
	// literal (Microsoft.Dynamics.CRM.EndpointAccessType'Default') or the name.
	h.Register(&Action{Name: "RetrieveCurrentOrganization", Function: true, Response: "RetrieveCurrentOrganizationResponse",
		Params: []odata.Param{str("AccessType")}, Returns: []odata.Param{{Name: "Detail", Type: "mscrm.OrganizationDetail"}},
		Types: []odata.ComplexType{endpoints, orgDetail}, Run: retrieveCurrentOrganization})
	h.Register(&Action{Name: "FormatAddress", Function: true, Response: "FormatAddressResponse",
		Params:  []odata.Param{str("Line1"), str("City"), str("StateOrProvince"), str("PostalCode"), str("Country")},
		Returns: []odata.Param{str("Address")}, Run: formatAddress})
	h.Register(&Action{Name: "InitializeFrom", Function: true, Response: "crmbaseentity", Entity: true,
		Params: []odata.Param{{Name: "EntityMoniker", Type: "mscrm.crmbaseentity"}, str("TargetEntityName"), str("TargetFieldType"),
			{Name: "SkipParentalRelationshipMapping", Type: "Edm.Boolean"}},
		Run: initializeFrom})
	h.Register(&Action{Name: "CalculateRollupField", Function: true, Response: "crmbaseentity", Entity: true,
		Params: []odata.Param{{Name: "Target", Type: "mscrm.crmbaseentity"}, str("FieldName")}, NoTx: true, Run: h.calculateRollupField})
	h.Register(&Action{Name: "RetrieveTotalRecordCount", Function: true, Response: "RetrieveTotalRecordCountResponse",
		Params: []odata.Param{strs("EntityNames")}, Returns: []odata.Param{{Name: "EntityRecordCountCollection", Type: "mscrm.EntityRecordCountCollection"}},
		Types: []odata.ComplexType{counts}, Run: retrieveTotalRecordCount})
	h.registerBulkDelete()
	h.registerMetadataChanges()
	h.registerRecordMessages()
	h.registerSalesMessages()
	h.registerShareMessages()
	h.registerImportSolution()
}

// retrieveCurrentOrganization answers RetrieveCurrentOrganization(AccessType=@p1)
// ?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'.
func retrieveCurrentOrganization(c *Call) (map[string]any, error) {
	switch at := stringParam(c.Params, "AccessType"); at {
	case "Default", "Internet", "Intranet", "0", "1", "2":
	case "":
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The AccessType parameter is required.")
	default:
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%q is not an EndpointAccessType (Default, Internet, Intranet).", at)
	}
	org, _ := c.Rec.Table("organization")
	row, err := c.Rec.Get(c.Ctx, c.Q, org, records.OrganizationID)
	if err != nil {
		return nil, err
	}
	name, _ := row["name"].(string)
	root := strings.TrimSuffix(c.Base, "/")
	if i := strings.Index(root, Prefix); i >= 0 {
		root = root[:i]
	}
	return map[string]any{"Detail": map[string]any{
		"OrganizationId":      records.OrganizationID,
		"FriendlyName":        name,
		"OrganizationVersion": "9.2.0.0",
		"EnvironmentId":       records.OrganizationID,
		"DatacenterId":        "",
		"Geo":                 "",
		"TenantId":            "",
		"UrlName":             strings.ToLower(name),
		"UniqueName":          strings.ToLower(name),
		"State":               "Enabled",
		"Endpoints": map[string]any{
			"Count": 3, "IsReadOnly": false,
			"Keys":   []string{"WebApplication", "OrganizationService", "OrganizationDataService"},
			"Values": []string{root + "/", root + "/XRMServices/2011/Organization.svc", root + "/XRMServices/2011/OrganizationData.svc"},
		},
	}}, nil
}

// formatAddress answers FormatAddress(Line1,City,StateOrProvince,PostalCode,
// Country) with the lines joined by CRLF in the country's order: Japan
// writes the postal code first and the street last, the rest of the world
// the street first and "City, State PostalCode" on one line.
func formatAddress(c *Call) (map[string]any, error) {
	p := func(n string) string { return strings.TrimSpace(stringParam(c.Params, n)) }
	line1, city, state, zip, country := p("Line1"), p("City"), p("StateOrProvince"), p("PostalCode"), p("Country")
	var lines []string
	add := func(s string) {
		if s != "" {
			lines = append(lines, s)
		}
	}
	switch strings.ToUpper(country) {
	case "JAPAN", "JP", "JPN", "日本":
		add(zip)
		add(state)
		add(city)
		add(line1)
	default:
		add(line1)
		cityLine := city
		if state != "" {
			if cityLine != "" {
				cityLine += ", "
			}
			cityLine += state
		}
		if zip != "" {
			if cityLine != "" {
				cityLine += " "
			}
			cityLine += zip
		}
		add(cityLine)
	}
	add(country)
	return map[string]any{"Address": strings.Join(lines, "\r\n")}, nil
}

// retrieveTotalRecordCount answers RetrieveTotalRecordCount(EntityNames=@p1)
// ?@p1=["account","contact"]. Dataverse answers from a snapshot of the last
// 24 hours; Junction counts now.
func retrieveTotalRecordCount(c *Call) (map[string]any, error) {
	names, ok := c.Params["EntityNames"].([]any)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, `EntityNames must be a list of table names such as ["account","contact"].`)
	}
	keys := make([]string, 0, len(names))
	values := make([]int64, 0, len(names))
	for _, n := range names {
		s, _ := n.(string)
		t, ok := c.Rec.Table(s)
		if !ok {
			return nil, records.Errorf(http.StatusNotFound, records.CodeNotFound, "The entity with a name = '%s' with namemapping = 'Logical' was not found in the MetadataCache.", s)
		}
		if g := c.rq.grants; g != nil {
			if _, err := g.Need(records.RightRead, t); err != nil {
				return nil, err
			}
		}
		var count int64
		if err := c.Q.QueryRow(c.Ctx, "SELECT COUNT(*) FROM "+records.Quote(t.SQLName())).Scan(&count); err != nil {
			return nil, err
		}
		keys, values = append(keys, s), append(values, count)
	}
	return map[string]any{"EntityRecordCountCollection": map[string]any{"Count": len(keys), "IsReadOnly": false, "Keys": keys, "Values": values}}, nil
}
