package webapi_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedMessages calls the functions the way the "Web API Functions
// and Actions Sample" page does and compares with the responses it shows.
func TestDocumentedMessages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		acc := b.create("accounts", map[string]any{"name": "Contoso Consulting", "address1_city": "Redmond", "numberofemployees": 150})
		b.create("contacts", map[string]any{"lastname": "Adams"})
		tests := []struct {
			name, path string
			status     int
			want       string // the exact body, with BASE for the service root and ACC for the account id
			header     string // expected Preference-Applied
		}{
			// Web API Functions and Actions Sample > Section 2: Unbound Function FormatAddress.
			{"FormatAddress USA", "FormatAddress(Line1=@p1,City=@p2,StateOrProvince=@p3,PostalCode=@p4,Country=@p5)?@p1='123%20Maple%20St.'&@p2='Seattle'&@p3='WA'&@p4='98007'&@p5='USA'", 200,
				`{"@odata.context":"BASE$metadata#Microsoft.Dynamics.CRM.FormatAddressResponse","Address":"123 Maple St.\r\nSeattle, WA 98007\r\nUSA"}`, ""},
			{"FormatAddress Japan", "FormatAddress(Line1=@p1,City=@p2,StateOrProvince=@p3,PostalCode=@p4,Country=@p5)?@p1='1-2-3%20Sakura'&@p2='Nagoya'&@p3='Aichi'&@p4='455-2345'&@p5='JAPAN'", 200,
				`{"@odata.context":"BASE$metadata#Microsoft.Dynamics.CRM.FormatAddressResponse","Address":"455-2345\r\nAichi\r\nNagoya\r\n1-2-3 Sakura\r\nJAPAN"}`, ""},
			// Section 3: Unbound Function InitializeFrom: the relating lookup and, for a
			// contact, the account's mapped columns that have a value.
			{"InitializeFrom", "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)?@p1={'@odata.id':'accounts(ACC)'}&@p2='account'&@p3=Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'", 200,
				`{"@odata.context":"BASE$metadata#accounts/$entity","@odata.type":"#Microsoft.Dynamics.CRM.account","parentaccountid@odata.bind":"accounts(ACC)"}`, "return=representation"},
			{"InitializeFrom to another table", "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)?@p1={'@odata.id':'accounts(ACC)'}&@p2='contact'&@p3=Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'", 200,
				`{"@odata.context":"BASE$metadata#contacts/$entity","@odata.type":"#Microsoft.Dynamics.CRM.contact","address1_city":"Redmond","parentcustomerid_account@odata.bind":"accounts(ACC)"}`, "return=representation"},
			{"InitializeFrom unknown row", "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)?@p1={'@odata.id':'accounts(00000000-0000-0000-0000-000000000009)'}&@p2='account'&@p3=Microsoft.Dynamics.CRM.TargetFieldType'All'", 404,
				`~0x80040217`, ""},
			// Section 5: Unbound Function RetrieveTotalRecordCount.
			{"RetrieveTotalRecordCount", `RetrieveTotalRecordCount(EntityNames=@p1)?@p1=["account","contact"]`, 200,
				`{"@odata.context":"BASE$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse","EntityRecordCountCollection":{"Count":2,"IsReadOnly":false,"Keys":["account","contact"],"Values":[1,1]}}`, ""},
			{"RetrieveTotalRecordCount unknown table", `RetrieveTotalRecordCount(EntityNames=@p1)?@p1=['nothing']`, 404, `~namemapping = 'Logical'`, ""},
			// Section 4: Unbound Function RetrieveCurrentOrganization.
			{"RetrieveCurrentOrganization", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'", 200,
				`~"Endpoints":{"Count":3,"IsReadOnly":false,"Keys":["WebApplication","OrganizationService","OrganizationDataService"],"Values":["ROOT/","ROOT/XRMServices/2011/Organization.svc","ROOT/XRMServices/2011/OrganizationData.svc"]}`, ""},
			{"RetrieveCurrentOrganization bad enum", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Nowhere'", 400, `~EndpointAccessType`, ""},
			{"RetrieveVersion", "RetrieveVersion()", 200, `~"Version":"9.2.`, ""},
		}
		for _, tc := range tests {
			r := b.do("GET", strings.ReplaceAll(tc.path, "ACC", acc), nil)
			if r.status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			}
			want := strings.NewReplacer("BASE", b.base, "ACC", acc, "ROOT", b.url).Replace(tc.want)
			got := strings.TrimSpace(string(r.body))
			if sub, ok := strings.CutPrefix(want, "~"); ok {
				if !strings.Contains(got, sub) {
					t.Errorf("%s: body lacks %s:\n%s", tc.name, sub, got)
				}
			} else if got != want {
				t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, want)
			}
			if pa := r.header.Get("Preference-Applied"); pa != tc.header {
				t.Errorf("%s: Preference-Applied %q, want %q", tc.name, pa, tc.header)
			}
		}
	})
}

// TestRetrieveMetadataChanges follows "Query schema definitions" and the
// RetrieveMetadataChanges function reference: a query answers the selected
// definitions and a ServerVersionStamp; the stamp given back as
// ClientVersionStamp answers only what changed since.
func TestRetrieveMetadataChanges(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		q := `{"Criteria":{"FilterOperator":"And","Conditions":[{"PropertyName":"LogicalName","ConditionOperator":"In","Value":{"Type":"System.String[]","Value":"[\"account\",\"contact\"]"}}]},` +
			`"Properties":{"AllProperties":false,"PropertyNames":["LogicalName","EntitySetName"]}}`
		call := func(stamp string) map[string]any {
			p := "RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)?@p1=" + url.QueryEscape(q) + "&@p2=" + url.QueryEscape("'"+stamp+"'")
			if stamp == "" {
				p = "RetrieveMetadataChanges(Query=@p1)?@p1=" + url.QueryEscape(q)
			}
			m := b.mustStatus(b.do("GET", p, nil), 200).json(t)
			if m["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.RetrieveMetadataChangesResponse" {
				t.Fatalf("context %v", m["@odata.context"])
			}
			return m
		}
		names := func(m map[string]any) []string {
			var out []string
			for _, e := range m["EntityMetadata"].([]any) {
				em := e.(map[string]any)
				if len(em) != 3 || em["MetadataId"] == nil {
					t.Fatalf("properties not selected: %v", em)
				}
				out = append(out, em["LogicalName"].(string)+"="+em["EntitySetName"].(string))
			}
			return out
		}
		first := call("")
		if got := strings.Join(names(first), ","); got != "account=accounts,contact=contacts" {
			t.Fatalf("first answer %s", got)
		}
		stamp, _ := first["ServerVersionStamp"].(string)
		if !regexp.MustCompile(`^\d+!\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`).MatchString(stamp) {
			t.Fatalf("stamp %q", stamp)
		}
		if got := names(call(stamp)); len(got) != 0 {
			t.Fatalf("unchanged since the stamp, yet %v", got)
		}
		attr := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata", "SchemaName": "new_Floors", "MinValue": 0, "MaxValue": 100}
		b.mustStatus(b.do("POST", "EntityDefinitions(LogicalName='contact')/Attributes", attr), 204)
		next := call(stamp)
		if got := strings.Join(names(next), ","); got != "contact=contacts" {
			t.Fatalf("after a change to contact: %s", got)
		}
		if next["ServerVersionStamp"] == stamp {
			t.Fatalf("the stamp did not move")
		}
		if r := b.do("GET", "RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)?@p1="+url.QueryEscape(q)+"&@p2='garbage'", nil); r.status != 400 {
			t.Fatalf("bad stamp: %d %s", r.status, r.body)
		}
	})
}

// TestCloseIncidentAndMerge follows the CloseIncident and Merge action
// references ("Merge table rows"): both answer 204 and change the rows in
// one transaction.
func TestCloseIncidentAndMerge(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		target := b.create("accounts", map[string]any{"name": "Contoso"})
		sub := b.create("accounts", map[string]any{"name": "Contoso Ltd", "telephone1": "555-0100"})
		kid := b.create("contacts", map[string]any{"lastname": "Kid", "parentcustomerid_account@odata.bind": "/accounts(" + sub + ")"})
		branch := b.create("accounts", map[string]any{"name": "Branch", "parentaccountid@odata.bind": "/accounts(" + sub + ")"})
		inc := b.create("incidents", map[string]any{"title": "Broken", "customerid_account@odata.bind": "/accounts(" + sub + ")"})

		closeBody := func(status int) map[string]any {
			return map[string]any{"IncidentResolution": map[string]any{"subject": "Put Your Resolve Subject Here", "incidentid@odata.bind": "/incidents(" + inc + ")",
				"timespent": 60, "description": "Additional Description Here"}, "Status": status}
		}
		if r := b.do("POST", "CloseIncident", closeBody(1)); r.status != 400 {
			t.Fatalf("status 1 (In Progress) cannot resolve: %d %s", r.status, r.body)
		}
		b.mustStatus(b.do("POST", "CloseIncident", closeBody(-1)), 204)
		m := b.mustStatus(b.do("GET", "incidents("+inc+")?$select=statecode,statuscode&$expand=Incident_IncidentResolutions($select=subject,timespent)", nil), 200).json(t)
		res, _ := m["Incident_IncidentResolutions"].([]any)
		if m["statecode"] != float64(1) || m["statuscode"] != float64(5) || len(res) != 1 || res[0].(map[string]any)["timespent"] != float64(60) {
			t.Fatalf("after CloseIncident: %v", m)
		}
		if r := b.do("POST", "CloseIncident", closeBody(-1)); r.status != 400 || !strings.Contains(string(r.body), "already been resolved") {
			t.Fatalf("second CloseIncident: %d %s", r.status, r.body)
		}

		merge := map[string]any{
			"Target":                 map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": target},
			"Subordinate":            map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": sub},
			"UpdateContent":          map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "telephone1": "555-0100"},
			"PerformParentingChecks": false,
		}
		b.mustStatus(b.do("POST", "Merge", merge), 204)
		for _, c := range []struct{ path, prop, want string }{
			{"contacts(" + kid + ")", "_parentcustomerid_value", target},
			{"accounts(" + branch + ")", "_parentaccountid_value", target},
			{"incidents(" + inc + ")", "_customerid_value", target},
			{"accounts(" + target + ")", "telephone1", "555-0100"},
		} {
			m := b.mustStatus(b.do("GET", c.path+"?$select="+c.prop, nil), 200).json(t)
			if m[c.prop] != c.want {
				t.Errorf("%s %s = %v, want %v", c.path, c.prop, m[c.prop], c.want)
			}
		}
		m = b.mustStatus(b.do("GET", "accounts("+sub+")?$select=statecode,statuscode", nil), 200).json(t)
		if m["statecode"] != float64(1) || m["statuscode"] != float64(2) {
			t.Fatalf("subordinate after Merge: %v", m)
		}
		if r := b.do("POST", "Merge", merge); r.status != 400 || !strings.Contains(string(r.body), "merged already") {
			t.Fatalf("second Merge: %d %s", r.status, r.body)
		}
		merge["Subordinate"] = map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.contact", "contactid": kid}
		if r := b.do("POST", "Merge", merge); r.status != 400 {
			t.Fatalf("merge across tables: %d %s", r.status, r.body)
		}
	})
}

// TestSalesMessages follows the QualifyLead, WinOpportunity and
// LoseOpportunity action references.
func TestSalesMessages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		lead := b.create("leads", map[string]any{"subject": "Interested in printers", "firstname": "Ada", "lastname": "Lovelace", "fullname": "Ada Lovelace",
			"companyname": "Analytical Engines", "emailaddress1": "ada@example.com", "estimatedvalue": 5000})
		r := b.mustStatus(b.do("POST", "leads("+lead+")/Microsoft.Dynamics.CRM.QualifyLead", map[string]any{"CreateAccount": true, "CreateContact": true, "CreateOpportunity": true, "Status": 3}), 200)
		m := r.json(t)
		if m["@odata.context"] != b.base+"$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)" {
			t.Fatalf("context: %s", r.body)
		}
		ids := map[string]string{}
		for _, v := range m["value"].([]any) {
			e := v.(map[string]any)
			typ := strings.TrimPrefix(e["@odata.type"].(string), "#Microsoft.Dynamics.CRM.")
			ids[typ] = e[typ+"id"].(string)
		}
		if len(ids) != 3 {
			t.Fatalf("created %v", ids)
		}
		opp := b.mustStatus(b.do("GET", "opportunities("+ids["opportunity"]+")?$select=name,estimatedvalue,_customerid_value,_originatingleadid_value,_parentcontactid_value", nil), 200).json(t)
		if opp["name"] != "Interested in printers" || opp["estimatedvalue"] != float64(5000) || opp["_customerid_value"] != ids["account"] ||
			opp["_originatingleadid_value"] != lead || opp["_parentcontactid_value"] != ids["contact"] {
			t.Fatalf("opportunity %v", opp)
		}
		con := b.mustStatus(b.do("GET", "contacts("+ids["contact"]+")?$select=fullname,_parentcustomerid_value", nil), 200).json(t)
		ld := b.mustStatus(b.do("GET", "leads("+lead+")?$select=statecode,statuscode,_parentaccountid_value", nil), 200).json(t)
		if con["fullname"] != "Ada Lovelace" || con["_parentcustomerid_value"] != ids["account"] || ld["statecode"] != float64(1) || ld["statuscode"] != float64(3) || ld["_parentaccountid_value"] != ids["account"] {
			t.Fatalf("contact %v lead %v", con, ld)
		}
		if r := b.do("POST", "leads("+lead+")/Microsoft.Dynamics.CRM.QualifyLead", map[string]any{"CreateAccount": false, "Status": 3}); r.status != 400 {
			t.Fatalf("qualifying twice: %d %s", r.status, r.body)
		}

		win := func(action, opp string, status int) resp {
			return b.do("POST", action, map[string]any{"OpportunityClose": map[string]any{"subject": "Closed", "opportunityid@odata.bind": "/opportunities(" + opp + ")",
				"actualrevenue": 4500, "actualend": "2026-12-01T00:00:00Z"}, "Status": status})
		}
		b.mustStatus(win("WinOpportunity", ids["opportunity"], 3), 204)
		o := b.mustStatus(b.do("GET", "opportunities("+ids["opportunity"]+")?$select=statecode,statuscode,actualvalue,actualclosedate&$expand=Opportunity_OpportunityClose($select=subject)", nil), 200).json(t)
		if o["statecode"] != float64(1) || o["statuscode"] != float64(3) || o["actualvalue"] != float64(4500) || o["actualclosedate"] != "2026-12-01T00:00:00Z" ||
			len(o["Opportunity_OpportunityClose"].([]any)) != 1 {
			t.Fatalf("won opportunity %v", o)
		}
		if r := win("LoseOpportunity", ids["opportunity"], 4); r.status != 400 {
			t.Fatalf("closing twice: %d %s", r.status, r.body)
		}
		other := b.create("opportunities", map[string]any{"name": "Another"})
		if r := win("LoseOpportunity", other, 3); r.status != 400 {
			t.Fatalf("lost with the Won status: %d %s", r.status, r.body)
		}
		b.mustStatus(win("LoseOpportunity", other, -1), 204)
		o = b.mustStatus(b.do("GET", "opportunities("+other+")?$select=statecode,statuscode,actualvalue", nil), 200).json(t)
		if o["statecode"] != float64(2) || o["statuscode"] != float64(4) || o["actualvalue"] != nil {
			t.Fatalf("lost opportunity %v", o)
		}
	})
}
