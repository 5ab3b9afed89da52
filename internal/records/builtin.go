package records

// Builtin returns the out-of-the-box tables: account, contact, incident (Case,
// with an auto-numbered ticketnumber) and the rows WhoAmI needs.
func Builtin() []Table {
	f := func(v float64) *float64 { return &v }
	return []Table{
		{Name: "organization", DisplayName: "Organization", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 160, Required: RequiredSystem},
		}},
		{Name: "businessunit", DisplayName: "Business Unit", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 160, Required: RequiredSystem},
			{Name: "organizationid", Type: Lookup, Targets: []string{"organization"}, Relationship: "organization_business_units"},
		}},
		{Name: "systemuser", DisplayName: "User", PrimaryName: "fullname", Columns: []Column{
			{Name: "fullname", Type: String, MaxLength: 200},
			{Name: "domainname", Type: String, MaxLength: 1024},
			{Name: "internalemailaddress", Type: String, MaxLength: 100},
			{Name: "businessunitid", Type: Lookup, Targets: []string{"businessunit"}, Relationship: "business_unit_system_users"},
			{Name: "isdisabled", Type: Boolean, DisplayName: "User Status"},
		}, Keys: []Key{{Name: "systemuser_domainname", Columns: []string{"domainname"}}}},
		// Security roles as Dataverse has them: roles, the privileges they
		// carry at a depth (roleprivileges) and the roles of each user
		// (systemuserroles, the intersect of systemuserroles_association).
		{Name: "role", DisplayName: "Security Role", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 100, Required: RequiredSystem},
			{Name: "businessunitid", Type: Lookup, Targets: []string{"businessunit"}, Relationship: "business_unit_roles"},
			{Name: "description", Type: Memo},
		}},
		{Name: "privilege", DisplayName: "Privilege", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 100, Required: RequiredSystem},
			{Name: "accessright", Type: Integer, DisplayName: "Access Rights"},
			{Name: "canbebasic", Type: Boolean}, {Name: "canbelocal", Type: Boolean},
			{Name: "canbedeep", Type: Boolean}, {Name: "canbeglobal", Type: Boolean},
		}, Keys: []Key{{Name: "privilege_name", Columns: []string{"name"}}}},
		{Name: "roleprivileges", SetName: "roleprivilegescollection", DisplayName: "Role Privilege", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 200},
			{Name: "roleid", Type: Lookup, Targets: []string{"role"}, Relationship: "role_roleprivileges", Required: RequiredSystem},
			{Name: "privilegeid", Type: Lookup, Targets: []string{"privilege"}, Relationship: "privilege_roleprivileges", Required: RequiredSystem},
			{Name: "privilegedepthmask", Type: Integer, DisplayName: "Privilege Depth", Min: f(1), Max: f(8), Required: RequiredSystem},
		}, Keys: []Key{{Name: "roleprivileges_role_privilege", Columns: []string{"roleid", "privilegeid"}}}},
		{Name: "systemuserroles", SetName: "systemuserrolescollection", DisplayName: "User Role", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 200},
			{Name: "systemuserid", Type: Lookup, Targets: []string{"systemuser"}, Relationship: "systemuser_systemuserroles", Required: RequiredSystem},
			{Name: "roleid", Type: Lookup, Targets: []string{"role"}, Relationship: "role_systemuserroles", Required: RequiredSystem},
		}, Keys: []Key{{Name: "systemuserroles_user_role", Columns: []string{"systemuserid", "roleid"}}}},
		// Sharing (GrantAccess, ModifyAccess, RevokeAccess): one row per row
		// shared and user it is shared with, written only by those messages.
		{Name: SharingTable, SetName: "principalobjectaccessset", DisplayName: "Principal Object Access", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 200},
			{Name: "principalid", Type: Lookup, Targets: []string{"systemuser"}, Relationship: "systemuser_principalobjectaccess", Required: RequiredSystem},
			{Name: "objectid", Type: UniqueIdentifier, Required: RequiredSystem},
			{Name: "objecttypecode", Type: String, MaxLength: 128, Required: RequiredSystem},
			{Name: "accessrightsmask", Type: Integer, DisplayName: "Access Rights", Required: RequiredSystem},
		}, Keys: []Key{{Name: "principalobjectaccess_object_principal", Columns: []string{"objectid", "principalid"}}}},
		{Name: "contact", DisplayName: "Contact", PrimaryName: "fullname", Columns: []Column{
			{Name: "fullname", Type: String, MaxLength: 160},
			{Name: "firstname", Type: String, MaxLength: 50},
			{Name: "lastname", Type: String, MaxLength: 50, Required: RequiredApp},
			{Name: "emailaddress1", Type: String, MaxLength: 100},
			{Name: "telephone1", Type: String, MaxLength: 50},
			{Name: "jobtitle", Type: String, MaxLength: 100},
			{Name: "birthdate", Type: DateTime},
			{Name: "numberofchildren", Type: Integer, Min: f(0), Max: f(1000000000)},
			{Name: "creditlimit", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "donotemail", Type: Boolean},
			{Name: "gendercode", Type: Picklist, Options: []Option{{Value: 1, Label: "Male"}, {Value: 2, Label: "Female"}}},
			{Name: "description", Type: Memo},
			{Name: "parentcustomerid", Type: Customer, Targets: []string{"account", "contact"}, Relationship: "contact_customer"},
		}},
		{Name: "account", DisplayName: "Account", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 160, Required: RequiredApp},
			{Name: "accountnumber", Type: String, MaxLength: 20},
			{Name: "telephone1", Type: String, MaxLength: 50},
			{Name: "emailaddress1", Type: String, MaxLength: 100},
			{Name: "address1_city", Type: String, MaxLength: 80},
			{Name: "address1_country", Type: String, MaxLength: 80},
			{Name: "websiteurl", Type: String, MaxLength: 200},
			{Name: "description", Type: Memo},
			{Name: "revenue", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "numberofemployees", Type: Integer, Min: f(0), Max: f(1000000000)},
			{Name: "marketcap", Type: Money},
			{Name: "exchangerate", Type: Decimal, Precision: 10},
			{Name: "creditonhold", Type: Boolean},
			{Name: "lastonholdtime", Type: DateTime},
			{Name: "industrycode", Type: Picklist, Options: []Option{{Value: 1, Label: "Accounting"}, {Value: 2, Label: "Agriculture and Non-petrol Natural Resource Extraction"},
				{Value: 3, Label: "Broadcasting Printing and Publishing"}, {Value: 4, Label: "Brokers"}, {Value: 5, Label: "Building Supply Retail"},
				{Value: 6, Label: "Business Services"}, {Value: 7, Label: "Consulting"}, {Value: 8, Label: "Consumer Services"}}},
			{Name: "accountcategorycode", Type: Picklist, Options: []Option{{Value: 1, Label: "Preferred Customer"}, {Value: 2, Label: "Standard"}}},
			{Name: "primarycontactid", Type: Lookup, Targets: []string{"contact"}, Relationship: "account_primary_contact"},
			{Name: "parentaccountid", Type: Lookup, Targets: []string{"account"}, Relationship: "account_parent_account"},
		}, Keys: []Key{{Name: "account_accountnumber", Columns: []string{"accountnumber"}}}},
		{Name: "incident", DisplayName: "Case", PrimaryName: "title", Columns: []Column{
			{Name: "title", Type: String, MaxLength: 200, Required: RequiredApp},
			{Name: "ticketnumber", Type: AutoNumber, MaxLength: 100, Format: "CAS-{SEQNUM:5}-{RANDSTRING:6}", Seed: 1001},
			{Name: "description", Type: Memo},
			{Name: "prioritycode", Type: Picklist, Options: []Option{{Value: 1, Label: "High"}, {Value: 2, Label: "Normal"}, {Value: 3, Label: "Low"}}},
			{Name: "caseorigincode", Type: Picklist, Options: []Option{{Value: 1, Label: "Phone"}, {Value: 2, Label: "Email"}, {Value: 3, Label: "Web"}}},
			{Name: "customerid", Type: Customer, Targets: []string{"account", "contact"}, Relationship: "incident_customer", Required: RequiredApp},
			{Name: "primarycontactid", Type: Lookup, Targets: []string{"contact"}, Relationship: "contact_as_primary_contact"},
		}, Keys: []Key{{Name: "incident_ticketnumber", Columns: []string{"ticketnumber"}}}},
		// lead, opportunity and opportunityclose carry the sales messages
		// (QualifyLead, WinOpportunity, LoseOpportunity).
		{Name: "lead", DisplayName: "Lead", PrimaryName: "fullname", Columns: []Column{
			{Name: "subject", Type: String, MaxLength: 300},
			{Name: "fullname", Type: String, MaxLength: 160},
			{Name: "firstname", Type: String, MaxLength: 50},
			{Name: "lastname", Type: String, MaxLength: 50},
			{Name: "companyname", Type: String, MaxLength: 100},
			{Name: "emailaddress1", Type: String, MaxLength: 100},
			{Name: "telephone1", Type: String, MaxLength: 50},
			{Name: "estimatedvalue", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "description", Type: Memo},
			{Name: "parentaccountid", Type: Lookup, Targets: []string{"account"}, Relationship: "account_originating_lead"},
			{Name: "parentcontactid", Type: Lookup, Targets: []string{"contact"}, Relationship: "contact_originating_lead"},
		}},
		{Name: "opportunity", DisplayName: "Opportunity", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 300, Required: RequiredApp},
			{Name: "estimatedvalue", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "actualvalue", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "actualclosedate", Type: DateTime},
			{Name: "description", Type: Memo},
			{Name: "customerid", Type: Customer, Targets: []string{"account", "contact"}, Relationship: "opportunity_customer"},
			{Name: "parentaccountid", Type: Lookup, Targets: []string{"account"}, Relationship: "opportunity_parent_account"},
			{Name: "parentcontactid", Type: Lookup, Targets: []string{"contact"}, Relationship: "opportunity_parent_contact"},
			{Name: "originatingleadid", Type: Lookup, Targets: []string{"lead"}, Relationship: "lead_qualifying_opportunity"},
		}},
		{Name: "opportunityclose", DisplayName: "Opportunity Close", PrimaryName: "subject", Columns: []Column{
			{Name: "subject", Type: String, MaxLength: 200},
			{Name: "description", Type: Memo},
			{Name: "actualrevenue", Type: Money, Min: f(0), Max: f(1e12)},
			{Name: "actualend", Type: DateTime},
			{Name: "opportunityid", Type: Lookup, Targets: []string{"opportunity"}, Relationship: "Opportunity_OpportunityClose"},
		}},
		// incidentresolution is the Case Resolution CloseIncident records.
		{Name: "incidentresolution", DisplayName: "Case Resolution", PrimaryName: "subject", Columns: []Column{
			{Name: "subject", Type: String, MaxLength: 200},
			{Name: "description", Type: Memo},
			{Name: "timespent", Type: Integer, Min: f(0), Max: f(1000000000)},
			{Name: "incidentid", Type: Lookup, Targets: []string{"incident"}, Relationship: "Incident_IncidentResolutions"},
		}},
		// customapi, customapirequestparameter and customapiresponseproperty
		// define Custom APIs: messages callable through the Web API whose
		// implementation (a Junction extension column) is a function.
		{Name: "customapi", DisplayName: "Custom API", PrimaryName: "name", Columns: []Column{
			{Name: "uniquename", Type: String, MaxLength: 128, Required: RequiredSystem},
			{Name: "name", Type: String, MaxLength: 100},
			{Name: "displayname", Type: String, MaxLength: 100},
			{Name: "description", Type: Memo},
			{Name: "bindingtype", Type: Picklist, Options: []Option{{Value: 0, Label: "Global"}, {Value: 1, Label: "Entity"}, {Value: 2, Label: "Entity Collection"}}},
			{Name: "boundentitylogicalname", Type: String, MaxLength: 100},
			{Name: "isfunction", Type: Boolean},
			{Name: "implementation", Type: String, MaxLength: 200},
		}, Keys: []Key{{Name: "customapi_uniquename", Columns: []string{"uniquename"}}}},
		{Name: "customapirequestparameter", DisplayName: "Custom API Request Parameter", PrimaryName: "name", Columns: []Column{
			{Name: "uniquename", Type: String, MaxLength: 128, Required: RequiredSystem},
			{Name: "name", Type: String, MaxLength: 100},
			{Name: "displayname", Type: String, MaxLength: 100},
			{Name: "type", Type: Picklist, Options: customAPITypes},
			{Name: "isoptional", Type: Boolean},
			{Name: "customapiid", Type: Lookup, Targets: []string{"customapi"}, Relationship: "CustomAPIRequestParameters"},
		}},
		{Name: "customapiresponseproperty", DisplayName: "Custom API Response Property", PrimaryName: "name", Columns: []Column{
			{Name: "uniquename", Type: String, MaxLength: 128, Required: RequiredSystem},
			{Name: "name", Type: String, MaxLength: 100},
			{Name: "displayname", Type: String, MaxLength: 100},
			{Name: "type", Type: Picklist, Options: customAPITypes},
			{Name: "customapiid", Type: Lookup, Targets: []string{"customapi"}, Relationship: "CustomAPIResponseProperties"},
		}},
		// asyncoperation is the System Job a background operation (BulkDelete)
		// is tracked by: clients poll its statecode and statuscode.
		{Name: "asyncoperation", DisplayName: "System Job", PrimaryName: "name", Columns: []Column{
			{Name: "name", Type: String, MaxLength: 500},
			{Name: "operationtype", Type: Picklist, Options: []Option{{Value: 13, Label: "Bulk Delete"}}},
			{Name: "data", Type: Memo},
			{Name: "message", Type: Memo},
			{Name: "friendlymessage", Type: Memo},
			{Name: "postponeuntil", Type: DateTime},
			{Name: "startedon", Type: DateTime},
			{Name: "completedon", Type: DateTime},
		}},
	}
}

// customAPITypes are the types of Custom API parameters and response
// properties.
var customAPITypes = []Option{{Value: 0, Label: "Boolean"}, {Value: 1, Label: "DateTime"}, {Value: 2, Label: "Decimal"}, {Value: 3, Label: "Entity"},
	{Value: 4, Label: "EntityCollection"}, {Value: 5, Label: "EntityReference"}, {Value: 6, Label: "Float"}, {Value: 7, Label: "Integer"},
	{Value: 8, Label: "Money"}, {Value: 9, Label: "Picklist"}, {Value: 10, Label: "String"}, {Value: 11, Label: "StringArray"}, {Value: 12, Label: "Guid"}}

// Fixed ids of the rows WhoAmI answers with.
const (
	OrganizationID = "6d1a2b3c-0000-4000-8000-000000000001"
	BusinessUnitID = "6d1a2b3c-0000-4000-8000-000000000002"
	SystemUserID   = "6d1a2b3c-0000-4000-8000-000000000003"
)
