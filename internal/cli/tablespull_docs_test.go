package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/project"
	"junction/internal/records"
)

// The org below answers as Dataverse does in Microsoft's documentation:
//   - "Query table definitions using the Web API"
//     (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api):
//     EntityDefinitions(LogicalName='x')?$select=..., labels as
//     {LocalizedLabels, UserLocalizedLabel}, and the derived types'
//     properties only through a cast of Attributes, such as
//     Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet,GlobalOptionSet;
//   - "Retrieve table definitions by name or MetadataId"
//     (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/retrieve-metadata-name-metadataid):
//     a local choice has GlobalOptionSet null, a global one OptionSet null;
//   - "Create and update column definitions using the Web API"
//     (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-column-definitions-using-web-api):
//     the sample_BankAccount columns (string, money, DateOnly date, boolean,
//     customer lookup, decimal, integer, memo, choice, multi-select choice,
//     big integer);
//   - "Create and update table relationships using the Web API"
//     (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-relationships-using-web-api):
//     ManyToOneRelationships with CascadeConfiguration and
//     ManyToManyRelationships with IntersectEntityName.
//
// The un-cast Attributes listing carries only AttributeMetadata's own
// properties, so that the client must use the casts to learn lengths,
// ranges, choices and targets.

func docLabel(s string) map[string]any {
	l := map[string]any{"Label": s, "LanguageCode": 1033, "IsManaged": false, "MetadataId": "00000000-0000-0000-0000-000000000001", "HasChanged": nil}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func docOptions(opts ...any) []any {
	var out []any
	for i := 0; i < len(opts); i += 2 {
		out = append(out, map[string]any{"Value": opts[i], "Label": docLabel(opts[i+1].(string)), "Description": docLabel(""), "Color": nil, "IsManaged": false})
	}
	return out
}

// docAttr is one attribute: its cast, the AttributeMetadata properties, the
// derived type's properties and its expandable option sets.
type docAttr struct {
	cast             string
	base, derived    map[string]any
	optionSet, globe map[string]any
}

func attrOf(cast, name, typ, typeName string, custom bool, derived map[string]any) docAttr {
	return docAttr{cast: cast, derived: derived, base: map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM." + cast, "LogicalName": name, "SchemaName": name, "AttributeType": typ,
		"AttributeTypeName": map[string]any{"Value": typeName}, "DisplayName": docLabel(strings.TrimPrefix(name, "sample_")), "IsCustomAttribute": custom,
		"RequiredLevel": map[string]any{"Value": "None", "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
		"AttributeOf":   nil, "IsPrimaryId": false, "IsPrimaryName": false, "SourceType": 0, "MetadataId": "00000000-0000-0000-0000-0000000000aa"}}
}

type docTable struct {
	entity     map[string]any
	attrs      []docAttr
	keys, m2o  []any
	m2m        []any
	requested  map[string]bool
	unexpected []string
}

func bankAccount() *docTable {
	cascade := func(del string) map[string]any {
		return map[string]any{"Assign": "NoCascade", "Delete": del, "Merge": "NoCascade", "Reparent": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade",
			"Archive": "NoCascade", "RollupView": "NoCascade"}
	}
	t := &docTable{entity: map[string]any{"LogicalName": "sample_bankaccount", "SchemaName": "sample_BankAccount", "EntitySetName": "sample_bankaccounts",
		"PrimaryIdAttribute": "sample_bankaccountid", "PrimaryNameAttribute": "sample_name", "DisplayName": docLabel("Bank Account"),
		"DisplayCollectionName": docLabel("Bank Accounts"), "OwnershipType": "UserOwned", "ObjectTypeCode": 10234, "IsCustomEntity": true,
		"IsActivity": false, "IsIntersect": false, "MetadataId": "b2c5e3a7-0000-0000-0000-000000000001"}}
	name := attrOf("StringAttributeMetadata", "sample_name", "String", "StringType", true, map[string]any{"MaxLength": 100, "FormatName": map[string]any{"Value": "Text"}, "AutoNumberFormat": nil})
	name.base["IsPrimaryName"] = true
	name.base["RequiredLevel"] = map[string]any{"Value": "ApplicationRequired"}
	id := attrOf("UniqueIdentifierAttributeMetadata", "sample_bankaccountid", "Uniqueidentifier", "UniqueidentifierType", false, nil)
	id.base["IsPrimaryId"] = true
	ownerName := attrOf("StringAttributeMetadata", "owneridname", "String", "StringType", false, map[string]any{"MaxLength": 100})
	ownerName.base["AttributeOf"] = "ownerid"
	ownerType := attrOf("EntityNameAttributeMetadata", "owneridtype", "EntityName", "EntityNameType", false, nil)
	ownerType.base["AttributeOf"] = "ownerid"
	customerName := attrOf("StringAttributeMetadata", "sample_customeridname", "String", "StringType", true, map[string]any{"MaxLength": 160})
	customerName.base["AttributeOf"] = "sample_customerid"
	colors := attrOf("PicklistAttributeMetadata", "sample_colors", "Picklist", "PicklistType", true, map[string]any{"DefaultFormValue": -1})
	colors.optionSet = map[string]any{"Name": "sample_bankaccount_sample_colors", "IsGlobal": false, "OptionSetType": "Picklist", "Options": docOptions(727000000, "Red", 727000001, "Green", 727000002, "Blue")}
	category := attrOf("PicklistAttributeMetadata", "sample_category", "Picklist", "PicklistType", true, map[string]any{"DefaultFormValue": 727000001})
	category.globe = map[string]any{"Name": "sample_accountcategory", "IsGlobal": true, "OptionSetType": "Picklist", "Options": docOptions(727000000, "Preferred", 727000001, "Standard")}
	flag := attrOf("BooleanAttributeMetadata", "sample_boolean", "Boolean", "BooleanType", true, map[string]any{"DefaultValue": false})
	flag.optionSet = map[string]any{"Name": "sample_bankaccount_sample_boolean", "OptionSetType": "Boolean",
		"TrueOption": map[string]any{"Value": 1, "Label": docLabel("True")}, "FalseOption": map[string]any{"Value": 0, "Label": docLabel("False")}}
	state := attrOf("StateAttributeMetadata", "statecode", "State", "StateType", false, nil)
	state.optionSet = map[string]any{"Name": "sample_bankaccount_statecode", "OptionSetType": "State", "Options": []any{
		map[string]any{"Value": 0, "Label": docLabel("Active"), "DefaultStatus": 1, "InvariantName": "Active"},
		map[string]any{"Value": 1, "Label": docLabel("Inactive"), "DefaultStatus": 2, "InvariantName": "Inactive"}}}
	status := attrOf("StatusAttributeMetadata", "statuscode", "Status", "StatusType", false, nil)
	status.optionSet = map[string]any{"Name": "sample_bankaccount_statuscode", "OptionSetType": "Status", "Options": []any{
		map[string]any{"Value": 1, "Label": docLabel("Active"), "State": 0}, map[string]any{"Value": 2, "Label": docLabel("Inactive"), "State": 1},
		map[string]any{"Value": 727000000, "Label": docLabel("Frozen"), "State": 1}}}
	multi := attrOf("MultiSelectPicklistAttributeMetadata", "sample_multicolors", "Virtual", "MultiSelectPicklistType", true, nil)
	multi.optionSet = map[string]any{"Name": "sample_colors", "Options": docOptions(727000000, "Red")}
	t.attrs = []docAttr{id, name,
		attrOf("StringAttributeMetadata", "sample_bankname", "String", "StringType", true, map[string]any{"MaxLength": 100, "FormatName": map[string]any{"Value": "Text"}}),
		attrOf("StringAttributeMetadata", "sample_ref", "String", "StringType", true, map[string]any{"MaxLength": 100, "AutoNumberFormat": "BA-{SEQNUM:6}"}),
		attrOf("MoneyAttributeMetadata", "sample_balance", "Money", "MoneyType", true, map[string]any{"MinValue": 0, "MaxValue": 1000000000, "Precision": 2, "PrecisionSource": 2, "IsBaseCurrency": false}),
		attrOf("MoneyAttributeMetadata", "sample_balance_base", "Money", "MoneyType", true, map[string]any{"MinValue": -922337203685477, "MaxValue": 922337203685477, "Precision": 4, "IsBaseCurrency": true}),
		attrOf("DecimalAttributeMetadata", "exchangerate", "Decimal", "DecimalType", false, map[string]any{"MinValue": 0.000000000100, "MaxValue": 100000000000, "Precision": 10}),
		attrOf("LookupAttributeMetadata", "transactioncurrencyid", "Lookup", "LookupType", false, map[string]any{"Targets": []any{"transactioncurrency"}}),
		attrOf("DateTimeAttributeMetadata", "sample_checkeddate", "DateTime", "DateTimeType", true, map[string]any{"Format": "DateOnly",
			"DateTimeBehavior": map[string]any{"Value": "DateOnly"}, "MinSupportedValue": "1753-01-01T00:00:00Z"}),
		flag,
		attrOf("LookupAttributeMetadata", "sample_customerid", "Customer", "CustomerType", true, map[string]any{"Targets": []any{"account", "contact"}}),
		customerName,
		attrOf("DecimalAttributeMetadata", "sample_decimal", "Decimal", "DecimalType", true, map[string]any{"MinValue": -100, "MaxValue": 100, "Precision": 1}),
		attrOf("IntegerAttributeMetadata", "sample_integer", "Integer", "IntegerType", true, map[string]any{"MinValue": 0, "MaxValue": 1000, "Format": "None"}),
		attrOf("MemoAttributeMetadata", "sample_description", "Memo", "MemoType", true, map[string]any{"MaxLength": 500, "Format": "TextArea"}),
		attrOf("BigIntAttributeMetadata", "sample_bigint", "BigInt", "BigIntType", true, map[string]any{"MinValue": -9223372036854775808, "MaxValue": 9223372036854775807}),
		colors, category, multi, state, status,
		attrOf("ImageAttributeMetadata", "entityimage", "Virtual", "ImageType", false, nil),
		attrOf("LookupAttributeMetadata", "ownerid", "Owner", "OwnerType", false, map[string]any{"Targets": []any{"systemuser", "team"}}),
		ownerName,
		ownerType,
		attrOf("LookupAttributeMetadata", "createdby", "Lookup", "LookupType", false, map[string]any{"Targets": []any{"systemuser"}}),
		attrOf("IntegerAttributeMetadata", "importsequencenumber", "Integer", "IntegerType", false, map[string]any{"MinValue": -2147483648, "MaxValue": 2147483647}),
		attrOf("LookupAttributeMetadata", "sample_territoryid", "Lookup", "LookupType", true, map[string]any{"Targets": []any{"territory"}}),
	}
	t.keys = []any{map[string]any{"LogicalName": "sample_bankaccount_bankname", "SchemaName": "sample_BankAccount_BankName", "KeyAttributes": []any{"sample_bankname"},
		"EntityKeyIndexStatus": "Active", "DisplayName": docLabel("Bank name")}}
	rel := func(name, referenced, attr, nav string, c map[string]any) map[string]any {
		return map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", "SchemaName": name, "RelationshipType": "OneToManyRelationship",
			"ReferencedEntity": referenced, "ReferencedAttribute": referenced + "id", "ReferencingEntity": "sample_bankaccount", "ReferencingAttribute": attr,
			"ReferencedEntityNavigationPropertyName": name, "ReferencingEntityNavigationPropertyName": nav, "IsHierarchical": false,
			"IsCustomRelationship": true, "CascadeConfiguration": c}
	}
	t.m2o = []any{
		rel("sample_bankaccount_customerid_account", "account", "sample_customerid", "sample_customerid_account", cascade("Restrict")),
		rel("sample_bankaccount_customerid_contact", "contact", "sample_customerid", "sample_customerid_contact", cascade("Cascade")),
		rel("TransactionCurrency_sample_bankaccount", "transactioncurrency", "transactioncurrencyid", "transactioncurrencyid", cascade("Restrict")),
		rel("lk_sample_bankaccount_createdby", "systemuser", "createdby", "createdby", cascade("NoCascade")),
	}
	t.m2m = []any{map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata", "SchemaName": "sample_bankaccount_contact",
		"RelationshipType": "ManyToManyRelationship", "IntersectEntityName": "sample_bankaccount_contact", "Entity1LogicalName": "sample_bankaccount",
		"Entity1IntersectAttribute": "sample_bankaccountid", "Entity1NavigationPropertyName": "sample_bankaccount_contact", "Entity2LogicalName": "contact",
		"Entity2IntersectAttribute": "contactid", "Entity2NavigationPropertyName": "sample_bankaccount_contact", "IsCustomRelationship": true}}
	return t
}

func accountDefinition() *docTable {
	t := &docTable{entity: map[string]any{"LogicalName": "account", "SchemaName": "Account", "EntitySetName": "accounts", "PrimaryIdAttribute": "accountid",
		"PrimaryNameAttribute": "name", "DisplayName": docLabel("Account"), "DisplayCollectionName": docLabel("Accounts"), "OwnershipType": "UserOwned",
		"ObjectTypeCode": 1, "IsCustomEntity": false, "IsActivity": false, "IsIntersect": false}}
	t.attrs = []docAttr{
		attrOf("StringAttributeMetadata", "name", "String", "StringType", false, map[string]any{"MaxLength": 160}),
		attrOf("LookupAttributeMetadata", "territoryid", "Lookup", "LookupType", false, map[string]any{"Targets": []any{"territory"}}),
		attrOf("IntegerAttributeMetadata", "sample_rating", "Integer", "IntegerType", true, map[string]any{"MinValue": 1, "MaxValue": 5}),
	}
	t.m2m = []any{map[string]any{"SchemaName": "accountleads_association", "IntersectEntityName": "accountleads", "Entity1LogicalName": "account",
		"Entity1IntersectAttribute": "accountid", "Entity1NavigationPropertyName": "accountleads_association", "Entity2LogicalName": "lead",
		"Entity2IntersectAttribute": "leadid", "Entity2NavigationPropertyName": "accountleads_association", "IsCustomRelationship": false}}
	return t
}

// ServeHTTP answers the EntityDefinitions requests of one table.
func (t *docTable) ServeHTTP(w http.ResponseWriter, r *http.Request, rest string) {
	t.requested[rest+"?"+r.URL.RawQuery] = true
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	q := r.URL.Query()
	switch {
	case rest == "":
		out := map[string]any{}
		for _, p := range strings.Split(q.Get("$select"), ",") {
			if v, ok := t.entity[p]; ok {
				out[p] = v
			}
		}
		json.NewEncoder(w).Encode(out)
	case rest == "/Attributes":
		var list []any
		for _, a := range t.attrs {
			list = append(list, a.base)
		}
		json.NewEncoder(w).Encode(map[string]any{"value": list})
	case strings.HasPrefix(rest, "/Attributes/Microsoft.Dynamics.CRM."):
		cast := strings.TrimPrefix(rest, "/Attributes/Microsoft.Dynamics.CRM.")
		expand := q.Get("$expand")
		list := []any{}
		for _, a := range t.attrs {
			if a.cast != cast {
				continue
			}
			m := map[string]any{}
			for k, v := range a.base {
				m[k] = v
			}
			for k, v := range a.derived {
				m[k] = v
			}
			if strings.Contains(expand, "GlobalOptionSet") {
				m["GlobalOptionSet"] = a.globe
			}
			if strings.Contains(strings.ReplaceAll(expand, "GlobalOptionSet", ""), "OptionSet") {
				m["OptionSet"] = a.optionSet
			}
			list = append(list, m)
		}
		json.NewEncoder(w).Encode(map[string]any{"value": list})
	case rest == "/Keys":
		json.NewEncoder(w).Encode(map[string]any{"value": append([]any{}, t.keys...)})
	case rest == "/ManyToOneRelationships":
		json.NewEncoder(w).Encode(map[string]any{"value": append([]any{}, t.m2o...)})
	case rest == "/ManyToManyRelationships":
		json.NewEncoder(w).Encode(map[string]any{"value": append([]any{}, t.m2m...)})
	default:
		t.unexpected = append(t.unexpected, rest)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "0x80060888", "message": "Resource not found for the segment '" + rest + "'."}})
	}
}

// TestTablesPullDocumentedShapes pulls from an org that answers with the
// documented shapes (see above), authenticating with client credentials,
// and loads the written files as a project.
func TestTablesPullDocumentedShapes(t *testing.T) {
	t.Parallel()
	tables := map[string]*docTable{"sample_bankaccount": bankAccount(), "account": accountDefinition()}
	for _, tb := range tables {
		tb.requested = map[string]bool{}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			r.ParseForm()
			if r.Form.Get("client_secret") != "s3cret" || r.Form.Get("grant_type") != "client_credentials" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, "/api/data/v9.2/")
		for name, tb := range tables {
			prefix := "EntityDefinitions(LogicalName='" + name + "')"
			if strings.HasPrefix(path, prefix) {
				tb.ServeHTTP(w, r, strings.TrimPrefix(path, prefix))
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "0x80060888", "message": "Could not find an entity with the key " + path}})
	}))
	defer srv.Close()

	dir := t.TempDir()
	out := filepath.Join(dir, "tables")
	args := []string{"tables", "pull", "--org", srv.URL, "--tenant-id", "contoso", "--client-id", "app", "--token-url", srv.URL + "/token",
		"--tables", "sample_bankaccount,account", "--out", out}
	code, stdout, stderr := run(t, map[string]string{"JUNCTION_CLIENT_SECRET": "s3cret"}, args...)
	if code != 0 {
		t.Fatalf("pull: %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tb := range tables {
		if len(tb.unexpected) > 0 {
			t.Errorf("requests Dataverse would refuse: %v", tb.unexpected)
		}
	}
	if !tables["sample_bankaccount"].requested["/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?%24expand=OptionSet%2CGlobalOptionSet"] {
		t.Errorf("no picklist cast with its option sets expanded among %v", tables["sample_bankaccount"].requested)
	}
	// Every attribute Junction cannot model is named, never dropped unsaid.
	for _, want := range []string{
		"sample_bankaccount: column sample_multicolors is not pulled: Junction has no Virtual (MultiSelectPicklistType) columns",
		"sample_bankaccount: column entityimage is not pulled: Junction has no Virtual (ImageType) columns",
		"sample_bankaccount: lookup sample_territoryid is not pulled: none of its targets (territory)",
		"sample_bankaccount: column sample_category uses the global choice sample_accountcategory",
		"account: 1 standard columns of the org that Junction's account does not have are not pulled: territoryid",
		"account: 1 standard many-to-many relationships of the org that Junction does not have are not pulled: accountleads_association",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("warnings lack %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "owneridtype") || strings.Contains(stderr, "owneridname") {
		t.Errorf("the parts of other columns are reported as columns:\n%s", stderr)
	}

	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	defs, problems := records.ProjectTables(p)
	if len(problems) > 0 {
		t.Fatalf("the pulled files do not load: %v", problems)
	}
	byName := map[string]records.Table{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	bank, ok := byName["sample_bankaccount"]
	if !ok || byName["account"].Extends != "account" || byName["sample_bankaccount_contact"].Intersect == nil {
		t.Fatalf("tables written: %v", defs)
	}
	if err := bank.Prepare(func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	col := func(n string) *records.Column {
		c, ok := bank.Column(n)
		if !ok {
			t.Fatalf("sample_bankaccount has no %s", n)
		}
		return c
	}
	if bank.SchemaName != "sample_BankAccount" || bank.DisplayName != "Bank Account" || bank.PrimaryName != "sample_name" || bank.SetName != "sample_bankaccounts" {
		t.Errorf("table %+v", bank)
	}
	if c := col("sample_name"); c.MaxLength != 100 || c.Required != records.RequiredApp {
		t.Errorf("sample_name %+v", c)
	}
	if c := col("sample_ref"); c.Type != records.AutoNumber || c.Format != "BA-{SEQNUM:6}" {
		t.Errorf("sample_ref %+v", c)
	}
	if c := col("sample_balance"); c.Type != records.Money || c.Precision != 2 || *c.Min != 0 || *c.Max != 1e9 {
		t.Errorf("sample_balance %+v", c)
	}
	if c := col("sample_balance_base"); c.Computed != "base" {
		t.Errorf("sample_balance_base %+v", c)
	}
	if c := col("exchangerate"); c.Computed != "exchangerate" {
		t.Errorf("exchangerate %+v", c)
	}
	if c := col("sample_checkeddate"); c.Behavior != "DateOnly" {
		t.Errorf("sample_checkeddate %+v", c)
	}
	if c := col("sample_boolean"); len(c.Options) != 2 || c.Options[1].Label != "True" || c.Options[0].Label != "False" {
		t.Errorf("sample_boolean %+v", c)
	}
	if c := col("sample_colors"); len(c.Options) != 3 || c.Options[2].Label != "Blue" || c.Default != nil {
		t.Errorf("sample_colors %+v", c)
	}
	if c := col("sample_category"); len(c.Options) != 2 || c.Options[0].Label != "Preferred" || c.Default == nil || *c.Default != 727000001 {
		t.Errorf("sample_category (global choice) %+v", c)
	}
	if c := col("statuscode"); len(c.Options) != 3 || c.Options[2].Label != "Frozen" || *c.Options[2].State != 1 {
		t.Errorf("statuscode %+v", c)
	}
	if c := col("sample_customerid"); c.Type != records.Customer || len(c.Links) != 2 || c.Links[0].Cascade.Delete != "Restrict" ||
		c.Links[1].Cascade.Delete != "Cascade" || c.Links[1].Name != "sample_bankaccount_customerid_contact" {
		t.Errorf("sample_customerid %+v", c)
	}
	if c := col("sample_decimal"); c.Precision != 1 || *c.Min != -100 {
		t.Errorf("sample_decimal %+v", c)
	}
	if c := col("sample_description"); c.Type != records.Memo || c.MaxLength != 500 {
		t.Errorf("sample_description %+v", c)
	}
	if c := col("importsequencenumber"); c.Type != records.Integer {
		t.Errorf("importsequencenumber %+v", c)
	}
	for _, n := range []string{"sample_multicolors", "entityimage", "sample_territoryid", "owneridname", "sample_customeridname", "owneridtype"} {
		if _, ok := bank.Column(n); ok {
			t.Errorf("column %s was written", n)
		}
	}
	if len(bank.Keys) != 1 || bank.Keys[0].Name != "sample_bankaccount_bankname" || bank.Keys[0].Columns[0] != "sample_bankname" {
		t.Errorf("keys %+v", bank.Keys)
	}
	if a := byName["account"]; len(a.Columns) != 1 || a.Columns[0].Name != "sample_rating" || *a.Columns[0].Max != 5 {
		t.Errorf("account extension %+v", a)
	}
	if in := byName["sample_bankaccount_contact"].Intersect; in.Entity1 != "sample_bankaccount" || in.Attribute2 != "contactid" {
		t.Errorf("intersect %+v", in)
	}
}
